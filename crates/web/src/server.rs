//! The HTTP server: listening, accepting at most [`Limits::max_connections`] connections at a
//! time, serving each with hyper under [`Limits`]' timeouts, and stopping gracefully.
//!
//! The accept loop is written here rather than taken from `axum::serve`, which sets neither a
//! header timeout nor a bound on connections: without them, clients that open connections and
//! never finish a request keep them, and their sockets, for as long as they like.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

use crate::routes::routes;
use crate::{Error, Model};

/// How long the server waits on a client, and how many clients it serves at once.
///
/// A client that is slow or silent past a timeout loses its connection (or, for a body, gets
/// a 408 and then loses it); the connections past `max_connections` wait in the listening
/// socket's queue, unaccepted, until one closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// How long a request's headers may take to arrive, counted from the moment the server
    /// starts waiting for them: when the connection is accepted and, on a kept-alive
    /// connection, when the previous answer was sent. So it is also how long an idle
    /// kept-alive connection stays open.
    pub header_timeout: Duration,
    /// How long an upload's body (`POST /api/classify`) may take to arrive in full, from the
    /// end of its headers; the answer after it is 408.
    pub body_timeout: Duration,
    /// The most connections open at the same time (at least 1).
    pub max_connections: usize,
}

impl Limits {
    /// The limits `web` runs with unless told otherwise: ten seconds for headers (and idle
    /// connections), a minute for a body, which is 10 MiB from a phone on a slow network,
    /// and 256 connections, many more than a few browsers open.
    pub const DEFAULT: Limits = Limits {
        header_timeout: Duration::from_secs(10),
        body_timeout: Duration::from_secs(60),
        max_connections: 256,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// How many connections the kernel queues until they are accepted. Those past
/// [`Limits::max_connections`] wait there, and so does a burst that arrives faster than the
/// accept loop runs; past the queue, the kernel drops new connections' first packets and the
/// clients wait to send them again. `TcpListener::bind` queues only std's 128.
const BACKLOG: u32 = 1024;

/// Listens on `addr`; port 0 takes a free one (see [`TcpListener::local_addr`]).
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, Error> {
    let listen = || {
        let socket = match addr {
            SocketAddr::V4(_) => TcpSocket::new_v4()?,
            SocketAddr::V6(_) => TcpSocket::new_v6()?,
        };
        // As `TcpListener::bind` does: a restarted server can take its port back while the
        // previous one's closed connections linger in TIME_WAIT.
        socket.set_reuseaddr(true)?;
        socket.bind(addr)?;
        socket.listen(BACKLOG)
    };
    listen().map_err(|source| Error::Bind { addr, source })
}

/// Serves [`router`](crate::router) for `model` on `listener` with the default [`Limits`]
/// until `shutdown` completes, then finishes the requests in progress and returns.
pub async fn serve(
    listener: TcpListener,
    model: Model,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    serve_with(listener, model, Limits::DEFAULT, shutdown).await
}

/// [`serve`] with `limits`.
pub async fn serve_with(
    listener: TcpListener,
    model: Model,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    serve_until(listener, model, limits, Box::pin(shutdown)).await
}

/// [`serve_with`] for one type of `shutdown`, so that axum's and hyper's generic server is
/// compiled once, here, rather than again in every caller (each test binary).
async fn serve_until(
    listener: TcpListener,
    model: Model,
    limits: Limits,
    mut shutdown: Pin<Box<dyn Future<Output = ()> + Send>>,
) -> Result<(), Error> {
    let router = routes(model, limits.body_timeout);
    let max_connections = limits.max_connections.clamp(1, Semaphore::MAX_PERMITS);
    // Each connection holds a permit until it closes; without one the loop stops accepting,
    // and new connections wait in the listening socket's queue.
    let slots = Arc::new(Semaphore::new(max_connections));
    // Sent on shutdown; each connection holds a receiver until it closes, so that the sender
    // learns when the last one has.
    let (stop, stopping) = watch::channel(());
    let mut warned_full = false;
    loop {
        let permit = match Arc::clone(&slots).try_acquire_owned() {
            Ok(permit) => {
                warned_full = false;
                permit
            }
            Err(_) => {
                if !warned_full {
                    tracing::warn!(
                        "all {max_connections} connections are open: new ones wait until one \
                         closes (--max-connections)"
                    );
                    warned_full = true;
                }
                tokio::select! {
                    permit = Arc::clone(&slots).acquire_owned() => {
                        permit.expect("the connection semaphore is never closed")
                    }
                    () = &mut shutdown => break,
                }
            }
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        match accepted {
            Ok((socket, remote)) => spawn_connection(
                socket,
                remote,
                router.clone(),
                limits.header_timeout,
                permit,
                stopping.clone(),
            ),
            // The client gave up before it was accepted: nothing to do.
            Err(error) if is_connection_error(&error) => {}
            // Most likely out of file descriptors: waiting lets connections close and free
            // some, where retrying at once would spin.
            Err(error) => {
                tracing::error!("cannot accept a connection: {error}");
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                    () = &mut shutdown => break,
                }
            }
        }
    }
    drop(listener);
    drop(stopping);
    // Fails only when no connection is open, and then there is nothing to wait for.
    stop.send(()).ok();
    stop.closed().await;
    Ok(())
}

/// Serves one connection on its own task, holding `permit` until the socket is closed.
fn spawn_connection(
    socket: TcpStream,
    remote: SocketAddr,
    router: Router,
    header_timeout: Duration,
    permit: OwnedSemaphorePermit,
    stopping: watch::Receiver<()>,
) {
    tokio::spawn(async move {
        serve_connection(socket, remote, router, header_timeout, stopping).await;
        // Only now, the socket closed: the next connection accepted replaces this one.
        drop(permit);
    });
}

/// Serves requests on `socket` until the client closes it, a timeout closes it, or shutdown
/// (`stopping`) does once the request in progress is answered.
async fn serve_connection(
    socket: TcpStream,
    remote: SocketAddr,
    router: Router,
    header_timeout: Duration,
    mut stopping: watch::Receiver<()>,
) {
    let mut builder = Builder::new(TokioExecutor::new()).http1_only();
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    let connection =
        builder.serve_connection(TokioIo::new(socket), TowerToHyperService::new(router));
    let mut connection = pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        // Shutdown, or the server gone: finish the request in progress, if any, and close.
        _ = stopping.changed() => {
            connection.as_mut().graceful_shutdown();
            connection.as_mut().await
        }
    };
    if let Err(error) = result {
        tracing::debug!("connection from {remote} closed: {error}");
    }
}

/// Errors of one connection that failed while being accepted, not of the listening socket.
fn is_connection_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}
