//! The sample images in `examples/digits/`, which the README's command uses: they are what
//! `examples/make_digits.rs` describes, they preprocess into MNIST's form, and the built-in
//! model reads them right.

mod common;

use common::render::{Form, SAMPLES};
use common::{assert_mnist_form, infer, mean_abs_diff, samples_dir, test_set};
use infer::preprocess::{read_image, to_mnist};
use serde_json::Value;

fn true_digit(name: &str) -> u64 {
    name[..1]
        .parse()
        .expect("sample names start with their digit")
}

#[test]
fn samples_on_disk_are_the_listed_ones() {
    let mut on_disk: Vec<String> = std::fs::read_dir(samples_dir())
        .expect("examples/digits exists")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = SAMPLES.iter().map(|s| s.name.to_string()).collect();
    listed.sort();
    assert_eq!(
        on_disk, listed,
        "run examples/make_digits.rs to regenerate them"
    );
}

#[test]
#[ignore = "needs MNIST: set MNIST_DIR"]
fn samples_preprocess_into_mnist_form_close_to_their_originals() {
    let test = test_set();
    for sample in &SAMPLES {
        let original = test.image(sample.index).expect("in range");
        assert_eq!(
            u64::from(test.labels()[sample.index]),
            true_digit(sample.name)
        );
        let image = read_image(&samples_dir().join(sample.name)).expect("decodes");
        let out = to_mnist(&image).expect("a digit");
        match sample.form {
            Form::Mnist => assert!(out == *original, "{} changed", sample.name),
            _ => {
                assert_mnist_form(&out, sample.name);
                let difference = mean_abs_diff(&out, original);
                assert!(difference < 15.0, "{}: {difference:.2}", sample.name);
            }
        }
    }
}

/// The built-in model's answer for each sample of the given forms, with the true digit.
fn answers(forms: fn(Form) -> bool) -> Vec<(String, u64, u64)> {
    let paths: Vec<String> = SAMPLES
        .iter()
        .filter(|s| forms(s.form))
        .map(|s| samples_dir().join(s.name).display().to_string())
        .collect();
    let mut args = vec!["--json"];
    args.extend(paths.iter().map(String::as_str));
    let output = infer(&args);
    assert_eq!(output.status.code(), Some(0));
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .zip(SAMPLES.iter().filter(|s| forms(s.form)))
        .map(|(line, sample)| {
            let value: Value = serde_json::from_str(line).expect("JSON");
            let digit = value["digit"].as_u64().expect("digit");
            (sample.name.to_string(), true_digit(sample.name), digit)
        })
        .collect()
}

#[test]
fn built_in_model_reads_the_mnist_samples() {
    for (name, truth, digit) in answers(|form| matches!(form, Form::Mnist)) {
        assert_eq!(
            digit, truth,
            "{name}: is the trained model in crates/lenet/pretrained?"
        );
    }
}

#[test]
fn built_in_model_reads_the_paper_photo_and_drawing_samples() {
    for (name, truth, digit) in answers(|form| !matches!(form, Form::Mnist)) {
        assert_eq!(
            digit, truth,
            "{name}: is the trained model in crates/lenet/pretrained?"
        );
    }
}

#[test]
fn samples_decode_from_memory_as_from_their_files() {
    use infer::preprocess::{DecodeError, decode_image};
    use std::path::Path;

    for sample in &SAMPLES {
        let path = samples_dir().join(sample.name);
        let bytes = std::fs::read(&path).expect("sample");
        let from_memory = decode_image(&bytes, &path).expect("decodes");
        assert_eq!(
            from_memory,
            read_image(&path).expect("decodes"),
            "{}",
            sample.name
        );
        if sample.name.ends_with(".jpg") {
            let cut = decode_image(&bytes[..bytes.len() - 100], Path::new("upload.jpg"));
            assert!(
                matches!(&cut, Err(DecodeError::Corrupt { file, .. }) if file == Path::new("upload.jpg")),
                "{}: {cut:?}",
                sample.name
            );
        }
    }
}
