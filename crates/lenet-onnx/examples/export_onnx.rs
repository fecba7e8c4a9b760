//! Writes the built-in LeNet-5 as an ONNX file: `cargo run -p lenet-onnx --example export_onnx
//! -- lenet5.onnx`. (`cargo run -p infer -- --export-onnx FILE [--model DIR]` does the same
//! for any trained model, with its test accuracy in the metadata.)

use std::process::ExitCode;

use lenet::Classifier;
use lenet::burn::backend::NdArray;
use lenet_onnx::OnnxConfig;

fn main() -> ExitCode {
    let Some(file) = std::env::args_os().nth(1) else {
        eprintln!("usage: export_onnx OUT.onnx");
        return ExitCode::from(2);
    };
    let classifier = match Classifier::<NdArray>::pretrained(&Default::default()) {
        Ok(classifier) => classifier,
        Err(error) => {
            eprintln!("export_onnx: {error}");
            return ExitCode::FAILURE;
        }
    };
    match OnnxConfig::new().to_file(&classifier, &[], file.as_ref()) {
        Ok(()) => {
            println!("wrote {}", file.to_string_lossy());
            ExitCode::SUCCESS
        }
        Err(error) => {
            // The chain, once: what failed and why.
            let cause = std::error::Error::source(&error).map(|c| format!(": {c}"));
            eprintln!("export_onnx: {error}{}", cause.unwrap_or_default());
            ExitCode::FAILURE
        }
    }
}
