//! C1, S2, C3 and S4 for inference, one image at a time: each image's maps pass from layer to
//! layer in a task's own small buffers, which stay in cache, where the layer-by-layer kernels
//! write each layer's output for the whole batch to memory and read it back in the next pass.
//! Where the CPU has AVX-512F the convolutions' products run directly on the image ([`direct`])
//! instead of through the unfolding and gemm. The arithmetic is the layer-by-layer kernels' in
//! the same order ([`conv_image`], [`activate_wide`], [`pool_windows`]), so the results are
//! theirs to the bit.

use rayon::prelude::*;

use super::conv::{ConvScratch, activate_wide, conv_image};
use super::direct::{self, LANES};
use super::pool::{pool_planes, pool_windows};
use super::{ConvShape, with_avx2};
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
    // C3's 16 maps across the lanes take its weight transposed, `[patch, 16]`.
    let direct = direct::available() && c3.maps == LANES;
    let w3_t: Vec<f32> = match direct {
        true => (0..c3.patch() * LANES)
            .map(|i| w3.weight[(i % LANES) * c3.patch() + i / LANES])
            .collect(),
        false => Vec::new(),
    };
    let out_len = c3.output_len() / 4;
    let mut y = vec![0.0; c1.batch * out_len];
    y.par_chunks_mut(out_len)
        .zip(x.par_chunks(c1.image_len()))
        .for_each_init(
            || Scratch::new([c1, c3]),
            |scratch, (y, image)| {
                with_avx2(
                    #[inline(always)]
                    || {
                        let Scratch {
                            c1_maps,
                            s2,
                            c3_maps,
                            c1_conv,
                            c3_conv,
                        } = scratch;
                        if direct {
                            c1_conv.direct_wide(c1, activation, image, w1, c1_maps);
                        } else {
                            conv_image(c1, activation, image, w1.weight, w1.bias, c1_maps, c1_conv);
                        }
                        pool_planes(pooling, c1.out_width(), c1_maps, s2);
                        if direct {
                            let z = c3_conv.direct_maps16(c3, s2, &w3_t);
                            activate_pool_maps16(c3, activation, pooling, z, w3.bias, c3_maps, y);
                        } else {
                            conv_image(c3, activation, s2, w3.weight, w3.bias, c3_maps, c3_conv);
                            pool_planes(pooling, c3.out_width(), c3_maps, y);
                        }
                    },
                )
            },
        );
    y
}

/// One task's buffers, reused from image to image.
struct Scratch {
    c1_maps: Vec<f32>,
    s2: Vec<f32>,
    c3_maps: Vec<f32>,
    c1_conv: ConvScratch,
    c3_conv: ConvScratch,
}

impl Scratch {
    fn new([c1, c3]: [&ConvShape; 2]) -> Self {
        Self {
            c1_maps: vec![0.0; c1.output_len()],
            s2: vec![0.0; c1.output_len() / 4],
            c3_maps: vec![0.0; c3.output_len()],
            c1_conv: ConvScratch::new(c1),
            c3_conv: ConvScratch::new(c3),
        }
    }
}

impl ConvScratch {
    /// [`conv_image`] with the product from [`direct::forward_wide`].
    #[inline(always)]
    fn direct_wide(
        &mut self,
        shape: &ConvShape,
        activation: Activation,
        image: &[f32],
        weights: ConvWeights,
        y: &mut [f32],
    ) {
        let padded = shape.pad(image, &mut self.padded);
        direct::forward_wide(shape, padded, weights.weight, &mut self.z);
        activate_wide(shape, activation, &self.z, weights.bias, y);
    }

    /// The product `[positions, 16]` from [`direct::forward_maps16`].
    #[inline(always)]
    fn direct_maps16(&mut self, shape: &ConvShape, image: &[f32], weight_t: &[f32]) -> &[f32] {
        let padded = shape.pad(image, &mut self.padded);
        direct::forward_maps16(shape, padded, weight_t, &mut self.z);
        &self.z[..shape.positions() * LANES]
    }
}

/// The bias, activation and pooling of a product `z` `[positions, 16]`, into `y` `[16, height
/// / 2, width / 2]`; `maps` holds the activated `[positions, 16]` in between.
#[inline(always)]
fn activate_pool_maps16(
    shape: &ConvShape,
    activation: Activation,
    pooling: Pooling,
    z: &[f32],
    bias: &[f32],
    maps: &mut [f32],
    y: &mut [f32],
) {
    for (out, z) in maps.chunks_exact_mut(LANES).zip(z.chunks_exact(LANES)) {
        activation.apply_each(out, z, bias);
    }
    let (width, pooled) = (shape.out_width(), shape.positions() / 4);
    let mut window = [0.0; LANES];
    for (q, (py, px)) in (0..shape.out_height() / 2)
        .flat_map(|py| (0..width / 2).map(move |px| (py, px)))
        .enumerate()
    {
        let at = |dy: usize, dx: usize| &maps[((2 * py + dy) * width + 2 * px + dx) * LANES..];
        let (a, b, c, d) = (at(0, 0), at(0, 1), at(1, 0), at(1, 1));
        pool_windows(
            pooling,
            &mut window,
            (0..LANES).map(|m| [a[m], b[m], c[m], d[m]]),
        );
        for (m, &v) in window.iter().enumerate() {
            y[m * pooled + q] = v;
        }
    }
}
