//! The `web` binary as a user runs it: the address it prints, Ctrl-C, a port in use, a model
//! that cannot be loaded.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};

use common::{client, get};

fn web(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_web"));
    command
        .args(args)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

fn stderr_of(child: &mut Child) -> String {
    let mut text = String::new();
    child
        .stderr
        .take()
        .expect("piped")
        .read_to_string(&mut text)
        .expect("utf-8");
    text
}

#[test]
fn it_prints_its_address_serves_and_stops_cleanly_on_ctrl_c() {
    let mut child = web(&["--port", "0"]).spawn().expect("web starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped"))
        .read_line(&mut line)
        .expect("a line");
    let url = line
        .trim_end()
        .rsplit_once(" at ")
        .map(|(_, url)| url.to_owned())
        .unwrap_or_else(|| panic!("no address in {line:?}: {}", stderr_of(&mut child)));
    assert!(
        line.starts_with("classic LeNet-5, the built-in model, on ndarray at http://127.0.0.1:")
    );
    assert!(url.ends_with('/'), "{url}");

    let health = get(&client(), &format!("{url}healthz"));
    assert_eq!(health.status, 200);

    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let exit = child.wait().expect("web exits");
    let log = stderr_of(&mut child);
    assert_eq!(exit.code(), Some(0), "{log}");
    // One log line per request, with its status.
    assert!(
        log.lines()
            .any(|l| l.contains("uri=/healthz") && l.contains("status=200")),
        "{log}"
    );
}

#[test]
fn a_port_in_use_is_one_clear_message_and_status_1() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("a free port");
    let port = taken.local_addr().unwrap().port().to_string();
    let output = web(&["--port", &port]).output().expect("web runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let message = stderr.trim_end();
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(
        message.starts_with(&format!("web: cannot listen on 127.0.0.1:{port}"))
            && message.contains("--port"),
        "{message}"
    );
    assert!(output.stdout.is_empty());
}

#[test]
fn a_model_that_cannot_be_loaded_is_status_2() {
    let dir = tempfile::tempdir().unwrap();
    let output = web(&["--model", dir.path().to_str().unwrap()])
        .output()
        .expect("web runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("holds no model.mpk"), "{stderr}");
}

#[test]
fn the_limits_are_flags_with_their_defaults_in_help() {
    let output = web(&["--help"]).output().expect("web runs");
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{help}");
    for (flag, default) in [
        ("--header-timeout <SECONDS>", "[default: 10]"),
        ("--body-timeout <SECONDS>", "[default: 60]"),
        ("--max-connections <N>", "[default: 256]"),
    ] {
        let at = help.find(flag).unwrap_or_else(|| panic!("{flag}: {help}"));
        let text = &help[at..];
        let next_flag = text[2..].find("\n  -").map_or(text.len(), |end| end + 2);
        assert!(text[..next_flag].contains(default), "{flag}: {help}");
    }

    for bad in [
        ["--max-connections", "0"],
        ["--header-timeout", "0"],
        ["--body-timeout", "soon"],
    ] {
        let output = web(&bad).output().expect("web runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{bad:?}: {stderr}");
        assert!(stderr.contains(bad[0]), "{bad:?}: {stderr}");
    }
}

/// A stand-in for onnxruntime-web's dist directory: the three files, with dummy contents.
fn fake_ort() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a directory");
    for name in web::ORT_FILES {
        std::fs::write(dir.path().join(name), format!("// {name}")).expect("written");
    }
    dir
}

#[test]
fn static_writes_the_site_and_exits_without_serving() {
    let ort = fake_ort();
    let site = tempfile::tempdir().expect("a directory");
    let target = site.path().join("site");
    let (site_arg, ort_arg) = (target.to_str().unwrap(), ort.path().to_str().unwrap());
    let output = web(&["--static", site_arg, "--ort", ort_arg])
        .output()
        .expect("web runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("wrote 9 files") && stdout.contains("http.server"),
        "{stdout}"
    );
    let mut names: Vec<String> = std::fs::read_dir(&target)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "app.js",
            "index.html",
            "model.json",
            "model.onnx",
            "onnx.js",
            "ort-wasm-simd-threaded.mjs",
            "ort-wasm-simd-threaded.wasm",
            "ort.wasm.min.js",
            "style.css",
        ]
    );
    let index = std::fs::read_to_string(target.join("index.html")).unwrap();
    assert!(
        index.contains("<script src=\"ort.wasm.min.js\"></script>"),
        "{index}"
    );
    let model: serde_json::Value =
        serde_json::from_slice(&std::fs::read(target.join("model.json")).unwrap()).unwrap();
    assert_eq!(model["variant"], "classic");
    assert_eq!(model["input"]["side"], 32);
    let values = model["input"]["values"].as_array().expect("256 values");
    assert_eq!(values.len(), 256);
    // The classic model's input is standardised: background (x - 0.1307) / 0.3081.
    assert!((values[0].as_f64().unwrap() + 0.1307 / 0.3081).abs() < 1e-6);

    // Written again into the same directory: the site's own files are replaced.
    let again = web(&["--static", site_arg, "--ort", ort_arg])
        .output()
        .unwrap();
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
}

#[test]
fn static_refuses_a_directory_with_other_files_and_a_missing_onnxruntime_web() {
    let ort = fake_ort();
    let site = tempfile::tempdir().expect("a directory");
    std::fs::write(site.path().join("notes.txt"), "the user's").unwrap();
    let site_arg = site.path().to_str().unwrap();
    let output = web(&["--static", site_arg, "--ort", ort.path().to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("notes.txt") && stderr.contains("new or empty directory"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_dir(site.path()).unwrap().count(),
        1,
        "nothing written"
    );

    let empty = tempfile::tempdir().expect("a directory");
    let output = web(&[
        "--static",
        site_arg,
        "--ort",
        empty.path().to_str().unwrap(),
    ])
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("web: cannot write the static site")
            && stderr.contains("npm ci --prefix crates/web/ort"),
        "{stderr}"
    );
}
