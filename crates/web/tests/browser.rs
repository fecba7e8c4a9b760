//! The page in a real browser: headless Chromium driven through ChromeDriver (WebDriver's
//! JSON over HTTP, spoken here with ureq). It draws MNIST digits with pointer events, uploads
//! a photo, reads the page's answers, and checks that no JavaScript error was logged.
//!
//! `WEB_SCREENSHOT=PATH` (`WEB_STATIC_SCREENSHOT=PATH` for the static site) saves a picture
//! of the page at the end (a relative path is taken from `crates/web/`, where Cargo runs the
//! test).
//! `CHROMIUM` and `CHROMEDRIVER` name the programs if they are not `/usr/bin/chromium` and
//! `chromedriver`.
//!
//! The static site (`web --static`) is tested the same way, served by Python's plain
//! `http.server`, with no project process running.

mod common;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use common::{Server, samples_dir};
use serde_json::{Value, json};

/// WebDriver's key for an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
const PATIENCE: Duration = Duration::from_secs(60);

/// ChromeDriver on a free port, and one browser session in it; both end when dropped.
struct Browser {
    driver: Child,
    agent: ureq::Agent,
    session: String,
    base: String,
    profile: tempfile::TempDir,
}

impl Browser {
    fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let program = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
        let driver = Command::new(&program)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {program}: {error}"));
        let agent = common::client();
        let base = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while agent
            .get(format!("{base}/status"))
            .call()
            .ok()
            .and_then(|mut r| r.body_mut().read_to_string().ok())
            .and_then(|text| serde_json::from_str::<Value>(&text).ok())
            .is_none_or(|status| status["value"]["ready"] != true)
        {
            assert!(started.elapsed() < PATIENCE, "{program} did not get ready");
            std::thread::sleep(Duration::from_millis(100));
        }

        let profile = tempfile::tempdir().expect("a profile directory");
        let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let mut browser = Self {
            driver,
            agent,
            session: String::new(),
            base,
            profile,
        };
        let profile_arg = format!("--user-data-dir={}", browser.profile.path().display());
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", "--disable-component-update",
                    "--no-first-run", "--disable-dev-shm-usage", "--window-size=1280,1150",
                    profile_arg,
                ],
            },
        }}});
        let session = browser.command("POST", "/session", Some(capabilities));
        browser.session = session["sessionId"]
            .as_str()
            .expect("a session id")
            .to_owned();
        browser
    }

    /// One WebDriver command; `path` is relative to the session from `/url` on.
    fn command(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = if path == "/session" {
            format!("{}{path}", self.base)
        } else {
            format!("{}/session/{}{path}", self.base, self.session)
        };
        let response = match (method, body) {
            ("GET", _) => self.agent.get(&url).call(),
            ("DELETE", _) => self.agent.delete(&url).call(),
            (_, body) => self
                .agent
                .post(&url)
                .header("Content-Type", "application/json")
                .send(body.unwrap_or_else(|| json!({})).to_string()),
        };
        let mut response = response.unwrap_or_else(|error| panic!("{method} {path}: {error}"));
        let status = response.status();
        let text = response
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_string()
            .expect("a text answer");
        let answer: Value = serde_json::from_str(&text).expect("JSON");
        assert!(status.is_success(), "{method} {path}: {answer}");
        answer["value"].clone()
    }

    fn find(&self, css: &str) -> String {
        let found = self.command(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        );
        found[ELEMENT].as_str().expect("an element").to_owned()
    }

    fn script(&self, script: &str) -> Value {
        self.command(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
    }

    /// The page's answer once it is for `source`, newer than answer `after`, and the last one
    /// to come (no read under way): the result's sequence number and the digit shown.
    fn answer_for(&self, source: &str, after: u64) -> (u64, String) {
        let started = Instant::now();
        loop {
            let state = self.script(
                "const r = document.getElementById('result');\
                 return [Number(r.dataset.seq), r.dataset.source,\
                         document.getElementById('digit').textContent,\
                         document.getElementById('error').textContent, r.dataset.busy];",
            );
            let seq = state[0].as_u64().unwrap_or(0);
            if seq > after && state[1] == source && state[4] == "0" {
                let shown = state[2].as_str().unwrap_or("").to_owned();
                assert_ne!(shown, "?", "the page shows an error: {}", state[3]);
                return (seq, shown);
            }
            assert!(
                started.elapsed() < PATIENCE,
                "no answer for {source} after {after}: {state}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Draws the ink of a 28x28 MNIST image on the pad as one pointer stroke per run of ink
    /// along each row, with a pointer of type `pointer` ("mouse", "pen" or "touch").
    fn draw(&self, pad: &str, digit: &image::GrayImage, pointer: &str) {
        let rect = self.command("GET", &format!("/element/{pad}/rect"), None);
        let side = rect["width"].as_f64().expect("width");
        let scale = side / f64::from(digit.width());
        // Offsets are from the pad's centre.
        let at = |column: u32, row: u32| {
            let offset = |i: u32| ((f64::from(i) + 0.5) * scale - side / 2.0).round() as i64;
            (offset(column), offset(row))
        };
        let mut actions = Vec::new();
        for row in 0..digit.height() {
            let mut column = 0;
            while column < digit.width() {
                if digit.get_pixel(column, row)[0] < 128 {
                    column += 1;
                    continue;
                }
                let start = column;
                while column < digit.width() && digit.get_pixel(column, row)[0] >= 128 {
                    column += 1;
                }
                let ((x0, y0), (x1, y1)) = (at(start, row), at(column - 1, row));
                actions.extend([
                    json!({"type": "pointerMove", "duration": 0,
                           "origin": {ELEMENT: pad}, "x": x0, "y": y0}),
                    json!({"type": "pointerDown", "button": 0}),
                    json!({"type": "pointerMove", "duration": 20,
                           "origin": {ELEMENT: pad}, "x": x1, "y": y1}),
                    json!({"type": "pointerUp", "button": 0}),
                ]);
            }
        }
        assert!(actions.len() > 20, "the digit has ink");
        self.command(
            "POST",
            "/actions",
            Some(json!({"actions": [{
                "type": "pointer",
                "id": pointer,
                "parameters": {"pointerType": pointer},
                "actions": actions,
            }]})),
        );
        self.command("DELETE", "/actions", None);
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let url = format!("{}/session/{}", self.base, self.session);
            self.agent.delete(&url).call().ok();
        }
        self.driver.kill().ok();
        self.driver.wait().ok();
    }
}

fn mnist_sample(name: &str) -> image::GrayImage {
    image::open(samples_dir().join(name))
        .expect("a sample")
        .to_luma8()
}

#[test]
#[ignore = "needs chromium and chromedriver (apt install chromium chromium-driver)"]
fn the_page_reads_drawn_and_uploaded_digits_without_javascript_errors() {
    let server = Server::start();
    let browser = Browser::start();
    browser.command("POST", "/url", Some(json!({"url": server.url("/")})));

    // The model card arrives by itself.
    let started = Instant::now();
    while !browser
        .script("return document.getElementById('model-line').textContent;")
        .as_str()
        .is_some_and(|line| line.contains("test accuracy"))
    {
        assert!(started.elapsed() < PATIENCE, "no model card");
        std::thread::sleep(Duration::from_millis(50));
    }
    let rows = browser.script("return document.querySelectorAll('#summary tbody tr').length;");
    assert_eq!(rows, 7);

    let pad = browser.find("#pad");
    browser.draw(&pad, &mnist_sample("7-mnist.png"), "mouse");
    let (seq, digit) = browser.answer_for("drawing.png", 0);
    assert_eq!(digit, "7", "a drawn MNIST 7");

    browser.command(
        "POST",
        &format!("/element/{}/click", browser.find("#clear")),
        None,
    );
    assert_eq!(
        browser.script("return document.getElementById('digit').textContent;"),
        "–"
    );

    let photo = samples_dir().join("3-photo.jpg");
    let photo = photo.canonicalize().expect("the sample photo");
    let input = browser.find("#file");
    browser.command(
        "POST",
        &format!("/element/{input}/value"),
        Some(json!({"text": photo.to_str().expect("a UTF-8 path")})),
    );
    let (seq, digit) = browser.answer_for("3-photo.jpg", seq);
    assert_eq!(digit, "3", "the uploaded photo of a 3");

    browser.draw(&pad, &mnist_sample("2-mnist.png"), "pen");
    let (_, digit) = browser.answer_for("drawing.png", seq);
    assert_eq!(digit, "2", "a 2 drawn with a pen");

    let drawn = browser.script(
        "return [document.querySelectorAll('#c1 canvas').length,\
                 document.querySelectorAll('#c3 canvas').length,\
                 document.querySelectorAll('#bars .bar-row').length,\
                 document.querySelector('#bars .top span').textContent];",
    );
    assert_eq!(drawn, json!([6, 16, 10, "2"]));

    save_screenshot(&browser, "WEB_SCREENSHOT");

    let errors = browser.script("return window.pageErrors;");
    assert_eq!(errors, json!([]), "JavaScript errors on the page");
}

/// Python's `http.server` serving `dir` on a free port: a plain static file host.
struct StaticHost {
    process: Child,
    url: String,
}

impl StaticHost {
    fn start(dir: &Path) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let process = Command::new("python3")
            .args([
                "-m",
                "http.server",
                "--bind",
                "127.0.0.1",
                &port.to_string(),
                "-d",
            ])
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 -m http.server starts");
        let url = format!("http://127.0.0.1:{port}/");
        let agent = common::client();
        let started = Instant::now();
        while agent.get(&url).call().is_err() {
            assert!(started.elapsed() < PATIENCE, "http.server did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        Self { process, url }
    }
}

impl Drop for StaticHost {
    fn drop(&mut self) {
        self.process.kill().ok();
        self.process.wait().ok();
    }
}

/// The first `per_digit` images of each digit in MNIST's test set, as images to draw.
fn mnist_test_digits(per_digit: usize) -> Vec<(u8, image::GrayImage)> {
    let dir = mnist::locate(None, &mnist::Download::disabled())
        .expect("this test needs MNIST: set MNIST_DIR to the directory holding the four files");
    let test = mnist::MnistSplits::load(&dir, 0).expect("MNIST loads").test;
    let mut digits = Vec::new();
    for digit in 0..10u8 {
        let indices = (0..test.len()).filter(|&i| test.labels()[i] == digit);
        for i in indices.take(per_digit) {
            let pixels = test.image(i).expect("an image").to_vec();
            digits.push((
                digit,
                image::GrayImage::from_raw(28, 28, pixels).expect("28x28"),
            ));
        }
    }
    digits
}

#[test]
#[ignore = "needs chromium and chromedriver, onnxruntime-web (npm ci --prefix crates/web/ort) and MNIST (MNIST_DIR)"]
fn the_static_site_reads_drawn_digits_in_the_browser_with_no_server_of_ours() {
    let site = tempfile::tempdir().expect("a directory");
    let written = Command::new(env!("CARGO_BIN_EXE_web"))
        .arg("--static")
        .arg(site.path())
        .output()
        .expect("web runs");
    assert!(
        written.status.success(),
        "web --static: {}",
        String::from_utf8_lossy(&written.stderr)
    );
    // web has exited: only the static host serves the page.
    let host = StaticHost::start(site.path());
    let browser = Browser::start();
    browser.command("POST", "/url", Some(json!({"url": host.url})));

    let started = Instant::now();
    while !browser
        .script("return document.getElementById('model-line').textContent;")
        .as_str()
        .is_some_and(|line| line.contains("test accuracy") && line.contains("in your browser"))
    {
        assert!(started.elapsed() < PATIENCE, "no model card");
        std::thread::sleep(Duration::from_millis(50));
    }
    let rows = browser.script("return document.querySelectorAll('#summary tbody tr').length;");
    assert_eq!(rows, 7);
    assert_eq!(
        browser.script("return document.getElementById('static-note').hidden;"),
        false
    );

    let pad = browser.find("#pad");
    let clear = browser.find("#clear");
    let mut seq = 0;
    let mut draw = |digit: &image::GrayImage, pointer: &str| {
        browser.command("POST", &format!("/element/{clear}/click"), None);
        browser.draw(&pad, digit, pointer);
        let (next, shown) = browser.answer_for("drawing.png", seq);
        seq = next;
        shown
    };
    for sample in ["7-mnist.png", "2-mnist.png", "0-mnist.png", "4-mnist.png"] {
        let expected = &sample[..1];
        assert_eq!(
            draw(&mnist_sample(sample), "mouse"),
            expected,
            "a drawn {sample}"
        );
    }
    let digits = mnist_test_digits(3);
    let mut wrong = Vec::new();
    for (digit, image) in &digits {
        let shown = draw(image, "pen");
        if shown != digit.to_string() {
            wrong.push(format!("{digit} read as {shown}"));
        }
    }
    println!(
        "static site: {} of {} MNIST test digits drawn with a pen read right; wrong: {wrong:?}",
        digits.len() - wrong.len(),
        digits.len()
    );
    assert!(
        wrong.len() <= digits.len() / 10,
        "more than 10% of drawn MNIST digits misread: {wrong:?}"
    );
    let drawn = browser.script(
        "return [document.querySelectorAll('#c1 canvas').length,\
                 document.querySelectorAll('#c3 canvas').length,\
                 document.querySelectorAll('#bars .bar-row').length];",
    );
    assert_eq!(drawn, json!([6, 16, 10]));

    // An image file needs the server, and the page says so.
    let photo = samples_dir()
        .join("3-photo.jpg")
        .canonicalize()
        .expect("the sample");
    let input = browser.find("#file");
    browser.command(
        "POST",
        &format!("/element/{input}/value"),
        Some(json!({"text": photo.to_str().expect("a UTF-8 path")})),
    );
    let started = Instant::now();
    while !browser
        .script("return document.getElementById('error').textContent;")
        .as_str()
        .is_some_and(|text| text.contains("needs the server"))
    {
        assert!(started.elapsed() < PATIENCE, "no message for the upload");
        std::thread::sleep(Duration::from_millis(50));
    }

    save_screenshot(&browser, "WEB_STATIC_SCREENSHOT");
    let errors = browser.script("return window.pageErrors;");
    assert_eq!(errors, json!([]), "JavaScript errors on the page");
}

/// Saves a picture of the page where the environment variable `variable` says.
fn save_screenshot(browser: &Browser, variable: &str) {
    if let Ok(target) = std::env::var(variable) {
        let png = base64::engine::general_purpose::STANDARD
            .decode(
                browser
                    .command("GET", "/screenshot", None)
                    .as_str()
                    .unwrap(),
            )
            .expect("WebDriver sends the screenshot as base64");
        assert!(png.starts_with(b"\x89PNG"));
        let target = Path::new(&target);
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir).expect("the screenshot's directory");
        }
        std::fs::write(target, png).expect("the screenshot is written");
    }
}
