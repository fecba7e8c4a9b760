//! C1, S2, C3 and S4 for inference, one image at a time: each image's maps pass from layer to
//! layer in a task's own small buffers, which stay in cache, where the layer-by-layer kernels
//! write each layer's output for the whole batch to memory and read it back in the next pass.
//! Where the CPU has AVX-512F, or AVX2 and FMA, each convolution runs with its activation and
//! pooling in registers ([`direct`](super::direct)); elsewhere through the unfolding and gemm
//! ([`conv_image`], [`pool_planes`]). Both are the layer-by-layer kernels' arithmetic in their order, so the
//! results are theirs to the bit.

use super::conv::{ConvScratch, conv_image};
use super::direct::{Kernel, Layer, Outputs};
use super::pool::pool_planes;
use super::{ConvShape, filled_in_parallel, with_avx2};
use crate::{Activation, Pooling};

/// A convolution's weight `[maps, channels, kernel, kernel]` and bias `[maps]`, row-major.
#[derive(Clone, Copy)]
pub(crate) struct ConvWeights<'a> {
    pub weight: &'a [f32],
    pub bias: &'a [f32],
}

/// `pool(activation(conv(pool(activation(conv(x, c1))), c3)))` for images `x` `[batch,
/// channels, height, width]` (`c1`'s shape); the result `[batch, maps, height, width]` at
/// `c3`'s output halved. Both convolutions' outputs must have an even height and width, and
/// `c3`'s input must be `c1`'s pooled output.
pub(crate) fn features_forward(
    [c1, c3]: [&ConvShape; 2],
    [w1, w3]: [ConvWeights; 2],
    activation: Activation,
    pooling: Pooling,
    x: &[f32],
) -> Vec<f32> {
    // The direct kernels take both convolutions, or neither.
    let kernels = match (Kernel::choose(c1, w1.weight), Kernel::choose(c3, w3.weight)) {
        (Some(k1), Some(k3)) => Some((k1, k3)),
        _ => None,
    };
    let layer = |shape, bias| Layer {
        shape,
        activation,
        pooling: Some(pooling),
        bias,
    };
    let (l1, l3) = (layer(c1, w1.bias), layer(c3, w3.bias));
    let out_len = c3.output_len() / 4;
    let image_len = c1.image_len();
    filled_in_parallel(
        c1.batch * out_len,
        out_len,
        Scratch::default,
        |scratch, n, y| {
            let image = &x[n * image_len..][..image_len];
            let Scratch {
                maps,
                s2,
                c1_conv,
                c3_conv,
            } = scratch;
            s2.resize(c1.output_len() / 4, 0.0);
            if let Some((k1, k3)) = &kernels {
                k1.run(l1, c1_conv.pad(c1, image), w1.weight, Outputs::Pooled(s2));
                k3.run(l3, c3_conv.pad(c3, s2), w3.weight, Outputs::Pooled(y));
                return;
            }
            maps.resize(c1.output_len().max(c3.output_len()), 0.0);
            with_avx2(
                #[inline(always)]
                || {
                    conv_image(c1, activation, image, w1.weight, w1.bias, maps, c1_conv);
                    pool_planes(pooling, c1.out_width(), maps, s2);
                    conv_image(c3, activation, s2, w3.weight, w3.bias, maps, c3_conv);
                    pool_planes(pooling, c3.out_width(), maps, y);
                },
            )
        },
    )
}

/// One task's buffers, reused from image to image, each sized on first use.
#[derive(Default)]
struct Scratch {
    /// A convolution's activated maps, before pooling (without the direct kernels).
    maps: Vec<f32>,
    s2: Vec<f32>,
    c1_conv: ConvScratch,
    c3_conv: ConvScratch,
}
