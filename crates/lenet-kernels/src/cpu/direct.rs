//! Convolution products computed directly on the padded image, without the unfolded copy and
//! gemm's packing of it, on CPUs with AVX-512F (detected at run time): for the inference pass
//! of [`super::features`], where an image's product is small enough to live in registers and
//! L1. Each output is its taps' products summed in the unfolding's order `(c, ky, kx)` from
//! zero, one fused multiply-add at a time, as gemm's microkernels sum over `k` (one block: a
//! patch has at most 150 taps), so the results are the unfolding and gemm's to the bit.
//!
//! Two layouts, for the two convolutions' shapes:
//! - [`forward_wide`], positions across the lanes (C1: one input channel, 6 maps, rows of 28 or
//!   32): `z` `[maps, wide]` as the unfolding's product has it, 16 wide positions by up to 6
//!   maps per register block;
//! - [`forward_maps16`], the 16 maps across the lanes (C3: 10x10 or 8x8 outputs, too few
//!   positions to fill vectors): `z` `[positions, 16]`, a row of output positions per register
//!   block, each tap one load of its 16 weights and one broadcast input per position.

use super::ConvShape;

/// f32 lanes of a 512-bit vector.
pub(super) const LANES: usize = 16;

/// Whether this CPU runs the direct products.
pub(super) fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    return std::arch::is_x86_feature_detected!("avx512f");
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// `z = weight · unfold(padded)`, `z` `[maps, wide]`. Call only where [`available`].
pub(super) fn forward_wide(shape: &ConvShape, padded: &[f32], weight: &[f32], z: &mut [f32]) {
    assert!(available() && z.len() >= shape.maps * shape.wide());
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the CPU has AVX-512F (asserted just above).
    unsafe {
        avx512::forward_wide(shape, padded, weight, z)
    };
}

/// `z[p][m] = (weight · unfold(padded))[m][p]` at the output positions `p` (row-major, no wide
/// columns) for exactly 16 maps; `weight_t` is the weight transposed, `[patch, 16]`. Call only
/// where [`available`].
pub(super) fn forward_maps16(shape: &ConvShape, padded: &[f32], weight_t: &[f32], z: &mut [f32]) {
    assert!(available() && shape.maps == LANES);
    assert!(weight_t.len() == shape.patch() * LANES && z.len() >= shape.positions() * LANES);
    assert!(padded.len() >= shape.padded_len());
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the CPU has AVX-512F, and the lengths hold (asserted just above).
    unsafe {
        avx512::forward_maps16(shape, padded, weight_t, z)
    };
}

/// Each tap's offset in the padded image, in the unfolding's row order `(c, ky, kx)`.
fn tap_offsets(shape: &ConvShape) -> Vec<usize> {
    let width = shape.padded_width();
    let plane = shape.padded_len() / shape.channels;
    (0..shape.channels)
        .flat_map(|c| {
            (0..shape.kernel)
                .flat_map(move |ky| (0..shape.kernel).map(move |kx| c * plane + ky * width + kx))
        })
        .collect()
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    use super::{ConvShape, LANES, tap_offsets};

    #[target_feature(enable = "avx512f")]
    pub(super) fn forward_wide(shape: &ConvShape, padded: &[f32], weight: &[f32], z: &mut [f32]) {
        let (patch, wide) = (shape.patch(), shape.wide());
        let taps = tap_offsets(shape);
        // Register blocks: 4 vectors of positions by 6 maps (C1), or 2 by 8; one map at a time
        // for any other count.
        let mut map = 0;
        while map < shape.maps {
            let (weight, z) = (&weight[map * patch..], &mut z[map * wide..]);
            map += match shape.maps - map {
                left if left % 8 == 0 => wide_block::<2, 8>(padded, &taps, weight, wide, z),
                left if left >= 6 => wide_block::<4, 6>(padded, &taps, weight, wide, z),
                _ => wide_block::<2, 1>(padded, &taps, weight, wide, z),
            };
        }
    }

    /// `M` maps (rows of `weight` from its start, `z`'s rows likewise) over every wide
    /// position, `P` vectors of positions at a time; returns `M`.
    #[target_feature(enable = "avx512f")]
    #[inline]
    fn wide_block<const P: usize, const M: usize>(
        padded: &[f32],
        taps: &[usize],
        weight: &[f32],
        wide: usize,
        z: &mut [f32],
    ) -> usize {
        let patch = taps.len();
        let mut start = 0;
        while start < wide {
            // Lanes of each vector inside `wide` (the last block may be short).
            let masks: [__mmask16; P] =
                std::array::from_fn(|v| lanes(start + v * LANES, wide, 0, usize::MAX));
            let mut acc = [[_mm512_setzero_ps(); P]; M];
            for (k, &tap) in taps.iter().enumerate() {
                let inputs: [__m512; P] = std::array::from_fn(|v| {
                    let first = start + v * LANES;
                    // Past the image's end the unfolding holds zeros (dropped columns).
                    let mask = lanes(first, wide, tap, padded.len());
                    let at = padded.as_ptr().wrapping_add(tap + first);
                    // SAFETY: the mask keeps every lane read inside `padded`.
                    unsafe { _mm512_maskz_loadu_ps(mask, at) }
                });
                for (m, row) in acc.iter_mut().enumerate() {
                    let w = _mm512_set1_ps(weight[m * patch + k]);
                    for (a, x) in row.iter_mut().zip(&inputs) {
                        *a = _mm512_fmadd_ps(*x, w, *a);
                    }
                }
            }
            for (m, row) in acc.iter().enumerate() {
                for (v, a) in row.iter().enumerate() {
                    let first = m * wide + start + v * LANES;
                    // SAFETY: the mask keeps every lane written inside row `m` of `z`.
                    unsafe {
                        _mm512_mask_storeu_ps(z.as_mut_ptr().wrapping_add(first), masks[v], *a)
                    };
                }
            }
            start += P * LANES;
        }
        M
    }

    /// Lanes of the vector of wide positions from `first` that lie inside `wide` and, read at
    /// `offset`, inside a buffer of `len` values.
    #[inline(always)]
    fn lanes(first: usize, wide: usize, offset: usize, len: usize) -> __mmask16 {
        let count = wide
            .saturating_sub(first)
            .min(len.saturating_sub(offset + first))
            .min(LANES);
        ((1u32 << count) - 1) as __mmask16
    }

    /// # Safety
    /// `padded` holds the padded image, `weight_t` `[patch, 16]` and `z` `[positions, 16]`
    /// values (the public wrapper asserts it).
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn forward_maps16(
        shape: &ConvShape,
        padded: &[f32],
        weight_t: &[f32],
        z: &mut [f32],
    ) {
        let taps = tap_offsets(shape);
        let (width, out_width) = (shape.padded_width(), shape.out_width());
        for y in 0..shape.out_height() {
            let row = &mut z[y * out_width * LANES..][..out_width * LANES];
            let input = &padded[y * width..];
            let mut x = 0;
            // A row of LeNet-5's C3 is 10 or 8 positions: one block of registers.
            while x < out_width {
                // SAFETY: forwarded from the caller; each block stays inside the row.
                x += unsafe {
                    match out_width - x {
                        left if left >= 10 => {
                            maps16_block::<10>(&input[x..], &taps, weight_t, &mut row[x * LANES..])
                        }
                        left if left >= 8 => {
                            maps16_block::<8>(&input[x..], &taps, weight_t, &mut row[x * LANES..])
                        }
                        left if left >= 4 => {
                            maps16_block::<4>(&input[x..], &taps, weight_t, &mut row[x * LANES..])
                        }
                        _ => maps16_block::<1>(&input[x..], &taps, weight_t, &mut row[x * LANES..]),
                    }
                };
            }
        }
    }

    /// `P` consecutive output positions of one row, all 16 maps; returns `P`.
    ///
    /// # Safety
    /// `input` holds, from each tap's offset, `P` values; `weight_t` a vector per tap, `z`
    /// `P` vectors.
    #[target_feature(enable = "avx512f")]
    #[inline]
    unsafe fn maps16_block<const P: usize>(
        input: &[f32],
        taps: &[usize],
        weight_t: &[f32],
        z: &mut [f32],
    ) -> usize {
        let mut acc = [_mm512_setzero_ps(); P];
        for (k, &tap) in taps.iter().enumerate() {
            // SAFETY: the caller's bounds.
            unsafe {
                let w = _mm512_loadu_ps(weight_t.as_ptr().add(k * LANES));
                let x = input.as_ptr().add(tap);
                for (p, a) in acc.iter_mut().enumerate() {
                    *a = _mm512_fmadd_ps(_mm512_set1_ps(*x.add(p)), w, *a);
                }
            }
        }
        for (p, a) in acc.iter().enumerate() {
            // SAFETY: the caller's bounds.
            unsafe { _mm512_storeu_ps(z.as_mut_ptr().add(p * LANES), *a) };
        }
        P
    }
}

#[cfg(test)]
mod tests {
    use super::super::matmul::{View, matmul};
    use super::super::testing::pattern;
    use super::*;

    /// LeNet-5's convolutions (classic C1 and C3; the Keras code's C1 unpadded and "same", its
    /// C3) and odd ones (maps, channels and widths that fill no block or vector).
    fn shapes() -> Vec<ConvShape> {
        let shape = |channels, maps, side, padding| ConvShape {
            batch: 1,
            channels,
            maps,
            height: side,
            width: side,
            kernel: 5,
            padding,
        };
        vec![
            shape(1, 6, 32, 0),
            shape(6, 16, 14, 0),
            shape(1, 6, 28, 0),
            shape(1, 6, 28, 2),
            shape(6, 16, 12, 0),
            shape(3, 7, 9, 0),
            shape(2, 16, 11, 2),
            shape(1, 17, 5, 0),
            shape(4, 16, 20, 1),
        ]
    }

    /// The unfolding and gemm, as the layer-by-layer kernels compute: the reference to the bit.
    fn through_gemm(shape: &ConvShape, padded: &[f32], weight: &[f32]) -> Vec<f32> {
        let (patch, wide) = (shape.patch(), shape.wide());
        let mut col = vec![0.0; patch * wide];
        shape.unfold(padded, &mut col);
        let mut z = vec![0.0; shape.maps * wide];
        let weight = View::row_major(weight, shape.maps, patch);
        matmul(weight, View::row_major(&col, patch, wide), &mut z, false);
        z
    }

    fn bits(values: &[f32]) -> Vec<u32> {
        values.iter().map(|x| x.to_bits()).collect()
    }

    /// Each shape's padded image, weight and gemm's product.
    fn cases() -> impl Iterator<Item = (ConvShape, Vec<f32>, Vec<f32>, Vec<f32>)> {
        shapes().into_iter().map(|shape| {
            let image = pattern(shape.image_len(), 0.3);
            let weight = pattern(shape.maps * shape.patch(), 1.1);
            let padded = shape.pad(&image, &mut Vec::new()).to_vec();
            let reference = through_gemm(&shape, &padded, &weight);
            (shape, padded, weight, reference)
        })
    }

    #[test]
    fn the_wide_direct_product_has_gemms_bits() {
        if !available() {
            // The fused pass takes gemm here; the features test covers that path.
            eprintln!("not run: this CPU lacks AVX-512F, so the direct products are never called");
            return;
        }
        for (shape, padded, weight, reference) in cases() {
            let mut z = vec![f32::NAN; shape.maps * shape.wide()];
            forward_wide(&shape, &padded, &weight, &mut z);
            assert_eq!(bits(&z), bits(&reference), "{shape:?}");
        }
    }

    #[test]
    fn the_maps_across_lanes_product_has_gemms_bits() {
        if !available() {
            eprintln!("not run: this CPU lacks AVX-512F, so the direct products are never called");
            return;
        }
        for (shape, padded, weight, reference) in cases().filter(|(s, ..)| s.maps == LANES) {
            let patch = shape.patch();
            let weight_t: Vec<f32> = (0..patch * LANES)
                .map(|i| weight[(i % LANES) * patch + i / LANES])
                .collect();
            let mut z = vec![f32::NAN; shape.positions() * LANES];
            forward_maps16(&shape, &padded, &weight_t, &mut z);
            let (width, out_width) = (shape.padded_width(), shape.out_width());
            let expected: Vec<f32> = (0..shape.positions() * LANES)
                .map(|i| {
                    let (p, m) = (i / LANES, i % LANES);
                    reference[m * shape.wide() + p / out_width * width + p % out_width]
                })
                .collect();
            assert_eq!(bits(&z), bits(&expected), "{shape:?}");
        }
    }
}
