//! Everything that can go wrong, and the status and JSON body a failed request is answered with.

use std::net::SocketAddr;
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use infer::InferError;
use infer::output::{JsonError, describe};
use infer::preprocess::DecodeError;

use crate::BODY_LIMIT;
use crate::json::json_response;

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

    /// The request body did not arrive in full within [`Limits::body_timeout`](crate::Limits).
    #[error("{file}: the request body did not arrive within {} s", timeout.as_secs_f64())]
    BodyTimeout {
        /// The upload's name.
        file: String,
        /// How long the server waited.
        timeout: Duration,
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

    /// The static site cannot be written (`web --static`).
    #[error("cannot write the static site in {}: {reason}", dir.display())]
    StaticSite {
        /// The site's directory.
        dir: std::path::PathBuf,
        /// What is wrong, and what to do.
        reason: String,
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
            Error::BodyTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            Error::Body { .. } | Error::Query { .. } => StatusCode::BAD_REQUEST,
            Error::NotFound { .. } => StatusCode::NOT_FOUND,
            Error::Model(_)
            | Error::Bind { .. }
            | Error::Internal { .. }
            | Error::StaticSite { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The upload the error is about, named in the JSON answer's `file`.
    fn file(&self) -> Option<String> {
        match self {
            Error::Image(error) => error.file().map(|file| file.display().to_string()),
            Error::BodyTooLarge { file }
            | Error::Body { file, .. }
            | Error::BodyTimeout { file, .. }
            | Error::Internal { file } => Some(file.clone()),
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
        let slow = Error::BodyTimeout {
            file: file.clone(),
            timeout: Duration::from_millis(1500),
        };
        assert_eq!(
            (slow.status(), slow.file()),
            (StatusCode::REQUEST_TIMEOUT, Some(file.clone()))
        );
        assert_eq!(
            slow.to_string(),
            "b.png: the request body did not arrive within 1.5 s"
        );
        assert_eq!(Error::Internal { file }.status(), 500);
        let not_found = Error::NotFound { path: "/x".into() };
        assert_eq!(
            (not_found.status(), not_found.file()),
            (StatusCode::NOT_FOUND, None)
        );
    }
}
