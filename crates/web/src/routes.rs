//! The routes: the page's files, the API's handlers, and reading an upload's body.

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, HttpBody};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::{Html, Response};
use axum::routing::{get, post};
use infer::output::JsonResult;
use serde::Deserialize;
use tokio::sync::Semaphore;
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::json::{ClassifyAnswer, json_ok, json_response};
use crate::{Error, Limits, Model};

/// The largest request body accepted: 10 MiB, ample for a phone photo.
pub const BODY_LIMIT: usize = 10 * 1024 * 1024;

/// How much of a body over [`BODY_LIMIT`] is still read (and dropped) before the 413 is sent:
/// closing a connection with unread data in it resets the connection, and the client would
/// lose the answer while still sending.
const DRAIN_LIMIT: usize = 8 * BODY_LIMIT;

/// The name an upload goes by in answers and errors when the request gives none (`?name=`).
const DEFAULT_NAME: &str = "upload";

pub(crate) const INDEX_HTML: &str = include_str!("../static/index.html");
pub(crate) const STYLE_CSS: &str = include_str!("../static/style.css");
pub(crate) const APP_JS: &str = include_str!("../static/app.js");

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
    /// How long an upload's body may take to arrive, from the end of its headers.
    body_timeout: Duration,
}

/// The routes, with request logging (`tracing` at the info level) and the default
/// [`Limits::body_timeout`].
pub fn router(model: Model) -> Router {
    routes(model, Limits::DEFAULT.body_timeout)
}

/// [`router`] with an upload's body allowed `body_timeout` to arrive.
pub(crate) fn routes(model: Model, body_timeout: Duration) -> Router {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let state = AppState {
        model: Arc::new(model),
        work: Arc::new(Semaphore::new(cores)),
        body_timeout,
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
    // A deadline on the whole body, not on each read: a client trickling a byte at a time
    // would otherwise hold the connection for as long as it likes.
    let bytes = tokio::time::timeout(state.body_timeout, read_body(body, &file))
        .await
        .map_err(|_| Error::BodyTimeout {
            file: file.clone(),
            timeout: state.body_timeout,
        })??;
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
