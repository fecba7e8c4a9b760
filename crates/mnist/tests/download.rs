//! The download path against a tiny HTTP/1.1 server on 127.0.0.1 run by each test.

use std::collections::HashMap;
use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use flate2::{Compression, write::GzEncoder};
use mnist::{Download, MNIST_FILES, MnistError, MnistSplits};
use sha2::{Digest, Sha256};

/// What the server answers for one path.
#[derive(Clone)]
enum Reply {
    Ok(Vec<u8>),
    NotFound,
    /// Announces `announced` bytes, sends `body`, then closes the connection.
    Cut {
        announced: usize,
        body: Vec<u8>,
    },
}

/// A server answering from `routes` (keyed by path) until the test process ends; returns its
/// base URL and the log of requested paths.
fn serve(routes: HashMap<String, Reply>) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/mnist/", listener.local_addr().unwrap());
    let log = Arc::new(Mutex::new(Vec::new()));
    let requests = Arc::clone(&log);
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            answer(stream, &routes, &requests);
        }
    });
    (base, log)
}

fn answer(
    mut stream: TcpStream,
    routes: &HashMap<String, Reply>,
    log: &Mutex<Vec<String>>,
) -> Option<()> {
    // Read the whole request head first: closing with unread input would reset the connection.
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    let path = head.split_whitespace().nth(1)?.to_owned();
    let reply = routes.get(&path).cloned().unwrap_or(Reply::NotFound);
    // Logged before answering, so that the client cannot see the reply before the log does.
    log.lock().unwrap().push(path);
    let (status, announced, body) = match reply {
        Reply::Ok(body) => ("200 OK", body.len(), body),
        Reply::NotFound => ("404 Not Found", 9, b"not found".to_vec()),
        Reply::Cut { announced, body } => ("200 OK", announced, body),
    };
    let header = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {announced}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n"
    );
    let _ = stream.write_all(header.as_bytes());
    let _ = stream.write_all(&body);
    let _ = stream.flush();
    Some(())
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Decompressed content of the four files: 3 train and 2 test examples.
fn contents() -> [Vec<u8>; 4] {
    let images = |n: u32| {
        let mut bytes = [0x803u32, n, 28, 28]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect::<Vec<u8>>();
        bytes.extend((0..n as usize * 784).map(|i| (i % 251) as u8));
        bytes
    };
    let labels = |values: &[u8]| {
        let mut bytes = [0x801u32, values.len() as u32]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect::<Vec<u8>>();
        bytes.extend_from_slice(values);
        bytes
    };
    [images(3), labels(&[5, 0, 4]), images(2), labels(&[7, 2])]
}

/// Routes serving every file as `.gz`, two of them gzip-compressed and two raw (a mirror may
/// serve either), plus the download settings that expect exactly these contents.
fn good_routes() -> (HashMap<String, Reply>, [String; 4]) {
    let contents = contents();
    let routes = MNIST_FILES
        .iter()
        .zip(&contents)
        .enumerate()
        .map(|(i, (file, content))| {
            let body = if i % 2 == 0 {
                gzip(content)
            } else {
                content.clone()
            };
            (format!("/mnist/{file}.gz"), Reply::Ok(body))
        })
        .collect();
    (routes, contents.each_ref().map(|c| sha256(c)))
}

fn settings(mirrors: Vec<String>, sha256: [String; 4]) -> Download {
    Download {
        enabled: true,
        mirrors,
        sha256,
        timeout: Duration::from_secs(10),
        progress: false,
    }
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn good_files_are_downloaded_verified_and_readable() {
    let (routes, hashes) = good_routes();
    let (base, _) = serve(routes);
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("new").join("mnist");
    settings(vec![base], hashes.clone()).fetch(&target).unwrap();

    // Stored as served, named by content: gzip bodies get `.gz`; no temporary files remain.
    assert_eq!(
        names_in(&target),
        [
            "t10k-images-idx3-ubyte.gz",
            "t10k-labels-idx1-ubyte",
            "train-images-idx3-ubyte.gz",
            "train-labels-idx1-ubyte",
        ]
    );
    settings(vec![], hashes).verify(&target).unwrap();
    let splits = MnistSplits::load(&target, 1).unwrap();
    assert_eq!(splits.train.labels(), &[5, 0]);
    assert_eq!(splits.valid.labels(), &[4]);
    assert_eq!(splits.test.labels(), &[7, 2]);
}

#[test]
fn files_already_present_are_not_downloaded_again() {
    let (routes, hashes) = good_routes();
    let (base, log) = serve(routes);
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join(MNIST_FILES[0]), &contents()[0]).unwrap();
    settings(vec![base], hashes).fetch(dir.path()).unwrap();
    let requested = log.lock().unwrap().clone();
    assert_eq!(requested.len(), 3, "{requested:?}");
    assert!(!requested.iter().any(|path| path.contains(MNIST_FILES[0])));
}

#[test]
fn corrupted_file_is_rejected_with_both_hashes_and_not_kept() {
    let (mut routes, hashes) = good_routes();
    let mut bad = contents()[1].clone();
    bad[9] ^= 0x01; // the second label: still a well-formed IDX file
    let bad_hash = sha256(&bad);
    routes.insert(format!("/mnist/{}.gz", MNIST_FILES[1]), Reply::Ok(bad));
    let (base, log) = serve(routes);
    let dir = tempfile::tempdir().unwrap();

    let err = settings(vec![base], hashes.clone())
        .fetch(dir.path())
        .unwrap_err();
    let MnistError::DownloadFailed { file, attempts } = &err else {
        panic!("expected DownloadFailed, got {err:?}");
    };
    assert_eq!(file, MNIST_FILES[1]);
    // Content errors are not retried: one attempt on the only mirror.
    assert_eq!(attempts.len(), 1, "{attempts:?}");
    let MnistError::ChecksumMismatch {
        expected, actual, ..
    } = &attempts[0]
    else {
        panic!("expected ChecksumMismatch, got {:?}", attempts[0]);
    };
    assert_eq!((expected, actual), (&hashes[1], &bad_hash));
    let message = err.to_string();
    for needle in [MNIST_FILES[1], &hashes[1], &bad_hash] {
        assert!(message.contains(needle), "{needle:?} not in:\n{message}");
    }
    assert_eq!(log.lock().unwrap().len(), 2); // the good first file, then the bad one
    // The file before it was stored; the bad one and any temporary file are gone.
    assert_eq!(names_in(dir.path()), ["train-images-idx3-ubyte.gz"]);
}

#[test]
fn connection_cut_mid_file_is_an_error_and_leaves_nothing() {
    let (mut routes, hashes) = good_routes();
    let full = gzip(&contents()[0]);
    routes.insert(
        format!("/mnist/{}.gz", MNIST_FILES[0]),
        Reply::Cut {
            announced: full.len(),
            body: full[..full.len() / 2].to_vec(),
        },
    );
    let (base, log) = serve(routes);
    let dir = tempfile::tempdir().unwrap();

    let err = settings(vec![base], hashes).fetch(dir.path()).unwrap_err();
    let MnistError::DownloadFailed { file, attempts } = &err else {
        panic!("expected DownloadFailed, got {err:?}");
    };
    assert_eq!(file, MNIST_FILES[0]);
    // A broken transfer is retried once.
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    for attempt in attempts {
        assert!(
            matches!(
                attempt,
                MnistError::Http { .. } | MnistError::IncompleteDownload { .. }
            ),
            "{attempt:?}"
        );
    }
    assert_eq!(log.lock().unwrap().len(), 2);
    assert!(
        names_in(dir.path()).is_empty(),
        "{:?}",
        names_in(dir.path())
    );
}

#[test]
fn failing_mirrors_are_skipped_for_the_next_one() {
    let (routes, hashes) = good_routes();
    let (good, _) = serve(routes);
    let (missing, missing_log) = serve(HashMap::new());
    // A port nothing listens on: bind, note the port, close.
    let refused = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/mnist/", listener.local_addr().unwrap())
    };
    let dir = tempfile::tempdir().unwrap();
    settings(vec![refused, missing, good], hashes)
        .fetch(dir.path())
        .unwrap();
    assert_eq!(names_in(dir.path()).len(), 4);
    // A 404 is final for that mirror: one request per file, no retry.
    assert_eq!(missing_log.lock().unwrap().len(), 4);
}

#[test]
fn every_failure_is_reported_when_all_mirrors_fail() {
    let (missing, _) = serve(HashMap::new());
    let dir = tempfile::tempdir().unwrap();
    let (_, hashes) = good_routes();
    let err = settings(vec![missing.clone(), missing], hashes)
        .fetch(dir.path())
        .unwrap_err();
    assert!(
        matches!(&err, MnistError::DownloadFailed { attempts, .. } if attempts.len() == 2),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains("404"), "{message}");
    assert!(message.contains("MNIST_DIR"), "{message}");
    assert!(names_in(dir.path()).is_empty());
}
