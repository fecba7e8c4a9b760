//! Throughput of the input pipeline: dataset reads and batching into NdArray tensors.
//!
//! Run with `cargo bench -p mnist` (or `--profile dev`, which is optimised in this workspace).
//! Single thread, batch 128, synthetic images so that no data files are needed.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use burn::backend::NdArray;
use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset;
use lenet::{IMAGE_PIXELS, InputConfig, MnistBatch};
use mnist::{AugmentConfig, AugmentedDataset, MnistBatcher, MnistDataset, MnistItem, MnistSplits};

const BATCH: usize = 128;
const IMAGES: usize = 10_000;
const MIN_TIME: Duration = Duration::from_secs(2);

/// Images per second through `dataset.get` and the batcher, over at least `MIN_TIME`.
fn throughput(dataset: &impl Dataset<MnistItem>, input: InputConfig) -> f64 {
    let batcher = MnistBatcher::new(input);
    let device = Default::default();
    let start = Instant::now();
    let mut images = 0usize;
    while start.elapsed() < MIN_TIME {
        for first in (0..dataset.len()).step_by(BATCH) {
            let end = (first + BATCH).min(dataset.len());
            let items: Vec<MnistItem> = (first..end).filter_map(|i| dataset.get(i)).collect();
            let batch: MnistBatch<NdArray> = batcher.batch(items, &device);
            black_box(batch);
            images += end - first;
        }
    }
    images as f64 / start.elapsed().as_secs_f64()
}

fn synthetic() -> MnistDataset {
    // A filled box of varying size and brightness: cheap, deterministic, digit-like density.
    MnistDataset::from_items((0..IMAGES).map(|i| {
        let size = 8 + i % 12;
        let image: [u8; IMAGE_PIXELS] = std::array::from_fn(|p| {
            let (y, x) = (p / 28, p % 28);
            if (4..4 + size).contains(&y) && (6..6 + size).contains(&x) {
                (128 + i % 128) as u8
            } else {
                0
            }
        });
        MnistItem {
            image,
            label: (i % 10) as u8,
        }
    }))
}

/// Seconds to load all 70,000 real images, when `MNIST_DIR` points at them.
fn load_time() -> Option<f64> {
    let dir = std::env::var_os("MNIST_DIR")?;
    let start = Instant::now();
    let splits = MnistSplits::load(Path::new(&dir), 0).ok()?;
    black_box(splits);
    Some(start.elapsed().as_secs_f64())
}

fn main() {
    match load_time() {
        Some(seconds) => println!("loading all 70,000 MNIST images: {seconds:.3} s\n"),
        None => println!("(set MNIST_DIR to also time loading the real files)\n"),
    }
    let plain = synthetic();
    let augmented =
        AugmentedDataset::new(plain.clone(), AugmentConfig::new().with_enabled(true), 42)
            .expect("the default augmentation ranges are valid");

    println!("| pipeline (batch {BATCH}, 1 thread, NdArray) | input | images/s |");
    println!("|---|---|---:|");
    for padding in [2, 0] {
        let input = InputConfig::new().with_padding(padding);
        let side = input.side();
        let rate = throughput(&plain, input);
        println!("| dataset + batcher | {side}x{side} | {rate:>12.0} |");
    }
    let rate = throughput(&augmented, InputConfig::new());
    println!("| dataset + augmentation + batcher | 32x32 | {rate:>12.0} |");
}
