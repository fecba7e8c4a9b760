//! `infer`: classify handwritten digits in image files with LeNet-5.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use experiment::BackendKind;
use infer::output::{self, Format};
use infer::{AnyClassifier, ModelSource, Saves};

// The program, not the library, picks the allocator: an app that embeds `infer` keeps its own.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Classify handwritten digits in images: photos or scans of paper, drawings, screenshots.
///
/// Each image is brought into MNIST's form first (grey, light ink on black, the digit fitted to
/// 20x20 and centred in 28x28); --save-preprocessed shows the result.
///
/// Exit status: 0 when every file was classified, 1 when any file failed (the others are still
/// reported), 2 for a usage error, a model that cannot be loaded or an ONNX file that cannot be
/// written.
#[derive(Parser, Debug)]
#[command(version)]
struct Cli {
    /// Image files (PNG, JPEG, BMP, GIF, WebP, TIFF), or directories: every image in them,
    /// sorted by name.
    #[arg(required_unless_present = "export_onnx", value_name = "FILE")]
    files: Vec<PathBuf>,

    /// The model: a model.mpk, or an artifacts directory written by train (model.mpk and
    /// config.toml). Default: the model built into this program. A model.mpk without a
    /// config.toml beside it gets its variant's default input: classic 32x32 (padding 2,
    /// standardize), keras 28x28 (padding 0, unit).
    #[arg(long, value_name = "PATH")]
    model: Option<PathBuf>,

    /// Write one JSON object per line and file: {"file", "digit", "confidence",
    /// "probabilities"}, or {"file", "error"}.
    #[arg(long)]
    json: bool,

    /// How many of the most probable digits to list under each answer (0 to 10).
    #[arg(long, value_name = "K", default_value_t = 3,
          value_parser = clap::value_parser!(u8).range(0..=10))]
    top: u8,

    /// Where the model runs.
    #[arg(long, value_enum, default_value_t = BackendKind::Ndarray)]
    backend: BackendKind,

    /// Save the 28x28 image the model saw for each file, as DIR/<file name>.png.
    #[arg(long, value_name = "DIR")]
    save_preprocessed: Option<PathBuf>,

    /// Draw how the network read each file, as DIR/<file name>.png: the image as given, the
    /// 28x28 the model saw, every layer's output (C1, S2, C3, S4, C5, F6) and the ten
    /// probabilities.
    #[arg(long, value_name = "DIR")]
    explain: Option<PathBuf>,

    /// Write the model as an ONNX file (opset 13) and exit: input "input" [batch, 1, side,
    /// side] (the variant's input tensor: 28x28 digits padded and normalised as the metadata's
    /// lenet.input says), outputs "logits" and "probabilities" [batch, 10]; the configuration
    /// and test accuracy in the metadata (docs/onnx.md). Files given too are classified after.
    #[arg(long, value_name = "OUT.onnx")]
    export_onnx: Option<PathBuf>,

    /// Say on stderr which model runs where: its name and variant, the backend, and whether
    /// the fused CPU kernels or Burn's own operations compute its layers.
    #[arg(long)]
    verbose: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let source = cli.model.map_or(ModelSource::Embedded, ModelSource::Path);
    if let Some(file) = &cli.export_onnx {
        if let Err(error) = infer::export_onnx(&source, file) {
            return fail(&error, 2);
        }
        eprintln!("infer: wrote {}", file.display());
        if cli.files.is_empty() {
            return ExitCode::SUCCESS;
        }
    }
    let classifier = match AnyClassifier::load(&source, cli.backend) {
        Ok(classifier) => classifier,
        Err(error) => return fail(&error, 2),
    };
    if cli.verbose {
        eprintln!(
            "infer: {} (LeNet-5 \"{}\") on {}: {}",
            classifier.name(),
            classifier.variant(),
            cli.backend,
            classifier.kernel_route()
        );
    }
    for dir in [&cli.save_preprocessed, &cli.explain].into_iter().flatten() {
        if let Err(error) = infer::prepare_save_dir(dir) {
            return fail(&error, 2);
        }
    }
    let format = if cli.json {
        Format::Json
    } else {
        Format::Text {
            top: usize::from(cli.top),
        }
    };

    let inputs = infer::expand_inputs(&cli.files);
    let (mut out, mut err) = (io::stdout().lock(), io::stderr().lock());
    let mut all_classified = true;
    let saves = Saves {
        preprocessed: cli.save_preprocessed.as_deref(),
        explained: cli.explain.as_deref(),
    };
    for outcome in infer::classify_files(&classifier, inputs, saves) {
        all_classified &= outcome.result.is_ok();
        if let Err(error) = output::write_outcome(&outcome, format, &mut out, &mut err) {
            // A closed pipe (`infer ... | head`) ends the run quietly.
            if error.kind() != io::ErrorKind::BrokenPipe {
                let _ = writeln!(err, "infer: cannot write the results: {error}");
            }
            return ExitCode::from(1);
        }
    }
    ExitCode::from(if all_classified { 0 } else { 1 })
}

fn fail(error: &infer::InferError, code: u8) -> ExitCode {
    eprintln!("infer: {}", output::describe(error));
    ExitCode::from(code)
}
