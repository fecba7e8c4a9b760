//! A convolution's gradient before its activation, from the gradient of the 2x2 pooling after
//! it, in registers, for the two pairings LeNet-5 trains: tanh then average pooling (the
//! classic network's C1 and C3, with S2's and S4's tanh) and ReLU then max pooling (the Keras
//! code's). Each window's gradient is spread over its four positions and taken through the
//! activation's derivative, a row pair and up to a vector of windows at a time (the same code
//! over either vector, [`Lanes`]).
//!
//! The layer-by-layer code (`pool_gradient_rows` spreading a row pair into a scratch buffer,
//! then `Activation::gradient_row` reading it back) ran in short loops over rows of 4 to 14
//! windows. Here the values are computed by the same operations in the same order, so the
//! bits are theirs: for average pooling `(0.25 g)(1 - p^2)` for a window of output `p` and
//! gradient `g`, times `1 - y^2` at a position of output `y` (multiplies and subtractions,
//! never fused); for max pooling `g` at the window's first maximum in row-major order (its
//! value equal to the window's output) where that value is above 0, and 0 everywhere else.

use std::arch::x86_64::*;

use super::super::ConvShape;
use super::Isa;
use super::vector::Lanes;
use crate::{Activation, Pooling};

/// Writes the gradient before the activation, `pre` (`[maps, wide]`; the dropped columns left
/// alone), of the convolution `shape` with `activation`, whose maps `y` (`[maps, positions]`)
/// `pooling` read into `pooled` and whose gradient arrives as `grad` (both `[maps, positions /
/// 4]`), with `isa`'s vectors.
///
/// # Safety
/// The CPU runs `isa`.
pub(in crate::cpu) unsafe fn pooled_gradient(
    isa: Isa,
    (activation, pooling): (Activation, Pooling),
    shape: &ConvShape,
    y: &[f32],
    pooled: &[f32],
    grad: &[f32],
    pre: &mut [f32],
) {
    let (positions, maps) = (shape.positions(), shape.maps);
    assert!(super::pooled_gradient_fits(activation, pooling));
    assert!(shape.out_width().is_multiple_of(2) && shape.out_height().is_multiple_of(2));
    assert!(y.len() >= maps * positions && pre.len() >= maps * shape.wide());
    assert!(pooled.len() >= maps * positions / 4 && grad.len() >= maps * positions / 4);
    let spread = Spread {
        shape,
        pooling,
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

/// The operands of [`pooled_gradient`].
struct Spread<'a> {
    shape: &'a ConvShape,
    /// Average after tanh, or max after ReLU.
    pooling: Pooling,
    y: &'a [f32],
    pooled: &'a [f32],
    grad: &'a [f32],
}

impl Spread<'_> {
    /// # Safety
    /// The CPU has AVX2 and FMA; the lengths that [`pooled_gradient`] asserts.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn run_avx2(&self, pre: &mut [f32]) {
        // SAFETY: the caller's features and lengths.
        unsafe { self.run::<__m256>(pre) }
    }

    /// # Safety
    /// The CPU has AVX-512F; the lengths that [`pooled_gradient`] asserts.
    #[target_feature(enable = "avx512f")]
    unsafe fn run_avx512(&self, pre: &mut [f32]) {
        // SAFETY: the caller's features and lengths.
        unsafe { self.run::<__m512>(pre) }
    }

    /// Every map's row pairs, up to `V::LANES` windows at a time.
    ///
    /// # Safety
    /// `V`'s features; the lengths that [`pooled_gradient`] asserts.
    #[inline(always)]
    unsafe fn run<V: Masks>(&self, pre: &mut [f32]) {
        let shape = self.shape;
        let (width, out_width, positions) =
            (shape.padded_width(), shape.out_width(), shape.positions());
        let (windows, plane) = (out_width / 2, positions / 4);
        // SAFETY: the caller's features; every window read lies in the map's pooled plane,
        // every position read or written in the map's output rows (the counts stop there).
        unsafe {
            for map in 0..shape.maps {
                let y = self.y.as_ptr().add(map * positions);
                let to = pre.as_mut_ptr().add(map * shape.wide());
                for row in 0..shape.out_height() / 2 {
                    let at = map * plane + row * windows;
                    let rows = [2 * row, 2 * row + 1];
                    let y = rows.map(|oy| y.add(oy * out_width));
                    let to = rows.map(|oy| to.add(oy * width));
                    let mut j = 0;
                    while j < windows {
                        let count = (windows - j).min(V::LANES);
                        let p = V::load(self.pooled.as_ptr().add(at + j), count);
                        let g = V::load(self.grad.as_ptr().add(at + j), count);
                        let rows = Rows {
                            y,
                            to,
                            column: 2 * j,
                            end: 2 * (j + count),
                        };
                        match self.pooling {
                            Pooling::Average => average_tanh(rows, p, g),
                            Pooling::Max => max_relu(rows, p, g),
                        }
                        j += count;
                    }
                }
            }
        }
    }
}

/// A row pair's columns `column..end` (up to two vectors): where their outputs are read and
/// their gradients written.
struct Rows {
    y: [*const f32; 2],
    to: [*mut f32; 2],
    column: usize,
    end: usize,
}

impl Rows {
    /// Half `h`'s first column and its number of lanes (0 past the end).
    #[inline(always)]
    fn half<V: Lanes>(&self, h: usize) -> (usize, usize) {
        let column = self.column + h * V::LANES;
        (column, self.end.saturating_sub(column).min(V::LANES))
    }
}

/// Average pooling after tanh: windows `p` (their outputs) and `g` (their gradients).
///
/// # Safety
/// `V`'s features; the rows' pointers valid for their columns.
#[inline(always)]
unsafe fn average_tanh<V: Masks>(rows: Rows, p: V, g: V) {
    // SAFETY: the caller's features and pointers.
    unsafe {
        let (quarter, one) = (V::splat(0.25), V::splat(1.0));
        let window = quarter.mul(g).mul(one.sub(p.mul(p)));
        let halves = window.spread();
        for r in 0..2 {
            for h in 0..2 {
                let (column, lanes) = rows.half::<V>(h);
                if lanes == 0 {
                    break;
                }
                let y = V::load(rows.y[r].add(column), lanes);
                let value = halves[h].mul(one.sub(y.mul(y)));
                value.store_first(rows.to[r].add(column), lanes);
            }
        }
    }
}

/// Max pooling after ReLU: windows `p` (their maxima) and `g` (their gradients).
///
/// # Safety
/// `V`'s features; the rows' pointers valid for their columns.
#[inline(always)]
unsafe fn max_relu<V: Masks>(rows: Rows, p: V, g: V) {
    // SAFETY: the caller's features and pointers.
    unsafe {
        let (maxima, gradients) = (p.spread(), g.spread());
        let zero = V::splat(0.0);
        for h in 0..2 {
            let (column, lanes) = rows.half::<V>(h);
            if lanes == 0 {
                break;
            }
            let top = V::load(rows.y[0].add(column), lanes);
            let bottom = V::load(rows.y[1].add(column), lanes);
            let (on_top, on_bottom) = (top.equal(maxima[h]), bottom.equal(maxima[h]));
            // The scalar routing's cases, lane by lane: a pair's even lane and its odd lane
            // hold the window's left and right columns.
            let odd = V::odd_lanes();
            // Top left where it is a maximum; top right where it is and top left is not.
            let take_top = on_top.and_not(on_top.duplicate_even().and(odd));
            // Below only where neither top value is a maximum: bottom left where it is one,
            // bottom right where bottom left is not.
            let above = on_top.duplicate_even().or(on_top.duplicate_odd());
            let take_bottom = on_bottom.duplicate_even().xor(odd).and_not(above);
            for (r, (y, take)) in [(top, take_top), (bottom, take_bottom)]
                .into_iter()
                .enumerate()
            {
                let value = gradients[h].and(take).and(y.greater(zero));
                value.store_first(rows.to[r].add(column), lanes);
            }
        }
    }
}

/// Lane masks (every bit of a lane set, or none) as vectors, for max pooling's routing.
trait Masks: Lanes {
    /// Lanes where `self == other` (false for NaN, as `==`).
    unsafe fn equal(self, other: Self) -> Self;
    /// Lanes where `self > other` (false for NaN, as `>`).
    unsafe fn greater(self, other: Self) -> Self;
    unsafe fn and(self, other: Self) -> Self;
    unsafe fn or(self, other: Self) -> Self;
    unsafe fn xor(self, other: Self) -> Self;
    /// `self & !other`.
    unsafe fn and_not(self, other: Self) -> Self;
    /// Each pair's even lane over both lanes of the pair.
    unsafe fn duplicate_even(self) -> Self;
    /// Each pair's odd lane over both lanes of the pair.
    unsafe fn duplicate_odd(self) -> Self;
    /// The mask of every odd lane.
    unsafe fn odd_lanes() -> Self;
}

impl Masks for __m256 {
    #[inline(always)]
    unsafe fn equal(self, other: Self) -> Self {
        // SAFETY: the caller's AVX.
        unsafe { _mm256_cmp_ps::<_CMP_EQ_OQ>(self, other) }
    }
    #[inline(always)]
    unsafe fn greater(self, other: Self) -> Self {
        // SAFETY: the caller's AVX.
        unsafe { _mm256_cmp_ps::<_CMP_GT_OQ>(self, other) }
    }
    #[inline(always)]
    unsafe fn and(self, other: Self) -> Self {
        // SAFETY: the caller's AVX.
        unsafe { _mm256_and_ps(self, other) }
    }
    #[inline(always)]
    unsafe fn or(self, other: Self) -> Self {
        // SAFETY: the caller's AVX.
        unsafe { _mm256_or_ps(self, other) }
    }
    #[inline(always)]
    unsafe fn xor(self, other: Self) -> Self {
        // SAFETY: the caller's AVX.
        unsafe { _mm256_xor_ps(self, other) }
    }
    #[inline(always)]
    unsafe fn and_not(self, other: Self) -> Self {
        // SAFETY: the caller's AVX.
        unsafe { _mm256_andnot_ps(other, self) }
    }
    #[inline(always)]
    unsafe fn duplicate_even(self) -> Self {
        // SAFETY: the caller's AVX.
        unsafe { _mm256_moveldup_ps(self) }
    }
    #[inline(always)]
    unsafe fn duplicate_odd(self) -> Self {
        // SAFETY: the caller's AVX.
        unsafe { _mm256_movehdup_ps(self) }
    }
    #[inline(always)]
    unsafe fn odd_lanes() -> Self {
        // SAFETY: the caller's AVX.
        unsafe { _mm256_castsi256_ps(_mm256_setr_epi32(0, -1, 0, -1, 0, -1, 0, -1)) }
    }
}

impl Masks for __m512 {
    #[inline(always)]
    unsafe fn equal(self, other: Self) -> Self {
        // SAFETY: the caller's AVX-512F.
        unsafe { lanes(_mm512_cmp_ps_mask::<_CMP_EQ_OQ>(self, other)) }
    }
    #[inline(always)]
    unsafe fn greater(self, other: Self) -> Self {
        // SAFETY: the caller's AVX-512F.
        unsafe { lanes(_mm512_cmp_ps_mask::<_CMP_GT_OQ>(self, other)) }
    }
    // The integer forms: the float ones are AVX-512DQ's.
    #[inline(always)]
    unsafe fn and(self, other: Self) -> Self {
        // SAFETY: the caller's AVX-512F.
        unsafe { float(_mm512_and_si512(int(self), int(other))) }
    }
    #[inline(always)]
    unsafe fn or(self, other: Self) -> Self {
        // SAFETY: the caller's AVX-512F.
        unsafe { float(_mm512_or_si512(int(self), int(other))) }
    }
    #[inline(always)]
    unsafe fn xor(self, other: Self) -> Self {
        // SAFETY: the caller's AVX-512F.
        unsafe { float(_mm512_xor_si512(int(self), int(other))) }
    }
    #[inline(always)]
    unsafe fn and_not(self, other: Self) -> Self {
        // SAFETY: the caller's AVX-512F.
        unsafe { float(_mm512_andnot_si512(int(other), int(self))) }
    }
    #[inline(always)]
    unsafe fn duplicate_even(self) -> Self {
        // SAFETY: the caller's AVX-512F.
        unsafe { _mm512_moveldup_ps(self) }
    }
    #[inline(always)]
    unsafe fn duplicate_odd(self) -> Self {
        // SAFETY: the caller's AVX-512F.
        unsafe { _mm512_movehdup_ps(self) }
    }
    #[inline(always)]
    unsafe fn odd_lanes() -> Self {
        // SAFETY: the caller's AVX-512F.
        unsafe { lanes(0xAAAA) }
    }
}

/// The lanes of `mask` as a vector mask.
///
/// # Safety
/// AVX-512F.
#[inline(always)]
unsafe fn lanes(mask: __mmask16) -> __m512 {
    // SAFETY: the caller's AVX-512F.
    unsafe { _mm512_castsi512_ps(_mm512_maskz_set1_epi32(mask, -1)) }
}

/// The bits of `v` as integers.
///
/// # Safety
/// AVX-512F.
#[inline(always)]
unsafe fn int(v: __m512) -> __m512i {
    // SAFETY: the caller's AVX-512F.
    unsafe { _mm512_castps_si512(v) }
}

/// The bits of `v` as floats.
///
/// # Safety
/// AVX-512F.
#[inline(always)]
unsafe fn float(v: __m512i) -> __m512 {
    // SAFETY: the caller's AVX-512F.
    unsafe { _mm512_castsi512_ps(v) }
}
