//! What `report.json` holds: a training run's test-set results, written by `train`, read by
//! `infer`, `web` and anyone comparing runs.

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
