//! The `infer` binary as a user runs it: several files and directories in one call, text and
//! JSON output, exit statuses, the model options, and every kind of bad input.

mod common;
// Shared with the web crate's API tests.
#[path = "fixtures/png_header.rs"]
mod png_header;

use std::fs;
use std::path::{Path, PathBuf};

use burn::backend::NdArray;
use common::{infer, samples_dir};
use image::{DynamicImage, GrayImage, Luma, RgbaImage};
use lenet::{LeNet5Config, Variant};
use png_header::png_header_only;
use serde_json::Value;

fn sample(name: &str) -> String {
    samples_dir().join(name).display().to_string()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn json_lines(bytes: &[u8]) -> Vec<Value> {
    text(bytes)
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON object per line"))
        .collect()
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}

#[test]
fn several_files_and_a_directory_are_classified_in_one_call() {
    let output = infer(&[
        &sample("7-mnist.png"),
        path_str(&samples_dir()),
        &sample("2-paper.jpg"),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    let answers: Vec<&str> = stdout.lines().filter(|l| !l.starts_with(' ')).collect();
    let in_dir = fs::read_dir(samples_dir()).expect("samples").count();
    assert_eq!(answers.len(), in_dir + 2, "{stdout}");
    // Files in a directory come sorted by name, between the files around them.
    assert!(answers[0].starts_with(&sample("7-mnist.png")));
    assert!(answers[1].contains("0-mnist.png"), "{stdout}");
    assert!(
        answers
            .last()
            .is_some_and(|l| l.starts_with(&sample("2-paper.jpg")))
    );
    // "file: digit (probability)", then the top 3 with bars.
    let first = answers[0].rsplit_once(": ").expect("file: answer").1;
    let (digit, percent) = first.split_once(" (").expect("digit (p%)");
    assert!(digit.parse::<u8>().is_ok_and(|d| d < 10), "{first}");
    assert!(percent.ends_with("%)"), "{first}");
    assert_eq!(stdout.lines().count(), 4 * (in_dir + 2));
}

#[test]
fn json_gives_one_object_per_file() {
    let output = infer(&[
        "--json",
        &sample("7-mnist.png"),
        &sample("1-transparent.png"),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let lines = json_lines(&output.stdout);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["file"], sample("7-mnist.png"));
    for line in &lines {
        let probabilities: Vec<f64> = line["probabilities"]
            .as_array()
            .expect("probabilities")
            .iter()
            .filter_map(Value::as_f64)
            .collect();
        assert_eq!(probabilities.len(), 10);
        assert!((probabilities.iter().sum::<f64>() - 1.0).abs() < 1e-4);
        let digit = line["digit"].as_u64().expect("digit") as usize;
        let confidence = line["confidence"].as_f64().expect("confidence");
        assert_eq!(confidence, probabilities[digit]);
        assert!(probabilities.iter().all(|&p| p <= confidence));
    }
}

#[test]
fn top_k_sets_how_many_digits_are_listed() {
    for (k, lines) in [("0", 1), ("1", 2), ("10", 11)] {
        let output = infer(&["--top", k, &sample("4-mnist.png")]);
        assert_eq!(output.status.code(), Some(0));
        assert_eq!(text(&output.stdout).lines().count(), lines, "--top {k}");
    }
}

#[test]
fn usage_errors_exit_with_2() {
    for args in [
        &[][..],
        &["--top", "11", "x.png"][..],
        &["--backend", "cuda", "x.png"][..],
        &["--no-such-option", "x.png"][..],
    ] {
        let output = infer(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(!text(&output.stderr).is_empty(), "{args:?}");
    }
    let help = infer(&["--help"]);
    assert_eq!(help.status.code(), Some(0));
    for option in [
        "--model",
        "--json",
        "--top",
        "--backend",
        "--save-preprocessed",
    ] {
        assert!(text(&help.stdout).contains(option), "{option}");
    }
}

/// A BMP header declaring `width` x `height` 24-bit pixels, without pixels.
fn bmp_header_only(width: i32, height: i32) -> Vec<u8> {
    let mut bytes = b"BM".to_vec();
    for value in [54u32, 0, 54, 40] {
        bytes.extend(value.to_le_bytes());
    }
    bytes.extend(width.to_le_bytes());
    bytes.extend(height.to_le_bytes());
    bytes.extend(1u16.to_le_bytes());
    bytes.extend(24u16.to_le_bytes());
    bytes.extend([0u8; 24]);
    bytes
}

fn png_bytes(image: &DynamicImage) -> Vec<u8> {
    let mut bytes = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut bytes, image::ImageFormat::Png)
        .expect("encodes");
    bytes.into_inner()
}

#[test]
fn each_bad_input_gets_one_message_naming_it_and_the_rest_are_still_classified() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let good = fs::read(samples_dir().join("7-mnist.png")).expect("sample");
    let photo = fs::read(samples_dir().join("3-photo.jpg")).expect("sample");
    let mut corrupted = good.clone();
    // Damage the compressed pixel data but not the header.
    let end = corrupted.len() - 20;
    corrupted[40..end].iter_mut().for_each(|byte| *byte ^= 0x5A);
    let blank = png_bytes(&DynamicImage::ImageLuma8(GrayImage::from_pixel(
        200,
        120,
        Luma([235]),
    )));
    let transparent = png_bytes(&DynamicImage::ImageRgba8(RgbaImage::new(64, 64)));
    // GIF with a 0x0 screen and image.
    let empty_gif = [
        &b"GIF89a\x00\x00\x00\x00\x00\x00\x00"[..],
        b"\x2c\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x02\x44\x01\x00\x3b",
    ]
    .concat();
    let cases: [(&str, Vec<u8>, &str); 10] = [
        ("notes.png", b"not an image at all".to_vec(), "not an image"),
        (
            "half.png",
            good[..good.len() / 2].to_vec(),
            "truncated or corrupted",
        ),
        (
            "half.jpg",
            photo[..photo.len() / 3].to_vec(),
            "truncated or corrupted",
        ),
        ("damaged.png", corrupted, "truncated or corrupted"),
        ("empty.gif", empty_gif, "image is empty"),
        (
            "bomb.png",
            png_header_only(100_000, 100_000),
            "100000x100000 pixels",
        ),
        ("wide.png", png_header_only(20_000, 10), "20000x10 pixels"),
        (
            "huge.bmp",
            bmp_header_only(11_000, 11_000),
            "11000x11000 pixels",
        ),
        ("blank.png", blank, "no digit found"),
        ("transparent.png", transparent, "no digit found"),
    ];
    let mut args = vec![sample("7-mnist.png")];
    for (name, bytes, _) in &cases {
        let path = dir.path().join(name);
        fs::write(&path, bytes).expect("write");
        args.push(path.display().to_string());
    }
    let missing = dir.path().join("missing.png");
    args.push(missing.display().to_string());
    let no_images = dir.path().join("no-images");
    fs::create_dir(&no_images).expect("mkdir");
    fs::write(no_images.join("readme.txt"), "no images here").expect("write");
    args.push(no_images.display().to_string());
    args.push(sample("2-mnist.png"));

    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = infer(&args);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let messages: Vec<&str> = stderr.lines().collect();
    assert_eq!(messages.len(), cases.len() + 2, "{stderr}");
    for (message, (name, _, expected)) in messages.iter().zip(&cases) {
        let file = dir.path().join(name).display().to_string();
        assert!(
            message.starts_with(&format!("infer: {file}: ")),
            "{message}"
        );
        assert!(message.contains(expected), "{name}: {message}");
    }
    assert!(messages[cases.len()].contains("missing.png: no such file"));
    assert!(messages[cases.len() + 1].contains("no-images: directory holds no images"));
    // The good files around the bad ones are still classified.
    let stdout = text(&output.stdout);
    assert!(stdout.starts_with(&sample("7-mnist.png")), "{stdout}");
    assert!(stdout.contains(&sample("2-mnist.png")), "{stdout}");
}

#[test]
fn json_reports_failed_files_as_error_objects() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let bad = dir.path().join("bad.png");
    fs::write(&bad, "text").expect("write");
    let output = infer(&["--json", path_str(&bad), &sample("0-mnist.png")]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(text(&output.stderr), "");
    let lines = json_lines(&output.stdout);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["file"], path_str(&bad));
    assert!(
        lines[0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("not an image"))
    );
    assert!(lines[1]["digit"].is_u64());
}

#[test]
fn save_preprocessed_writes_the_28x28_image_the_model_saw_and_what_was_removed() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let out = dir.path().join("seen");
    let output = infer(&[
        "--save-preprocessed",
        path_str(&out),
        &sample("3-photo.jpg"),
        &sample("4-mnist.png"),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    for name in ["3-photo.jpg", "4-mnist.png"] {
        let saved = image::open(out.join(format!("{name}.png"))).expect("saved PNG");
        let DynamicImage::ImageLuma8(saved) = saved else {
            panic!("{name}: not 8-bit grey");
        };
        let input = infer::preprocess::read_image(&samples_dir().join(name)).expect("sample");
        let (expected, removed) =
            infer::preprocess::to_mnist_showing_removed(&input).expect("a digit");
        assert_eq!(saved.as_raw()[..], expected[..], "{name}");
        let saved = image::open(out.join(format!("{name}.removed.png"))).expect("saved PNG");
        assert_eq!(saved.to_rgb8(), removed, "{name}: what was removed");
    }
}

#[test]
fn explain_draws_a_sheet_per_file_and_different_digits_light_c1_differently() {
    use figures::{Panel, SHEET_SIZE, sheet_panel};

    let dir = tempfile::tempdir().expect("temporary directory");
    let out = dir.path().join("explained");
    let names = ["1-mnist.png", "7-mnist.png", "3-photo.jpg"];
    let mut args = vec!["--explain".to_string(), path_str(&out).to_string()];
    args.extend(names.map(sample));
    // The same file twice: its sheets must match, under a second name.
    args.push(sample("7-mnist.png"));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = infer(&args);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));

    let sheet = |name: &str| {
        let picture = image::open(out.join(name)).expect("a PNG").to_rgb8();
        assert_eq!(picture.dimensions(), SHEET_SIZE, "{name}");
        picture
    };
    let panel = |picture: &image::RgbImage, panel: Panel| {
        let [x0, y0, x1, y1] = sheet_panel(panel);
        image::imageops::crop_imm(picture, x0, y0, x1 - x0, y1 - y0).to_image()
    };
    let (one, seven, three) = (
        sheet("1-mnist.png.png"),
        sheet("7-mnist.png.png"),
        sheet("3-photo.jpg.png"),
    );
    assert_eq!(
        panel(&seven, Panel::C1(0)),
        panel(&sheet("7-mnist.png-2.png"), Panel::C1(0))
    );
    for map in 0..6 {
        let c1 = [&one, &seven, &three].map(|sheet| panel(sheet, Panel::C1(map)));
        assert_ne!(c1[0], c1[1], "C1 map {map}: 1 and 7");
        assert_ne!(c1[1], c1[2], "C1 map {map}: 7 and 3");
        // A map, not a blank tile: the digit's strokes give it many colours.
        let colours: std::collections::HashSet<_> = c1[0].pixels().collect();
        assert!(
            colours.len() > 10,
            "C1 map {map}: {} colours",
            colours.len()
        );
    }
    // What preprocessing kept of the photographed 3, beside it: the ink in grey on black.
    let removed = panel(&three, Panel::Removed);
    let count =
        |keep: &dyn Fn(&image::Rgb<u8>) -> bool| removed.pixels().filter(|p| keep(p)).count();
    let (black, grey) = (
        count(&|p| p.0 == [0; 3]),
        count(&|p| p.0[0] == p.0[1] && p.0[1] == p.0[2] && (61..=250).contains(&p.0[0])),
    );
    assert!(black > removed.pixels().len() / 3, "{black} black pixels");
    assert!(grey > 200, "{grey} pixels of kept ink");
    // What the model saw is the 28x28 of --save-preprocessed, drawn 8 pixels a pixel.
    let input = infer::preprocess::read_image(&samples_dir().join("3-photo.jpg")).expect("sample");
    let seen = infer::preprocess::to_mnist(&input).expect("a digit");
    let drawn = panel(&three, Panel::Seen);
    for (i, &value) in seen.iter().enumerate() {
        let (x, y) = ((i % 28) as u32 * 8 + 4, (i / 28) as u32 * 8 + 4);
        assert_eq!(drawn.get_pixel(x, y).0, [value; 3], "pixel {i}");
    }
}

#[test]
fn explain_into_an_unwritable_place_fails_that_file_with_its_name() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let out = dir.path().join("explained");
    fs::create_dir(&out).expect("create");
    // A directory where the sheet should go: it cannot be replaced by a file.
    fs::create_dir(out.join("7-mnist.png.png")).expect("create");
    let output = infer(&[
        "--explain",
        path_str(&out),
        &sample("7-mnist.png"),
        &sample("1-mnist.png"),
    ]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("7-mnist.png: cannot write the explanation sheet")
            && stderr.contains("7-mnist.png.png"),
        "{stderr}"
    );
    assert!(out.join("1-mnist.png.png").is_file());
}

/// A temporary artifacts directory with an untrained model of `variant` and, if given, a
/// config.toml.
fn artifacts(variant: Variant, config: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    LeNet5Config::new()
        .with_variant(variant)
        .init::<NdArray>(&Default::default())
        .save(dir.path().join("model.mpk"))
        .expect("saves");
    if let Some(config) = config {
        fs::write(dir.path().join("config.toml"), config).expect("write");
    }
    dir
}

const KERAS_CONFIG: &str = "[model]\nvariant = \"keras\"\n\n[data.input]\npadding = 0\n\
                            normalization = \"unit\"\n\n[training]\nepochs = 1\n";

#[test]
fn model_option_takes_an_artifacts_directory_or_a_model_file() {
    let with_config = artifacts(Variant::Keras, Some(KERAS_CONFIG));
    let bare = artifacts(Variant::Keras, None);
    let model_file = bare.path().join("model.mpk");
    for model in [
        with_config.path(),
        &with_config.path().join("model.mpk"),
        &model_file,
    ] {
        let output = infer(&["--model", path_str(model), "--json", &sample("7-mnist.png")]);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{model:?}: {}",
            text(&output.stderr)
        );
        assert_eq!(json_lines(&output.stdout).len(), 1);
    }
    // A keras model with the default keras input and with the same input written out in a
    // config.toml gives the same answer.
    let run = |model: &Path| {
        let output = infer(&["--model", path_str(model), "--json", &sample("2-paper.jpg")]);
        json_lines(&output.stdout)[0]["probabilities"].clone()
    };
    let same_weights = tempfile::tempdir().expect("temporary directory");
    fs::copy(&model_file, same_weights.path().join("model.mpk")).expect("copy");
    fs::write(same_weights.path().join("config.toml"), KERAS_CONFIG).expect("write");
    assert_eq!(run(&model_file), run(same_weights.path()));
}

#[test]
fn the_built_in_model_is_the_one_in_crates_lenet_pretrained() {
    let dir: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../lenet/pretrained");
    let args = |model: Option<&str>| {
        let mut args = vec!["--json", "--top", "0"];
        args.extend(model.map(|m| ["--model", m]).into_iter().flatten());
        let samples = samples_dir();
        let output = infer(&[&args[..], &[path_str(&samples)]].concat());
        assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
        json_lines(&output.stdout)
    };
    assert_eq!(args(None), args(Some(path_str(&dir))));
}

#[test]
fn models_that_cannot_be_used_exit_with_2_and_say_why() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let garbage = dir.path().join("garbage.mpk");
    fs::write(&garbage, [0u8, 1, 2, 3, 4, 5]).expect("write");
    let empty_dir = dir.path().join("empty");
    fs::create_dir(&empty_dir).expect("mkdir");
    let mismatched = artifacts(Variant::Classic, Some(KERAS_CONFIG));
    let bad_config = artifacts(
        Variant::Classic,
        Some("[model]\nvariant = \"classic\"\n[training]\nepoks = 3\n"),
    );
    let bad_padding = artifacts(
        Variant::Classic,
        Some(
            "[model]\nvariant = \"classic\"\n[data.input]\npadding = 0\nnormalization = \"unit\"\n",
        ),
    );
    let cases: [(&Path, &str); 6] = [
        (&dir.path().join("missing.mpk"), "not found"),
        (&garbage, "not a LeNet-5 record"),
        (&empty_dir, "holds no model.mpk"),
        (
            mismatched.path(),
            "holds a LeNet-5 with variant = \"classic\", c1_padding = \"valid\", but one with variant = \"keras\"",
        ),
        (bad_config.path(), "training.epoks: unknown key"),
        (
            bad_padding.path(),
            "data.input.padding: gives 28x28 images, but model.variant \"classic\" takes 32x32",
        ),
    ];
    for (model, expected) in cases {
        let output = infer(&["--model", path_str(model), &sample("7-mnist.png")]);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{model:?}: {stderr}");
        assert_eq!(output.stdout, b"", "{model:?}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.starts_with("infer: ") && stderr.contains(expected),
            "{stderr}"
        );
    }
}

#[test]
fn save_directory_that_cannot_be_created_exits_with_2() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let file = dir.path().join("a-file");
    fs::write(&file, "").expect("write");
    let target = file.join("sub");
    let output = infer(&[
        "--save-preprocessed",
        path_str(&target),
        &sample("7-mnist.png"),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("cannot create directory"));
}

#[test]
#[ignore = "needs a wgpu adapter (a GPU driver; on Linux without a GPU, mesa-vulkan-drivers)"]
fn wgpu_gives_the_same_answers_as_ndarray() {
    // CubeCL keeps its autotuning results under ./target: run where that leaves no trace.
    let scratch = tempfile::tempdir().expect("temporary directory");
    let run = |backend: &str| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_infer"))
            .args(["--json", "--backend", backend, path_str(&samples_dir())])
            .current_dir(scratch.path())
            .output()
            .expect("runs");
        assert_eq!(
            output.status.code(),
            Some(0),
            "{backend}: {}",
            text(&output.stderr)
        );
        json_lines(&output.stdout)
    };
    let (ndarray, wgpu) = (run("ndarray"), run("wgpu"));
    assert_eq!(ndarray.len(), wgpu.len());
    for (a, b) in ndarray.iter().zip(&wgpu) {
        assert_eq!(a["file"], b["file"]);
        assert_eq!(a["digit"], b["digit"]);
        let probabilities = |line: &Value| -> Vec<f64> {
            line["probabilities"]
                .as_array()
                .expect("probabilities")
                .iter()
                .filter_map(Value::as_f64)
                .collect()
        };
        for (p, q) in probabilities(a).iter().zip(probabilities(b)) {
            assert!((p - q).abs() < 1e-4, "{}: {p} vs {q}", a["file"]);
        }
    }
}

/// Vulkan is the only wgpu backend on Linux; pointing its loader at no driver leaves wgpu
/// without an adapter, as on a machine without a GPU or Mesa's lavapipe.
#[cfg(target_os = "linux")]
#[test]
fn verbose_names_the_model_the_backend_and_the_kernel_route() {
    for (backend, route) in [
        ("flex", "fused kernels (flex)"),
        ("ndarray", "fused kernels (ndarray)"),
    ] {
        let output = infer(&["--verbose", "--backend", backend, &sample("7-mnist.png")]);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{stderr}");
        assert_eq!(
            stderr.trim(),
            format!("infer: the built-in model (LeNet-5 \"classic\") on {backend}: {route}")
        );
    }
    let quiet = infer(&[&sample("7-mnist.png")]);
    assert!(text(&quiet.stderr).is_empty());
}

#[test]
fn wgpu_without_an_adapter_is_a_clear_error_not_a_panic() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_infer"))
        .args(["--backend", "wgpu", &sample("7-mnist.png")])
        .env("VK_ICD_FILENAMES", "/nonexistent/icd.json")
        .env("VK_DRIVER_FILES", "/nonexistent/icd.json")
        .output()
        .expect("runs");
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("infer: the wgpu backend found no usable GPU adapter"),
        "{stderr}"
    );
    assert!(stderr.contains("--backend ndarray"), "{stderr}");
}
