//! LeNet-5 throughput on this machine, printed as a markdown table.
//!
//! ```text
//! cargo bench -p train --profile dev --bench throughput
//! cargo bench -p train --profile dev --bench throughput -- --backends flex --variants keras --quick
//! ```
//!
//! Options after `--`, or environment variables: `--backends flex,ndarray[,wgpu]`
//! (`BENCH_BACKENDS`; wgpu is left out by default: on a machine without a GPU it is Mesa's
//! software Vulkan, slow, and compiles shaders for minutes), `--variants classic,keras,lecun1998`
//! (`BENCH_VARIANTS`), `--quick` (`BENCH_QUICK=1`, a smoke run of a minute or two),
//! `--train-batches N` (200). MNIST is read from `MNIST_DIR` or the per-user cache; nothing is
//! downloaded.
//!
//! What is measured, per backend and variant:
//! - **training**: the `train` binary as a user runs it, with `configs/lenet5.toml` (classic),
//!   `configs/keras.toml` (keras) or `configs/lecun1998.toml` (the paper's network and SDLM,
//!   in batches of 128 here like the others), i.e. Burn's Learner with the project's loader, metrics,
//!   Adam, checkpointing and metrics.csv, on the first `128 * (N + 1)` training images: one
//!   warm-up epoch, then one measured epoch. The figure is that epoch's
//!   `train_images_per_second` from `metrics.csv`, written by
//!   `train::throughput::ThroughputMetric`: images of batches 2 to N + 1 divided by the time from
//!   the end of batch 1 to the end of batch N + 1, so N full steps of loading, forward,
//!   backward, optimizer and metrics. Validation (1,000 images) and the test pass are outside.
//! - **inference**: the 10,000 test images as 10 batches of 1,000 (tensors built beforehand),
//!   `forward` and `argmax` on the inner (non-autodiff) backend, read back to the host; median
//!   of 3 passes after one warm-up pass. Weights are freshly initialised.
//! - **latency**: one image, the same `forward` + `argmax` + read-back, median and 95th
//!   percentile of 200 calls after 20 warm-up calls.
//! - **data pipeline**: `train::data::train_loader` (the training loader: shuffle,
//!   `MnistBatcher`, tensor creation) over the 55,000 training images in batches of 128, no
//!   model, second of two passes.
//! - **peak memory**: VmHWM of each `train` process (read while it runs), and of this process
//!   (inference and data pipeline for every backend) at the end.

mod common;

use common::load_average;
use common::peak::peak_gflops;

use std::{
    path::Path,
    process::{Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use burn::{
    backend::{Flex, NdArray},
    prelude::*,
};
use clap::Parser;
use experiment::{BackendKind, ExperimentConfig};
use lenet::InputConfig;
use lenet::{LeNet5Config, Variant};
use mnist::{Download, MnistBatcher, MnistDataset, MnistSplits};
use thousands::Separable;
use train::metrics_csv::read_metrics_csv;

/// Batch size of the training runs and of the data-pipeline measurement.
const TRAIN_BATCH: usize = 128;
/// Batch size of the inference measurement.
const INFERENCE_BATCH: usize = 1000;

#[derive(Parser, Debug, Clone)]
#[command(about = "LeNet-5 training and inference throughput")]
struct Args {
    /// Backends to measure, comma-separated: flex, ndarray, wgpu [env BENCH_BACKENDS].
    #[arg(long, value_enum, value_delimiter = ',')]
    backends: Vec<BackendKind>,
    /// Variants to measure, comma-separated: classic, keras [env BENCH_VARIANTS].
    #[arg(long, value_delimiter = ',', value_parser = parse_variant)]
    variants: Vec<Variant>,
    /// Smoke run: 20 training batches without a warm-up epoch, fewer repetitions
    /// [env BENCH_QUICK=1].
    #[arg(long)]
    quick: bool,
    /// Training batches measured after the first batch of the measured epoch [default: 200,
    /// 20 with --quick].
    #[arg(long)]
    train_batches: Option<usize>,
    /// Also write the figures as JSON to this file (read by `bench/compare`).
    #[arg(long, value_name = "FILE")]
    json: Option<std::path::PathBuf>,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

fn parse_backend(text: &str) -> Result<BackendKind, String> {
    <BackendKind as clap::ValueEnum>::from_str(text.trim(), true).map_err(|_| {
        format!("unknown backend {text:?} in BENCH_BACKENDS: use flex, ndarray or wgpu")
    })
}

fn parse_variant(text: &str) -> Result<Variant, String> {
    text.parse()
        .map_err(|error: lenet::LeNetError| error.to_string())
}

impl Args {
    /// Command-line values, else the `BENCH_*` environment variables, else the defaults.
    fn with_defaults(mut self) -> anyhow::Result<Self> {
        let env = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
        if self.backends.is_empty() {
            let list = env("BENCH_BACKENDS").unwrap_or_else(|| "flex,ndarray".into());
            self.backends = list
                .split(',')
                .map(parse_backend)
                .collect::<Result<_, String>>()
                .map_err(anyhow::Error::msg)?;
        }
        if self.variants.is_empty() {
            let list = env("BENCH_VARIANTS").unwrap_or_else(|| "classic,keras,lecun1998".into());
            self.variants = list
                .split(',')
                .map(|name| parse_variant(name.trim()))
                .collect::<Result<_, String>>()
                .map_err(anyhow::Error::msg)?;
        }
        self.quick |= env("BENCH_QUICK").is_some_and(|value| value != "0");
        let default_batches = if self.quick { 20 } else { 200 };
        self.train_batches = Some(self.train_batches.unwrap_or(default_batches));
        Ok(self)
    }

    fn train_batches(&self) -> usize {
        self.train_batches.unwrap_or(200)
    }

    fn warmup_epochs(&self) -> usize {
        if self.quick { 0 } else { 1 }
    }

    fn inference_passes(&self) -> usize {
        if self.quick { 1 } else { 3 }
    }

    fn latency_calls(&self) -> usize {
        if self.quick { 50 } else { 200 }
    }
}

/// What a training run gave.
#[derive(Debug)]
struct TrainFigures {
    /// `train_images_per_second` of each epoch, from `metrics.csv`.
    epoch_images_per_second: Vec<f64>,
    /// The largest VmHWM of the `train` process seen while it ran, in KiB.
    peak_kib: u64,
}

/// One row of the table.
#[derive(Default)]
struct Row {
    train: Option<TrainFigures>,
    inference_images_per_second: f64,
    latency_median_ms: f64,
    latency_p95_ms: f64,
    pipeline_images_per_second: f64,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse().with_defaults()?;
    let data_dir = mnist::locate(None, &Download::disabled())
        .context("MNIST not found: set MNIST_DIR to the directory holding the four IDX files")?;

    println!("# LeNet-5 throughput\n");
    let threads = rayon::current_num_threads();
    let peak = peak_gflops(threads);
    print_machine(&args, peak);
    let splits = MnistSplits::load(&data_dir, 5000)?;
    let mut rows = Vec::new();
    for &backend in &args.backends {
        for &variant in &args.variants {
            eprintln!("[bench] {backend} {variant}: training");
            let mut row = Row {
                train: Some(train_with_the_binary(backend, variant, &args, &data_dir)?),
                ..Row::default()
            };
            eprintln!("[bench] {backend} {variant}: inference and data pipeline");
            measure_on_backend(backend, variant, &splits, &args, &mut row)?;
            rows.push((backend, variant, row));
        }
    }
    print_table(&rows, &args, peak.0);
    if let Some(path) = &args.json {
        let json = json_figures(&rows, peak, threads);
        std::fs::write(path, serde_json::to_string_pretty(&json)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

// ----------------------------------------------------------------------------------------
// The machine

fn print_machine(args: &Args, (gflops, isa): (f64, &str)) {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let field = |name: &str| {
        cpuinfo
            .lines()
            .find(|line| line.starts_with(name))
            .and_then(|line| line.split_once(':'))
            .map(|(_, value)| value.trim().to_string())
            .unwrap_or_else(|| "unknown".into())
    };
    let flags = field("flags");
    let simd: Vec<&str> = ["avx2", "fma", "avx512f", "avx512vl", "avx512_bf16"]
        .into_iter()
        .filter(|flag| flags.split_whitespace().any(|have| have == *flag))
        .collect();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let compiled = if cfg!(target_feature = "avx2") {
        "with AVX2 enabled at compile time"
    } else {
        "for baseline x86-64 (SIMD chosen at run time: gemm and macerator up to AVX-512)"
    };
    println!("| machine | |\n|---|---|");
    println!("| CPU | {} ({}) |", field("model name"), simd.join(", "));
    println!("| logical cores | {cores} |");
    println!("| rayon threads | {} |", rayon::current_num_threads());
    println!(
        "| f32 arithmetic limit, measured | {gflops:.0} GFLOP/s ({isa}, {} threads of FMA chains) |",
        rayon::current_num_threads()
    );
    println!("| load average at start | {} |", load_average());
    println!(
        "| model | lenet's fused kernels (features flex, ndarray): im2col + gemm 0.19 (x86-v4), element-wise loops in AVX2 (pulp), on rayon |"
    );
    println!("| flex | burn-flex 0.21.0, features std, simd, rayon (gemm with rayon) |");
    println!(
        "| ndarray | burn-ndarray 0.21.0, features std, multi-threads (rayon, matrixmultiply threading); no simd, no BLAS |"
    );
    if args.backends.contains(&BackendKind::Wgpu) {
        println!("| wgpu | burn-wgpu 0.21.0, the default Vulkan adapter |");
    }
    println!("| build | profile opt-level 3, compiled {compiled} |");
    println!(
        "| mode | {} training batches measured after {} warm-up epoch(s){} |\n",
        args.train_batches(),
        args.warmup_epochs(),
        if args.quick { ", quick" } else { "" }
    );
}

/// VmHWM (peak resident set) of process `pid` (`self` for this one), in KiB.
fn peak_kib(pid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

// ----------------------------------------------------------------------------------------
// Training: the `train` binary, as a user runs it

/// Trains `variant` on `backend` with the `train` binary: its configuration file with one
/// warm-up epoch (none with `--quick`) and one measured epoch on the first
/// `128 * (N + 1)` images, 1,000 validation and 1,000 test images.
fn train_with_the_binary(
    backend: BackendKind,
    variant: Variant,
    args: &Args,
    data_dir: &Path,
) -> anyhow::Result<TrainFigures> {
    let dir = tempfile::tempdir()?;
    let config_file = match variant {
        Variant::Classic => "lenet5.toml",
        Variant::Keras => "keras.toml",
        Variant::LeCun1998 => "lecun1998.toml",
    };
    let configs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
    let mut config = ExperimentConfig::load(&configs.join(config_file))?;
    config.training.keep_checkpoints = 1;
    config.data.validation_size = 1000;
    // The paper's configuration takes mini-batches of 16; every network is measured on the
    // same batches, so that the figures compare the networks, not the batch sizes.
    config.training.batch_size = TRAIN_BATCH;
    let config_path = dir.path().join(config_file);
    std::fs::write(&config_path, config.to_toml())?;
    let artifacts = dir.path().join("run");
    let images = config.training.batch_size * (args.train_batches() + 1);
    // stdout is a pipe, so `train` prints plain progress lines, not its dashboard.
    let mut child = Command::new(env!("CARGO_BIN_EXE_train"))
        .arg("--config")
        .arg(&config_path)
        .args(["--backend", backend.name()])
        .args(["--epochs", &(args.warmup_epochs() + 1).to_string()])
        .args(["--limit-train", &images.to_string(), "--limit-test", "1000"])
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--no-download")
        .arg("--artifacts")
        .arg(&artifacts)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot start the train binary")?;
    // The peak is read while the process runs: after it exits, /proc no longer has it.
    let pid = child.id().to_string();
    let mut peak = 0;
    while child.try_wait()?.is_none() {
        peak = peak.max(peak_kib(&pid).unwrap_or(0));
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output()?;
    if !output.status.success() {
        bail!(
            "training {backend} {variant} failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(TrainFigures {
        epoch_images_per_second: read_metrics_csv(&artifacts.join("metrics.csv"))
            .iter()
            .map(|row| row.train_images_per_second)
            .collect(),
        peak_kib: peak,
    })
}

// ----------------------------------------------------------------------------------------
// Inference, latency and the data pipeline, in this process

fn measure_on_backend(
    backend: BackendKind,
    variant: Variant,
    splits: &MnistSplits,
    args: &Args,
    row: &mut Row,
) -> anyhow::Result<()> {
    match backend {
        BackendKind::Flex => measure::<Flex>(variant, splits, args, &Default::default(), row),
        BackendKind::Ndarray => measure::<NdArray>(variant, splits, args, &Default::default(), row),
        BackendKind::Wgpu => {
            measure::<backends::WgpuBackend>(variant, splits, args, &backends::wgpu_device()?, row)
        }
    }
    Ok(())
}

fn measure<B: Backend>(
    variant: Variant,
    splits: &MnistSplits,
    args: &Args,
    device: &B::Device,
    row: &mut Row,
) {
    let input = lenet::InputConfig::for_variant(variant);
    let model = LeNet5Config::new().with_variant(variant).init::<B>(device);
    let classify = |images: &Tensor<B, 4>| model.forward(images.clone()).argmax(1).into_data();

    let test = &splits.test;
    let images: Vec<&[u8; mnist::IMAGE_PIXELS]> =
        (0..test.len()).filter_map(|i| test.image(i)).collect();
    let batches: Vec<Tensor<B, 4>> = images
        .chunks(INFERENCE_BATCH)
        .map(|chunk| input.to_tensor::<B>(chunk.iter().copied(), device))
        .collect();
    row.inference_images_per_second =
        inference_rate(&batches, images.len(), args.inference_passes(), &classify);

    let one = input.to_tensor::<B>([images[0]], device);
    let (median, p95) = latency_ms(&one, args.latency_calls(), &classify);
    row.latency_median_ms = median;
    row.latency_p95_ms = p95;

    let limit = if args.quick {
        50 * TRAIN_BATCH
    } else {
        usize::MAX
    };
    row.pipeline_images_per_second = pipeline_rate::<B>(&splits.train, input, limit, device);
}

fn inference_rate<B: Backend>(
    batches: &[Tensor<B, 4>],
    images: usize,
    passes: usize,
    classify: &impl Fn(&Tensor<B, 4>) -> TensorData,
) -> f64 {
    batches.iter().for_each(|batch| drop(classify(batch)));
    let rates = (0..passes)
        .map(|_| {
            let start = Instant::now();
            batches.iter().for_each(|batch| drop(classify(batch)));
            images as f64 / start.elapsed().as_secs_f64()
        })
        .collect();
    median(rates)
}

fn latency_ms<B: Backend>(
    image: &Tensor<B, 4>,
    calls: usize,
    classify: &impl Fn(&Tensor<B, 4>) -> TensorData,
) -> (f64, f64) {
    (0..20).for_each(|_| drop(classify(image)));
    let mut times: Vec<f64> = (0..calls)
        .map(|_| {
            let start = Instant::now();
            drop(classify(image));
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let p95 = times[((times.len() - 1) as f64 * 0.95).round() as usize];
    (median(times), p95)
}

fn pipeline_rate<B: Backend>(
    train_set: &MnistDataset,
    input: InputConfig,
    limit: usize,
    device: &B::Device,
) -> f64 {
    let dataset = Arc::new(train_set.clone().limit(limit));
    let loader = train::data::train_loader::<B>(
        dataset,
        MnistBatcher::new(input),
        TRAIN_BATCH,
        42,
        0,
        0,
        device,
    );
    let mut rate = 0.0;
    for _ in 0..2 {
        let start = Instant::now();
        let images: usize = loader.iter().map(|batch| batch.targets.dims()[0]).sum();
        rate = images as f64 / start.elapsed().as_secs_f64();
    }
    rate
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

// ----------------------------------------------------------------------------------------
// The table

fn print_table(rows: &[(BackendKind, Variant, Row)], args: &Args, peak_gflops: f64) {
    println!(
        "| backend | variant | training images/s | share of the limit | inference images/s (batch {INFERENCE_BATCH}) \
         | latency median ms (batch 1) | latency p95 ms | data pipeline images/s (batch {TRAIN_BATCH}) \
         | training peak RSS MB |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for (backend, variant, row) in rows {
        let (train_rate, train_peak) = match &row.train {
            Some(figures) => (
                figures
                    .epoch_images_per_second
                    .last()
                    .copied()
                    .unwrap_or(f64::NAN),
                figures.peak_kib as f64 / 1024.0,
            ),
            None => (f64::NAN, f64::NAN),
        };
        let share = train_rate * training_flop(*variant) / (peak_gflops * 1e9);
        println!(
            "| {backend} | {variant} | {} | {:.1}% | {} | {:.3} | {:.3} | {} | {train_peak:.0} |",
            thousands(train_rate),
            100.0 * share,
            thousands(row.inference_images_per_second),
            row.latency_median_ms,
            row.latency_p95_ms,
            thousands(row.pipeline_images_per_second),
        );
    }
    println!();
    if args.warmup_epochs() > 0 {
        let warmups: Vec<String> = rows
            .iter()
            .filter_map(|(backend, variant, row)| {
                let first = row.train.as_ref()?.epoch_images_per_second.first()?;
                Some(format!("{backend} {variant} {}", thousands(*first)))
            })
            .collect();
        println!(
            "Warm-up epoch (batch 1 excluded), images/s: {}.",
            warmups.join("; ")
        );
    }
    println!(
        "Peak RSS of this process (inference and data pipeline, all backends): {:.0} MB. \
         Load average at the end: {}.",
        peak_kib("self").unwrap_or(0) as f64 / 1024.0,
        load_average()
    );
}

/// Arithmetic of one training image: 6 floating-point operations per connection of the
/// lecture's table (a multiply and an add in the forward pass, twice that in the backward
/// pass for the input's and the weights' gradients), the usual count for a network trained by
/// backpropagation. Activations, pooling and the optimizer are not counted.
fn training_flop(variant: Variant) -> f64 {
    let model = LeNet5Config::new()
        .with_variant(variant)
        .init::<NdArray>(&Default::default());
    6.0 * model.summary().total_connections() as f64
}

/// The figures as `bench/compare` reads them.
fn json_figures(
    rows: &[(BackendKind, Variant, Row)],
    (gflops, isa): (f64, &str),
    threads: usize,
) -> serde_json::Value {
    let rows: Vec<serde_json::Value> = rows
        .iter()
        .map(|(backend, variant, row)| {
            let train = row
                .train
                .as_ref()
                .and_then(|figures| figures.epoch_images_per_second.last().copied());
            serde_json::json!({
                "backend": backend.to_string(),
                "variant": variant.to_string(),
                "train": train,
                "infer": row.inference_images_per_second,
                "latency_median": row.latency_median_ms,
                "training_flop": training_flop(*variant),
            })
        })
        .collect();
    serde_json::json!({
        "peak_gflops": gflops,
        "peak_isa": isa,
        "threads": threads,
        "rows": rows,
    })
}

/// `12345.6` as `12,346`.
fn thousands(value: f64) -> String {
    if value.is_finite() {
        (value.round() as u64).separate_with_commas()
    } else {
        "n/a".into()
    }
}
