//! The network's layers as the model calls them: fused kernels on Burn's CPU backends (flex
//! with the `flex` feature, ndarray with `ndarray`), Burn's operations everywhere else.
//!
//! On flex, Burn's generic operations spend most of a classic training step in tanh (a scalar
//! libm call per element, recomputed in the backward pass) and in the convolutions' backward
//! passes (strided copies around a convolution over the batch). The kernels here compute each
//! convolution as one matrix product per image over an unfolded copy of the image (im2col),
//! with the bias and the activation fused in; tanh as a vectorised rational function whose
//! derivative comes from its output; and pooling as one pass each way. The bench README gives
//! the measurements.

#[cfg(any(feature = "flex", feature = "ndarray"))]
mod cpu;
#[cfg(any(feature = "flex", feature = "ndarray"))]
mod host;

use burn::{
    nn::conv::Conv2d,
    prelude::*,
    tensor::{
        activation::{relu, tanh},
        module::{avg_pool2d, max_pool2d},
    },
};

use crate::config::{Activation, POOL, Pooling};

#[cfg(any(feature = "flex", feature = "ndarray"))]
pub use cpu::tanh as rational_tanh;

/// `activation(conv(x))`.
pub(crate) fn conv2d<B: Backend>(
    conv: &Conv2d<B>,
    x: Tensor<B, 4>,
    activation: Activation,
) -> Tensor<B, 4> {
    #[cfg(feature = "flex")]
    let x = match host::conv2d::<B, burn::backend::Flex>(conv, x, activation) {
        Ok(y) => return y,
        Err(x) => x,
    };
    #[cfg(feature = "ndarray")]
    let x = match host::conv2d::<B, burn::backend::NdArray>(conv, x, activation) {
        Ok(y) => return y,
        Err(x) => x,
    };
    activate(conv.forward(x), activation)
}

/// S2 and S4: 2x2 windows, stride 2. The paper squashes its subsampling output with the
/// same sigmoid as every other layer, so average pooling is followed by tanh.
pub(crate) fn subsample<B: Backend>(x: Tensor<B, 4>, pooling: Pooling) -> Tensor<B, 4> {
    #[cfg(any(feature = "flex", feature = "ndarray"))]
    let pool = match pooling {
        Pooling::Average => cpu::Pool::AverageTanh,
        Pooling::Max => cpu::Pool::Max,
    };
    #[cfg(feature = "flex")]
    let x = match host::pool::<B, burn::backend::Flex>(pool, x) {
        Ok(y) => return y,
        Err(x) => x,
    };
    #[cfg(feature = "ndarray")]
    let x = match host::pool::<B, burn::backend::NdArray>(pool, x) {
        Ok(y) => return y,
        Err(x) => x,
    };
    let window = [POOL, POOL];
    match pooling {
        Pooling::Average => activate(
            avg_pool2d(x, window, window, [0, 0], true, false),
            Activation::Tanh,
        ),
        Pooling::Max => max_pool2d(x, window, window, [0, 0], [1, 1], false),
    }
}

/// The hidden layers' non-linearity.
pub(crate) fn activate<B: Backend, const D: usize>(
    x: Tensor<B, D>,
    activation: Activation,
) -> Tensor<B, D> {
    match activation {
        Activation::Tanh => {
            #[cfg(feature = "flex")]
            let x = match host::tanh::<B, burn::backend::Flex, D>(x) {
                Ok(y) => return y,
                Err(x) => x,
            };
            #[cfg(feature = "ndarray")]
            let x = match host::tanh::<B, burn::backend::NdArray, D>(x) {
                Ok(y) => return y,
                Err(x) => x,
            };
            tanh(x)
        }
        Activation::Relu => relu(x),
    }
}

#[cfg(all(test, feature = "flex", feature = "ndarray"))]
mod tests {
    use burn::backend::{Autodiff, Flex, NdArray};

    use super::*;
    use crate::{LeNet5Config, Variant};

    /// Inputs on which the kernels' rational tanh and `f32::tanh` differ in the last bits,
    /// so the result tells which one ran.
    fn telltale() -> Vec<f32> {
        let inputs: Vec<f32> = (1..2000)
            .map(|i| i as f32 * 3.7e-3)
            .filter(|&x| cpu::tanh(x) != x.tanh())
            .collect();
        assert!(inputs.len() > 100);
        inputs
    }

    fn fused_tanh_runs_on<B: Backend>() {
        let inputs = telltale();
        let x = Tensor::<B, 1>::from_floats(inputs.as_slice(), &Default::default());
        let y = activate(x, Activation::Tanh)
            .into_data()
            .to_vec::<f32>()
            .unwrap();
        let expected: Vec<f32> = inputs.iter().map(|&x| cpu::tanh(x)).collect();
        assert_eq!(y, expected, "{}", std::any::type_name::<B>());
    }

    #[test]
    fn the_cpu_backends_and_their_autodiff_run_the_kernels() {
        fused_tanh_runs_on::<Flex>();
        fused_tanh_runs_on::<NdArray>();
        fused_tanh_runs_on::<Autodiff<Flex>>();
        fused_tanh_runs_on::<Autodiff<NdArray>>();
    }

    #[test]
    fn both_variants_convolutions_are_covered() {
        for variant in Variant::ALL {
            let model = LeNet5Config::new()
                .with_variant(variant)
                .init::<Flex>(&Default::default());
            let side = variant.input_size();
            assert!(host::conv_shape(&model.c1, [2, 1, side, side]).is_some());
            assert!(host::conv_shape(&model.c3, [2, 6, 14, 14]).is_some());
        }
    }
}
