//! The weights this project trained, built into the crate (feature `pretrained`).
//!
//! The classic network, trained by `cargo run -p train` with the configuration in
//! [`CONFIG`]; its test-set results are in [`REPORT`]. Both files are the training run's own,
//! kept beside the weights in the repository's `crates/lenet/pretrained/`.

use burn::prelude::*;

use crate::{Classifier, InputConfig, LeNet5, LeNetError, load_bytes};

/// The weights, as [`LeNet5::save`] writes them (`model.mpk`).
pub const MODEL: &[u8] = include_bytes!("../pretrained/model.mpk");
/// The training run's effective configuration (`config.toml`, the `experiment` crate's
/// schema): the network, the input step, the optimiser, the augmentation.
pub const CONFIG: &str = include_str!("../pretrained/config.toml");
/// The training run's `report.json`: the test-set accuracy, per digit and as a confusion matrix.
pub const REPORT: &str = include_str!("../pretrained/report.json");

/// The built-in network on `device`.
pub fn model<B: Backend>(device: &B::Device) -> Result<LeNet5<B>, LeNetError> {
    load_bytes(MODEL, None, device)
}

impl<B: Backend> Classifier<B> {
    /// The built-in network with the input step it was trained with (its variant's,
    /// [`InputConfig::for_variant`]), ready to classify digits.
    ///
    /// ```
    /// use burn::backend::NdArray;
    /// use lenet::Classifier;
    ///
    /// let classifier = Classifier::<NdArray>::pretrained(&Default::default())?;
    /// // A vertical bar: a one.
    /// let mut digit = [0u8; 784];
    /// for row in 4..24 {
    ///     digit[row * 28 + 13..row * 28 + 16].fill(255);
    /// }
    /// let result = &classifier.classify(&[digit])[0];
    /// assert_eq!(result.digit, 1);
    /// # Ok::<(), lenet::LeNetError>(())
    /// ```
    pub fn pretrained(device: &B::Device) -> Result<Self, LeNetError> {
        let model = model::<B>(device)?;
        let input = InputConfig::for_variant(model.variant());
        Ok(Self::new(model, input, device))
    }
}
