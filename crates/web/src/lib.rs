//! A local web page where a visitor draws a digit and watches LeNet-5 read it, and the small
//! JSON API behind it, for other apps too.
//!
//! | route | answer |
//! |---|---|
//! | `GET /` | the page (HTML, CSS and JavaScript built into the binary) |
//! | `POST /api/classify` | the body is the bytes of an image file; the answer is `infer --json`'s object for one file, `{"file", "digit", "confidence", "probabilities"}`; with `?maps=true` also `seen` (the 28x28 image the model saw), `c1` and `c3` (the layers' maps); `?name=` names the file in the answer |
//! | `GET /api/model` | the model: name, variant, backend, the summary table, the training report |
//! | `GET /healthz` | `{"status": "ok"}` |
//!
//! Errors are JSON, `{"file", "error"}` (or `{"error"}`), with status 400 (not an image,
//! corrupt), 413 (body over [`BODY_LIMIT`], or an image over `infer`'s size limits), 415 (an
//! image feature the decoder lacks) or 422 (no digit found). Decoding, preprocessing,
//! classification and the JSON object come from the `infer` library; the model runs on the
//! blocking pool, at most one image per core at a time, never on the async threads.
//!
//! # Example
//! Serve the built-in model on a free port, ask it something, and stop it:
//! ```
//! use std::io::{Read, Write};
//! use std::net::TcpStream;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let model = web::Model::load(&infer::ModelSource::Embedded, experiment::BackendKind::Ndarray)?;
//! let listener = web::bind("127.0.0.1:0".parse()?).await?;
//! let address = listener.local_addr()?;
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let server = tokio::spawn(web::serve(listener, model, async {
//!     stopped.await.ok();
//! }));
//!
//! let answer = tokio::task::spawn_blocking(move || {
//!     let mut socket = TcpStream::connect(address)?;
//!     socket.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")?;
//!     let mut answer = String::new();
//!     socket.read_to_string(&mut answer)?;
//!     Ok::<_, std::io::Error>(answer)
//! })
//! .await??;
//! assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
//! assert!(answer.ends_with(r#"{"status":"ok"}"#), "{answer}");
//!
//! stop.send(()).ok();
//! server.await??;
//! # Ok(())
//! # }
//! ```

use std::future::{Future, poll_fn};
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, HttpBody};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use experiment::BackendKind;
use figures::Maps;
use infer::output::{JsonError, JsonResult, describe};
use infer::preprocess::{self, DecodeError};
use infer::{AnyClassifier, Classification, InferError, ModelSource};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing::Level;
use train::Report;

/// The largest request body accepted: 10 MiB, ample for a phone photo.
pub const BODY_LIMIT: usize = 10 * 1024 * 1024;

/// How much of a body over [`BODY_LIMIT`] is still read (and dropped) before the 413 is sent:
/// closing a connection with unread data in it resets the connection, and the client would
/// lose the answer while still sending.
const DRAIN_LIMIT: usize = 8 * BODY_LIMIT;

/// The name an upload goes by in answers and errors when the request gives none (`?name=`).
const DEFAULT_NAME: &str = "upload";

const INDEX_HTML: &str = include_str!("../static/index.html");
const STYLE_CSS: &str = include_str!("../static/style.css");
const APP_JS: &str = include_str!("../static/app.js");

/// Everything that can go wrong: starting the server, or one request (answered with its
/// status, see [`Error::status`]).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The model cannot be loaded.
    #[error("cannot load the model")]
    Model(#[source] InferError),

    /// The address cannot be listened on (most often: the port is in use).
    #[error("cannot listen on {addr}{}", bind_hint(source))]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the operating system reported.
        source: std::io::Error,
    },

    /// The server stopped on an error of its listening socket.
    #[error("the server stopped")]
    Serve(#[source] std::io::Error),

    /// The uploaded image cannot be read, is too large, or holds no digit.
    #[error(transparent)]
    Image(InferError),

    /// The request body is over [`BODY_LIMIT`].
    #[error(
        "{file}: the request body is larger than {} MiB: scale the image down first",
        BODY_LIMIT / (1024 * 1024)
    )]
    BodyTooLarge {
        /// The upload's name.
        file: String,
    },

    /// The request body could not be received.
    #[error("{file}: cannot receive the request body: {reason}")]
    Body {
        /// The upload's name.
        file: String,
        /// What went wrong.
        reason: String,
    },

    /// The query string is not `maps=true|false` and `name=...`.
    #[error("bad query string: {reason}")]
    Query {
        /// What axum found wrong with it.
        reason: String,
    },

    /// Classification failed inside the server (a panic in the model).
    #[error("{file}: classification failed inside the server")]
    Internal {
        /// The upload's name.
        file: String,
    },

    /// No route has this path.
    #[error("no such page: {path}")]
    NotFound {
        /// The path asked for.
        path: String,
    },
}

fn bind_hint(error: &std::io::Error) -> &'static str {
    match error.kind() {
        std::io::ErrorKind::AddrInUse => " (another program uses the port: choose one with --port)",
        _ => "",
    }
}

impl Error {
    /// The HTTP status a request that failed this way is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            Error::Image(error) => match error {
                InferError::Decode(
                    DecodeError::NotAnImage { .. }
                    | DecodeError::Corrupt { .. }
                    | DecodeError::Empty { .. },
                ) => StatusCode::BAD_REQUEST,
                InferError::Decode(DecodeError::Unsupported { .. }) => {
                    StatusCode::UNSUPPORTED_MEDIA_TYPE
                }
                InferError::Decode(DecodeError::TooLarge { .. }) => StatusCode::PAYLOAD_TOO_LARGE,
                InferError::NoDigit { .. } => StatusCode::UNPROCESSABLE_ENTITY,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            },
            Error::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Error::Body { .. } | Error::Query { .. } => StatusCode::BAD_REQUEST,
            Error::NotFound { .. } => StatusCode::NOT_FOUND,
            Error::Model(_) | Error::Bind { .. } | Error::Serve(_) | Error::Internal { .. } => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    fn file(&self) -> Option<String> {
        match self {
            Error::Image(error) => error.file().map(|file| file.display().to_string()),
            Error::BodyTooLarge { file } | Error::Body { file, .. } | Error::Internal { file } => {
                Some(file.clone())
            }
            _ => None,
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        if self.status().is_server_error() {
            tracing::error!("{}", describe(&self));
        }
        let body = match self.file() {
            Some(file) => serde_json::to_vec(&JsonError::new(&file, &self)),
            None => serde_json::to_vec(&serde_json::json!({ "error": describe(&self) })),
        };
        // Serialising strings cannot fail; an empty body would still carry the status.
        json_response(self.status(), body.unwrap_or_default())
    }
}

fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// `value` as a 200 answer.
fn json_ok(value: &impl Serialize) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => json_response(StatusCode::OK, body),
        // Only a map with non-string keys could fail, and the answers have none.
        Err(error) => {
            tracing::error!("cannot serialise an answer: {error}");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// The model the server classifies with, and what `GET /api/model` tells about it.
#[derive(Debug)]
pub struct Model {
    classifier: AnyClassifier,
    backend: BackendKind,
    report: Option<Report>,
}

impl Model {
    /// Loads the model from `source` onto `backend` (as `infer` does), with its training
    /// report ([`ModelSource::report`]).
    pub fn load(source: &ModelSource, backend: BackendKind) -> Result<Self, Error> {
        Ok(Self {
            classifier: AnyClassifier::load(source, backend).map_err(Error::Model)?,
            backend,
            report: source.report().map_err(Error::Model)?,
        })
    }

    /// Which model this is, for people: `classic LeNet-5, the built-in model, on ndarray`.
    pub fn description(&self) -> String {
        format!(
            "{} LeNet-5, {}, on {}",
            self.classifier.variant(),
            self.classifier.name(),
            self.backend.name()
        )
    }

    /// Decodes, preprocesses and classifies one uploaded image (blocking: the caller keeps
    /// it off the async threads), keeping the layers' maps when `maps` is set.
    fn classify(&self, bytes: &[u8], file: &str, maps: bool) -> Result<Classified, InferError> {
        let image = preprocess::decode_image(bytes, Path::new(file))?;
        let seen = preprocess::to_mnist(&image)
            .ok_or_else(|| InferError::NoDigit { file: file.into() })?;
        Ok(if maps {
            let explanation = self.classifier.explain(&seen);
            Classified {
                classification: explanation.classification,
                layers: Some(Layers {
                    seen: seen.to_vec(),
                    c1: explanation.c1,
                    c3: explanation.c3,
                }),
            }
        } else {
            Classified {
                classification: self.classifier.classify(&[seen]).remove(0),
                layers: None,
            }
        })
    }

    /// `GET /api/model`'s answer.
    fn card(&self) -> ModelCard<'_> {
        let summary = self.classifier.summary();
        ModelCard {
            name: self.classifier.name(),
            variant: self.classifier.variant().name(),
            backend: self.backend.name(),
            total_params: summary.total_params(),
            total_connections: summary.total_connections(),
            summary,
            report: self.report.as_ref(),
        }
    }
}

struct Classified {
    classification: Classification,
    layers: Option<Layers>,
}

/// What `?maps=true` adds to the answer.
#[derive(Serialize)]
struct Layers {
    /// The 28x28 image the model saw, row after row, 0 (background) to 255 (ink).
    seen: Vec<u8>,
    c1: Maps,
    c3: Maps,
}

#[derive(Serialize)]
struct ClassifyAnswer<'a> {
    #[serde(flatten)]
    result: JsonResult<'a>,
    #[serde(flatten)]
    layers: Option<Layers>,
}

#[derive(Serialize)]
struct ModelCard<'a> {
    name: &'a str,
    variant: &'a str,
    backend: &'a str,
    summary: lenet::Summary,
    total_params: usize,
    total_connections: usize,
    report: Option<&'a Report>,
}

#[derive(Deserialize)]
struct ClassifyQuery {
    #[serde(default)]
    maps: bool,
    name: Option<String>,
}

#[derive(Clone)]
struct AppState {
    model: Arc<Model>,
    /// Images decoded and classified at the same time: one per core, so that a burst of
    /// large uploads queues instead of holding hundreds of megabytes of pixels each.
    work: Arc<Semaphore>,
}

/// The routes, with request logging (`tracing` at the info level).
pub fn router(model: Model) -> Router {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let state = AppState {
        model: Arc::new(model),
        work: Arc::new(Semaphore::new(cores)),
    };
    Router::new()
        .route("/", get(|| async { Html(INDEX_HTML) }))
        .route(
            "/style.css",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
                    STYLE_CSS,
                )
            }),
        )
        .route(
            "/app.js",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
                    APP_JS,
                )
            }),
        )
        .route("/api/classify", post(classify))
        .route("/api/model", get(model_card))
        .route(
            "/healthz",
            get(|| async { json_response(StatusCode::OK, br#"{"status":"ok"}"#.to_vec()) }),
        )
        .fallback(|uri: Uri| async move {
            Error::NotFound {
                path: uri.path().to_owned(),
            }
        })
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .with_state(state)
}

async fn model_card(State(state): State<AppState>) -> Response {
    json_ok(&state.model.card())
}

async fn classify(
    State(state): State<AppState>,
    query: Result<Query<ClassifyQuery>, QueryRejection>,
    body: Body,
) -> Result<Response, Error> {
    let Query(query) = query.map_err(|rejection| Error::Query {
        reason: rejection.body_text(),
    })?;
    let file = query.name.unwrap_or_else(|| DEFAULT_NAME.into());
    let bytes = read_body(body, &file).await?;
    let internal = || Error::Internal { file: file.clone() };
    // The semaphore is never closed, so acquiring only waits.
    let permit = state
        .work
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| internal())?;
    let model = Arc::clone(&state.model);
    let name = file.clone();
    let classified = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        model.classify(&bytes, &name, query.maps)
    })
    .await
    .map_err(|_| internal())?
    .map_err(Error::Image)?;
    let answer = ClassifyAnswer {
        result: JsonResult::new(&file, &classified.classification),
        layers: classified.layers,
    };
    Ok(json_ok(&answer))
}

/// The body's bytes, at most [`BODY_LIMIT`] of them.
async fn read_body(mut body: Body, file: &str) -> Result<Vec<u8>, Error> {
    let mut bytes = Vec::new();
    let mut received = 0;
    while let Some(frame) = poll_fn(|context| Pin::new(&mut body).poll_frame(context)).await {
        let frame = frame.map_err(|error| Error::Body {
            file: file.into(),
            reason: error.to_string(),
        })?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        received += data.len();
        if received <= BODY_LIMIT {
            bytes.extend_from_slice(&data);
        } else if received > DRAIN_LIMIT {
            break;
        } else {
            bytes = Vec::new();
        }
    }
    if received > BODY_LIMIT {
        return Err(Error::BodyTooLarge { file: file.into() });
    }
    Ok(bytes)
}

/// Listens on `addr`; port 0 takes a free one (see [`TcpListener::local_addr`]).
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, Error> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| Error::Bind { addr, source })
}

/// Serves [`router`] for `model` on `listener` until `shutdown` completes, then finishes the
/// requests in progress and returns.
pub async fn serve(
    listener: TcpListener,
    model: Model,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    serve_until(listener, model, Box::pin(shutdown)).await
}

/// [`serve`] for one type of `shutdown`, so that axum's and hyper's generic server is compiled
/// once, here, rather than again in every caller (each test binary).
async fn serve_until(
    listener: TcpListener,
    model: Model,
    shutdown: Pin<Box<dyn Future<Output = ()> + Send>>,
) -> Result<(), Error> {
    axum::serve(listener, router(model))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(Error::Serve)
}

/// Completes on Ctrl-C (SIGINT) or SIGTERM.
pub async fn stop_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!("cannot watch for Ctrl-C: {error}");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!("cannot watch for SIGTERM: {error}");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn upload_errors_get_the_issues_statuses() {
        let file = PathBuf::from("a.png");
        let reason = String::from("why");
        let cases = [
            (DecodeError::NotAnImage { file: file.clone() }.into(), 400),
            (
                DecodeError::Corrupt {
                    file: file.clone(),
                    reason: reason.clone(),
                }
                .into(),
                400,
            ),
            (
                DecodeError::Empty {
                    file: file.clone(),
                    width: 0,
                    height: 3,
                }
                .into(),
                400,
            ),
            (
                DecodeError::Unsupported {
                    file: file.clone(),
                    reason,
                }
                .into(),
                415,
            ),
            (
                DecodeError::TooLarge {
                    file: file.clone(),
                    width: 100_000,
                    height: 1,
                }
                .into(),
                413,
            ),
            (InferError::NoDigit { file: file.clone() }, 422),
        ];
        for (error, status) in cases {
            let error = Error::Image(error);
            assert_eq!(error.status(), status, "{error}");
            assert_eq!(error.file().as_deref(), Some("a.png"));
        }
        let file = String::from("b.png");
        assert_eq!(Error::BodyTooLarge { file: file.clone() }.status(), 413);
        assert_eq!(Error::Internal { file }.status(), 500);
        let not_found = Error::NotFound { path: "/x".into() };
        assert_eq!(
            (not_found.status(), not_found.file()),
            (StatusCode::NOT_FOUND, None)
        );
    }
}
