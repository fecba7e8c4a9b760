//! The convolution with its bias and activation: one matrix product per image over its wide
//! unfolding, and the gradients of all three operands.

use rayon::prelude::*;

use super::direct::{
    DirectGradients, Isa, Kernel, Layer, Outputs, PRE_SLACK, add_input_gradient,
    add_weight_gradient, add_weight_gradient_horizontal, pooled_gradient, pooled_gradient_fits,
};
use super::matmul::{View, matmul};
use super::pool::{pool_gradient_rows, pool_planes};
use super::{ConvShape, add, add_sums, filled_in_parallel, filled_together, with_avx2};
use crate::{Activation, Pooling};

/// Images per task in the backward pass. Fixed, so that the sums over the batch do not depend
/// on the thread count (the `cpu` module's docs).
const CHUNK: usize = 8;

/// `activation(conv(x, weight) + bias)`; `x` is `[batch, channels, height, width]`, `weight`
/// `[maps, channels, kernel, kernel]`, the result `[batch, maps, out_height, out_width]`.
pub(crate) fn conv_forward(
    shape: &ConvShape,
    activation: Activation,
    x: &[f32],
    weight: &[f32],
    bias: &[f32],
) -> Vec<f32> {
    let image = ImageForward::new(shape, activation, weight, bias);
    let output_len = shape.output_len();
    filled_in_parallel(
        shape.batch * output_len,
        output_len,
        ConvScratch::default,
        |scratch, n, y| image.run(scratch, &x[n * shape.image_len()..], y),
    )
}

/// [`conv_forward`]'s maps and their 2x2 `pooling` (`[batch, maps, out_height / 2, out_width
/// / 2]`; the output's height and width even), each image pooled as its maps are computed:
/// in registers by the AVX-512 kernels, else with [`pool_planes`] while the maps are in
/// cache. The same values as pooling the batch's maps afterwards, without reading them back
/// from memory.
pub(crate) fn conv_pool_forward(
    shape: &ConvShape,
    activation: Activation,
    pooling: Pooling,
    x: &[f32],
    weight: &[f32],
    bias: &[f32],
) -> [Vec<f32>; 2] {
    let image = ImageForward::new(shape, activation, weight, bias);
    let output_len = shape.output_len();
    filled_together(
        [shape.batch * output_len, shape.batch * output_len / 4],
        [output_len, output_len / 4],
        ConvScratch::default,
        |scratch, n, [y, pooled]| {
            image.run_pooled(scratch, &x[n * shape.image_len()..], pooling, y, pooled)
        },
    )
}

/// One image's convolution, its kernel chosen once for the batch.
struct ImageForward<'a> {
    layer: Layer<'a>,
    kernel: Option<Kernel>,
    weight: &'a [f32],
}

impl<'a> ImageForward<'a> {
    fn new(
        shape: &'a ConvShape,
        activation: Activation,
        weight: &'a [f32],
        bias: &'a [f32],
    ) -> Self {
        let layer = Layer {
            shape,
            activation,
            pooling: None,
            bias,
        };
        let kernel = Kernel::choose(shape, weight);
        Self {
            layer,
            kernel,
            weight,
        }
    }

    /// The maps of the image at the start of `x` into `y`.
    fn run(&self, scratch: &mut ConvScratch, x: &[f32], y: &mut [f32]) {
        let Layer {
            shape,
            activation,
            bias,
            ..
        } = self.layer;
        let image = &x[..shape.image_len()];
        if let Some(kernel) = &self.kernel {
            let out = Outputs::Maps(y);
            return kernel.run(self.layer, scratch.pad(shape, image), self.weight, out);
        }
        with_avx2(
            #[inline(always)]
            || conv_image(shape, activation, image, self.weight, bias, y, scratch),
        )
    }

    /// [`ImageForward::run`], and the maps' 2x2 `pooling` into `pooled`: in registers where
    /// the kernel stores both ([`Kernel::stores_both`]), else from the maps just stored.
    fn run_pooled(
        &self,
        scratch: &mut ConvScratch,
        x: &[f32],
        pooling: Pooling,
        y: &mut [f32],
        pooled: &mut [f32],
    ) {
        let shape = self.layer.shape;
        if let Some(kernel) = self.kernel.as_ref().filter(|kernel| kernel.stores_both()) {
            let layer = Layer {
                pooling: Some(pooling),
                ..self.layer
            };
            let padded = scratch.pad(shape, &x[..shape.image_len()]);
            return kernel.run(
                layer,
                padded,
                self.weight,
                Outputs::Both { maps: y, pooled },
            );
        }
        self.run(scratch, x, y);
        with_avx2(
            #[inline(always)]
            || pool_planes(pooling, shape.out_width(), y, pooled),
        )
    }
}

/// The buffers one task of [`conv_image`] reuses from image to image, each sized on first use
/// (the direct kernels need only `padded`).
#[derive(Default)]
pub(super) struct ConvScratch {
    col: Vec<f32>,
    z: Vec<f32>,
    padded: Vec<f32>,
}

impl ConvScratch {
    /// `image` with its zero border and the slack after it that the direct kernels read
    /// ([`ConvShape::pad_with_slack`]), in this scratch's buffer.
    pub(super) fn pad<'a>(&'a mut self, shape: &ConvShape, image: &[f32]) -> &'a [f32] {
        shape.pad_with_slack(image, &mut self.padded)
    }
}

/// One image's `activation(conv(image, weight) + bias)` into `y`, `[maps, out_height,
/// out_width]`: the image unfolded wide, one matrix product, the bias and the activation
/// applied as the wide rows are cut to the output's width.
#[inline(always)]
pub(super) fn conv_image(
    shape: &ConvShape,
    activation: Activation,
    image: &[f32],
    weight: &[f32],
    bias: &[f32],
    y: &mut [f32],
    scratch: &mut ConvScratch,
) {
    let (patch, wide) = (shape.patch(), shape.wide());
    let ConvScratch { col, z, padded } = scratch;
    col.resize(patch * wide, 0.0);
    z.resize(shape.maps * wide, 0.0);
    shape.unfold(shape.pad(image, padded), col);
    let weight = View::row_major(weight, shape.maps, patch);
    matmul(weight, View::row_major(col, patch, wide), z, false);
    activate_wide(shape, activation, z, bias, y);
}

/// `y = activation(z + bias)` for a product `z` `[maps, wide]`, its wide rows cut to the
/// output's width.
#[inline(always)]
fn activate_wide(
    shape: &ConvShape,
    activation: Activation,
    z: &[f32],
    bias: &[f32],
    y: &mut [f32],
) {
    let (width, out_width) = (shape.padded_width(), shape.out_width());
    let maps = y.chunks_mut(shape.positions()).zip(z.chunks(shape.wide()));
    for ((map, z), &b) in maps.zip(bias) {
        for (out, z) in map.chunks_mut(out_width).zip(z.chunks(width)) {
            activation.apply_row(out, z, b);
        }
    }
}

/// Gradients of [`conv_forward`].
pub(crate) struct ConvGrads {
    /// `None` when not asked for (the network's input needs none).
    pub input: Option<Vec<f32>>,
    pub weight: Vec<f32>,
    pub bias: Vec<f32>,
}

/// The gradient arriving at a convolution's output.
#[derive(Clone, Copy)]
pub(crate) enum OutputGrad<'a> {
    /// Of its maps themselves.
    Maps(&'a [f32]),
    /// Of their 2x2 pooling, which produced `pooled` (each image's maps' gradient is then
    /// found as its turn comes, in the task's own buffer, instead of for the whole batch).
    Pooled {
        pooling: Pooling,
        pooled: &'a [f32],
        grad: &'a [f32],
    },
}

impl<'a> OutputGrad<'a> {
    /// Image `n`'s part, for maps of `output_len` values.
    fn of_image(self, n: usize, output_len: usize) -> Self {
        match self {
            OutputGrad::Maps(grad) => OutputGrad::Maps(&grad[n * output_len..][..output_len]),
            OutputGrad::Pooled {
                pooling,
                pooled,
                grad,
            } => {
                let pooled_len = output_len / 4;
                OutputGrad::Pooled {
                    pooling,
                    pooled: &pooled[n * pooled_len..][..pooled_len],
                    grad: &grad[n * pooled_len..][..pooled_len],
                }
            }
        }
    }
}

/// One image's gradient before the activation into `pre`, `[maps, wide]` (the dropped columns
/// are left alone), from its activated maps `y` and `grad`, the gradient arriving at them (this
/// image's). `spread` is scratch; `isa`, the CPU's widest vectors ([`Isa::detect`]), that take a
/// pooling's gradient through the activation in registers ([`pooled_gradient`]), where the CPU
/// has them.
#[inline(always)]
pub(super) fn pre_activation_gradient(
    shape: &ConvShape,
    activation: Activation,
    y: &[f32],
    grad: OutputGrad,
    pre: &mut [f32],
    spread: &mut Vec<f32>,
    isa: Option<Isa>,
) {
    if let (
        Some(isa),
        OutputGrad::Pooled {
            pooling,
            pooled,
            grad,
        },
    ) = (isa, grad)
        && pooled_gradient_fits(activation, pooling)
    {
        return pooled_gradient(isa, (activation, pooling), shape, y, pooled, grad, pre);
    }
    let (width, out_width, positions) =
        (shape.padded_width(), shape.out_width(), shape.positions());
    let maps = pre.chunks_mut(shape.wide()).zip(y.chunks(positions));
    match grad {
        OutputGrad::Maps(grad) => {
            for ((pre, y), grad) in maps.zip(grad.chunks(positions)) {
                let rows = pre.chunks_mut(width).zip(y.chunks(out_width));
                for ((pre, y), grad) in rows.zip(grad.chunks(out_width)) {
                    activation.gradient_row(pre, y, grad);
                }
            }
        }
        OutputGrad::Pooled {
            pooling,
            pooled,
            grad,
        } => {
            // Each row of windows' gradient spread over its two rows and taken through the
            // activation while it is in cache, where the maps' whole gradient was written
            // first and read back.
            spread.resize(2 * out_width, 0.0);
            let pooled_width = out_width / 2;
            let pooled_maps = pooled.chunks(positions / 4).zip(grad.chunks(positions / 4));
            for ((pre, y), (pooled, grad)) in maps.zip(pooled_maps) {
                let pairs = pre.chunks_mut(2 * width).zip(y.chunks(2 * out_width));
                let windows = pooled.chunks(pooled_width).zip(grad.chunks(pooled_width));
                for ((pre, y), (pooled, grad)) in pairs.zip(windows) {
                    pool_gradient_rows(pooling, out_width, y, pooled, grad, spread);
                    let (top, bottom) = pre.split_at_mut(width);
                    let (spread_top, spread_bottom) = spread.split_at(out_width);
                    activation.gradient_row(top, &y[..out_width], spread_top);
                    activation.gradient_row(bottom, &y[out_width..], spread_bottom);
                }
            }
        }
    }
}

/// The gradients of [`conv_forward`] from its input, weight, output `y` and the gradient
/// arriving at its output.
pub(crate) fn conv_backward(
    shape: &ConvShape,
    activation: Activation,
    x: &[f32],
    weight: &[f32],
    y: &[f32],
    grad: OutputGrad,
    input_grad: bool,
) -> ConvGrads {
    let (patch, wide) = (shape.patch(), shape.wide());
    let (image_len, output_len) = (shape.image_len(), shape.output_len());
    let direct = DirectGradients::choose(shape);
    let isa = Isa::detect();
    let weight_view = View::row_major(weight, shape.maps, patch);
    let partials: Vec<_> = x
        .par_chunks(image_len * CHUNK)
        .zip(y.par_chunks(output_len * CHUNK))
        .enumerate()
        // Each chunk its own task, as in `filled_together`: no thread waits long at the end.
        .with_max_len(1)
        .map(|(chunk, (x, y))| {
            with_avx2(
                #[inline(always)]
                || {
                    // Transposed, `[patch, maps]`: see the product below.
                    let mut weight_grad = vec![0.0; patch * shape.maps];
                    let mut bias_grad = vec![0.0; shape.maps];
                    let mut input = input_grad.then(|| vec![0.0; x.len()]);
                    let (mut col, mut pre_t) = (Vec::new(), Vec::new());
                    // The pre-activation gradient, wide; the dropped columns stay 0. The
                    // direct kernels of 16 maps read it compact, with their slack after it.
                    let mut pre = vec![0.0; shape.maps * wide];
                    let mut compact = Vec::new();
                    if matches!(direct, DirectGradients::Maps16(_)) {
                        compact.resize(shape.maps * shape.positions() + PRE_SLACK, 0.0);
                    }
                    let (mut padded, mut padded_grad, mut spread, mut buffer) =
                        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
                    let images = x.chunks(image_len).zip(y.chunks(output_len));
                    for (i, (image, y)) in images.enumerate() {
                        let grad = grad.of_image(chunk * CHUNK + i, output_len);
                        pre_activation_gradient(
                            shape,
                            activation,
                            y,
                            grad,
                            &mut pre,
                            &mut spread,
                            isa,
                        );
                        add_sums(&pre, wide, &mut bias_grad);
                        let pre_view = View::row_major(&pre, shape.maps, wide);
                        match direct {
                            DirectGradients::Maps16(isa) => {
                                shape.compact(&pre, &mut compact);
                                let padded = shape.pad_with_slack(image, &mut padded);
                                add_weight_gradient(
                                    isa,
                                    shape,
                                    padded,
                                    &compact,
                                    &mut pre_t,
                                    &mut weight_grad,
                                );
                            }
                            DirectGradients::Horizontal => {
                                let padded = shape.pad_with_slack(image, &mut padded);
                                add_weight_gradient_horizontal(
                                    shape,
                                    padded,
                                    &pre,
                                    &mut weight_grad,
                                );
                            }
                            DirectGradients::None => {
                                col.resize(patch * wide, 0.0);
                                shape.unfold(shape.pad(image, &mut padded), &mut col);
                                // The weight's gradient transposed, `col · pre^T`: gemm then
                                // reads the unfolded image in place, where `pre · col^T` made
                                // it repack the whole unfolding across its rows for every
                                // image. The same products summed in the same order.
                                matmul(
                                    View::row_major(&col, patch, wide),
                                    pre_view.t(),
                                    &mut weight_grad,
                                    true,
                                );
                            }
                        }
                        if let Some(input) = &mut input {
                            let image_grad = &mut input[i * image_len..][..image_len];
                            let target = if shape.padding == 0 {
                                &mut image_grad[..]
                            } else {
                                padded_grad.clear();
                                padded_grad.resize(shape.padded_len(), 0.0);
                                &mut padded_grad[..]
                            };
                            if let DirectGradients::Maps16(isa) = direct {
                                add_input_gradient(
                                    isa,
                                    shape,
                                    weight,
                                    &compact,
                                    target,
                                    &mut buffer,
                                );
                            } else {
                                col.resize(patch * wide, 0.0);
                                matmul(weight_view.t(), pre_view, &mut col, false);
                                shape.fold(&col, target);
                            }
                            if shape.padding > 0 {
                                shape.unpad_into(&padded_grad, image_grad);
                            }
                        }
                    }
                    (weight_grad, bias_grad, input)
                },
            )
        })
        .collect();
    let input = input_grad.then(|| {
        let chunk = image_len * CHUNK;
        filled_in_parallel(
            x.len(),
            chunk,
            || (),
            |_, i, input| {
                input.copy_from_slice(partials[i].2.as_deref().expect("asked for"));
            },
        )
    });
    // The chunks' sums added in order, each value's in the same order as in a sum over the
    // weight's own layout, but over contiguous rows (which vectorise) where adding each
    // transposed chunk into place took a strided scalar loop on this thread alone.
    let (mut weight_t, mut bias) = (vec![0.0; patch * shape.maps], vec![0.0; shape.maps]);
    for (weight_part, bias_part, _) in &partials {
        add(&mut weight_t, weight_part);
        add(&mut bias, bias_part);
    }
    let weight = (0..shape.maps * patch)
        .map(|i| weight_t[(i % patch) * shape.maps + i / patch])
        .collect();
    ConvGrads {
        input,
        weight,
        bias,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::testing::{assert_gradients_match, on_threads, pattern};

    /// The convolution written out as its definition, in f64.
    fn direct_conv(s: &ConvShape, x: &[f32], w: &[f32], b: &[f32]) -> Vec<f64> {
        let (oh, ow, k) = (s.out_height(), s.out_width(), s.kernel);
        let mut y = vec![0.0; s.batch * s.maps * oh * ow];
        for n in 0..s.batch {
            for m in 0..s.maps {
                for oy in 0..oh {
                    for ox in 0..ow {
                        let mut sum = b[m] as f64;
                        for c in 0..s.channels {
                            for ky in 0..k {
                                for kx in 0..k {
                                    let iy = (oy + ky) as isize - s.padding as isize;
                                    let ix = (ox + kx) as isize - s.padding as isize;
                                    if iy < 0 || ix < 0 {
                                        continue;
                                    }
                                    let (iy, ix) = (iy as usize, ix as usize);
                                    if iy >= s.height || ix >= s.width {
                                        continue;
                                    }
                                    sum += x[((n * s.channels + c) * s.height + iy) * s.width + ix]
                                        as f64
                                        * w[((m * s.channels + c) * k + ky) * k + kx] as f64;
                                }
                            }
                        }
                        y[((n * s.maps + m) * oh + oy) * ow + ox] = sum;
                    }
                }
            }
        }
        y
    }

    fn shapes() -> [ConvShape; 2] {
        let shape = ConvShape {
            batch: 11,
            channels: 3,
            maps: 4,
            height: 9,
            width: 7,
            kernel: 5,
            padding: 0,
        };
        [
            shape,
            ConvShape {
                padding: 2,
                ..shape
            },
        ]
    }

    #[test]
    fn convolution_matches_its_definition_with_and_without_padding() {
        for s in shapes() {
            let x = pattern(s.batch * s.image_len(), 0.3);
            let w = pattern(s.maps * s.patch(), 1.1);
            let b = pattern(s.maps, 2.0);
            let y = conv_forward(&s, Activation::Relu, &x, &w, &b);
            let expected = direct_conv(&s, &x, &w, &b);
            assert_eq!(y.len(), expected.len());
            for (got, want) in y.iter().zip(&expected) {
                assert!(
                    (*got as f64 - want.max(0.0)).abs() < 1e-4,
                    "{got} vs {want}"
                );
            }
        }
    }

    /// Every gradient against central differences of `sum(y * r)` for a fixed `r`, in f64
    /// through the definition (tanh, so that the activation's derivative is exercised).
    #[test]
    fn convolution_gradients_match_finite_differences() {
        for s in shapes() {
            let x = pattern(s.batch * s.image_len(), 0.3);
            let w: Vec<f32> = pattern(s.maps * s.patch(), 1.1)
                .iter()
                .map(|v| v * 0.2)
                .collect();
            let b = pattern(s.maps, 2.0);
            let r = pattern(s.batch * s.output_len(), 3.7);
            let loss = |x: &[f32], w: &[f32], b: &[f32]| -> f64 {
                let z = direct_conv(&s, x, w, b);
                z.iter().zip(&r).map(|(z, r)| z.tanh() * *r as f64).sum()
            };
            let y = conv_forward(&s, Activation::Tanh, &x, &w, &b);
            let grads = conv_backward(&s, Activation::Tanh, &x, &w, &y, OutputGrad::Maps(&r), true);
            let input = grads.input.expect("asked for");
            // f64 through the definition: the difference quotient is accurate to about 1e-5, the
            // f32 kernels to about 1e-6 of the gradient's scale.
            assert_gradients_match(loss, [&x, &w, &b], [&input, &grads.weight, &grads.bias], 13);
        }
    }

    #[test]
    fn convolution_gradients_do_not_depend_on_the_thread_count() {
        let s = ConvShape {
            batch: 37,
            ..shapes()[1]
        };
        let x = pattern(s.batch * s.image_len(), 0.3);
        let w = pattern(s.maps * s.patch(), 1.1);
        let b = pattern(s.maps, 2.0);
        let r = pattern(s.batch * s.output_len(), 3.7);
        let run = |threads: usize| {
            on_threads(threads, || {
                let y = conv_forward(&s, Activation::Tanh, &x, &w, &b);
                let g = conv_backward(&s, Activation::Tanh, &x, &w, &y, OutputGrad::Maps(&r), true);
                (y, g.weight, g.bias, g.input)
            })
        };
        assert_eq!(run(1), run(3));
    }
}
