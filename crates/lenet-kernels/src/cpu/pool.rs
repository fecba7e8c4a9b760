//! The fixed subsampling layers: 2x2 windows, stride 2, averaged and squashed by tanh, or
//! their maximum.

use rayon::prelude::*;

use super::activation::{tanh, tanh_derivative};
use super::{filled_in_parallel, planes_per_task, with_avx2};
use crate::Pooling;

/// Pools `[planes, height, width]` (height and width even) to `[planes, height/2, width/2]`.
pub(crate) fn pool_forward(pool: Pooling, [height, width]: [usize; 2], x: &[f32]) -> Vec<f32> {
    let plane = height * width;
    let per_task = planes_per_task(plane);
    let inputs = plane * per_task;
    filled_in_parallel(
        x.len() / 4,
        inputs / 4,
        || (),
        |_, i, y| {
            let x = &x[i * inputs..(i * inputs + 4 * y.len())];
            with_avx2(
                #[inline(always)]
                || pool_planes(pool, width, x, y),
            )
        },
    )
}

/// Pools whole planes of `width` (even) from `x` into `y`.
#[inline(always)]
pub(super) fn pool_planes(pool: Pooling, width: usize, x: &[f32], y: &mut [f32]) {
    for (out, rows) in y.chunks_mut(width / 2).zip(x.chunks(2 * width)) {
        let (top, bottom) = rows.split_at(width);
        let windows = top.chunks_exact(2).zip(bottom.chunks_exact(2));
        match pool {
            Pooling::Average => {
                for (v, (t, b)) in out.iter_mut().zip(windows) {
                    *v = (t[0] + t[1] + b[0] + b[1]) * 0.25;
                }
            }
            Pooling::Max => {
                for (v, (t, b)) in out.iter_mut().zip(windows) {
                    *v = t[0].max(t[1]).max(b[0]).max(b[1]);
                }
            }
        }
    }
    // The squashing in a pass of its own: over contiguous values it vectorises, where inside
    // the window's loop (whose loads are strided) it would run one value at a time.
    if pool == Pooling::Average {
        y.iter_mut().for_each(|v| *v = tanh(*v));
    }
}

/// The input gradient of [`pool_forward`] from its input, output and output gradient. Max
/// pooling routes each gradient to the first maximum of its window, in row-major order.
pub(crate) fn pool_backward(
    pool: Pooling,
    [height, width]: [usize; 2],
    x: &[f32],
    y: &[f32],
    grad: &[f32],
) -> Vec<f32> {
    let plane = height * width;
    let per_task = planes_per_task(plane);
    let mut input = vec![0.0; x.len()];
    let outputs = y
        .par_chunks(plane / 4 * per_task)
        .zip(grad.par_chunks(plane / 4 * per_task));
    input
        .par_chunks_mut(plane * per_task)
        .zip(x.par_chunks(plane * per_task))
        .zip(outputs)
        .for_each(|((input, x), (y, grad))| {
            with_avx2(
                #[inline(always)]
                || pool_gradient_planes(pool, width, x, y, grad, input),
            )
        });
    input
}

/// Windows whose gradients the pooling's backward pass computes together: their eight
/// columns fill a vector.
const WINDOWS: usize = 4;

/// [`pool_backward`] on whole planes of `width` (even): every value of `input` is written.
#[inline(always)]
pub(super) fn pool_gradient_planes(
    pool: Pooling,
    width: usize,
    x: &[f32],
    y: &[f32],
    grad: &[f32],
    input: &mut [f32],
) {
    let ow = width / 2;
    let rows = input.chunks_mut(2 * width).zip(x.chunks(2 * width));
    for ((input, x), (y, grad)) in rows.zip(y.chunks(ow).zip(grad.chunks(ow))) {
        pool_gradient_rows(pool, width, x, y, grad, input);
    }
}

/// [`pool_backward`] on one row of windows: `x` and `input` are the two input rows of `width`
/// (even), `y` and `grad` the output row; every value of `input` is written.
#[inline(always)]
pub(super) fn pool_gradient_rows(
    pool: Pooling,
    width: usize,
    x: &[f32],
    y: &[f32],
    grad: &[f32],
    input: &mut [f32],
) {
    let (input_top, input_bottom) = input[..2 * width].split_at_mut(width);
    match pool {
        Pooling::Average => {
            let gradient = |y: f32, g: f32| 0.25 * g * tanh_derivative(y);
            // Four windows at a time, each value spread over its two columns in registers and
            // stored as one vector per row, where a value at a time is four stores.
            let mut tops = input_top.chunks_exact_mut(2 * WINDOWS);
            let mut bottoms = input_bottom.chunks_exact_mut(2 * WINDOWS);
            let (mut ys, mut grads) = (y.chunks_exact(WINDOWS), grad.chunks_exact(WINDOWS));
            let blocks = (&mut tops).zip(&mut bottoms).zip((&mut ys).zip(&mut grads));
            for ((it, ib), (y, g)) in blocks {
                let spread: [f32; 2 * WINDOWS] =
                    std::array::from_fn(|i| gradient(y[i / 2], g[i / 2]));
                it.copy_from_slice(&spread);
                ib.copy_from_slice(&spread);
            }
            let (tops, bottoms) = (tops.into_remainder(), bottoms.into_remainder());
            let rest = tops.chunks_exact_mut(2).zip(bottoms.chunks_exact_mut(2));
            for ((it, ib), (&y, &g)) in rest.zip(ys.remainder().iter().zip(grads.remainder())) {
                let g = gradient(y, g);
                it.fill(g);
                ib.fill(g);
            }
        }
        Pooling::Max => {
            // Four windows (eight columns) at a time, then the windows left one at a time.
            let (top, bottom) = x[..2 * width].split_at(width);
            let whole = width / (2 * WINDOWS) * 2 * WINDOWS;
            let (input_top, input_top_rest) = input_top.split_at_mut(whole);
            let (input_bottom, input_bottom_rest) = input_bottom.split_at_mut(whole);
            let ((top, top_rest), (bottom, bottom_rest)) =
                (top.split_at(whole), bottom.split_at(whole));
            let ((y, y_rest), (grad, grad_rest)) =
                (y.split_at(whole / 2), grad.split_at(whole / 2));
            let inputs = input_top
                .chunks_exact_mut(2 * WINDOWS)
                .zip(input_bottom.chunks_exact_mut(2 * WINDOWS));
            let windows = top
                .chunks_exact(2 * WINDOWS)
                .zip(bottom.chunks_exact(2 * WINDOWS));
            let outputs = y.chunks_exact(WINDOWS).zip(grad.chunks_exact(WINDOWS));
            for (((it, ib), (t, b)), (y, g)) in inputs.zip(windows).zip(outputs) {
                let (top, bottom) = max_routes::<{ 2 * WINDOWS }>(t, b, y, g);
                it.copy_from_slice(&top);
                ib.copy_from_slice(&bottom);
            }
            let rest = input_top_rest
                .chunks_exact_mut(2)
                .zip(input_bottom_rest.chunks_exact_mut(2));
            let windows = top_rest.chunks_exact(2).zip(bottom_rest.chunks_exact(2));
            let outputs = y_rest.chunks(1).zip(grad_rest.chunks(1));
            for (((it, ib), (t, b)), (y, g)) in rest.zip(windows).zip(outputs) {
                let (top, bottom) = max_routes::<2>(t, b, y, g);
                it.copy_from_slice(&top);
                ib.copy_from_slice(&bottom);
            }
        }
    }
}

/// Max pooling's gradient over `COLUMNS / 2` windows: their columns' gradients in the top and
/// the bottom input row, from those rows' values `t` and `b` and the windows' maxima `y` and
/// gradients `g`. The window's first maximum, in row-major order, takes its gradient, the
/// others 0: chosen with masks on each lane rather than branches, so that a block vectorises.
#[inline(always)]
fn max_routes<const COLUMNS: usize>(
    t: &[f32],
    b: &[f32],
    y: &[f32],
    g: &[f32],
) -> ([f32; COLUMNS], [f32; COLUMNS]) {
    let keep = |hit: bool, g: f32| f32::from_bits(g.to_bits() & 0u32.wrapping_sub(u32::from(hit)));
    let on_top: [bool; COLUMNS] = std::array::from_fn(|i| t[i] == y[i / 2]);
    let on_bottom: [bool; COLUMNS] = std::array::from_fn(|i| b[i] == y[i / 2]);
    let top = std::array::from_fn(|i| {
        let first = on_top[i & !1];
        keep(
            if i % 2 == 0 {
                first
            } else {
                !first && on_top[i]
            },
            g[i / 2],
        )
    });
    let bottom = std::array::from_fn(|i| {
        let above = on_top[i & !1] || on_top[i | 1];
        let left = on_bottom[i & !1];
        keep(!above && (if i % 2 == 0 { left } else { !left }), g[i / 2])
    });
    (top, bottom)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::testing::pattern;

    /// Two planes of `[height, width]`: the input, the output gradient, and each output's
    /// window's four indices in the input.
    fn planes([height, width]: [usize; 2]) -> (Vec<f32>, Vec<f32>, Vec<[usize; 4]>) {
        let (outputs, plane) = (height * width / 4, height * width);
        let windows = (0..2 * outputs).map(|o| {
            let (p, oy, ox) = (o / outputs, o % outputs / (width / 2), o % (width / 2));
            [0, 1, width, width + 1].map(|d| p * plane + 2 * oy * width + 2 * ox + d)
        });
        let x = pattern(2 * plane, 0.5);
        (x, pattern(2 * outputs, 1.5), windows.collect())
    }

    /// Rows of 3 windows, and of 11 (the average's gradient takes 4 at a time: 2 blocks and 3
    /// left).
    const DIMS: [[usize; 2]; 2] = [[4, 6], [6, 22]];

    #[test]
    fn max_pooling_and_its_gradient() {
        for dims in DIMS {
            let (x, grad, windows) = planes(dims);
            let y = pool_forward(Pooling::Max, dims, &x);
            let input = pool_backward(Pooling::Max, dims, &x, &y, &grad);
            for ((&y, &g), taps) in y.iter().zip(&grad).zip(&windows) {
                let max = taps.iter().map(|&t| x[t]).fold(f32::MIN, f32::max);
                assert_eq!(y, max);
                let routed: Vec<f32> = taps.iter().map(|&t| input[t]).collect();
                assert_eq!(routed.iter().filter(|&&v| v == g).count(), 1, "{routed:?}");
                assert_eq!(routed.iter().sum::<f32>(), g);
            }
        }
    }

    /// Windows of zeros and ones (as ReLU leaves them): every pattern of ties, in blocks and
    /// in the windows left after them.
    #[test]
    fn max_pooling_routes_ties_to_the_first_maximum() {
        for dims in DIMS {
            let (x, grad, windows) = planes(dims);
            let x: Vec<f32> = (0..x.len())
                .map(|i| ((i * 7 + i / 5) % 3 / 2) as f32)
                .collect();
            let y = pool_forward(Pooling::Max, dims, &x);
            let input = pool_backward(Pooling::Max, dims, &x, &y, &grad);
            for ((&y, &g), taps) in y.iter().zip(&grad).zip(&windows) {
                let first = taps.iter().position(|&t| x[t] == y).expect("a maximum");
                for (k, &t) in taps.iter().enumerate() {
                    assert_eq!(input[t], if k == first { g } else { 0.0 }, "{taps:?}");
                }
            }
        }
    }

    #[test]
    fn average_pooling_and_its_gradient() {
        for dims in DIMS {
            let (x, grad, windows) = planes(dims);
            let y = pool_forward(Pooling::Average, dims, &x);
            let input = pool_backward(Pooling::Average, dims, &x, &y, &grad);
            for ((&y, &g), taps) in y.iter().zip(&grad).zip(&windows) {
                let mean = taps.iter().map(|&t| x[t]).sum::<f32>() / 4.0;
                assert!((y - mean.tanh()).abs() < 1e-6);
                for t in taps {
                    assert!((input[*t] - g * (1.0 - y * y) / 4.0).abs() < 1e-6);
                }
            }
        }
    }
}
