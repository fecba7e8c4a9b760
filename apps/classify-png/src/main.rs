//! Classifies an MNIST-style PNG (a light digit on a dark background) with the built-in
//! LeNet-5. For photos and scans of paper, use the project's `infer`, which brings any image
//! into MNIST's form first.

use image::imageops::FilterType;
use lenet::{Classifier, burn::backend::NdArray};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: classify-png DIGIT.png")?;
    let digit = image::open(&path)?.resize_exact(28, 28, FilterType::Triangle).to_luma8();
    let classifier = Classifier::<NdArray>::pretrained(&Default::default())?;
    let result = &classifier.classify(&[digit.as_raw().as_slice().try_into()?])[0];
    println!("{path}: {} ({:.1}%)", result.digit, 100.0 * result.confidence());
    Ok(())
}
