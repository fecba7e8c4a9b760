//! Any bytes, raw or gzip, as an IDX image file and as an IDX label file: an error or a
//! consistent result, never a panic or an allocation the content does not justify.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let path = Path::new("fuzz-idx");
    if let Ok(pixels) = mnist::parse_images(bytes, path) {
        assert_eq!(pixels.len() % mnist::IMAGE_PIXELS, 0);
    }
    if let Ok(labels) = mnist::parse_labels(bytes, path) {
        assert!(labels.iter().all(|&label| label <= 9));
    }
});
