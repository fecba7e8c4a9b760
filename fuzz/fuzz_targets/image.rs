//! Any bytes as an image file given to `infer` or uploaded to the web page: decoded under its
//! limits, then brought into MNIST's form; an error or a 28x28 digit with a background of 0,
//! never a panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let Ok(image) = preprocess::decode_image(bytes, Path::new("fuzz-image")) else {
        return;
    };
    if let Some(digit) = preprocess::to_mnist(&image) {
        assert_eq!(digit[0], 0, "MNIST's corners are background");
    }
});
