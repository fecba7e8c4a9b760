//! Any text as a training configuration: rejected with a message or accepted as a valid
//! configuration that writes itself back to TOML and reads back the same, never a panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use experiment::ExperimentConfig;

fuzz_target!(|bytes: &[u8]| {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let path = Path::new("fuzz.toml");
    let Ok(config) = ExperimentConfig::from_toml(text, path) else {
        return;
    };
    let written = config.to_toml();
    let again = ExperimentConfig::from_toml(&written, path).expect("a written config reads back");
    assert_eq!(again.to_toml(), written);
});
