//! Classifies an MNIST digit with the built-in weights (feature `pretrained`), as an
//! application would:
//!
//! ```sh
//! cargo run --example classify -- examples/digits/7-mnist.png
//! ```
//!
//! The image must already be in MNIST's form: 28x28, a light digit on black. For photos of
//! paper use `infer`, which brings any image into that form first.

use burn::backend::NdArray;
use lenet::{Classifier, IMAGE_PIXELS, IMAGE_SIDE};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "examples/digits/7-mnist.png".into());
    let image = image::open(&path)?.to_luma8();
    let digit: [u8; IMAGE_PIXELS] = image.into_raw().try_into().map_err(|_| {
        format!("{path}: not an MNIST digit ({IMAGE_SIDE}x{IMAGE_SIDE} pixels); use infer for other images")
    })?;

    let classifier = Classifier::<NdArray>::pretrained(&Default::default())?;
    let result = &classifier.classify(&[digit])[0];
    println!("{path}: {}", result.digit);
    for (digit, probability) in result.top(3) {
        println!("  {digit}: {:.4}", probability);
    }
    Ok(())
}
