//! The classic network's convolution gradient before its activation, from the gradient of
//! the average pooling after it (S2's of C1, S4's of C3), in registers: each window's gradient
//! through the pooling's tanh and averaging, spread over the window's four positions, and
//! through the convolution's tanh, a row pair and up to a vector of windows at a time (the
//! same code over either vector, [`Lanes`]).
//!
//! The layer-by-layer code (`pool_gradient_rows` spreading a row pair into a scratch buffer,
//! then `Activation::gradient_row` reading it back) ran in short loops over rows of 5 to 14
//! windows. The values are computed by the same operations in the same order, `(0.25 g)(1 -
//! p^2)` for a window of output `p` and gradient `g`, times `1 - y^2` at a position of output
//! `y` (multiplies and subtractions, never fused), so the bits are theirs.

use std::arch::x86_64::*;

use super::super::ConvShape;
use super::Isa;
use super::vector::Lanes;

/// Writes the gradient before the activation, `pre` (`[maps, wide]`; the dropped columns left
/// alone), of the convolution `shape` with tanh, whose maps `y` (`[maps, positions]`) an
/// average pooling read into `pooled` and whose gradient arrives as `grad` (both `[maps,
/// positions / 4]`), with `isa`'s vectors.
///
/// # Safety
/// The CPU runs `isa`.
pub(in crate::cpu) unsafe fn average_tanh_gradient(
    isa: Isa,
    shape: &ConvShape,
    y: &[f32],
    pooled: &[f32],
    grad: &[f32],
    pre: &mut [f32],
) {
    let (positions, maps) = (shape.positions(), shape.maps);
    assert!(shape.out_width().is_multiple_of(2) && shape.out_height().is_multiple_of(2));
    assert!(y.len() >= maps * positions && pre.len() >= maps * shape.wide());
    assert!(pooled.len() >= maps * positions / 4 && grad.len() >= maps * positions / 4);
    let spread = Spread {
        shape,
        y,
        pooled,
        grad,
    };
    // SAFETY: the caller's CPU; the lengths hold (asserted just above).
    unsafe {
        match isa {
            Isa::Avx2 => spread.run_avx2(pre),
            Isa::Avx512 => spread.run_avx512(pre),
        }
    }
}

/// The operands of [`average_tanh_gradient`].
struct Spread<'a> {
    shape: &'a ConvShape,
    y: &'a [f32],
    pooled: &'a [f32],
    grad: &'a [f32],
}

impl Spread<'_> {
    /// # Safety
    /// The CPU has AVX2 and FMA; the lengths that [`average_tanh_gradient`] asserts.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn run_avx2(&self, pre: &mut [f32]) {
        // SAFETY: the caller's features and lengths.
        unsafe { self.run::<__m256>(pre) }
    }

    /// # Safety
    /// The CPU has AVX-512F; the lengths that [`average_tanh_gradient`] asserts.
    #[target_feature(enable = "avx512f")]
    unsafe fn run_avx512(&self, pre: &mut [f32]) {
        // SAFETY: the caller's features and lengths.
        unsafe { self.run::<__m512>(pre) }
    }

    /// # Safety
    /// `V`'s features; the lengths that [`average_tanh_gradient`] asserts.
    #[inline(always)]
    unsafe fn run<V: Lanes>(&self, pre: &mut [f32]) {
        let shape = self.shape;
        let (width, out_width, positions) =
            (shape.padded_width(), shape.out_width(), shape.positions());
        let (windows, plane) = (out_width / 2, positions / 4);
        // SAFETY: the caller's features; every window read lies in the map's pooled plane,
        // every position read or written in the map's output row (the counts stop there).
        unsafe {
            let (quarter, one) = (V::splat(0.25), V::splat(1.0));
            for map in 0..shape.maps {
                for row in 0..shape.out_height() / 2 {
                    let at = map * plane + row * windows;
                    let mut j = 0;
                    while j < windows {
                        let count = (windows - j).min(V::LANES);
                        let p = V::load(self.pooled.as_ptr().add(at + j), count);
                        let g = V::load(self.grad.as_ptr().add(at + j), count);
                        let window = quarter.mul(g).mul(one.sub(p.mul(p)));
                        let halves = window.spread();
                        for r in 0..2 {
                            let oy = 2 * row + r;
                            let y = self.y.as_ptr().add(map * positions + oy * out_width);
                            let to = pre.as_mut_ptr().add(map * shape.wide() + oy * width);
                            for h in 0..2 {
                                let column = 2 * j + h * V::LANES;
                                let lanes = (2 * (j + count)).saturating_sub(column);
                                if lanes == 0 {
                                    break;
                                }
                                let lanes = lanes.min(V::LANES);
                                let y = V::load(y.add(column), lanes);
                                let value = halves[h].mul(one.sub(y.mul(y)));
                                value.store_first(to.add(column), lanes);
                            }
                        }
                        j += count;
                    }
                }
            }
        }
    }
}
