//! Speed of `infer`: `cargo bench -p infer --profile dev` (or build with
//! `cargo build -p infer --benches` and run the executable in `target/debug/deps/infer-*`).
//!
//! - One image end to end as a process: the built binary spawned on one sample, 20 times
//!   (median and 95th percentile); the target is a median under 50 ms in release.
//! - The 10,000 MNIST test images through the library, in batches of 1,000: preprocessing
//!   alone, classifying alone, and both. Needs `MNIST_DIR` (or MNIST in the usual cache).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use burn::backend::NdArray;
use image::{DynamicImage, GrayImage};
use infer::preprocess::to_mnist;
use infer::{Classifier, ModelSource};
use mnist::{Download, MnistSplits};

const RUNS: usize = 20;
const BATCH: usize = 1000;

fn main() {
    println!("| what | result |");
    println!("|---|---|");
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/digits");
    for sample in ["7-mnist.png", "3-photo.jpg"] {
        let mut times: Vec<Duration> = (0..RUNS)
            .map(|_| {
                let start = Instant::now();
                let status = Command::new(env!("CARGO_BIN_EXE_infer"))
                    .arg(samples.join(sample))
                    .output()
                    .map(|output| output.status);
                assert!(
                    status.is_ok_and(|s| s.success()),
                    "infer failed on {sample}"
                );
                start.elapsed()
            })
            .collect();
        times.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "| `infer {sample}` as a process, {RUNS} runs | median {:.1} ms, p95 {:.1} ms |",
            ms(times[RUNS / 2]),
            ms(times[(RUNS * 95).div_ceil(100) - 1])
        );
    }

    let Ok(dir) = mnist::locate(None, &Download::disabled()) else {
        println!("| MNIST test set | not found: set MNIST_DIR |");
        return;
    };
    let test = MnistSplits::load(&dir, 0).expect("MNIST loads").test;
    let images: Vec<DynamicImage> = (0..test.len())
        .filter_map(|i| test.image(i))
        .filter_map(|pixels| GrayImage::from_raw(28, 28, pixels.to_vec()))
        .map(DynamicImage::ImageLuma8)
        .collect();
    let classifier =
        Classifier::<NdArray>::load(&ModelSource::Embedded, &Default::default()).expect("model");

    let start = Instant::now();
    let preprocessed: Vec<[u8; 784]> = images.iter().filter_map(to_mnist).collect();
    let preprocessing = start.elapsed();
    let start = Instant::now();
    let classified: usize = preprocessed
        .chunks(BATCH)
        .map(|batch| classifier.classify(batch).len())
        .sum();
    let classifying = start.elapsed();
    assert_eq!(classified, images.len());

    let rate = |d: Duration| images.len() as f64 / d.as_secs_f64();
    let n = images.len();
    println!(
        "| preprocessing {n} test images (already in MNIST form) | {:.0} images/s |",
        rate(preprocessing)
    );
    println!(
        "| classifying {n} test images, batch {BATCH}, ndarray | {:.0} images/s |",
        rate(classifying)
    );
    println!(
        "| both | {:.0} images/s |",
        rate(preprocessing + classifying)
    );
}
