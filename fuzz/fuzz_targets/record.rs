//! Any bytes as a model file: an error naming what is wrong, or a network, never a panic.
#![no_main]

use burn::backend::NdArray;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let _ = lenet::load_bytes::<NdArray>(bytes, None, &Default::default());
});
