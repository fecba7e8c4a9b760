//! The arithmetic of the fused layers on plain `f32` slices in NCHW order.
//!
//! Work is split over images with rayon. Wherever images are summed (weight and bias
//! gradients), the batch is cut into chunks of a fixed size and the chunks' partial sums are
//! added in order, so results are bit-identical whatever the number of threads.

use rayon::prelude::*;

use crate::config::Activation;

/// Images per task in the backward pass. Fixed, for the reason in the module docs.
const CHUNK: usize = 8;

impl Activation {
    fn apply(self, x: f32) -> f32 {
        match self {
            Activation::Tanh => tanh(x),
            Activation::Relu => x.max(0.0),
        }
    }

    /// The derivative, from the activation's output `y`.
    fn derivative(self, y: f32) -> f32 {
        match self {
            Activation::Tanh => 1.0 - y * y,
            Activation::Relu => f32::from(y > 0.0),
        }
    }
}

/// tanh as Eigen's `ptanh_float`: an odd degree-13 polynomial over an even degree-6 one, on
/// [-7.9, 7.9] (beyond which `f32` tanh is +-1). Within 5e-7 of `f32::tanh`, and branch-free,
/// so loops over it vectorise; `f32::tanh` is a scalar libm call costing about 10x more.
#[inline]
pub(crate) fn tanh(x: f32) -> f32 {
    const CLAMP: f32 = 7.905_311;
    const ALPHA: [f32; 7] = [
        4.893_524_6e-3,
        6.372_619_3e-4,
        1.485_722_4e-5,
        5.122_297e-8,
        -8.604_672e-11,
        2.000_188e-13,
        -2.760_768_5e-16,
    ];
    const BETA: [f32; 4] = [4.893_525e-3, 2.268_434_6e-3, 1.185_347_1e-4, 1.198_258_4e-6];
    let x = x.clamp(-CLAMP, CLAMP);
    let x2 = x * x;
    let p = ALPHA.iter().rev().fold(0.0, |acc, &a| acc * x2 + a) * x;
    let q = BETA.iter().rev().fold(0.0, |acc, &b| acc * x2 + b);
    p / q
}

/// `y = tanh(x)`, elementwise.
pub(crate) fn tanh_forward(x: &[f32]) -> Vec<f32> {
    x.iter().map(|&x| tanh(x)).collect()
}

/// The gradient of `y = tanh(x)` from `y` and the output gradient.
pub(crate) fn tanh_backward(y: &[f32], grad: &[f32]) -> Vec<f32> {
    y.iter()
        .zip(grad)
        .map(|(&y, &g)| g * Activation::Tanh.derivative(y))
        .collect()
}

/// A matrix inside a slice, with any strides (so a transpose costs nothing).
#[derive(Clone, Copy)]
struct View<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl<'a> View<'a> {
    fn row_major(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self {
            data,
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    fn t(self) -> Self {
        Self {
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
            ..self
        }
    }
}

/// `dst = a · b` (or `dst += a · b` when `accumulate`), `dst` row-major; one thread, since
/// the callers already run one image per thread.
fn matmul(a: View, b: View, dst: &mut [f32], accumulate: bool) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert_eq!(b.rows, k, "matmul: inner dimensions differ");
    assert_eq!(dst.len(), m * n, "matmul: destination size");
    for view in [a, b] {
        let last = (view.rows - 1) * view.row_stride + (view.cols - 1) * view.col_stride;
        assert!(view.rows > 0 && view.cols > 0 && last < view.data.len());
    }
    // SAFETY: the asserts above keep every index gemm computes from these sizes and strides
    // inside `a.data`, `b.data` and `dst`; `dst` is borrowed mutably, so it aliases neither.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.data.as_ptr(),
            a.col_stride as isize,
            a.row_stride as isize,
            b.data.as_ptr(),
            b.col_stride as isize,
            b.row_stride as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// A convolution with stride 1, no dilation, one group and the same zero padding on every
/// side, as both of LeNet-5's variants use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ConvShape {
    pub batch: usize,
    pub channels: usize,
    pub maps: usize,
    pub height: usize,
    pub width: usize,
    pub kernel: usize,
    pub padding: usize,
}

impl ConvShape {
    pub(crate) fn out_height(&self) -> usize {
        self.height + 2 * self.padding + 1 - self.kernel
    }

    pub(crate) fn out_width(&self) -> usize {
        self.width + 2 * self.padding + 1 - self.kernel
    }

    /// Output positions per map.
    fn positions(&self) -> usize {
        self.out_height() * self.out_width()
    }

    /// Weights per output map: one patch.
    fn patch(&self) -> usize {
        self.channels * self.kernel * self.kernel
    }

    fn image_len(&self) -> usize {
        self.channels * self.height * self.width
    }

    fn output_len(&self) -> usize {
        self.maps * self.positions()
    }

    /// For kernel column `kx`, the output columns whose input column lies inside the image,
    /// and the offset from output to input column.
    fn columns(&self, kx: usize) -> (usize, usize, isize) {
        let shift = kx as isize - self.padding as isize;
        let first = (-shift).max(0) as usize;
        let end = ((self.width as isize - shift).max(0) as usize).min(self.out_width());
        (first, end.max(first), shift)
    }

    /// Calls `row(patch_row, output_row, input_row, first, end, shift)` for every output row
    /// of every patch row whose input row lies inside the image: the walk shared by im2col
    /// and its adjoint.
    fn for_each_row(&self, mut row: impl FnMut(usize, usize, Option<usize>, usize, usize, isize)) {
        let k = self.kernel;
        for c in 0..self.channels {
            for ky in 0..k {
                for kx in 0..k {
                    let (first, end, shift) = self.columns(kx);
                    for oy in 0..self.out_height() {
                        let iy = (oy + ky).checked_sub(self.padding);
                        let input_row = iy
                            .filter(|&iy| iy < self.height)
                            .map(|iy| c * self.height + iy);
                        row((c * k + ky) * k + kx, oy, input_row, first, end, shift);
                    }
                }
            }
        }
    }

    /// Unfolds one image into `col`, `[patch, positions]`: row `(c, ky, kx)` holds, for every
    /// output position, the input pixel under that kernel tap (0 in the padding).
    fn im2col(&self, image: &[f32], col: &mut [f32]) {
        let (ow, positions) = (self.out_width(), self.positions());
        self.for_each_row(|r, oy, input_row, first, end, shift| {
            let out = &mut col[r * positions + oy * ow..][..ow];
            let Some(iy) = input_row else {
                out.fill(0.0);
                return;
            };
            let src = &image[iy * self.width..][..self.width];
            out[..first].fill(0.0);
            out[end..].fill(0.0);
            let start = (first as isize + shift) as usize;
            out[first..end].copy_from_slice(&src[start..start + end - first]);
        });
    }

    /// The adjoint of [`Self::im2col`]: adds every entry of `col` back onto the input pixel it
    /// was copied from.
    fn col2im(&self, col: &[f32], image: &mut [f32]) {
        let (ow, positions) = (self.out_width(), self.positions());
        self.for_each_row(|r, oy, input_row, first, end, shift| {
            let Some(iy) = input_row else { return };
            let src = &col[r * positions + oy * ow..][..ow];
            let start = (first as isize + shift) as usize;
            let dst = &mut image[iy * self.width + start..][..end - first];
            for (d, s) in dst.iter_mut().zip(&src[first..end]) {
                *d += s;
            }
        });
    }
}

/// `activation(conv(x, weight) + bias)`; `x` is `[batch, channels, height, width]`, `weight`
/// `[maps, channels, kernel, kernel]`, the result `[batch, maps, out_height, out_width]`.
pub(crate) fn conv_forward(
    shape: &ConvShape,
    activation: Activation,
    x: &[f32],
    weight: &[f32],
    bias: &[f32],
) -> Vec<f32> {
    let (patch, positions) = (shape.patch(), shape.positions());
    let weight = View::row_major(weight, shape.maps, patch);
    let mut y = vec![0.0; shape.batch * shape.output_len()];
    y.par_chunks_mut(shape.output_len())
        .zip(x.par_chunks(shape.image_len()))
        .for_each_init(
            || vec![0.0; patch * positions],
            |col, (y, image)| {
                shape.im2col(image, col);
                matmul(weight, View::row_major(col, patch, positions), y, false);
                for (map, &b) in y.chunks_mut(positions).zip(bias) {
                    for v in map {
                        *v = activation.apply(*v + b);
                    }
                }
            },
        );
    y
}

/// Gradients of [`conv_forward`].
pub(crate) struct ConvGrads {
    /// `None` when not asked for (the network's input needs none).
    pub input: Option<Vec<f32>>,
    pub weight: Vec<f32>,
    pub bias: Vec<f32>,
}

/// The gradients of [`conv_forward`] from its input, weight, output `y` and output gradient.
pub(crate) fn conv_backward(
    shape: &ConvShape,
    activation: Activation,
    x: &[f32],
    weight: &[f32],
    y: &[f32],
    grad: &[f32],
    input_grad: bool,
) -> ConvGrads {
    let (patch, positions) = (shape.patch(), shape.positions());
    let (image_len, output_len) = (shape.image_len(), shape.output_len());
    let weight = View::row_major(weight, shape.maps, patch);
    let partials: Vec<_> = x
        .par_chunks(image_len * CHUNK)
        .zip(y.par_chunks(output_len * CHUNK))
        .zip(grad.par_chunks(output_len * CHUNK))
        .map(|((x, y), grad)| {
            let mut weight_grad = vec![0.0; shape.maps * patch];
            let mut bias_grad = vec![0.0; shape.maps];
            let mut input = input_grad.then(|| vec![0.0; x.len()]);
            let mut col = vec![0.0; patch * positions];
            let mut pre = vec![0.0; output_len];
            for (i, (y, grad)) in y
                .chunks(output_len)
                .zip(grad.chunks(output_len))
                .enumerate()
            {
                for ((p, &y), &g) in pre.iter_mut().zip(y).zip(grad) {
                    *p = g * activation.derivative(y);
                }
                for (b, map) in bias_grad.iter_mut().zip(pre.chunks(positions)) {
                    *b += map.iter().sum::<f32>();
                }
                let pre = View::row_major(&pre, shape.maps, positions);
                shape.im2col(&x[i * image_len..][..image_len], &mut col);
                let unfolded = View::row_major(&col, patch, positions);
                matmul(pre, unfolded.t(), &mut weight_grad, true);
                if let Some(input) = &mut input {
                    matmul(weight.t(), pre, &mut col, false);
                    shape.col2im(&col, &mut input[i * image_len..][..image_len]);
                }
            }
            (weight_grad, bias_grad, input)
        })
        .collect();
    let mut grads = ConvGrads {
        input: input_grad.then(|| Vec::with_capacity(x.len())),
        weight: vec![0.0; shape.maps * patch],
        bias: vec![0.0; shape.maps],
    };
    for (weight, bias, input) in partials {
        add(&mut grads.weight, &weight);
        add(&mut grads.bias, &bias);
        if let (Some(all), Some(part)) = (&mut grads.input, input) {
            all.extend_from_slice(&part);
        }
    }
    grads
}

fn add(sum: &mut [f32], part: &[f32]) {
    for (s, p) in sum.iter_mut().zip(part) {
        *s += p;
    }
}

/// The two subsampling layers: 2x2 windows, stride 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pool {
    /// The paper's: the window's mean, squashed by tanh.
    AverageTanh,
    /// The Keras code's: the window's maximum.
    Max,
}

/// Pools `[planes, height, width]` (height and width even) to `[planes, height/2, width/2]`.
pub(crate) fn pool_forward(pool: Pool, [height, width]: [usize; 2], x: &[f32]) -> Vec<f32> {
    let (oh, ow) = (height / 2, width / 2);
    let mut y = vec![0.0; x.len() / 4];
    y.par_chunks_mut(oh * ow)
        .zip(x.par_chunks(height * width))
        .for_each(|(y, x)| {
            for (oy, out) in y.chunks_mut(ow).enumerate() {
                let top = &x[2 * oy * width..][..width];
                let bottom = &x[(2 * oy + 1) * width..][..width];
                for (ox, v) in out.iter_mut().enumerate() {
                    let window = [
                        top[2 * ox],
                        top[2 * ox + 1],
                        bottom[2 * ox],
                        bottom[2 * ox + 1],
                    ];
                    *v = match pool {
                        Pool::AverageTanh => tanh(window.iter().sum::<f32>() * 0.25),
                        Pool::Max => window.into_iter().fold(f32::NEG_INFINITY, f32::max),
                    };
                }
            }
        });
    y
}

/// The input gradient of [`pool_forward`] from its input, output and output gradient.
pub(crate) fn pool_backward(
    pool: Pool,
    [height, width]: [usize; 2],
    x: &[f32],
    y: &[f32],
    grad: &[f32],
) -> Vec<f32> {
    let (oh, ow) = (height / 2, width / 2);
    let mut input = vec![0.0; x.len()];
    input
        .par_chunks_mut(height * width)
        .zip(x.par_chunks(height * width))
        .zip(y.par_chunks(oh * ow).zip(grad.par_chunks(oh * ow)))
        .for_each(|((input, x), (y, grad))| {
            for oy in 0..oh {
                for ox in 0..ow {
                    let (o, g) = (oy * ow + ox, grad[oy * ow + ox]);
                    let taps = [0, 1, width, width + 1].map(|d| 2 * oy * width + 2 * ox + d);
                    match pool {
                        Pool::AverageTanh => {
                            let g = 0.25 * g * Activation::Tanh.derivative(y[o]);
                            taps.iter().for_each(|&t| input[t] = g);
                        }
                        Pool::Max => {
                            let winner = taps.iter().copied().find(|&t| x[t] == y[o]);
                            input[winner.unwrap_or(taps[0])] = g;
                        }
                    }
                }
            }
        });
    input
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(len: usize, seed: f32) -> Vec<f32> {
        (0..len)
            .map(|i| (i as f32 * 0.37 + seed).sin() * 1.3)
            .collect()
    }

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
    fn rational_tanh_is_within_5e7_of_libm() {
        let worst = (-100_000..=100_000)
            .map(|i| i as f32 * 1e-4)
            .chain([-1e30, -9.0, 9.0, 1e30])
            .map(|x| (tanh(x) - x.tanh()).abs())
            .fold(0.0, f32::max);
        assert!(worst < 5e-7, "worst error {worst}");
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
            let grads = conv_backward(&s, Activation::Tanh, &x, &w, &y, &r, true);
            let input = grads.input.expect("asked for");
            let eps = 1e-2;
            let numeric = |which: usize, i: usize| {
                let mut args = [x.clone(), w.clone(), b.clone()];
                args[which][i] += eps;
                let up = loss(&args[0], &args[1], &args[2]);
                args[which][i] -= 2.0 * eps;
                let down = loss(&args[0], &args[1], &args[2]);
                (up - down) / (2.0 * eps as f64)
            };
            let checks = [(0, &input), (1, &grads.weight), (2, &grads.bias)];
            for (which, analytic) in checks {
                for i in (0..analytic.len()).step_by(analytic.len() / 13 + 1) {
                    let n = numeric(which, i);
                    let a = analytic[i] as f64;
                    assert!(
                        (a - n).abs() < 2e-2 * (1.0 + n.abs()),
                        "arg {which}[{i}]: {a} vs {n}"
                    );
                }
            }
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
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let y = conv_forward(&s, Activation::Tanh, &x, &w, &b);
                let g = conv_backward(&s, Activation::Tanh, &x, &w, &y, &r, true);
                (y, g.weight, g.bias, g.input)
            })
        };
        assert_eq!(run(1), run(3));
    }

    #[test]
    fn pooling_and_its_gradient() {
        let x = pattern(2 * 4 * 6, 0.5);
        let grad = pattern(2 * 2 * 3, 1.5);
        let dims = [4, 6];

        let y = pool_forward(Pool::Max, dims, &x);
        let input = pool_backward(Pool::Max, dims, &x, &y, &grad);
        for (o, (&y, &g)) in y.iter().zip(&grad).enumerate() {
            let (plane, oy, ox) = (o / 6, o % 6 / 3, o % 3);
            let taps = [0, 1, 6, 7].map(|d| plane * 24 + 2 * oy * 6 + 2 * ox + d);
            let max = taps.iter().map(|&t| x[t]).fold(f32::MIN, f32::max);
            assert_eq!(y, max);
            let routed: Vec<f32> = taps.iter().map(|&t| input[t]).collect();
            assert_eq!(routed.iter().filter(|&&v| v == g).count(), 1, "{routed:?}");
            assert_eq!(routed.iter().sum::<f32>(), g);
        }

        let y = pool_forward(Pool::AverageTanh, dims, &x);
        let input = pool_backward(Pool::AverageTanh, dims, &x, &y, &grad);
        for (o, (&y, &g)) in y.iter().zip(&grad).enumerate() {
            let (plane, oy, ox) = (o / 6, o % 6 / 3, o % 3);
            let taps = [0, 1, 6, 7].map(|d| plane * 24 + 2 * oy * 6 + 2 * ox + d);
            let mean = taps.iter().map(|&t| x[t]).sum::<f32>() / 4.0;
            assert!((y - mean.tanh()).abs() < 1e-6);
            for t in taps {
                assert!((input[t] - g * (1.0 - y * y) / 4.0).abs() < 1e-6);
            }
        }
    }
}
