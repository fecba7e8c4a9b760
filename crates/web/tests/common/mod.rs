//! A server on a free loopback port for each test, and a plain HTTP client.

// Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::thread::JoinHandle;

use experiment::BackendKind;
use infer::ModelSource;
use serde_json::Value;
use tokio::sync::oneshot;

/// `web` serving the built-in model on ndarray, on its own runtime and thread, until dropped.
pub struct Server {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    pub fn start() -> Self {
        Self::start_with(web::Limits::default())
    }

    /// [`Server::start`] with `limits` (short timeouts, few connections).
    pub fn start_with(limits: web::Limits) -> Self {
        let model = web::Model::load(&ModelSource::Embedded, BackendKind::Ndarray).expect("model");
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Runtime::new().expect("runtime");
            runtime.block_on(async move {
                let listener = web::bind("127.0.0.1:0".parse().unwrap())
                    .await
                    .expect("bind");
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                web::serve_with(listener, model, limits, async {
                    stopped.await.ok();
                })
                .await
                .expect("serve");
            });
        });
        Self {
            addr: addr_rx.recv().expect("the server's address"),
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            stop.send(()).ok();
        }
        if let Some(thread) = self.thread.take() {
            // A test that failed already says why; a server panic shows in its output.
            thread.join().ok();
        }
    }
}

/// A client that reads 4xx and 5xx answers instead of failing on them.
pub fn client() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

/// The status and the body of an answer.
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|error| panic!("not JSON ({error}): {}", self.body))
    }
}

fn answer(mut response: ureq::http::Response<ureq::Body>) -> Answer {
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .to_owned();
    Answer {
        status: response.status().as_u16(),
        content_type,
        body: response.body_mut().read_to_string().expect("a text body"),
    }
}

pub fn get(agent: &ureq::Agent, url: &str) -> Answer {
    answer(agent.get(url).call().expect("an answer"))
}

pub fn post(agent: &ureq::Agent, url: &str, body: &[u8]) -> Answer {
    answer(agent.post(url).send(body).expect("an answer"))
}

pub fn samples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/digits")
}

/// The sample images, each with the digit its name starts with.
pub fn samples() -> Vec<(String, u8, Vec<u8>)> {
    let mut samples: Vec<_> = std::fs::read_dir(samples_dir())
        .expect("examples/digits")
        .map(|entry| entry.expect("entry").path())
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let digit = name.as_bytes()[0] - b'0';
            let bytes = std::fs::read(&path).expect("readable");
            (name, digit, bytes)
        })
        .collect();
    samples.sort();
    assert!(samples.len() >= 5, "the samples are there");
    samples
}
