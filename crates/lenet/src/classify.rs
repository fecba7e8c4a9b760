//! Digits in, digits with probabilities out: a network with the input step it was trained on.

use burn::prelude::*;

use crate::{IMAGE_PIXELS, InputConfig, LeNet5, Prediction};

/// What the network made of one digit.
#[derive(Clone, Debug, PartialEq)]
pub struct Classification {
    /// The most probable digit.
    pub digit: u8,
    /// The probability of each digit 0..=9; they sum to 1.
    pub probabilities: [f32; 10],
}

impl Classification {
    /// The probability of [`Classification::digit`].
    pub fn confidence(&self) -> f32 {
        self.probabilities[usize::from(self.digit)]
    }

    /// The `k` most probable digits with their probabilities, most probable first.
    pub fn top(&self, k: usize) -> Vec<(u8, f32)> {
        let mut ranked: Vec<(u8, f32)> = (0u8..).zip(self.probabilities).collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked.truncate(k);
        ranked
    }

    /// One classification per row of `prediction`, in order.
    pub fn from_prediction<B: Backend>(prediction: Prediction<B>) -> Vec<Self> {
        let probabilities: Vec<f32> = prediction.probabilities.into_data().iter::<f32>().collect();
        probabilities
            .chunks_exact(10)
            .map(|row| {
                let probabilities: [f32; 10] = std::array::from_fn(|digit| row[digit]);
                // The first of equal maxima, as Burn's argmax picks it.
                let (digit, _) = (0u8..).zip(row).fold((0u8, f32::MIN), |best, (digit, &p)| {
                    if p > best.1 { (digit, p) } else { best }
                });
                Classification {
                    digit,
                    probabilities,
                }
            })
            .collect()
    }
}

/// A LeNet-5 with the input step it was trained with, on a device: classifies 28x28 digits in
/// MNIST's form (row-major u8, 0 = background, 255 = ink, the digit centred as in MNIST).
#[derive(Debug)]
pub struct Classifier<B: Backend> {
    model: LeNet5<B>,
    input: InputConfig,
    device: B::Device,
}

impl<B: Backend> Classifier<B> {
    /// A classifier for `model`, feeding it digits as `input` describes, on `device`.
    pub fn new(model: LeNet5<B>, input: InputConfig, device: &B::Device) -> Self {
        Self {
            model,
            input,
            device: device.clone(),
        }
    }

    /// The network.
    pub fn model(&self) -> &LeNet5<B> {
        &self.model
    }

    /// The input step the network was trained with.
    pub fn input(&self) -> &InputConfig {
        &self.input
    }

    /// The model's input tensor for `digits`, `[n, 1, side, side]`.
    pub fn to_input(&self, digits: &[[u8; IMAGE_PIXELS]]) -> Tensor<B, 4> {
        self.input.to_tensor::<B>(digits, &self.device)
    }

    /// Classifies `digits` in one batch: one [`Classification`] per digit, in order.
    pub fn classify(&self, digits: &[[u8; IMAGE_PIXELS]]) -> Vec<Classification> {
        if digits.is_empty() {
            return Vec::new();
        }
        Classification::from_prediction(self.model.predict(self.to_input(digits)))
    }
}

#[cfg(test)]
mod tests {
    use burn::backend::NdArray;

    use super::*;
    use crate::{LeNet5Config, Variant};

    #[test]
    fn one_classification_per_digit_whose_probabilities_sum_to_one() {
        let device = Default::default();
        let model = LeNet5Config::new()
            .with_variant(Variant::Keras)
            .init::<NdArray>(&device);
        let classifier = Classifier::new(model, InputConfig::for_variant(Variant::Keras), &device);
        let digits = [
            [0u8; IMAGE_PIXELS],
            [255u8; IMAGE_PIXELS],
            [9u8; IMAGE_PIXELS],
        ];
        let results = classifier.classify(&digits);
        assert_eq!(results.len(), 3);
        for result in &results {
            let total: f32 = result.probabilities.iter().sum();
            assert!((total - 1.0).abs() < 1e-5, "{total}");
            let best = result
                .probabilities
                .iter()
                .copied()
                .fold(f32::MIN, f32::max);
            assert_eq!(result.confidence(), best);
        }
        assert!(classifier.classify(&[]).is_empty());
    }

    #[test]
    fn top_ranks_by_probability_then_digit() {
        let mut probabilities = [0.0; 10];
        probabilities[3] = 0.5;
        probabilities[8] = 0.25;
        probabilities[1] = 0.25;
        let classification = Classification {
            digit: 3,
            probabilities,
        };
        assert_eq!(classification.confidence(), 0.5);
        assert_eq!(classification.top(3), vec![(3, 0.5), (1, 0.25), (8, 0.25)]);
        assert_eq!(classification.top(0), vec![]);
    }
}
