//! C3's gradients with AVX2 and FMA, without the unfolded matrix.
//!
//! - The input's: where the layer-by-layer backward pass computes `col = weight^T · pre`
//!   (gemm) and then folds `col` into the padded image's gradient, [`add_input_gradient`]
//!   computes each kernel row's five unfolded rows in registers (five taps share each load of
//!   `pre`) and adds them in at once, in the fold's order.
//! - The weight's: where it unfolds the image and computes `col · pre^T` (gemm, which packs the
//!   unfolding again), [`add_weight_gradient`] reads each unfolded row straight from the padded
//!   image, six taps by the 16 maps at a time.
//! - C1's weight (6 maps): where gemm takes a product this small (at most 256 values) as dot
//!   products of the unfolded rows with `pre`'s, 8 lanes summed apart and then across,
//!   [`add_weight_gradient_horizontal`] computes the same dot products with each unfolded row
//!   read straight from the padded image, two taps by six maps at a time.
//!
//! The arithmetic is theirs to the bit: each value sums its products in gemm's order from zero,
//! one fused multiply-add at a time, as gemm's microkernels sum over `k` (the horizontal
//! kernel's lanes then summed in its order), and is then added where gemm and the fold add it.

use std::arch::x86_64::*;

use super::super::ConvShape;
use super::KERNEL;
use super::avx2::first;

/// f32 lanes of a 256-bit vector.
const LANES: usize = 8;

/// Vectors of the wide output computed together, per tap.
const BLOCK: usize = 2;
const _: () = assert!(BLOCK * LANES <= super::PRE_SLACK);

/// Adds the input gradient of the convolution `shape` (its [`KERNEL`]-wide weight `[maps,
/// patch]`) into `padded_grad`, the padded image's gradient, from `pre`, the gradient before
/// the activation, `[maps, wide]` with the dropped columns 0, followed by at least a vector's
/// slack (read, never used). `buffer` is scratch.
///
/// # Safety
/// The CPU has AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub(in crate::cpu) unsafe fn add_input_gradient(
    shape: &ConvShape,
    weight: &[f32],
    pre: &[f32],
    padded_grad: &mut [f32],
    buffer: &mut Vec<f32>,
) {
    let (wide, patch) = (shape.wide(), shape.patch());
    let groups = wide.div_ceil(LANES * BLOCK);
    let stride = groups * LANES * BLOCK;
    assert!(shape.kernel == KERNEL && weight.len() >= shape.maps * patch);
    assert!(pre.len() >= (shape.maps - 1) * wide + stride);
    assert!(padded_grad.len() >= shape.padded_len());
    buffer.resize(KERNEL * stride, 0.0);
    for c in 0..shape.channels {
        for ky in 0..KERNEL {
            let taps = (c * KERNEL + ky) * KERNEL;
            for g in 0..groups {
                let mut acc = [[_mm256_setzero_ps(); BLOCK]; KERNEL];
                for m in 0..shape.maps {
                    let mut x = [_mm256_setzero_ps(); BLOCK];
                    for b in 0..BLOCK {
                        let at = m * wide + (g * BLOCK + b) * LANES;
                        // SAFETY: `pre`'s length and slack, asserted above, hold the block.
                        x[b] = unsafe { _mm256_loadu_ps(pre.as_ptr().add(at)) };
                    }
                    for kx in 0..KERNEL {
                        // SAFETY: inside the weight's asserted length.
                        let w = unsafe { *weight.get_unchecked(m * patch + taps + kx) };
                        let w = _mm256_set1_ps(w);
                        for b in 0..BLOCK {
                            acc[kx][b] = _mm256_fmadd_ps(w, x[b], acc[kx][b]);
                        }
                    }
                }
                for kx in 0..KERNEL {
                    for b in 0..BLOCK {
                        let at = kx * stride + (g * BLOCK + b) * LANES;
                        // SAFETY: `buffer` holds `KERNEL` rows of `stride`.
                        unsafe { _mm256_storeu_ps(buffer.as_mut_ptr().add(at), acc[kx][b]) };
                    }
                }
            }
            // The fold's additions, in its order: each tap's wide run, cut at the buffer's end.
            for kx in 0..KERNEL {
                let (start, len) = shape.tap_run(taps + kx);
                let row = &buffer[kx * stride..][..len];
                for (d, s) in padded_grad[start..start + len].iter_mut().zip(row) {
                    *d += s;
                }
            }
        }
    }
}

/// Taps of the weight's gradient computed together: 6 taps by 16 maps fill 12 of AVX2's 16
/// registers.
const TAPS: usize = 6;

/// Adds `col · pre^T`, the weight's gradient of the convolution `shape` (16 maps) transposed,
/// `[patch, 16]`, into `weight_grad`, reading each unfolded row straight from `padded`, the
/// padded image followed by `kernel - 1` zeros (where the unfolding's last rows run past the
/// image, it holds zeros); `pre` is the gradient before the activation, `[16, wide]`, which
/// is transposed into `pre_t` first.
///
/// # Safety
/// The CPU has AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub(in crate::cpu) unsafe fn add_weight_gradient(
    shape: &ConvShape,
    padded: &[f32],
    pre: &[f32],
    pre_t: &mut Vec<f32>,
    weight_grad: &mut [f32],
) {
    let (wide, patch) = (shape.wide(), shape.patch());
    assert!(pre.len() >= super::MAPS * wide);
    // SAFETY: the caller's features.
    unsafe { transpose_maps(&pre[..super::MAPS * wide], wide, pre_t) };
    let pre_t = &pre_t[..];
    let start = |tap: usize| shape.tap_run(tap).0;
    assert!(shape.maps == super::MAPS && shape.kernel == KERNEL);
    assert!(padded.len() >= shape.padded_len() + KERNEL - 1 && pre_t.len() >= wide * super::MAPS);
    assert!(weight_grad.len() >= shape.patch() * super::MAPS);
    let mut first = 0;
    // SAFETY: forwarded, with the lengths asserted above.
    unsafe {
        while first + TAPS <= patch {
            let starts = std::array::from_fn(|t| start(first + t));
            taps::<TAPS>(starts, first, wide, padded, pre_t, weight_grad);
            first += TAPS;
        }
        let left = patch - first;
        let starts: [usize; TAPS] = std::array::from_fn(|t| start(first + t.min(left)));
        let [a, b, c, d, e, _] = starts;
        match left {
            0 => {}
            1 => taps::<1>([a], first, wide, padded, pre_t, weight_grad),
            2 => taps::<2>([a, b], first, wide, padded, pre_t, weight_grad),
            3 => taps::<3>([a, b, c], first, wide, padded, pre_t, weight_grad),
            4 => taps::<4>([a, b, c, d], first, wide, padded, pre_t, weight_grad),
            5 => taps::<5>([a, b, c, d, e], first, wide, padded, pre_t, weight_grad),
            left => unreachable!("{left} taps left of blocks of {TAPS}"),
        }
    }
}

/// `T` taps from `first` of [`add_weight_gradient`]: each value summed over the wide
/// positions from zero, one fused multiply-add at a time, as gemm's microkernels sum over `k`,
/// then added to the gradient so far.
///
/// # Safety
/// The lengths that [`add_weight_gradient`] asserts.
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn taps<const T: usize>(
    starts: [usize; T],
    first: usize,
    wide: usize,
    padded: &[f32],
    pre_t: &[f32],
    weight_grad: &mut [f32],
) {
    let mut acc = [[_mm256_setzero_ps(); 2]; T];
    let mut rows = [padded.as_ptr(); T];
    for t in 0..T {
        rows[t] = padded.as_ptr().wrapping_add(starts[t]);
    }
    for p in 0..wide {
        // SAFETY: `pre_t` holds `wide` rows of 16; each tap's row of `wide` lies inside the
        // padded image and its zeros.
        unsafe {
            let pre = pre_t.as_ptr().add(p * super::MAPS);
            let x = [_mm256_loadu_ps(pre), _mm256_loadu_ps(pre.add(LANES))];
            for t in 0..T {
                let value = _mm256_set1_ps(*rows[t].add(p));
                for h in 0..2 {
                    acc[t][h] = _mm256_fmadd_ps(x[h], value, acc[t][h]);
                }
            }
        }
    }
    for t in 0..T {
        for h in 0..2 {
            // SAFETY: the gradient holds `patch` rows of 16.
            unsafe {
                let to = weight_grad
                    .as_mut_ptr()
                    .add((first + t) * super::MAPS + h * LANES);
                _mm256_storeu_ps(to, _mm256_add_ps(_mm256_loadu_ps(to), acc[t][h]));
            }
        }
    }
}

/// Taps and maps of [`add_weight_gradient_horizontal`] computed together: two taps by six
/// maps fill 12 of AVX2's 16 registers, and each load of `pre` serves two taps.
const H_TAPS: usize = 2;
const H_MAPS: usize = 6;

/// Whether gemm takes `col · pre^T` for `shape` as dot products, and so
/// [`add_weight_gradient_horizontal`] computes its bits: a product of at most 256 values (its
/// horizontal kernels), summed over at most 1024 positions (one block of `k`).
pub(in crate::cpu) fn horizontal_fits(shape: &ConvShape) -> bool {
    shape.maps * shape.patch() <= 256 && shape.wide() <= 1024
}

/// Adds `col · pre^T`, the weight's gradient of the convolution `shape` transposed, `[patch,
/// maps]`, into `weight_grad`, as gemm's horizontal kernels compute it (where
/// [`horizontal_fits`]): each value the dot product of an unfolded row, read straight from
/// `padded` (the padded image followed by at least `kernel - 1` zeros), with a row of `pre`,
/// the gradient before the activation, `[maps, wide]`.
///
/// # Safety
/// The CPU has AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub(in crate::cpu) unsafe fn add_weight_gradient_horizontal(
    shape: &ConvShape,
    padded: &[f32],
    pre: &[f32],
    weight_grad: &mut [f32],
) {
    let (wide, patch, maps) = (shape.wide(), shape.patch(), shape.maps);
    assert!(horizontal_fits(shape) && shape.kernel == KERNEL);
    assert!(padded.len() >= shape.padded_len() + KERNEL - 1 && pre.len() >= maps * wide);
    assert!(weight_grad.len() >= patch * maps);
    let start = |tap: usize| shape.tap_run(tap).0;
    let dots = Dots {
        wide,
        maps,
        padded,
        pre,
    };
    // Each value is its own dot product, so the blocks do not change the bits.
    let mut first_map = 0;
    // SAFETY: forwarded, with the lengths asserted above.
    unsafe {
        while first_map + H_MAPS <= maps {
            let mut tap = 0;
            while tap + H_TAPS <= patch {
                let starts = [start(tap), start(tap + 1)];
                dots.add::<H_TAPS, H_MAPS>(starts, tap, first_map, weight_grad);
                tap += H_TAPS;
            }
            if tap < patch {
                dots.add::<1, H_MAPS>([start(tap)], tap, first_map, weight_grad);
            }
            first_map += H_MAPS;
        }
        for map in first_map..maps {
            for tap in 0..patch {
                dots.add::<1, 1>([start(tap)], tap, map, weight_grad);
            }
        }
    }
}

/// The operands of [`add_weight_gradient_horizontal`].
struct Dots<'a> {
    wide: usize,
    maps: usize,
    padded: &'a [f32],
    pre: &'a [f32],
}

impl Dots<'_> {
    /// `T` taps (their unfolded rows starting at `starts`, the first `first_tap`) by `M` maps
    /// from `first_map`: each dot product summed in 8 lanes, 8 positions at a time from zero
    /// (the last, partial 8 loaded with zeros in the missing lanes), the lanes then summed as
    /// gemm's `reduce_sum` sums them, and the result added to the gradient.
    ///
    /// # Safety
    /// The CPU has AVX2 and FMA; the lengths that [`add_weight_gradient_horizontal`] asserts.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn add<const T: usize, const M: usize>(
        &self,
        starts: [usize; T],
        first_tap: usize,
        first_map: usize,
        weight_grad: &mut [f32],
    ) {
        let wide = self.wide;
        let mut acc = [[_mm256_setzero_ps(); M]; T];
        let rows: [*const f32; T] = std::array::from_fn(|t| self.padded[starts[t]..].as_ptr());
        let pre = |m: usize| self.pre[(first_map + m) * wide..].as_ptr();
        let whole = wide / LANES * LANES;
        // SAFETY: each unfolded row's `wide` values lie inside `padded` and its zeros after,
        // each `pre` row's inside `pre`; the last partial block loads only its lanes.
        unsafe {
            let mut at = 0;
            while at < whole {
                let x: [__m256; T] = std::array::from_fn(|t| _mm256_loadu_ps(rows[t].add(at)));
                for m in 0..M {
                    let p = _mm256_loadu_ps(pre(m).add(at));
                    for t in 0..T {
                        acc[t][m] = _mm256_fmadd_ps(p, x[t], acc[t][m]);
                    }
                }
                at += LANES;
            }
            if at < wide {
                let mask = first(wide - at);
                let x: [__m256; T] =
                    std::array::from_fn(|t| _mm256_maskload_ps(rows[t].add(at), mask));
                for m in 0..M {
                    let p = _mm256_maskload_ps(pre(m).add(at), mask);
                    for t in 0..T {
                        acc[t][m] = _mm256_fmadd_ps(p, x[t], acc[t][m]);
                    }
                }
            }
        }
        for t in 0..T {
            for m in 0..M {
                let at = (first_tap + t) * self.maps + first_map + m;
                weight_grad[at] += reduce_sum(acc[t][m]);
            }
        }
    }
}

/// gemm's sum of a vector's 8 lanes, in its order: the halves added, then the upper pair onto
/// the lower, then the two left.
#[target_feature(enable = "avx2")]
#[inline]
fn reduce_sum(v: __m256) -> f32 {
    let x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let pairs = _mm_add_ps(x, _mm_movehl_ps(x, x));
    _mm_cvtss_f32(_mm_add_ss(pairs, _mm_shuffle_ps::<0b0001>(pairs, pairs)))
}

/// `pre_t = pre^T` for `pre` `[16, wide]`: 8 maps by 8 positions at a time through the
/// registers (unpack, shuffle, swap halves), the last positions one by one.
///
/// # Safety
/// The CPU has AVX2.
#[target_feature(enable = "avx2")]
unsafe fn transpose_maps(pre: &[f32], wide: usize, pre_t: &mut Vec<f32>) {
    const MAPS: usize = super::MAPS;
    pre_t.resize(wide * MAPS, 0.0);
    let blocks = wide / LANES;
    for half in 0..MAPS / LANES {
        for block in 0..blocks {
            let p = block * LANES;
            // SAFETY: rows `half * 8 ..` of `pre`, positions `p .. p + 8 <= wide`; each store
            // is one row of `pre_t` inside its `wide * 16` values.
            unsafe {
                let row =
                    |m: usize| _mm256_loadu_ps(pre.as_ptr().add((half * LANES + m) * wide + p));
                let r: [__m256; LANES] = [
                    row(0),
                    row(1),
                    row(2),
                    row(3),
                    row(4),
                    row(5),
                    row(6),
                    row(7),
                ];
                let t = [
                    _mm256_unpacklo_ps(r[0], r[1]),
                    _mm256_unpackhi_ps(r[0], r[1]),
                    _mm256_unpacklo_ps(r[2], r[3]),
                    _mm256_unpackhi_ps(r[2], r[3]),
                    _mm256_unpacklo_ps(r[4], r[5]),
                    _mm256_unpackhi_ps(r[4], r[5]),
                    _mm256_unpacklo_ps(r[6], r[7]),
                    _mm256_unpackhi_ps(r[6], r[7]),
                ];
                let u = [
                    _mm256_shuffle_ps::<0x44>(t[0], t[2]),
                    _mm256_shuffle_ps::<0xEE>(t[0], t[2]),
                    _mm256_shuffle_ps::<0x44>(t[1], t[3]),
                    _mm256_shuffle_ps::<0xEE>(t[1], t[3]),
                    _mm256_shuffle_ps::<0x44>(t[4], t[6]),
                    _mm256_shuffle_ps::<0xEE>(t[4], t[6]),
                    _mm256_shuffle_ps::<0x44>(t[5], t[7]),
                    _mm256_shuffle_ps::<0xEE>(t[5], t[7]),
                ];
                let columns = [
                    _mm256_permute2f128_ps::<0x20>(u[0], u[4]),
                    _mm256_permute2f128_ps::<0x20>(u[1], u[5]),
                    _mm256_permute2f128_ps::<0x20>(u[2], u[6]),
                    _mm256_permute2f128_ps::<0x20>(u[3], u[7]),
                    _mm256_permute2f128_ps::<0x31>(u[0], u[4]),
                    _mm256_permute2f128_ps::<0x31>(u[1], u[5]),
                    _mm256_permute2f128_ps::<0x31>(u[2], u[6]),
                    _mm256_permute2f128_ps::<0x31>(u[3], u[7]),
                ];
                for (i, column) in columns.into_iter().enumerate() {
                    let to = pre_t.as_mut_ptr().add((p + i) * MAPS + half * LANES);
                    _mm256_storeu_ps(to, column);
                }
            }
        }
    }
    for p in blocks * LANES..wide {
        for m in 0..MAPS {
            pre_t[p * MAPS + m] = pre[m * wide + p];
        }
    }
}
