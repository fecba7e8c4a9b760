//! How long a configuration takes to reach a test accuracy (99% unless told): trains it as
//! `train` does, keeping every epoch's checkpoint, then scores each checkpoint on the 10,000
//! test images. The time of an epoch is when its checkpoint was written, from the start of
//! training (validation included, final test evaluation not).
//!
//! ```text
//! MNIST_DIR=/path/to/mnist cargo run --example time_to_accuracy -- [CONFIG] [TARGET]
//! ```
//!
//! CONFIG defaults to `configs/lenet5.toml`, TARGET to 0.99. Nothing is written outside a
//! temporary directory.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::SystemTime,
};

use anyhow::{Context, bail};
use burn::backend::Flex;
use experiment::{Artifacts, ExperimentConfig};
use mnist::{MnistBatcher, MnistSplits};
use train::{RunOptions, data::eval_loader, evaluation::evaluate, train_on_configured_backend};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let config_path = PathBuf::from(args.next().unwrap_or("configs/lenet5.toml".into()));
    let target: f64 = match args.next() {
        Some(text) => text
            .parse()
            .with_context(|| format!("TARGET must be a number like 0.99, not {text:?}"))?,
        None => 0.99,
    };
    let data_dir = PathBuf::from(
        std::env::var_os("MNIST_DIR")
            .context("set MNIST_DIR to the directory of the MNIST files")?,
    );

    let mut config = ExperimentConfig::load(&config_path)?;
    config.training.keep_checkpoints = config.training.epochs;
    let artifacts = tempfile::tempdir()?;
    let options = RunOptions {
        config_name: config_path
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_default(),
        artifacts: artifacts.path().to_path_buf(),
        data_dir: data_dir.clone(),
        limit_train: None,
        limit_test: None,
        resume: false,
        dashboard: false,
        interrupter: Default::default(),
    };
    let start = SystemTime::now();
    let report = train_on_configured_backend(&config, &options)?;

    let test = MnistSplits::load(&data_dir, 0)?.test;
    let device = Default::default();
    let loader = eval_loader::<Flex>(
        Arc::new(test),
        MnistBatcher::new(config.data.input.clone()),
        1000,
        &device,
    );
    println!("\n| epoch | seconds from the start | test accuracy |\n|---:|---:|---:|");
    let mut reached = None;
    for epoch in 1..=config.training.epochs {
        let path = checkpoint(artifacts.path(), epoch);
        let seconds = std::fs::metadata(&path)?
            .modified()?
            .duration_since(start)?
            .as_secs_f64();
        let model = lenet::load_file::<Flex>(&path, Some(&config.model), &device)?;
        let accuracy = evaluate(&model, loader.as_ref()).accuracy();
        println!("| {epoch} | {seconds:.1} | {:.2}% |", accuracy * 100.0);
        if accuracy >= target && reached.is_none() {
            reached = Some((epoch, seconds));
        }
    }
    let whole = report.train_seconds;
    match reached {
        Some((epoch, seconds)) => println!(
            "\n{}% test accuracy first after epoch {epoch}, {seconds:.1} s from the start; the \
             whole run trained for {whole:.1} s and ended at {:.2}%.",
            target * 100.0,
            report.test_accuracy * 100.0
        ),
        None => bail!(
            "{}% test accuracy never reached (the run ended at {:.2}%)",
            target * 100.0,
            report.test_accuracy * 100.0
        ),
    }
    Ok(())
}

fn checkpoint(artifacts: &Path, epoch: usize) -> PathBuf {
    Artifacts::new(artifacts)
        .checkpoints()
        .join(format!("model-{epoch}.mpk"))
}
