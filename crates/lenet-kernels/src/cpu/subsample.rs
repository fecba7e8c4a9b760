//! The paper's trainable subsampling: each 2x2 window's sum times a coefficient, plus a bias,
//! per map.

use rayon::prelude::*;

use super::{planes_per_task, sum, with_avx2};
use crate::Activation;

/// The paper's subsampling: each 2x2 window's sum, times its map's coefficient, plus its
/// map's bias, through `activation`. `x` is `[batch, maps, height, width]` (height and width
/// even), `coefficient` and `bias` `[maps]`.
pub(crate) fn subsample_forward(
    activation: Activation,
    [maps, height, width]: [usize; 3],
    x: &[f32],
    coefficient: &[f32],
    bias: &[f32],
) -> Vec<f32> {
    let (plane, ow) = (height * width, width / 2);
    let mut y = vec![0.0; x.len() / 4];
    y.par_chunks_mut(plane / 4)
        .zip(x.par_chunks(plane))
        .enumerate()
        .with_min_len(planes_per_task(plane))
        .for_each_init(
            || vec![0.0; ow],
            |sums, (index, (y, x))| {
                let (c, b) = (coefficient[index % maps], bias[index % maps]);
                with_avx2(
                    #[inline(always)]
                    || {
                        for (out, rows) in y.chunks_mut(ow).zip(x.chunks(2 * width)) {
                            window_sums(sums, rows, width, c);
                            activation.apply_row(out, sums, b);
                        }
                    },
                )
            },
        );
    y
}

/// `out = c * (window sum)` for one row of 2x2 windows.
#[inline(always)]
fn window_sums(out: &mut [f32], rows: &[f32], width: usize, c: f32) {
    let (top, bottom) = rows.split_at(width);
    let windows = top.chunks_exact(2).zip(bottom.chunks_exact(2));
    for (v, (t, b)) in out.iter_mut().zip(windows) {
        *v = c * (t[0] + t[1] + b[0] + b[1]);
    }
}

/// Gradients of [`subsample_forward`].
pub(crate) struct SubsampleGrads {
    pub input: Vec<f32>,
    pub coefficient: Vec<f32>,
    pub bias: Vec<f32>,
}

/// The gradients of [`subsample_forward`] from its input, coefficients, output `y` and output
/// gradient. Each plane's coefficient and bias gradients are computed apart and summed per map
/// in plane order, so the result does not depend on the thread count.
pub(crate) fn subsample_backward(
    activation: Activation,
    [maps, height, width]: [usize; 3],
    x: &[f32],
    coefficient: &[f32],
    y: &[f32],
    grad: &[f32],
) -> SubsampleGrads {
    let (plane, ow) = (height * width, width / 2);
    let mut input = vec![0.0; x.len()];
    let mut partials = vec![[0.0f32; 2]; x.len() / plane];
    input
        .par_chunks_mut(plane)
        .zip(x.par_chunks(plane))
        .zip(y.par_chunks(plane / 4).zip(grad.par_chunks(plane / 4)))
        .zip(partials.par_iter_mut())
        .enumerate()
        .with_min_len(planes_per_task(plane))
        .for_each(|(index, (((input, x), (y, grad)), partial))| {
            let c = coefficient[index % maps];
            with_avx2(
                #[inline(always)]
                || {
                    let mut pre = vec![0.0; ow];
                    let mut sums = vec![0.0; ow];
                    let (mut coefficient_grad, mut bias_grad) = (0.0, 0.0);
                    let rows = input.chunks_mut(2 * width).zip(x.chunks(2 * width));
                    for ((input, x), (y, g)) in rows.zip(y.chunks(ow).zip(grad.chunks(ow))) {
                        activation.gradient_row(&mut pre, y, g);
                        window_sums(&mut sums, x, width, 1.0);
                        coefficient_grad += pre.iter().zip(&sums).map(|(p, s)| p * s).sum::<f32>();
                        bias_grad += sum(&pre);
                        let (top, bottom) = input.split_at_mut(width);
                        let inputs = top.chunks_exact_mut(2).zip(bottom.chunks_exact_mut(2));
                        for ((t, b), p) in inputs.zip(&pre) {
                            t.fill(c * p);
                            b.fill(c * p);
                        }
                    }
                    *partial = [coefficient_grad, bias_grad];
                },
            )
        });
    let (mut coefficient_grad, mut bias_grad) = (vec![0.0; maps], vec![0.0; maps]);
    for (index, [c, b]) in partials.into_iter().enumerate() {
        coefficient_grad[index % maps] += c;
        bias_grad[index % maps] += b;
    }
    SubsampleGrads {
        input,
        coefficient: coefficient_grad,
        bias: bias_grad,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::testing::{assert_gradients_match, on_threads, pattern};

    /// The paper's subsampling against its definition in f64, and every gradient against
    /// central differences of `sum(y * r)`.
    #[test]
    fn trainable_subsampling_and_its_gradients() {
        let (batch, maps, height, width) = (3, 4, 6, 8);
        let dims = [maps, height, width];
        let x = pattern(batch * maps * height * width, 0.4);
        let c = pattern(maps, 1.3);
        let b = pattern(maps, 2.1)
            .iter()
            .map(|v| v * 0.3)
            .collect::<Vec<_>>();
        let r = pattern(batch * maps * height * width / 4, 0.9);
        let definition = |x: &[f32], c: &[f32], b: &[f32]| -> Vec<f64> {
            let (oh, ow) = (height / 2, width / 2);
            let mut y = Vec::new();
            for plane in 0..batch * maps {
                let m = plane % maps;
                for oy in 0..oh {
                    for ox in 0..ow {
                        let at = |dy: usize, dx: usize| {
                            x[(plane * height + 2 * oy + dy) * width + 2 * ox + dx] as f64
                        };
                        let a =
                            c[m] as f64 * (at(0, 0) + at(0, 1) + at(1, 0) + at(1, 1)) + b[m] as f64;
                        y.push(1.7159 * (2.0 / 3.0 * a).tanh());
                    }
                }
            }
            y
        };
        let y = subsample_forward(Activation::ScaledTanh, dims, &x, &c, &b);
        for (got, want) in y.iter().zip(definition(&x, &c, &b)) {
            assert!((*got as f64 - want).abs() < 1e-5, "{got} vs {want}");
        }
        let grads = subsample_backward(Activation::ScaledTanh, dims, &x, &c, &y, &r);
        let loss = |x: &[f32], c: &[f32], b: &[f32]| -> f64 {
            definition(x, c, b)
                .iter()
                .zip(&r)
                .map(|(y, r)| y * *r as f64)
                .sum()
        };
        assert_gradients_match(
            loss,
            [&x, &c, &b],
            [&grads.input, &grads.coefficient, &grads.bias],
            17,
        );
        let run = |threads: usize| {
            on_threads(threads, || {
                let g = subsample_backward(Activation::ScaledTanh, dims, &x, &c, &y, &r);
                (g.input, g.coefficient, g.bias)
            })
        };
        assert_eq!(run(1), run(3), "the sums do not depend on the thread count");
    }
}
