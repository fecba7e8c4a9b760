//! Prints the lecture's table for a LeNet-5 variant, computed from the built network.
//!
//! `cargo run -p lenet --example summary -- classic` (or `keras`).

use burn::backend::NdArray;
use lenet::{LeNet5Config, Variant};

fn main() {
    let name = std::env::args().nth(1).unwrap_or_else(|| "classic".into());
    let variant: Variant = match name.parse() {
        Ok(variant) => variant,
        Err(error) => {
            eprintln!("error: {error}");
            std::process::exit(2);
        }
    };
    let model = LeNet5Config::new()
        .with_variant(variant)
        .init::<NdArray>(&Default::default());
    println!("{}", model.summary());
}
