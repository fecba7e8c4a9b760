//! The API on a real socket: answers as `infer --json` gives them, every kind of bad upload
//! with its status, concurrent requests, and a slow image that must not stall the server.

mod common;
#[path = "../../infer/tests/fixtures/png_header.rs"]
mod png_header;

use std::io::Cursor;
use std::path::Path;
use std::sync::Barrier;
use std::time::Instant;

use common::{Server, client, get, post, samples};
use experiment::BackendKind;
use image::{DynamicImage, GrayImage, ImageFormat, Luma};
use infer::output::JsonResult;
use infer::{AnyClassifier, ModelSource, preprocess};
use png_header::png_header_only;
use serde_json::Value;

fn png(image: GrayImage) -> Vec<u8> {
    let mut bytes = Cursor::new(Vec::new());
    DynamicImage::ImageLuma8(image)
        .write_to(&mut bytes, ImageFormat::Png)
        .expect("encodes");
    bytes.into_inner()
}

fn error_of(answer: &Value) -> &str {
    answer["error"].as_str().expect("an error message")
}

#[test]
fn samples_are_answered_with_infers_json_object() {
    let server = Server::start();
    let agent = client();
    let classifier = AnyClassifier::load(&ModelSource::Embedded, BackendKind::Ndarray).unwrap();
    for (name, digit, bytes) in samples() {
        let answer = post(
            &agent,
            &server.url(&format!("/api/classify?name={name}")),
            &bytes,
        );
        assert_eq!(answer.status, 200, "{name}: {}", answer.body);
        assert_eq!(answer.content_type, "application/json");
        let json = answer.json();
        assert_eq!(json["digit"], digit, "{name}: {json}");

        // The very object `infer --json` writes for the file.
        let image = preprocess::decode_image(&bytes, Path::new(&name)).unwrap();
        let seen = preprocess::to_mnist(&image).unwrap();
        let expected = &classifier.classify(&[seen])[0];
        let expected = serde_json::to_string(&JsonResult::new(&name, expected)).unwrap();
        assert_eq!(answer.body, expected, "{name}");
    }

    let unnamed = post(&agent, &server.url("/api/classify"), &samples()[0].2).json();
    assert_eq!(unnamed["file"], "upload");
}

#[test]
fn maps_add_the_seen_image_and_the_c1_and_c3_maps() {
    let server = Server::start();
    let agent = client();
    let (name, digit, bytes) = samples().remove(0);
    let answer = post(
        &agent,
        &server.url(&format!("/api/classify?maps=true&name={name}")),
        &bytes,
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    let json = answer.json();
    assert_eq!(json["digit"], digit);

    let image = preprocess::decode_image(&bytes, Path::new(&name)).unwrap();
    let seen: Vec<Value> = preprocess::to_mnist(&image)
        .unwrap()
        .iter()
        .map(|&p| p.into())
        .collect();
    assert_eq!(json["seen"], Value::Array(seen));
    for (layer, count, side) in [("c1", 6, 28), ("c3", 16, 10)] {
        let maps = &json[layer];
        assert_eq!(maps["count"], count, "{layer}");
        assert_eq!(maps["height"], side, "{layer}");
        assert_eq!(maps["width"], side, "{layer}");
        let values = maps["values"].as_array().expect("values");
        assert_eq!(values.len(), count * side * side, "{layer}");
        // tanh outputs, not all the same.
        let values: Vec<f64> = values.iter().map(|v| v.as_f64().unwrap()).collect();
        assert!(values.iter().all(|v| (-1.0..=1.0).contains(v)), "{layer}");
        assert!(values.iter().any(|&v| v != values[0]), "{layer}");
    }

    let plain = post(&agent, &server.url("/api/classify?maps=false"), &bytes).json();
    assert!(plain.get("seen").is_none() && plain.get("c1").is_none());
    assert_eq!(plain["probabilities"], json["probabilities"]);
}

#[test]
fn bytes_that_are_no_image_are_400() {
    let server = Server::start();
    let agent = client();
    let answer = post(&agent, &server.url("/api/classify"), b"hello, not an image");
    assert_eq!(answer.status, 400, "{}", answer.body);
    let json = answer.json();
    assert_eq!(json["file"], "upload");
    assert!(error_of(&json).contains("not an image"), "{json}");

    let truncated = &samples()[0].2[..60];
    let answer = post(&agent, &server.url("/api/classify?name=cut.png"), truncated);
    assert_eq!(answer.status, 400, "{}", answer.body);
    let json = answer.json();
    assert_eq!(json["file"], "cut.png");
    assert!(
        error_of(&json).starts_with("cut.png: cannot decode"),
        "{json}"
    );

    let empty = post(&agent, &server.url("/api/classify"), b"");
    assert_eq!(empty.status, 400, "{}", empty.body);
}

#[test]
fn a_body_over_10_mib_is_413_and_the_server_goes_on() {
    let server = Server::start();
    let agent = client();
    let answer = post(&agent, &server.url("/api/classify"), &vec![0; 11_000_000]);
    assert_eq!(answer.status, 413, "{}", answer.body);
    assert!(error_of(&answer.json()).contains("larger than 10 MiB"));

    // Just under the limit is read, and judged by its content.
    let answer = post(
        &agent,
        &server.url("/api/classify"),
        &vec![0; web::BODY_LIMIT],
    );
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(get(&agent, &server.url("/healthz")).status, 200);
}

#[test]
fn a_blank_image_is_422() {
    let server = Server::start();
    let blank = png(GrayImage::from_pixel(64, 48, Luma([230])));
    let answer = post(
        &client(),
        &server.url("/api/classify?name=blank.png"),
        &blank,
    );
    assert_eq!(answer.status, 422, "{}", answer.body);
    let json = answer.json();
    assert!(error_of(&json).contains("no digit found"), "{json}");
}

#[test]
fn a_decompression_bomb_is_refused_from_its_header() {
    let server = Server::start();
    let bomb = png_header_only(100_000, 100_000);
    assert!(bomb.len() < 100);
    let answer = post(&client(), &server.url("/api/classify?name=bomb.png"), &bomb);
    assert_eq!(answer.status, 413, "{}", answer.body);
    let json = answer.json();
    // The size it names is the header's: nothing was decoded to find it.
    assert!(error_of(&json).contains("100000x100000"), "{json}");

    // Within the limits, the same header is decoded, and found to lack its pixels.
    let answer = post(
        &client(),
        &server.url("/api/classify"),
        &png_header_only(64, 64),
    );
    assert_eq!(answer.status, 400, "{}", answer.body);
}

#[test]
fn concurrent_requests_are_all_answered() {
    let server = Server::start();
    let samples = samples();
    let blank = png(GrayImage::from_pixel(32, 32, Luma([0])));
    let clients = 16;
    let start = Barrier::new(clients);
    std::thread::scope(|scope| {
        let threads: Vec<_> = (0..clients)
            .map(|client_index| {
                let (server, samples, blank, start) = (&server, &samples, &blank, &start);
                scope.spawn(move || {
                    let agent = client();
                    start.wait();
                    let mut answered = 0;
                    for round in 0..6 {
                        let (name, digit, bytes) = &samples[(client_index + round) % samples.len()];
                        let url = server.url(&format!("/api/classify?name={name}"));
                        let answer = post(&agent, &url, bytes);
                        assert_eq!(answer.status, 200, "{name}: {}", answer.body);
                        assert_eq!(answer.json()["digit"], *digit, "{name}");
                        let answer = post(&agent, &server.url("/api/classify"), blank);
                        assert_eq!(answer.status, 422, "{}", answer.body);
                        answered += 2;
                    }
                    answered
                })
            })
            .collect();
        let answered: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
        assert_eq!(answered, clients * 12);
    });
}

#[test]
fn slow_images_do_not_stall_the_other_requests() {
    let server = Server::start();
    // A dark stroke on 100 megapixels of paper (the most accepted): under 1 MB as a PNG, long
    // to decode and preprocess.
    let side = 10_000;
    let slow = png(GrayImage::from_fn(side, side, |x, y| {
        let stroke = (4700..5300).contains(&x) && (1700..8300).contains(&y);
        Luma([if stroke { 20 } else { 235 }])
    }));
    assert!(slow.len() < web::BODY_LIMIT);
    let started = Instant::now();
    let slow_clients = 4;
    let begin = Barrier::new(slow_clients + 1);
    std::thread::scope(|scope| {
        let slow_threads: Vec<_> = (0..slow_clients)
            .map(|_| {
                scope.spawn(|| {
                    let agent = client();
                    begin.wait();
                    let answer = post(&agent, &server.url("/api/classify"), &slow);
                    assert_eq!(answer.status, 200, "{}", answer.body);
                    assert_eq!(answer.json()["digit"], 1);
                    started.elapsed()
                })
            })
            .collect();
        let agent = client();
        begin.wait();
        std::thread::sleep(std::time::Duration::from_millis(50));
        for path in ["/healthz", "/api/model", "/"] {
            assert_eq!(get(&agent, &server.url(path)).status, 200, "{path}");
        }
        let quick = started.elapsed();
        let first_slow = slow_threads
            .into_iter()
            .map(|t| t.join().unwrap())
            .min()
            .unwrap();
        // The slow images take the model's threads; the rest is answered meanwhile.
        assert!(
            quick < first_slow,
            "the quick requests took {quick:?}, the first slow image {first_slow:?}"
        );
    });
}

#[test]
fn the_model_card_has_the_summary_and_the_training_report() {
    let server = Server::start();
    let answer = get(&client(), &server.url("/api/model"));
    assert_eq!(answer.status, 200, "{}", answer.body);
    let json = answer.json();
    assert_eq!(json["variant"], "classic");
    assert_eq!(json["backend"], "ndarray");
    assert_eq!(json["name"], "the built-in model");
    let layers = json["summary"]["layers"].as_array().expect("layers");
    let names: Vec<&str> = layers.iter().map(|l| l["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["C1", "S2", "C3", "S4", "C5", "F6", "output"]);
    let params: u64 = layers.iter().map(|l| l["params"].as_u64().unwrap()).sum();
    assert_eq!(json["total_params"], params);
    // The lecture's table: 61,706 trainable parameters in the classic LeNet-5.
    assert_eq!(params, 61_706);
    let report = &json["report"];
    assert!(
        report["test_accuracy"].as_f64().unwrap() >= 0.99,
        "{report}"
    );
    assert_eq!(report["test_images"], 10_000);
}

#[test]
fn the_page_health_and_unknown_paths() {
    let server = Server::start();
    let agent = client();
    let health = get(&agent, &server.url("/healthz"));
    assert_eq!(
        (health.status, health.json()),
        (200, serde_json::json!({"status": "ok"}))
    );

    let page = get(&agent, &server.url("/"));
    assert_eq!(page.status, 200);
    assert!(
        page.content_type.starts_with("text/html"),
        "{}",
        page.content_type
    );
    assert!(page.body.contains(r#"<canvas id="pad""#));
    for (path, kind) in [("/app.js", "text/javascript"), ("/style.css", "text/css")] {
        let kind = format!("{kind}; charset=utf-8");
        let file = get(&agent, &server.url(path));
        assert_eq!((file.status, &file.content_type), (200, &kind), "{path}");
        // Linked relatively, so that the static site (`web --static`) works from any
        // directory of a host.
        let relative = &path[1..];
        assert!(
            page.body.contains(&format!(r#""{relative}""#)),
            "the page links {relative}"
        );
    }

    let missing = get(&agent, &server.url("/api/nothing"));
    assert_eq!(missing.status, 404);
    assert!(error_of(&missing.json()).contains("/api/nothing"));

    let bad_query = post(&agent, &server.url("/api/classify?maps=perhaps"), b"x");
    assert_eq!(bad_query.status, 400, "{}", bad_query.body);
    assert!(error_of(&bad_query.json()).contains("query"));
}
