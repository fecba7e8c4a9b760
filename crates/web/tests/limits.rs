//! The server's limits on a real socket: half-open requests, idle kept-alive connections and
//! slow bodies are cut off after their timeouts, and connections past the bound wait while the
//! server goes on answering.
//!
//! The deadlines for "closed" are ten times the configured timeout: these tests check what
//! happens, not how fast.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::{Server, client, get};
use web::Limits;

/// A request line and one header, and never the blank line that ends the headers.
const HALF_A_REQUEST: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n";

fn half_open(addr: SocketAddr) -> TcpStream {
    let mut socket = TcpStream::connect(addr).expect("connects");
    socket.write_all(HALF_A_REQUEST).expect("sends");
    socket
}

/// Whether the server has closed `socket` (it has when a read ends or is reset), waiting at
/// most until `deadline`; with what it sent before closing.
fn closed_by(socket: &mut TcpStream, deadline: Instant) -> (bool, Vec<u8>) {
    let mut received = Vec::new();
    let mut buffer = [0; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return (false, received);
        }
        socket.set_read_timeout(Some(left)).expect("a timeout");
        match socket.read(&mut buffer) {
            Ok(0) => return (true, received),
            Ok(n) => received.extend_from_slice(&buffer[..n]),
            Err(error) if error.kind() == ErrorKind::ConnectionReset => return (true, received),
            Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return (false, received);
            }
            Err(error) => panic!("reading: {error}"),
        }
    }
}

/// Whether `socket` is still open with nothing to read, now, without waiting.
fn open_and_silent(socket: &TcpStream) -> bool {
    socket.set_nonblocking(true).expect("non-blocking");
    let open = matches!(socket.peek(&mut [0]), Err(error) if error.kind() == ErrorKind::WouldBlock);
    socket.set_nonblocking(false).expect("blocking");
    open
}

#[test]
fn half_open_requests_are_closed_after_the_header_timeout_and_healthz_answers_meanwhile() {
    const HALF_OPEN: usize = 300;
    let timeout = Duration::from_secs(2);
    let server = Server::start_with(Limits {
        header_timeout: timeout,
        max_connections: 2 * HALF_OPEN,
        ..Limits::DEFAULT
    });
    let opened = Instant::now();
    let mut held: Vec<TcpStream> = (0..HALF_OPEN).map(|_| half_open(server.addr)).collect();
    let all_open = opened.elapsed();

    let health = get(&client(), &server.url("/healthz"));
    assert_eq!(
        (health.status, health.body.as_str()),
        (200, r#"{"status":"ok"}"#)
    );
    // Answered while the half-open connections were held: even the first one opened is.
    assert!(
        open_and_silent(&held[0]),
        "the first half-open connection was closed (or answered) before /healthz was \
         answered, {:?} after it was opened; the header timeout is {timeout:?}",
        opened.elapsed()
    );

    let deadline = Instant::now() + 10 * timeout;
    for (index, socket) in held.iter_mut().enumerate() {
        let (closed, sent) = closed_by(socket, deadline);
        let sent = String::from_utf8_lossy(&sent);
        assert!(
            closed,
            "half-open connection {index} of {HALF_OPEN} still open {:?} after it was \
             opened; the header timeout is {timeout:?}",
            opened.elapsed()
        );
        // Whatever the server says on closing, it is not an answer to the unfinished request.
        assert!(!sent.contains(" 200 "), "connection {index}: {sent}");
    }
    eprintln!(
        "{HALF_OPEN} half-open connections opened in {all_open:?}, all closed {:?} after the \
         first was opened (header timeout {timeout:?})",
        opened.elapsed()
    );
    assert_eq!(get(&client(), &server.url("/healthz")).status, 200);
}

#[test]
fn an_idle_kept_alive_connection_is_closed_after_the_header_timeout() {
    let timeout = Duration::from_millis(500);
    let server = Server::start_with(Limits {
        header_timeout: timeout,
        ..Limits::DEFAULT
    });
    let mut socket = TcpStream::connect(server.addr).expect("connects");
    // Two requests on the connection: it is kept alive between answers.
    for _ in 0..2 {
        socket
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .expect("sends");
        // The answer ends with its body; the connection stays open for the next request.
        let mut answer = Vec::new();
        let mut buffer = [0; 1024];
        while !answer.ends_with(br#"{"status":"ok"}"#) {
            socket.set_read_timeout(Some(10 * timeout)).unwrap();
            let n = socket.read(&mut buffer).expect("an answer");
            assert!(n > 0, "closed before the answer: {answer:?}");
            answer.extend_from_slice(&buffer[..n]);
        }
        assert!(answer.starts_with(b"HTTP/1.1 200 OK\r\n"));
    }
    let answered = Instant::now();
    let (closed, sent) = closed_by(&mut socket, answered + 10 * timeout);
    assert!(
        closed && sent.is_empty(),
        "an idle connection still open {:?} after its last answer ({sent:?})",
        answered.elapsed()
    );
}

/// Sends `POST /api/classify` with a body of `length` bytes, of which only `sent` come.
fn start_upload(addr: SocketAddr, length: usize, sent: &[u8]) -> TcpStream {
    let mut socket = TcpStream::connect(addr).expect("connects");
    let head = format!(
        "POST /api/classify?name=slow.png HTTP/1.1\r\nHost: localhost\r\n\
         Content-Length: {length}\r\n\r\n"
    );
    socket.write_all(head.as_bytes()).expect("sends");
    socket.write_all(sent).expect("sends");
    socket
}

fn assert_408_and_closed(socket: &mut TcpStream, deadline: Instant) {
    let (closed, answer) = closed_by(socket, deadline);
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
        "{answer}"
    );
    assert!(
        answer.contains(r#"{"file":"slow.png","error":"slow.png: the request body did not arrive"#),
        "{answer}"
    );
    assert!(closed, "still open after the 408: {answer}");
}

#[test]
fn a_body_that_never_comes_is_408_and_the_connection_closed() {
    let timeout = Duration::from_millis(500);
    let server = Server::start_with(Limits {
        body_timeout: timeout,
        ..Limits::DEFAULT
    });
    let mut socket = start_upload(server.addr, 1000, b"\x89PNG");
    assert_408_and_closed(&mut socket, Instant::now() + 10 * timeout);
    assert_eq!(get(&client(), &server.url("/healthz")).status, 200);
}

#[test]
fn a_body_trickled_a_byte_at_a_time_is_408_too() {
    let timeout = Duration::from_millis(500);
    let server = Server::start_with(Limits {
        body_timeout: timeout,
        ..Limits::DEFAULT
    });
    let mut socket = start_upload(server.addr, 1000, b"");
    let deadline = Instant::now() + 10 * timeout;
    let mut writer = socket.try_clone().expect("a second handle");
    // A byte at a fifth of the timeout: never a pause as long as the timeout, so only a
    // deadline on the whole body stops it.
    let trickle = std::thread::spawn(move || {
        while Instant::now() < deadline && writer.write_all(b"x").is_ok() {
            std::thread::sleep(timeout / 5);
        }
    });
    assert_408_and_closed(&mut socket, deadline);
    drop(socket);
    trickle.join().expect("the trickle stops");
}

#[test]
fn connections_past_the_bound_wait_until_one_closes() {
    const BOUND: usize = 4;
    let timeout = Duration::from_secs(1);
    let server = Server::start_with(Limits {
        header_timeout: timeout,
        max_connections: BOUND,
        ..Limits::DEFAULT
    });
    let mut held: Vec<TcpStream> = (0..BOUND).map(|_| half_open(server.addr)).collect();

    // Waits until the header timeout frees a place, then is answered.
    let health = get(&client(), &server.url("/healthz"));
    assert_eq!(health.status, 200, "{}", health.body);
    // So the first connection held was closed before it: the server kept to the bound. The
    // close came before the answer; the short wait only covers its delivery.
    let (closed, _) = closed_by(&mut held[0], Instant::now() + timeout / 10);
    assert!(
        closed,
        "/healthz was answered while all {BOUND} connections were still held"
    );
    let deadline = Instant::now() + 10 * timeout;
    for (index, socket) in held.iter_mut().enumerate() {
        assert!(
            closed_by(socket, deadline).0,
            "connection {index} still open"
        );
    }
}
