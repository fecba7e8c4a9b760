//! C1 to S4 on a host backend: in one pass per image for inference; for training, each
//! convolution and its pooling as one autodiff operation.

use burn::{nn::conv::Conv2d, prelude::*, tensor::ops::FloatTensor};

use super::conv::conv_autodiff;
use super::{Host, conv_shape, pool_fits, primitive, tensor};
use crate::cpu::{self, ConvShape, ConvWeights};
use crate::routing::conv_padding;
use crate::{Activation, Pooling};

/// A convolution's operands: input-independent, so borrowed for the whole batch.
pub(crate) struct Conv<B: Backend> {
    pub shape: ConvShape,
    pub weight: Tensor<B, 4>,
    pub bias: Tensor<B, 1>,
}

/// `c1` and `c3` on input `dims` as operands of the fused pass, when the kernels cover both
/// convolutions (with their biases) and both outputs pool evenly.
pub(crate) fn feature_convs<B: Backend>(
    c1: &Conv2d<B>,
    c3: &Conv2d<B>,
    dims: [usize; 4],
) -> Option<[Conv<B>; 2]> {
    let conv = |conv: &Conv2d<B>, dims: [usize; 4]| {
        let bias = conv.bias.as_ref()?.val();
        let weight = conv.weight.val();
        let shape = conv_shape(weight.dims(), bias.dims(), conv_padding(conv)?, dims)?;
        let out = [
            shape.batch,
            shape.maps,
            shape.out_height(),
            shape.out_width(),
        ];
        pool_fits(out).then_some(Conv {
            shape,
            weight,
            bias,
        })
    };
    let c1 = conv(c1, dims)?;
    let [batch, maps, height, width] = [
        c1.shape.batch,
        c1.shape.maps,
        c1.shape.out_height() / 2,
        c1.shape.out_width() / 2,
    ];
    let c3 = conv(c3, [batch, maps, height, width])?;
    Some([c1, c3])
}

/// `pool(activation(c3(pool(activation(c1(x))))))` on host `H`; `B` is `H` itself.
pub(super) fn features<B: Backend, H: Host>(
    [c1, c3]: [Conv<B>; 2],
    activation: Activation,
    pooling: Pooling,
    x: Tensor<B, 4>,
) -> Tensor<B, 4> {
    let x: FloatTensor<H> = primitive(x);
    let [w1, w3]: [FloatTensor<H>; 2] = [primitive(c1.weight), primitive(c3.weight)];
    let [b1, b3]: [FloatTensor<H>; 2] = [primitive(c1.bias), primitive(c3.bias)];
    let (w1, b1, w3, b3) = (
        H::values(&w1),
        H::values(&b1),
        H::values(&w3),
        H::values(&b3),
    );
    let y = cpu::features_forward(
        [&c1.shape, &c3.shape],
        [
            ConvWeights {
                weight: &w1,
                bias: &b1,
            },
            ConvWeights {
                weight: &w3,
                bias: &b3,
            },
        ],
        activation,
        pooling,
        &H::values(&x),
    );
    let dims = [
        c3.shape.batch,
        c3.shape.maps,
        c3.shape.out_height() / 2,
        c3.shape.out_width() / 2,
    ];
    tensor::<B, 4, _>(H::tensor(y, dims.into()))
}

/// The same on `Autodiff<H>` (which `B` is), for training: C1 with S2, then C3 with S4, each
/// pair one autodiff operation that keeps the convolution's maps for its backward step.
pub(super) fn features_autodiff<B: Backend, H: Host>(
    [c1, c3]: [Conv<B>; 2],
    activation: Activation,
    pooling: Pooling,
    x: Tensor<B, 4>,
) -> Tensor<B, 4> {
    let layer = |conv: Conv<B>, x| {
        let (weight, bias) = (primitive(conv.weight), primitive::<B, 1, _>(conv.bias));
        conv_autodiff::<H>(conv.shape, activation, Some(pooling), x, weight, bias)
    };
    let s2 = layer(c1, primitive(x));
    tensor::<B, 4, _>(layer(c3, s2))
}
