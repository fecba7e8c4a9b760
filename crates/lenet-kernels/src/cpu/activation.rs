//! The activations' rows, forward and backward, and the rational tanh they use.

use super::with_avx2;
use crate::{Activation, SCALED_TANH_AMPLITUDE as A, SCALED_TANH_SLOPE as S};

impl Activation {
    /// `out = activation(z + bias)`, the match outside the loop so that the loop vectorises.
    #[inline(always)]
    pub(super) fn apply_row(self, out: &mut [f32], z: &[f32], bias: f32) {
        let pairs = out.iter_mut().zip(z);
        match self {
            Activation::Tanh => pairs.for_each(|(v, z)| *v = tanh(z + bias)),
            Activation::ScaledTanh => pairs.for_each(|(v, z)| *v = A * tanh(S * (z + bias))),
            Activation::Relu => pairs.for_each(|(v, z)| *v = (z + bias).max(0.0)),
        }
    }

    /// `pre = grad * activation'(y)` from the activation's output `y`, likewise.
    #[inline(always)]
    pub(super) fn gradient_row(self, pre: &mut [f32], y: &[f32], grad: &[f32]) {
        let rows = pre.iter_mut().zip(y.iter().zip(grad));
        match self {
            Activation::Tanh => rows.for_each(|(p, (y, g))| *p = g * tanh_derivative(*y)),
            Activation::ScaledTanh => {
                rows.for_each(|(p, (y, g))| *p = g * scaled_tanh_derivative(*y))
            }
            Activation::Relu => rows.for_each(|(p, (y, g))| *p = if *y > 0.0 { *g } else { 0.0 }),
        }
    }
}

/// tanh's derivative from its output.
#[inline(always)]
pub(super) fn tanh_derivative(y: f32) -> f32 {
    1.0 - y * y
}

/// The derivative of `A tanh(S a)` from its output `y`: `S / A (A^2 - y^2)`.
#[inline(always)]
fn scaled_tanh_derivative(y: f32) -> f32 {
    S / A * (A * A - y * y)
}

/// The rational tanh's range, numerator's and denominator's coefficients (lowest degree
/// first), shared with its 16-lane form in [`super::direct`].
pub(super) const CLAMP: f32 = 7.905_311;
pub(super) const ALPHA: [f32; 7] = [
    4.893_524_6e-3,
    6.372_619_3e-4,
    1.485_722_4e-5,
    5.122_297e-8,
    -8.604_672e-11,
    2.000_188e-13,
    -2.760_768_5e-16,
];
pub(super) const BETA: [f32; 4] = [4.893_525e-3, 2.268_434_6e-3, 1.185_347_1e-4, 1.198_258_4e-6];

/// tanh as the fused kernels compute it (features `flex` and `ndarray`): Eigen's
/// `ptanh_float`, an odd degree-13 polynomial over an even degree-6 one on [-7.9, 7.9] (beyond
/// which `f32` tanh is +-1). Within 5e-7 of `f32::tanh`, and branch-free, so loops over it
/// vectorise, where `f32::tanh` is a scalar libm call per element.
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    let x = x.clamp(-CLAMP, CLAMP);
    let x2 = x * x;
    horner(&ALPHA, x2) * x / horner(&BETA, x2)
}

/// The polynomial with `coefficients` (lowest degree first) at `x`, by Horner's rule from the
/// highest coefficient itself (not from `0 * x + a`, the same value one multiply-add later).
#[inline(always)]
fn horner(coefficients: &[f32], x: f32) -> f32 {
    let (&highest, lower) = coefficients.split_last().expect("a coefficient");
    lower.iter().rev().fold(highest, |acc, &a| acc * x + a)
}

/// `y = activation(x)`, elementwise.
pub(crate) fn activation_forward(activation: Activation, x: &[f32]) -> Vec<f32> {
    let mut y = vec![0.0; x.len()];
    with_avx2(
        #[inline(always)]
        || activation.apply_row(&mut y, x, 0.0),
    );
    y
}

/// The gradient of `y = activation(x)` from `y` and the output gradient.
pub(crate) fn activation_backward(activation: Activation, y: &[f32], grad: &[f32]) -> Vec<f32> {
    let mut pre = vec![0.0; y.len()];
    with_avx2(
        #[inline(always)]
        || activation.gradient_row(&mut pre, y, grad),
    );
    pre
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::testing::pattern;

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
    fn the_scaled_tanh_is_the_papers_and_its_derivative_comes_from_its_output() {
        let x = pattern(500, 0.2);
        let y = activation_forward(Activation::ScaledTanh, &x);
        let ones = vec![1.0; x.len()];
        let dy = activation_backward(Activation::ScaledTanh, &y, &ones);
        for ((&x, &y), &dy) in x.iter().zip(&y).zip(&dy) {
            let exact = 1.7159 * (2.0 / 3.0 * x as f64).tanh();
            assert!((y as f64 - exact).abs() < 1e-6, "f({x}) = {y}, not {exact}");
            let slope = 1.7159 * 2.0 / 3.0 * (1.0 - (2.0 / 3.0 * x as f64).tanh().powi(2));
            assert!(
                (dy as f64 - slope).abs() < 1e-5,
                "f'({x}) = {dy}, not {slope}"
            );
        }
        // f(1) = 1 and f(-1) = -1: why the paper chose A and S.
        let ends = activation_forward(Activation::ScaledTanh, &[1.0, -1.0]);
        assert!(
            (ends[0] - 1.0).abs() < 1e-4 && (ends[1] + 1.0).abs() < 1e-4,
            "{ends:?}"
        );
    }
}
