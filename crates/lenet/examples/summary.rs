//! Prints the lecture's table for a LeNet-5, computed from the built network.
//!
//! ```sh
//! cargo run --example summary -- classic
//! cargo run --example summary -- keras         # the lecture's Keras code as it runs
//! cargo run --example summary -- keras same    # the form its comments count
//! ```

use burn::backend::NdArray;
use lenet::{C1Padding, LeNet5Config, Variant};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let variant: Variant = match args.first().map_or("classic", String::as_str).parse() {
        Ok(variant) => variant,
        Err(error) => fail(&error.to_string()),
    };
    let c1_padding = match args.get(1).map(String::as_str) {
        None | Some("valid") => C1Padding::Valid,
        Some("same") => C1Padding::Same,
        Some(other) => fail(&format!(
            "unknown C1 padding {other:?}: use \"valid\" or \"same\""
        )),
    };
    let config = LeNet5Config::new()
        .with_variant(variant)
        .with_c1_padding(c1_padding);
    if let Err(error) = config.check() {
        fail(&error.to_string());
    }
    println!("{}", config.init::<NdArray>(&Default::default()).summary());
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(2);
}
