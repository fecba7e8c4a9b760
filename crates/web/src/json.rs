//! The JSON answers: their types, and turning them into responses.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use experiment::Report;
use figures::Maps;
use infer::output::JsonResult;
use serde::Serialize;

/// What `?maps=true` adds to `POST /api/classify`'s answer.
#[derive(Serialize)]
pub(crate) struct Layers {
    /// The 28x28 image the model saw, row after row, 0 (background) to 255 (ink).
    pub(crate) seen: Vec<u8>,
    pub(crate) c1: Maps,
    pub(crate) c3: Maps,
}

/// `POST /api/classify`'s answer: `infer --json`'s object, and the layers when asked for.
#[derive(Serialize)]
pub(crate) struct ClassifyAnswer<'a> {
    #[serde(flatten)]
    pub(crate) result: JsonResult<'a>,
    #[serde(flatten)]
    pub(crate) layers: Option<Layers>,
}

/// `GET /api/model`'s answer.
#[derive(Serialize)]
pub(crate) struct ModelCard<'a> {
    pub(crate) name: &'a str,
    pub(crate) variant: &'a str,
    pub(crate) backend: &'a str,
    pub(crate) summary: lenet::Summary,
    pub(crate) total_params: usize,
    pub(crate) total_connections: usize,
    pub(crate) report: Option<&'a Report>,
}

/// `body`, already JSON, with `status`.
pub(crate) fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// `value` as a 200 answer.
pub(crate) fn json_ok(value: &impl Serialize) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => json_response(StatusCode::OK, body),
        // Only a map with non-string keys could fail, and the answers have none.
        Err(error) => {
            tracing::error!("cannot serialise an answer: {error}");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
