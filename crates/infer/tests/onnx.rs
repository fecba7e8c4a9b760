//! `infer --export-onnx`: the file it writes, its errors, and (with MNIST and onnxruntime) the
//! same logits from onnxruntime as from Burn for every variant.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use burn::backend::NdArray;
use burn::prelude::*;
use common::{infer, samples_dir};
use infer::{Classifier, ModelSource};
use lenet::{C1Padding, LeNet5Config, Variant};
use lenet_onnx::proto::ModelProto;
use prost::Message;
use serde_json::Value;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn read_model(file: &Path) -> ModelProto {
    ModelProto::decode(fs::read(file).expect("the file is written").as_slice()).expect("ONNX")
}

fn meta<'m>(model: &'m ModelProto, key: &str) -> Option<&'m str> {
    model
        .metadata_props
        .iter()
        .find(|p| p.key == key)
        .map(|p| p.value.as_str())
}

/// An artifacts directory with an untrained network of `variant`, seeded, and no config.toml
/// (so the variant's default input).
fn untrained(variant: Variant, padding: C1Padding, seed: u64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let device = Default::default();
    <NdArray as Backend>::seed(&device, seed);
    LeNet5Config::new()
        .with_variant(variant)
        .with_c1_padding(padding)
        .init::<NdArray>(&device)
        .save(dir.path().join("model.mpk"))
        .expect("saves");
    dir
}

#[test]
fn export_onnx_writes_the_built_in_model_with_its_accuracy_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("lenet5.onnx");
    let output = infer(&["--export-onnx", file.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(output.stdout, b"");
    assert!(
        text(&output.stderr).contains("wrote"),
        "{}",
        text(&output.stderr)
    );
    let model = read_model(&file);
    assert_eq!(meta(&model, "lenet.variant"), Some("classic"));
    let accuracy: f64 = meta(&model, "lenet.test_accuracy")
        .unwrap()
        .parse()
        .unwrap();
    assert!(accuracy > 0.99, "{accuracy}");
    assert!(
        meta(&model, "lenet.report")
            .unwrap()
            .contains("confusion_matrix")
    );

    // With files, they are classified after the export.
    let again = dir.path().join("again.onnx");
    let digit = samples_dir().join("7-mnist.png");
    let output = infer(&[
        "--export-onnx",
        again.to_str().unwrap(),
        "--json",
        digit.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let answer: Value = serde_json::from_slice(&output.stdout).expect("one JSON line");
    assert_eq!(answer["digit"], 7);
    assert_eq!(
        fs::read(&file).unwrap(),
        fs::read(&again).unwrap(),
        "the same bytes each time"
    );
}

#[test]
fn export_onnx_takes_a_trained_models_directory() {
    let keras = untrained(Variant::Keras, C1Padding::Same, 7);
    let file = keras.path().join("keras.onnx");
    let output = infer(&[
        "--model",
        keras.path().to_str().unwrap(),
        "--export-onnx",
        file.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let model = read_model(&file);
    assert_eq!(meta(&model, "lenet.variant"), Some("keras"));
    assert!(meta(&model, "lenet.model").unwrap().contains("\"same\""));
    assert_eq!(
        meta(&model, "lenet.test_accuracy"),
        None,
        "no report.json, no accuracy"
    );
}

#[test]
fn an_onnx_file_that_cannot_be_written_exits_with_2_naming_it_and_keeps_the_old_one() {
    let dir = tempfile::tempdir().unwrap();
    let nowhere = dir.path().join("missing/lenet5.onnx");
    let output = infer(&["--export-onnx", nowhere.to_str().unwrap()]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("infer: cannot write the ONNX model")
            && stderr.contains("missing/lenet5.onnx"),
        "{stderr}"
    );

    // A bad model: nothing is written over the file already there.
    let file = dir.path().join("kept.onnx");
    fs::write(&file, b"the user's file").unwrap();
    let garbage = dir.path().join("garbage.mpk");
    fs::write(&garbage, [1u8, 2, 3]).unwrap();
    let output = infer(&[
        "--model",
        garbage.to_str().unwrap(),
        "--export-onnx",
        file.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(fs::read(&file).unwrap(), b"the user's file");
}

/// Images compared per model.
const IMAGES: usize = 1000;

/// One model exported and its Burn logits on the first [`IMAGES`] MNIST test images, written
/// for `onnx_check.py` under `root/name/`.
fn prepare(root: &Path, name: &str, source: &ModelSource, images: &[[u8; 784]]) {
    let dir = root.join(name);
    fs::create_dir_all(&dir).unwrap();
    infer::export_onnx(source, &dir.join("model.onnx"))
        .unwrap_or_else(|e| panic!("{name}: {}", infer::output::describe(&e)));
    let classifier = Classifier::<NdArray>::load(source, &Default::default()).expect("loads");
    let network = classifier.network();
    let input = network.to_input(images);
    let logits = network.model().forward(input.clone());
    let bytes = |t: TensorData| {
        t.iter::<f32>()
            .flat_map(f32::to_le_bytes)
            .collect::<Vec<u8>>()
    };
    let shape = serde_json::json!({"input": input.dims(), "logits": logits.dims()});
    fs::write(dir.join("shape.json"), shape.to_string()).unwrap();
    fs::write(dir.join("input.f32"), bytes(input.into_data())).unwrap();
    fs::write(dir.join("logits.f32"), bytes(logits.into_data())).unwrap();
}

#[test]
#[ignore = "needs MNIST (MNIST_DIR) and a Python with onnx and onnxruntime (LENET_ONNX_PYTHON; see tests/onnx-requirements.txt)"]
fn onnxruntime_gives_burns_logits_for_every_variant() {
    let python = std::env::var_os("LENET_ONNX_PYTHON").map(PathBuf::from).expect(
        "set LENET_ONNX_PYTHON to a python with crates/infer/tests/onnx-requirements.txt installed",
    );
    let test = common::test_set();
    let images: Vec<[u8; 784]> = (0..IMAGES)
        .map(|i| *test.image(i).expect("an image"))
        .collect();

    let root = tempfile::tempdir().unwrap();
    prepare(root.path(), "built-in", &ModelSource::Embedded, &images);
    let untrained = [
        (
            "classic-untrained",
            untrained(Variant::Classic, C1Padding::Valid, 1),
        ),
        (
            "keras-untrained",
            untrained(Variant::Keras, C1Padding::Valid, 2),
        ),
        (
            "keras-same-untrained",
            untrained(Variant::Keras, C1Padding::Same, 3),
        ),
        (
            "lecun1998-untrained",
            untrained(Variant::LeCun1998, C1Padding::Valid, 4),
        ),
    ];
    for (name, dir) in &untrained {
        prepare(
            root.path(),
            name,
            &ModelSource::Path(dir.path().into()),
            &images,
        );
    }
    // Trained models from elsewhere (CI's training runs): artifacts directories, ':'-separated,
    // absolute or relative to crates/infer/ (where Cargo runs the test).
    let trained = std::env::var("LENET_ONNX_MODELS").unwrap_or_default();
    for (i, dir) in trained.split(':').filter(|d| !d.is_empty()).enumerate() {
        let name = format!(
            "trained-{i}-{}",
            Path::new(dir).file_name().unwrap().to_string_lossy()
        );
        prepare(root.path(), &name, &ModelSource::Path(dir.into()), &images);
    }

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/onnx_check.py");
    let output = Command::new(&python)
        .arg(&script)
        .arg(root.path())
        .output()
        .expect("python runs");
    assert!(
        output.status.success(),
        "onnx_check.py failed: {}",
        text(&output.stderr)
    );
    let results: Vec<Value> = text(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    let mut variants: Vec<&str> = results
        .iter()
        .filter_map(|r| r["variant"].as_str())
        .collect();
    variants.sort();
    variants.dedup();
    assert_eq!(variants, ["classic", "keras", "lecun1998"]);
    assert_eq!(
        results.len(),
        5 + trained.split(':').filter(|d| !d.is_empty()).count()
    );
    for result in &results {
        println!("{result}");
        assert_eq!(result["images"], IMAGES, "{result}");
        // A trained model's classes agree on every image; an untrained one's where Burn's two
        // best logits are not a tie to within the tolerance.
        let untrained = result["case"].as_str().unwrap().ends_with("-untrained");
        let key = if untrained {
            "other_class_clear"
        } else {
            "other_class"
        };
        assert_eq!(
            result[key], 0,
            "onnxruntime and Burn disagree on a class: {result}"
        );
        // Absolute for logits up to 1, relative beyond: f32 itself resolves no better than
        // 1e-5 relative (the paper's RBF logits are distances in the tens and hundreds).
        let rel = result["max_rel"].as_f64().unwrap();
        assert!(
            rel <= 1e-5,
            "logits differ by {rel:e} (relative to max(1, |logit|)): {result}"
        );
        let p = result["max_abs_probability"].as_f64().unwrap();
        assert!(p <= 1e-5, "probabilities differ by {p:e}: {result}");
    }
}
