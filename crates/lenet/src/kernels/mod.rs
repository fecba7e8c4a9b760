//! The network's layers as the model calls them: Burn's operations on every backend, and
//! with the `flex` feature, fused kernels on Burn's flex CPU backend.
//!
//! On flex, Burn's generic operations spend most of a classic training step in tanh (a scalar
//! libm call per element, recomputed in the backward pass) and in the convolutions' backward
//! passes (strided copies around a convolution over the batch). The kernels here compute each
//! convolution as one matrix product per image over an unfolded copy of the image (im2col),
//! with the bias and the activation fused in; tanh as a vectorised rational function whose
//! derivative comes from its output; and pooling as one pass each way. The bench README gives
//! the measurements.

#[cfg(feature = "flex")]
mod cpu;
#[cfg(feature = "flex")]
mod flex;

use burn::{
    nn::conv::Conv2d,
    prelude::*,
    tensor::{
        activation::{relu, tanh},
        module::{avg_pool2d, max_pool2d},
    },
};

use crate::config::{Activation, POOL, Pooling};

/// `activation(conv(x))`.
pub(crate) fn conv2d<B: Backend>(
    conv: &Conv2d<B>,
    x: Tensor<B, 4>,
    activation: Activation,
) -> Tensor<B, 4> {
    #[cfg(feature = "flex")]
    let x = match flex::conv2d_activation(conv, x, activation) {
        Ok(y) => return y,
        Err(x) => x,
    };
    activate(conv.forward(x), activation)
}

/// S2 and S4: 2x2 windows, stride 2. The paper squashes its subsampling output with the
/// same sigmoid as every other layer, so average pooling is followed by tanh.
pub(crate) fn subsample<B: Backend>(x: Tensor<B, 4>, pooling: Pooling) -> Tensor<B, 4> {
    #[cfg(feature = "flex")]
    let x = {
        let pool = match pooling {
            Pooling::Average => cpu::Pool::AverageTanh,
            Pooling::Max => cpu::Pool::Max,
        };
        match flex::pool(pool, x) {
            Ok(y) => return y,
            Err(x) => x,
        }
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
            let x = match flex::tanh(x) {
                Ok(y) => return y,
                Err(x) => x,
            };
            tanh(x)
        }
        Activation::Relu => relu(x),
    }
}
