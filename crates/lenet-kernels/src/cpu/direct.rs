//! The convolution's forward product computed directly, without the unfolded copy, on CPUs
//! with AVX-512: the same numbers as [`super::unfold`] followed by gemm, to the bit.
//!
//! Row `(c, ky, kx)` of the wide unfolding is a contiguous run of the padded image starting at
//! that tap's offset, so the product `weight · col` at 16 consecutive wide positions is, for
//! each tap in order, a multiply-add of one unaligned 16-value load of the image by the tap's
//! weight. Each output is the sum over taps in the same order, from zero, one fused
//! multiply-add at a time, as gemm's microkernels sum over `k` (a single block here: a patch has
//! at most 150 taps). What this saves is the copy into `col`, and gemm's packing of it, per
//! image; and 16 positions by several maps are accumulated in registers across all taps.

use super::ConvShape;

/// Positions per register (f32 lanes of a 512-bit vector).
const LANES: usize = 16;

/// `z = weight · unfold(padded)` (`z` is `[maps, wide]`), where the CPU has AVX-512F; `false`
/// (and `z` untouched) where it has not, for the caller to unfold and multiply.
pub(super) fn forward_wide(
    shape: &ConvShape,
    padded: &[f32],
    weight: &[f32],
    z: &mut [f32],
) -> bool {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU has AVX-512F (checked just above).
        unsafe { avx512::forward_wide(shape, padded, weight, z) };
        return true;
    }
    let _ = (shape, padded, weight, z);
    false
}

/// `padded_grad += fold(weightᵀ · pre)` (`pre` is the pre-activation gradient `[maps, wide]`,
/// `padded_grad` the padded image's gradient) where the CPU has AVX-512F, without the unfolded
/// gradient in between: each tap's row of `weightᵀ · pre`, summed over the maps in order from
/// zero, is added into the image's gradient tap after tap, as the fold adds the rows, so the
/// bits are those of gemm and the fold. `false` (nothing touched) where the CPU lacks AVX-512F.
pub(super) fn backward_input(
    shape: &ConvShape,
    pre: &[f32],
    weight: &[f32],
    padded_grad: &mut [f32],
) -> bool {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU has AVX-512F (checked just above).
        unsafe { avx512::backward_input(shape, pre, weight, padded_grad) };
        return true;
    }
    let _ = (shape, pre, weight, padded_grad);
    false
}

/// Each tap's offset in the padded image, in the unfolding's row order `(c, ky, kx)`.
fn tap_offsets(shape: &ConvShape, padded_len: usize) -> Vec<usize> {
    let (plane, width) = (padded_len / shape.channels, shape.padded_width());
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
        let taps = tap_offsets(shape, padded.len());
        // Register blocks: 4 vectors of positions by 6 maps (C1), or 2 by 8 (C3's sixteen
        // maps in two blocks); one map at a time for any other count.
        let mut map = 0;
        while map < shape.maps {
            let (weight, z) = (&weight[map * patch..], &mut z[map * wide..]);
            map += match shape.maps - map {
                left if left % 8 == 0 => block::<2, 8>(padded, &taps, weight, wide, z),
                left if left >= 6 => block::<4, 6>(padded, &taps, weight, wide, z),
                _ => block::<2, 1>(padded, &taps, weight, wide, z),
            };
        }
    }

    /// `M` maps (rows of `weight` from its start, `z`'s rows likewise) over every wide
    /// position, `P` vectors of positions at a time; returns `M`.
    #[target_feature(enable = "avx512f")]
    #[inline]
    fn block<const P: usize, const M: usize>(
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

    #[target_feature(enable = "avx512f")]
    pub(super) fn backward_input(
        shape: &ConvShape,
        pre: &[f32],
        weight: &[f32],
        padded_grad: &mut [f32],
    ) {
        let (patch, wide, maps) = (shape.patch(), shape.wide(), shape.maps);
        let len = padded_grad.len();
        let taps = tap_offsets(shape, len);
        // One tap at a time over every position, so that each element of the image's gradient
        // receives its taps' contributions in tap order, as the fold adds them.
        const P: usize = 2;
        for (tap, &offset) in taps.iter().enumerate() {
            let mut start = 0;
            while start < wide {
                let mut acc = [_mm512_setzero_ps(); P];
                for m in 0..maps {
                    let w = _mm512_set1_ps(weight[m * patch + tap]);
                    for (v, a) in acc.iter_mut().enumerate() {
                        let first = start + v * LANES;
                        let mask = lanes(first, wide, 0, usize::MAX);
                        let row = pre.as_ptr().wrapping_add(m * wide + first);
                        // SAFETY: the mask keeps every lane inside row `m` of `pre`.
                        let row = unsafe { _mm512_maskz_loadu_ps(mask, row) };
                        *a = _mm512_fmadd_ps(row, w, *a);
                    }
                }
                for (v, a) in acc.iter().enumerate() {
                    let first = start + v * LANES;
                    let mask = lanes(first, wide, offset, len);
                    let at = padded_grad.as_mut_ptr().wrapping_add(offset + first);
                    // SAFETY: the mask keeps every lane inside `padded_grad`.
                    unsafe {
                        let sum = _mm512_add_ps(_mm512_maskz_loadu_ps(mask, at), *a);
                        _mm512_mask_storeu_ps(at, mask, sum);
                    }
                }
                start += P * LANES;
            }
        }
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
            shape(2, 3, 11, 2),
            shape(1, 17, 5, 0),
        ]
    }

    /// The unfolding and gemm, as `conv_forward` computed before: the reference to the bit.
    fn through_gemm(shape: &ConvShape, padded: &[f32], weight: &[f32]) -> Vec<f32> {
        let (patch, wide) = (shape.patch(), shape.wide());
        let mut col = vec![0.0; patch * wide];
        shape.unfold(padded, &mut col);
        let mut z = vec![0.0; shape.maps * wide];
        let weight = View::row_major(weight, shape.maps, patch);
        matmul(weight, View::row_major(&col, patch, wide), &mut z, false);
        z
    }

    #[test]
    fn the_direct_product_has_the_unfolded_products_bits_or_declines() {
        let avx512 = cfg!(target_arch = "x86_64") && std::arch::is_x86_feature_detected!("avx512f");
        for shape in shapes() {
            let image = pattern(shape.image_len(), 0.3);
            let weight = pattern(shape.maps * shape.patch(), 1.1);
            let mut buffer = Vec::new();
            let padded = shape.pad(&image, &mut buffer).to_vec();
            let mut z = vec![f32::NAN; shape.maps * shape.wide()];
            let done = forward_wide(&shape, &padded, &weight, &mut z);
            assert_eq!(done, avx512, "{shape:?}");
            if !done {
                // Declined: `z` is left for the caller to fill.
                assert!(z.iter().all(|v| v.is_nan()));
                continue;
            }
            let reference = through_gemm(&shape, &padded, &weight);
            assert_eq!(bits(&z), bits(&reference), "{shape:?}");
        }
    }

    fn bits(values: &[f32]) -> Vec<u32> {
        values.iter().map(|x| x.to_bits()).collect()
    }

    #[test]
    fn the_direct_input_gradient_has_gemms_and_the_folds_bits_or_declines() {
        let avx512 = cfg!(target_arch = "x86_64") && std::arch::is_x86_feature_detected!("avx512f");
        for shape in shapes() {
            let (patch, wide) = (shape.patch(), shape.wide());
            let pre = pattern(shape.maps * wide, 0.7);
            let weight = pattern(shape.maps * patch, 1.1);
            // An image gradient that already holds something, as padded_grad may not.
            let start = pattern(shape.padded_len(), 2.3);
            let mut grad = start.clone();
            let done = backward_input(&shape, &pre, &weight, &mut grad);
            assert_eq!(done, avx512, "{shape:?}");
            if !done {
                assert_eq!(grad, start, "declined: untouched");
                continue;
            }
            let mut col = vec![0.0; patch * wide];
            let weight = View::row_major(&weight, shape.maps, patch);
            matmul(
                weight.t(),
                View::row_major(&pre, shape.maps, wide),
                &mut col,
                false,
            );
            let mut reference = start;
            shape.fold(&col, &mut reference);
            assert_eq!(bits(&grad), bits(&reference), "{shape:?}");
        }
    }
}
