//! Burn's batcher for MNIST items, through the model's own input step
//! ([`lenet::InputConfig::to_tensor`]).

use burn::data::dataloader::batcher::Batcher;
use burn::prelude::*;
use lenet::{InputConfig, MnistBatch};

use crate::MnistItem;

/// Burn's [`Batcher`] for MNIST: pads, normalises and stacks items per [`InputConfig`].
#[derive(Clone, Debug)]
pub struct MnistBatcher {
    input: InputConfig,
}

impl MnistBatcher {
    /// A batcher producing inputs as `input` describes.
    pub fn new(input: InputConfig) -> Self {
        Self { input }
    }
}

impl<B: Backend> Batcher<B, MnistItem, MnistBatch<B>> for MnistBatcher {
    fn batch(&self, items: Vec<MnistItem>, device: &B::Device) -> MnistBatch<B> {
        let images = self
            .input
            .to_tensor(items.iter().map(|item| &item.image), device);
        let labels: Vec<i64> = items.iter().map(|item| i64::from(item.label)).collect();
        let targets = Tensor::from_data(TensorData::new(labels, [items.len()]), device);
        MnistBatch { images, targets }
    }
}

#[cfg(test)]
mod tests {
    use burn::backend::NdArray;
    use lenet::{IMAGE_PIXELS, Normalization};

    use super::*;

    type B = NdArray;

    #[test]
    fn batcher_stacks_images_and_targets() {
        let items: Vec<MnistItem> = (0..5u8)
            .map(|label| MnistItem {
                image: [label * 50; IMAGE_PIXELS],
                label,
            })
            .collect();
        let batcher = MnistBatcher::new(InputConfig::new());
        let batch: MnistBatch<B> = batcher.batch(items, &Default::default());
        assert_eq!(batch.images.dims(), [5, 1, 32, 32]);
        assert_eq!(
            batch.targets.into_data().to_vec::<i64>().unwrap(),
            vec![0, 1, 2, 3, 4]
        );
        let values = batch.images.into_data().to_vec::<f32>().unwrap();
        let centre = |n: usize| values[n * 1024 + 16 * 32 + 16];
        for n in 0..5 {
            let expected = Normalization::Standardize.apply(n as u8 * 50);
            assert!((centre(n) - expected).abs() < 1e-6);
        }
    }
}
