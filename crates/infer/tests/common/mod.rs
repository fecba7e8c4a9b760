//! Helpers shared by the integration tests. Each test binary uses a part of them.
#![allow(dead_code)]

pub mod clutter;
pub mod render;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use mnist::{MnistDataset, MnistSplits};

/// MNIST's test set, from the directory in `MNIST_DIR` (CI sets it).
pub fn test_set() -> MnistDataset {
    splits().test
}

/// All of MNIST (no validation split), found as `train` finds it (`MNIST_DIR`, then the user
/// cache), never downloaded.
pub fn splits() -> MnistSplits {
    let dir = mnist::locate(None, &mnist::Download::disabled())
        .expect("these tests need MNIST: set MNIST_DIR to the directory holding the four files");
    MnistSplits::load(&dir, 0).unwrap_or_else(|error| panic!("MNIST: {error}"))
}

/// `examples/digits/` at the workspace root.
pub fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/digits")
}

/// Runs the `infer` binary with `args`.
pub fn infer(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_infer"))
        .args(args)
        .output()
        .expect("the infer binary runs")
}

/// `[left, top, right, bottom]` (inclusive) of the non-zero pixels of a 28x28 image.
pub fn bounding_box(pixels: &[u8; 784]) -> Option<[usize; 4]> {
    let ink: Vec<(usize, usize)> = (0..784)
        .filter(|&i| pixels[i] > 0)
        .map(|i| (i % 28, i / 28))
        .collect();
    let xs = ink.iter().map(|p| p.0);
    let ys = ink.iter().map(|p| p.1);
    Some([xs.clone().min()?, ys.clone().min()?, xs.max()?, ys.max()?])
}

/// Intensity-weighted mean (x, y), pixel (row r, column c) at (c, r).
pub fn centre_of_mass(pixels: &[u8; 784]) -> (f64, f64) {
    let total: f64 = pixels.iter().map(|&p| f64::from(p)).sum();
    let moment = |coordinate: fn(usize) -> usize| {
        (0..784)
            .map(|i| f64::from(pixels[i]) * coordinate(i) as f64)
            .sum::<f64>()
            / total
    };
    (moment(|i| i % 28), moment(|i| i / 28))
}

/// Mean absolute difference of two images, in grey levels.
pub fn mean_abs_diff(a: &[u8; 784], b: &[u8; 784]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| f64::from(x.abs_diff(y)))
        .sum::<f64>()
        / 784.0
}

/// Checks that a preprocessed image has MNIST's form; `what` names it in failures.
pub fn assert_mnist_form(pixels: &[u8; 784], what: &str) {
    // Light ink on a background of exactly 0: the corners and most pixels are 0, the ink's
    // maximum is 255.
    assert_eq!(pixels.iter().max(), Some(&255), "{what}: ink maximum");
    let zeros = pixels.iter().filter(|&&p| p == 0).count();
    assert!(zeros >= 392, "{what}: only {zeros} background pixels");
    let [left, top, right, bottom] = bounding_box(pixels).expect("ink");
    assert!(
        right - left < 20 && bottom - top < 20,
        "{what}: ink spans {}x{}",
        right - left + 1,
        bottom - top + 1
    );
    let (x, y) = centre_of_mass(pixels);
    assert!(
        (x - 14.0).abs() <= 0.5 && (y - 14.0).abs() <= 0.5,
        "{what}: centre of mass ({x:.2}, {y:.2})"
    );
}
