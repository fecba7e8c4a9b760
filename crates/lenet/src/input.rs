//! From 28x28 u8 digits to the model's input tensor: the one step that training and
//! inference share.

use burn::config::Config;
use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::Variant;

/// Side of an MNIST digit in pixels.
pub const IMAGE_SIDE: usize = 28;
/// Pixels in an MNIST digit (row-major, 0 = background, 255 = full ink).
pub const IMAGE_PIXELS: usize = IMAGE_SIDE * IMAGE_SIDE;

/// How raw pixel values 0..=255 map to floats.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Normalization {
    /// `x / 255`, in [0, 1].
    Unit,
    /// `(x / 255 - 0.1307) / 0.3081`: zero mean and unit variance over the training set, the
    /// usual choice today (PyTorch's MNIST example).
    Standardize,
    /// Background -0.1 and full ink 1.175, linear in between (`-0.1 + 1.275 * x / 255`), as in
    /// LeCun et al. 1998, which makes the mean about 0 and the variance about 1.
    Paper,
}

impl Normalization {
    /// The float for the raw pixel value `pixel`.
    pub fn apply(self, pixel: u8) -> f32 {
        let x = f32::from(pixel) / 255.0;
        match self {
            Normalization::Unit => x,
            Normalization::Standardize => (x - 0.1307) / 0.3081,
            Normalization::Paper => -0.1 + 1.275 * x,
        }
    }

    /// All 256 values, so that batching is a table look-up per pixel.
    fn table(self) -> [f32; 256] {
        std::array::from_fn(|pixel| self.apply(pixel as u8))
    }
}

/// How 28x28 u8 images become the model's input: the step shared by training and inference.
#[derive(Config, Debug, PartialEq)]
pub struct InputConfig {
    /// Background pixels added on each side: 2 gives the 32x32 input of the classic LeNet-5
    /// (the 1998 paper pads so that strokes can reach the centre of the outer feature
    /// detectors), 0 keeps 28x28.
    #[config(default = 2)]
    pub padding: usize,
    /// Mapping of pixel values to floats.
    #[config(default = "Normalization::Standardize")]
    pub normalization: Normalization,
}

impl InputConfig {
    /// The input a variant is trained with unless a configuration says otherwise: classic
    /// 32x32 standardised (MNIST's 28x28 padded by 2), Keras 28x28 in [0, 1], the paper's
    /// network 32x32 with background -0.1 and ink 1.175. A weights file without its
    /// configuration is read with it.
    pub fn for_variant(variant: Variant) -> Self {
        match variant {
            Variant::Classic => Self::new()
                .with_padding(2)
                .with_normalization(Normalization::Standardize),
            Variant::Keras => Self::new()
                .with_padding(0)
                .with_normalization(Normalization::Unit),
            Variant::LeCun1998 => Self::new()
                .with_padding(2)
                .with_normalization(Normalization::Paper),
        }
    }

    /// Side of the model input in pixels: `28 + 2 * padding`.
    pub fn side(&self) -> usize {
        IMAGE_SIDE + 2 * self.padding
    }

    /// Turns 28x28 u8 images (row-major, 0 = background) into a `[n, 1, side, side]` tensor.
    ///
    /// Padding pixels are background (raw 0) normalised like any other background pixel.
    /// The whole batch is filled into one buffer and becomes one tensor, without a tensor per
    /// image.
    pub fn to_tensor<'a, B: Backend>(
        &self,
        images: impl IntoIterator<Item = &'a [u8; IMAGE_PIXELS]>,
        device: &B::Device,
    ) -> Tensor<B, 4> {
        let table = self.normalization.table();
        let side = self.side();
        let images = images.into_iter();
        let mut values = Vec::with_capacity(images.size_hint().0 * side * side);
        let mut count = 0;
        for image in images {
            self.push_image(&table, image, &mut values);
            count += 1;
        }
        Tensor::from_data(TensorData::new(values, [count, 1, side, side]), device)
    }

    /// Appends one image, padded and normalised through `table`. Not generic, so that it is
    /// compiled once here and not in each crate that instantiates `to_tensor`.
    fn push_image(&self, table: &[f32; 256], image: &[u8; IMAGE_PIXELS], values: &mut Vec<f32>) {
        let background = table[0];
        let side = self.side();
        let pad = self.padding;
        values.resize(values.len() + pad * side, background);
        for row in image.chunks_exact(IMAGE_SIDE) {
            values.resize(values.len() + pad, background);
            values.extend(row.iter().map(|&pixel| table[usize::from(pixel)]));
            values.resize(values.len() + pad, background);
        }
        values.resize(values.len() + pad * side, background);
    }
}

/// A labelled batch ready for the model: what Burn's `Learner` feeds to
/// [`LeNet5`](crate::LeNet5)'s training and validation steps.
#[derive(Clone, Debug)]
pub struct MnistBatch<B: Backend> {
    /// `[batch, 1, side, side]`, normalised.
    pub images: Tensor<B, 4>,
    /// `[batch]`, the digits.
    pub targets: Tensor<B, 1, Int>,
}

#[cfg(test)]
mod tests {
    use burn::backend::NdArray;

    use super::*;

    type B = NdArray;

    #[test]
    fn normalizations_map_background_and_ink_as_documented() {
        let close = |a: f32, b: f32| (a - b).abs() < 1e-5;
        assert!(close(Normalization::Unit.apply(0), 0.0));
        assert!(close(Normalization::Unit.apply(255), 1.0));
        assert!(close(Normalization::Standardize.apply(0), -0.1307 / 0.3081));
        assert!(close(
            Normalization::Standardize.apply(255),
            (1.0 - 0.1307) / 0.3081
        ));
        assert!(close(Normalization::Paper.apply(0), -0.1));
        assert!(close(Normalization::Paper.apply(255), 1.175));
        assert!(close(Normalization::Paper.apply(51), -0.1 + 0.255));
    }

    #[test]
    fn side_is_28_plus_twice_the_padding() {
        assert_eq!(InputConfig::new().side(), 32);
        assert_eq!(InputConfig::new().with_padding(0).side(), 28);
    }

    #[test]
    fn each_variant_takes_the_side_its_first_layer_expects() {
        for variant in [Variant::Classic, Variant::Keras, Variant::LeCun1998] {
            let input = InputConfig::for_variant(variant);
            let model = crate::LeNet5Config::new()
                .with_variant(variant)
                .init::<B>(&Default::default());
            let digits = [[0u8; IMAGE_PIXELS]];
            let logits = model.forward(input.to_tensor::<B>(&digits, &Default::default()));
            assert_eq!(logits.dims(), [1, 10], "{variant:?}");
        }
        assert_eq!(
            InputConfig::for_variant(Variant::Keras).normalization,
            Normalization::Unit
        );
        assert_eq!(
            InputConfig::for_variant(Variant::LeCun1998).normalization,
            Normalization::Paper
        );
    }

    fn gradient_image() -> [u8; IMAGE_PIXELS] {
        std::array::from_fn(|i| (i % 256) as u8)
    }

    #[test]
    fn padded_tensor_places_pixels_and_background() {
        let input = InputConfig::new().with_normalization(Normalization::Paper);
        let images = [gradient_image(), [255; IMAGE_PIXELS]];
        let tensor = input.to_tensor::<B>(&images, &Default::default());
        assert_eq!(tensor.dims(), [2, 1, 32, 32]);
        let values = tensor.into_data().to_vec::<f32>().unwrap();
        let at = |n: usize, y: usize, x: usize| values[n * 1024 + y * 32 + x];
        let paper = |p: u8| Normalization::Paper.apply(p);
        for (y, x) in [
            (0, 0),
            (1, 17),
            (31, 31),
            (15, 0),
            (15, 1),
            (30, 12),
            (2, 30),
        ] {
            assert_eq!(at(0, y, x), -0.1, "padding at ({y}, {x})");
            assert_eq!(at(1, y, x), -0.1, "padding at ({y}, {x})");
        }
        for (row, col) in [(0, 0), (0, 27), (13, 5), (27, 27)] {
            let raw = gradient_image()[row * 28 + col];
            assert_eq!(at(0, row + 2, col + 2), paper(raw), "pixel ({row}, {col})");
            assert_eq!(at(1, row + 2, col + 2), 1.175);
        }
    }

    #[test]
    fn unpadded_tensor_is_the_image_normalised() {
        let input = InputConfig::new()
            .with_padding(0)
            .with_normalization(Normalization::Unit);
        let tensor = input.to_tensor::<B>([&gradient_image()], &Default::default());
        assert_eq!(tensor.dims(), [1, 1, 28, 28]);
        let values = tensor.into_data().to_vec::<f32>().unwrap();
        let expected: Vec<f32> = gradient_image()
            .iter()
            .map(|&p| f32::from(p) / 255.0)
            .collect();
        assert_eq!(values, expected);
    }

    #[test]
    fn config_serialises_normalization_in_lowercase() {
        let json = InputConfig::new()
            .with_normalization(Normalization::Paper)
            .to_string();
        assert!(json.contains("\"paper\""), "{json}");
    }
}
