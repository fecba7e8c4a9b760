//! The test-set evaluation and the files a run leaves behind.

use std::{io::Write, path::Path};

use burn::{
    data::dataloader::DataLoader, nn::loss::CrossEntropyLossConfig, prelude::*,
    tensor::activation::softmax,
};
use lenet::LeNet5;
use mnist::MnistBatch;
use serde::{Deserialize, Serialize};

/// What `report.json` holds.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Report {
    /// The configuration file's name, e.g. `lenet5`.
    pub config: String,
    /// `classic` or `keras`.
    pub variant: String,
    /// `flex`, `ndarray` or `wgpu`.
    pub backend: String,
    /// Epochs completed, including any before a `--resume`.
    pub epochs: usize,
    /// Epochs that were already complete when this process started (a `--resume`, or a
    /// finished run extended with `--resume --epochs N`); 0 for a run from the start.
    #[serde(default)]
    pub resumed_from: usize,
    /// The run's seed.
    pub seed: u64,
    /// Training images per epoch.
    pub train_images: usize,
    /// Validation images.
    pub valid_images: usize,
    /// Test images evaluated.
    pub test_images: usize,
    /// Fraction of test images classified correctly, 0 to 1.
    pub test_accuracy: f64,
    /// Mean cross-entropy on the test images.
    pub test_loss: f64,
    /// Accuracy on the test images of each digit, 0 to 1.
    pub per_class_accuracy: Vec<f64>,
    /// `confusion_matrix[true][predicted]`: test image counts.
    pub confusion_matrix: Vec<Vec<u64>>,
    /// Wall time of the training loop in this process (validation included).
    pub train_seconds: f64,
    /// Training images processed per second of `train_seconds`.
    pub train_images_per_second: f64,
}

/// Test-set results.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    /// `matrix[true][predicted]`.
    pub confusion_matrix: [[u64; 10]; 10],
    /// Mean cross-entropy.
    pub loss: f64,
    /// The images classified wrongly, in the loader's order.
    pub mistakes: Vec<TestMistake>,
}

/// A test image classified wrongly.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TestMistake {
    /// Its position in the evaluated dataset.
    pub index: usize,
    /// The true digit.
    pub truth: u8,
    /// The model's answer.
    pub predicted: u8,
    /// The probability (softmax) the model gave its answer.
    pub probability: f32,
}

impl Evaluation {
    /// Images evaluated.
    pub fn total(&self) -> u64 {
        self.confusion_matrix.iter().flatten().sum()
    }

    /// Fraction classified correctly.
    pub fn accuracy(&self) -> f64 {
        let correct: u64 = (0..10)
            .map(|digit| self.confusion_matrix[digit][digit])
            .sum();
        correct as f64 / self.total().max(1) as f64
    }

    /// Accuracy per true digit (NaN for a digit with no images).
    pub fn per_class_accuracy(&self) -> Vec<f64> {
        self.confusion_matrix
            .iter()
            .enumerate()
            .map(|(digit, row)| row[digit] as f64 / row.iter().sum::<u64>() as f64)
            .collect()
    }
}

/// Classifies every batch of `loader` and counts the outcomes; the loader must keep its
/// dataset's order (no shuffling), so that mistakes can name their images.
pub fn evaluate<B: Backend>(
    model: &LeNet5<B>,
    loader: &dyn DataLoader<B, MnistBatch<B>>,
) -> Evaluation {
    let mut confusion_matrix = [[0u64; 10]; 10];
    let mut mistakes = Vec::new();
    let mut loss_sum = 0.0;
    let mut count = 0usize;
    for batch in loader.iter() {
        let size = batch.targets.dims()[0];
        let logits = model.forward(batch.images);
        let loss = CrossEntropyLossConfig::new()
            .init(&logits.device())
            .forward(logits.clone(), batch.targets.clone());
        loss_sum += loss.into_scalar().elem::<f64>() * size as f64;
        let (probability, predicted) = softmax(logits, 1).max_dim_with_indices(1);
        let predicted = predicted.into_data().convert::<i64>();
        let probability = probability.into_data().convert::<f32>();
        let targets = batch.targets.into_data().convert::<i64>();
        for (offset, ((truth, guess), p)) in targets
            .iter::<i64>()
            .zip(predicted.iter::<i64>())
            .zip(probability.iter::<f32>())
            .enumerate()
        {
            confusion_matrix[truth as usize][guess as usize] += 1;
            if truth != guess {
                mistakes.push(TestMistake {
                    index: count + offset,
                    truth: truth as u8,
                    predicted: guess as u8,
                    probability: p,
                });
            }
        }
        count += size;
    }
    Evaluation {
        confusion_matrix,
        loss: loss_sum / count.max(1) as f64,
        mistakes,
    }
}

impl Report {
    /// The confusion matrix and per-class accuracy as a small table.
    pub fn render(&self) -> String {
        let mut text = format!(
            "test accuracy {:.2}% ({} images), test loss {:.4}; {} epochs on {} in {:.0} s ({:.0} training images/s)\n\n",
            self.test_accuracy * 100.0,
            self.test_images,
            self.test_loss,
            self.epochs,
            self.backend,
            self.train_seconds,
            self.train_images_per_second,
        );
        text.push_str("confusion matrix (rows: true digit, columns: predicted)\n      ");
        for digit in 0..10 {
            text.push_str(&format!("{digit:>6}"));
        }
        text.push_str("   accuracy\n");
        for (digit, row) in self.confusion_matrix.iter().enumerate() {
            text.push_str(&format!("{digit:>6}"));
            for count in row {
                text.push_str(&format!("{count:>6}"));
            }
            text.push_str(&format!(
                "   {:>7.2}%\n",
                self.per_class_accuracy[digit] * 100.0
            ));
        }
        text
    }
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename, so
/// that an interrupted write never leaves a truncated file behind; the file gets the mode the
/// umask allows, as any new file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = atomic_write_file::AtomicWriteFile::open(path)?;
    file.write_all(bytes)?;
    file.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accuracy_comes_from_the_confusion_matrix() {
        let mut confusion_matrix = [[0; 10]; 10];
        confusion_matrix[3][3] = 8;
        confusion_matrix[3][5] = 2;
        confusion_matrix[7][7] = 10;
        let evaluation = Evaluation {
            confusion_matrix,
            mistakes: Vec::new(),
            loss: 0.5,
        };
        assert_eq!(evaluation.total(), 20);
        assert!((evaluation.accuracy() - 0.9).abs() < 1e-12);
        let per_class = evaluation.per_class_accuracy();
        assert!((per_class[3] - 0.8).abs() < 1e-12);
        assert_eq!(per_class[7], 1.0);
        assert!(per_class[0].is_nan());
    }

    #[test]
    fn atomic_writes_replace_the_file_and_leave_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        write_atomically(&path, b"first").unwrap();
        write_atomically(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
