//! Checks against the real MNIST files in `$MNIST_DIR`. They are `#[ignore]`d, so that
//! `cargo test` passes without the data; CI runs them with `--include-ignored` and `MNIST_DIR`
//! set, where they fail, rather than skip, when the data is absent.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Instant;

use burn::backend::NdArray;
use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset;
use lenet::{InputConfig, MnistBatch, Normalization};
use mnist::{Download, MnistBatcher, MnistItem, MnistSplits, locate};

/// Real MNIST, found as `train` finds it (`MNIST_DIR`, then the user cache), never downloaded.
fn data_dir() -> PathBuf {
    locate(None, &Download::disabled())
        .expect("these tests need MNIST: set MNIST_DIR to the directory holding the four files")
}

/// Loaded once for all tests, without a validation split.
fn full() -> &'static MnistSplits {
    static SPLITS: OnceLock<MnistSplits> = OnceLock::new();
    SPLITS.get_or_init(|| {
        let start = Instant::now();
        let splits = MnistSplits::load(&data_dir(), 0).expect("loading MNIST_DIR");
        eprintln!("loaded 70,000 MNIST images in {:?}", start.elapsed());
        splits
    })
}

fn class_counts(labels: &[u8]) -> [usize; 10] {
    let mut counts = [0; 10];
    for &label in labels {
        counts[usize::from(label)] += 1;
    }
    counts
}

#[test]
#[ignore = "needs MNIST: set MNIST_DIR"]
fn splits_have_60000_and_10000_items() {
    assert_eq!(full().train.len(), 60_000);
    assert_eq!(full().valid.len(), 0);
    assert_eq!(full().test.len(), 10_000);
}

#[test]
#[ignore = "needs MNIST: set MNIST_DIR"]
fn first_ten_labels_match_the_published_ones() {
    assert_eq!(
        &full().train.labels()[..10],
        &[5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    );
    assert_eq!(&full().test.labels()[..10], &[7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
}

#[test]
#[ignore = "needs MNIST: set MNIST_DIR"]
fn class_counts_match_the_published_ones() {
    assert_eq!(
        class_counts(full().train.labels()),
        [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    );
    assert_eq!(
        class_counts(full().test.labels()),
        [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    );
}

#[test]
#[ignore = "needs MNIST: set MNIST_DIR"]
fn checksums_of_the_decompressed_files_verify() {
    Download::default().verify(&data_dir()).unwrap();
}

#[test]
#[ignore = "needs MNIST: set MNIST_DIR"]
fn locate_accepts_the_directory_without_downloading() {
    let dir = data_dir();
    assert_eq!(locate(Some(&dir), &Download::disabled()).unwrap(), dir);
}

#[test]
#[ignore = "needs MNIST: set MNIST_DIR"]
fn validation_split_is_the_last_5000_training_images() {
    let splits = MnistSplits::load(&data_dir(), 5000).unwrap();
    assert_eq!(splits.train.len(), 55_000);
    assert_eq!(splits.valid.len(), 5000);
    assert_eq!(splits.test.len(), 10_000);
    assert_eq!(splits.valid.labels(), &full().train.labels()[55_000..]);
    for i in [0, 1234, 4999] {
        assert_eq!(splits.valid.get(i), full().train.get(55_000 + i));
    }
    assert_eq!(splits.train.get(54_999), full().train.get(54_999));
    assert_eq!(splits.train.get(55_000), None);
}

#[test]
#[ignore = "needs MNIST: set MNIST_DIR"]
fn images_look_like_digits() {
    let image = full().train.image(0).unwrap();
    // White digit on black: the border is background and there is ink.
    assert!(image[..28].iter().all(|&p| p == 0));
    assert!(image.iter().any(|&p| p > 250));
    let ink = image.iter().filter(|&&p| p > 0).count();
    assert!((50..400).contains(&ink), "{ink} ink pixels");
}

fn first_items(n: usize) -> Vec<MnistItem> {
    (0..n).map(|i| full().train.get(i).unwrap()).collect()
}

#[test]
#[ignore = "needs MNIST: set MNIST_DIR"]
fn batches_have_the_documented_shapes_and_values() {
    let device = Default::default();
    for (padding, side) in [(2, 32), (0, 28)] {
        let input = InputConfig::new()
            .with_padding(padding)
            .with_normalization(Normalization::Standardize);
        let batch: MnistBatch<NdArray> =
            MnistBatcher::new(input.clone()).batch(first_items(8), &device);
        assert_eq!(batch.images.dims(), [8, 1, side, side]);
        assert_eq!(
            batch.targets.into_data().to_vec::<i64>().unwrap(),
            vec![5, 0, 4, 1, 9, 2, 1, 3]
        );
        let values = batch.images.into_data().to_vec::<f32>().unwrap();
        let background = Normalization::Standardize.apply(0);
        for (n, item) in first_items(8).iter().enumerate() {
            let image = &values[n * side * side..(n + 1) * side * side];
            for y in 0..side {
                for x in 0..side {
                    let inside = (padding..padding + 28).contains(&y)
                        && (padding..padding + 28).contains(&x);
                    let expected = if inside {
                        Normalization::Standardize
                            .apply(item.image[(y - padding) * 28 + x - padding])
                    } else {
                        background
                    };
                    assert_eq!(image[y * side + x], expected, "image {n} at ({y}, {x})");
                }
            }
        }
    }
}

#[test]
#[ignore = "needs MNIST: set MNIST_DIR"]
fn standardized_training_pixels_have_zero_mean_and_unit_variance() {
    let input = InputConfig::new()
        .with_padding(0)
        .with_normalization(Normalization::Standardize);
    let (mut sum, mut sum_sq, mut n) = (0f64, 0f64, 0usize);
    // In chunks, to keep the float tensors small.
    for first in (0..60_000).step_by(6_000) {
        let images = (first..first + 6_000).map(|i| full().train.image(i).unwrap());
        let values = input
            .to_tensor::<NdArray>(images, &Default::default())
            .into_data()
            .to_vec::<f32>()
            .unwrap();
        sum += values.iter().map(|&v| f64::from(v)).sum::<f64>();
        sum_sq += values.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>();
        n += values.len();
    }
    let mean = sum / n as f64;
    let std = (sum_sq / n as f64 - mean * mean).sqrt();
    assert!(mean.abs() < 0.005, "mean {mean}");
    assert!((std - 1.0).abs() < 0.005, "std {std}");
}
