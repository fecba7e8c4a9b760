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
//! corrupt), 408 (a body slower than [`Limits::body_timeout`]), 413 (body over [`BODY_LIMIT`],
//! or an image over `infer`'s size limits), 415 (an image feature the decoder lacks) or 422 (no
//! digit found). Decoding, preprocessing, classification and the JSON object come from the
//! `infer` library; the model runs on the blocking pool, at most one image per core at a time,
//! never on the async threads.
//!
//! The server ([`serve`], [`serve_with`]) closes connections whose request headers are slower
//! than [`Limits::header_timeout`], and kept-alive connections idle for as long, and keeps at
//! most [`Limits::max_connections`] open: the rest wait to be accepted.
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

mod error;
mod json;
mod model;
mod routes;
mod server;
mod site;

pub use error::Error;
pub use model::Model;
pub use routes::{BODY_LIMIT, router};
pub use server::{Limits, bind, serve, serve_with};
pub use site::{ORT_FILES, default_ort_dir, write_static_site};
