//! The test-set evaluation: the confusion matrix, the loss and the mistakes.

use burn::{
    data::dataloader::DataLoader, nn::loss::CrossEntropyLossConfig, prelude::*,
    tensor::activation::softmax,
};
use lenet::{LeNet5, MnistBatch};

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
}
