//! C1's weight gradient (6 maps) as gemm's horizontal kernels compute it, with AVX2 and FMA
//! or with AVX-512F.
//!
//! gemm takes a product this small (at most 256 values) as dot products of the unfolded rows
//! with `pre`'s, the lanes of the CPU's widest vectors (8 or 16) summed apart and then across
//! in its `reduce_sum`'s order. [`add_weight_gradient_horizontal`] computes the same dot
//! products with each unfolded row read straight from the padded image, a block of taps by six
//! maps at a time: the same products summed in the same order, so the same bits, on either
//! instruction set (each matches gemm where it is the CPU's widest).

use std::arch::x86_64::*;

use super::super::ConvShape;
use super::vector::Lanes;
use super::{Isa, KERNEL, horizontal_shape};

/// Maps of each block: six fill C1's maps.
const H_MAPS: usize = 6;

/// Adds `col · pre^T`, the weight's gradient of the convolution `shape` transposed, `[patch,
/// maps]`, into `weight_grad`, as gemm's horizontal kernels compute it with `isa`'s vectors
/// (where [`horizontal_shape`]): each value the dot product of an unfolded row, read straight
/// from `padded` (the padded image followed by at least `kernel - 1` zeros), with a row of
/// `pre`, the gradient before the activation, `[maps, wide]`.
///
/// # Safety
/// The CPU runs `isa`.
pub(in crate::cpu) unsafe fn add_weight_gradient_horizontal(
    isa: Isa,
    shape: &ConvShape,
    padded: &[f32],
    pre: &[f32],
    weight_grad: &mut [f32],
) {
    let (wide, patch, maps) = (shape.wide(), shape.patch(), shape.maps);
    assert!(horizontal_shape(shape) && shape.kernel == KERNEL);
    assert!(padded.len() >= shape.padded_len() + KERNEL - 1 && pre.len() >= maps * wide);
    assert!(weight_grad.len() >= patch * maps);
    let dots = Dots { shape, padded, pre };
    // SAFETY: the caller's CPU; the lengths asserted above.
    unsafe {
        match isa {
            Isa::Avx2 => dots.add_avx2(weight_grad),
            Isa::Avx512 => dots.add_avx512(weight_grad),
        }
    }
}

/// The operands of [`add_weight_gradient_horizontal`], whose lengths it asserts.
struct Dots<'a> {
    shape: &'a ConvShape,
    padded: &'a [f32],
    pre: &'a [f32],
}

impl Dots<'_> {
    /// Two taps by six maps: 12 of AVX2's 16 registers, each load of `pre` serving two taps.
    ///
    /// # Safety
    /// The CPU has AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn add_avx2(&self, weight_grad: &mut [f32]) {
        // SAFETY: the caller's features.
        unsafe { self.add::<__m256, 2>(weight_grad) }
    }

    /// Four taps by six maps: 24 of AVX-512's 32 registers.
    ///
    /// # Safety
    /// The CPU has AVX-512F.
    #[target_feature(enable = "avx512f")]
    unsafe fn add_avx512(&self, weight_grad: &mut [f32]) {
        // SAFETY: the caller's features.
        unsafe { self.add::<__m512, 4>(weight_grad) }
    }

    /// Every tap by every map, `T` taps by [`H_MAPS`] maps at a time where they fill a block,
    /// one by one where they do not. Each value is its own dot product, so the blocks do not
    /// change the bits.
    ///
    /// # Safety
    /// `V`'s instructions run here and the call is inlined into code compiled with them.
    #[inline(always)]
    unsafe fn add<V: Lanes, const T: usize>(&self, weight_grad: &mut [f32]) {
        let (patch, maps) = (self.shape.patch(), self.shape.maps);
        let mut first_map = 0;
        // SAFETY: forwarded.
        unsafe {
            while first_map + H_MAPS <= maps {
                let mut tap = 0;
                while tap + T <= patch {
                    self.block::<V, T, H_MAPS>(tap, first_map, weight_grad);
                    tap += T;
                }
                for tap in tap..patch {
                    self.block::<V, 1, H_MAPS>(tap, first_map, weight_grad);
                }
                first_map += H_MAPS;
            }
            for map in first_map..maps {
                for tap in 0..patch {
                    self.block::<V, 1, 1>(tap, map, weight_grad);
                }
            }
        }
    }

    /// Taps `first_tap..first_tap + T` by maps `first_map..first_map + M`: each dot product
    /// summed in `V`'s lanes, a vector of positions at a time from zero (the last, partial
    /// vector loaded with zeros in the missing lanes), the lanes then summed as gemm's
    /// `reduce_sum` sums them, and the result added to the gradient.
    ///
    /// # Safety
    /// As [`Dots::add`].
    #[inline(always)]
    unsafe fn block<V: Lanes, const T: usize, const M: usize>(
        &self,
        first_tap: usize,
        first_map: usize,
        weight_grad: &mut [f32],
    ) {
        let (wide, maps) = (self.shape.wide(), self.shape.maps);
        // Plain loops, no closures: a closure would be compiled without the caller's features.
        let mut rows = [self.padded.as_ptr(); T];
        for t in 0..T {
            rows[t] = self.padded[self.shape.tap_run(first_tap + t).0..].as_ptr();
        }
        let mut pre = [self.pre.as_ptr(); M];
        for m in 0..M {
            pre[m] = self.pre[(first_map + m) * wide..].as_ptr();
        }
        // SAFETY: each unfolded row's `wide` values lie inside `padded` and its zeros after,
        // each `pre` row's inside `pre`; the last partial vector loads only its lanes.
        unsafe {
            let mut acc = [[V::splat(0.0); M]; T];
            let mut at = 0;
            while at + V::LANES <= wide {
                step(&rows, &pre, at, V::LANES, &mut acc);
                at += V::LANES;
            }
            if at < wide {
                step(&rows, &pre, at, wide - at, &mut acc);
            }
            for t in 0..T {
                for m in 0..M {
                    weight_grad[(first_tap + t) * maps + first_map + m] += acc[t][m].reduce_sum();
                }
            }
        }
    }
}

/// `count` positions from `at` of each dot product: each tap's row loaded once, each map's
/// `pre` once for all the taps.
///
/// # Safety
/// As [`Dots::add`]; `count` values from `at` lie inside every row.
#[inline(always)]
unsafe fn step<V: Lanes, const T: usize, const M: usize>(
    rows: &[*const f32; T],
    pre: &[*const f32; M],
    at: usize,
    count: usize,
    acc: &mut [[V; M]; T],
) {
    // SAFETY: forwarded.
    unsafe {
        let mut x = [V::splat(0.0); T];
        for t in 0..T {
            x[t] = V::load(rows[t].add(at), count);
        }
        for m in 0..M {
            let p = V::load(pre[m].add(at), count);
            for t in 0..T {
                acc[t][m] = p.mul_add(x[t], acc[t][m]);
            }
        }
    }
}
