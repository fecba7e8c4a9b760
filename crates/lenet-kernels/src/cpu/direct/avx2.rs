//! The direct kernels with AVX2 and FMA: 8 lanes, 16 registers. The same arithmetic as the
//! AVX-512 ones in blocks that fit half the registers: C1 one map at a time (two rows of up to
//! four vectors), C3 one pooling window at a time (two rows by two positions, each position's
//! 16 maps in two vectors), or, where training stores its maps unpooled, five positions of a
//! row at a time.

use std::arch::x86_64::*;

use super::vector::{activate_each, pool_each};
use super::{KERNEL, Layer, MAPS};

/// f32 lanes of a 256-bit vector.
const LANES: usize = 8;

/// A mask (all bits set in a lane) of the first `count` lanes, for masked loads and stores.
///
/// # Safety
/// Inlined into AVX2 code only.
#[inline(always)]
pub(super) unsafe fn first(count: usize) -> __m256i {
    // SAFETY: the caller's AVX2.
    unsafe {
        let lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        _mm256_cmpgt_epi32(_mm256_set1_epi32(count.min(LANES) as i32), lanes)
    }
}

/// The even and the odd lanes of `a` then `b`: a row's window columns.
///
/// # Safety
/// Inlined into AVX2 code only.
#[inline(always)]
unsafe fn columns(a: __m256, b: __m256) -> [__m256; 2] {
    // SAFETY: the caller's AVX2.
    unsafe {
        // In each 128-bit half: a0 a2 b0 b2 (a4 a6 b4 b6), then the 64-bit pairs reordered.
        let order =
            |v: __m256| _mm256_castpd_ps(_mm256_permute4x64_pd::<0xD8>(_mm256_castps_pd(v)));
        [
            order(_mm256_shuffle_ps::<0x88>(a, b)),
            order(_mm256_shuffle_ps::<0xDD>(a, b)),
        ]
    }
}

/// # Safety
/// The lengths that the public wrapper asserts.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn conv_pool_rows(layer: Layer, padded: &[f32], weight: &[f32], y: &mut [f32]) {
    // SAFETY: forwarded; `rows_fit` admits rows of up to four vectors.
    unsafe {
        let width = layer.shape.out_width();
        match (width.div_ceil(LANES), width.is_multiple_of(LANES)) {
            (1, true) => rows::<1, false>(layer, padded, weight, y),
            (1, false) => rows::<1, true>(layer, padded, weight, y),
            (2, true) => rows::<2, false>(layer, padded, weight, y),
            (2, false) => rows::<2, true>(layer, padded, weight, y),
            (3, true) => rows::<3, false>(layer, padded, weight, y),
            (3, false) => rows::<3, true>(layer, padded, weight, y),
            (4, true) => rows::<4, false>(layer, padded, weight, y),
            (4, false) => rows::<4, true>(layer, padded, weight, y),
            (vectors, _) => unreachable!("rows_fit admits no row of {vectors} vectors"),
        }
    }
}

/// Every map, every pair of rows of `V` vectors, the last of them `PARTIAL` (masked) or whole:
/// known when compiled, so that the loop over the taps holds no branch.
///
/// # Safety
/// The lengths that the public wrapper asserts.
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn rows<const V: usize, const PARTIAL: bool>(
    layer: Layer,
    padded: &[f32],
    weight: &[f32],
    y: &mut [f32],
) {
    let shape = layer.shape;
    let (patch, width, out_width) = (shape.patch(), shape.padded_width(), shape.out_width());
    let (pooled_width, pooled_plane) = (out_width / 2, shape.positions() / 4);
    let plane = shape.padded_len() / shape.channels;
    // SAFETY: inlined AVX2 helpers.
    let masks: [__m256i; V] =
        std::array::from_fn(|v| unsafe { first(out_width.saturating_sub(v * LANES)) });
    // Whole vectors store plainly: AMD's masked moves are slower than plain ones (a masked
    // load issues at half their rate, a masked store far slower still). Loads are all plain:
    // a partial vector's extra lanes read the next row, or the slack after the image.
    let whole: [bool; V] = std::array::from_fn(|v| v + 1 < V || !PARTIAL);
    // A partial vector stores plainly where its extra lanes stay inside this image's output:
    // they land on the rows after it, which are written later, in memory's order.
    let output_len = shape.maps * layer.output_plane();
    for m in 0..shape.maps {
        let bias = _mm256_set1_ps(layer.bias[m]);
        for py in 0..shape.out_height() / 2 {
            let mut acc = [[_mm256_setzero_ps(); V]; 2];
            // Each input row's vectors loaded once for both output rows (the top row's taps
            // `ky = i`, the bottom's `ky = i - 1`): each output still sums its taps in the
            // unfolding's order `(c, ky, kx)`.
            for c in 0..shape.channels {
                for i in 0..=KERNEL {
                    let row = c * plane + (2 * py + i) * width;
                    let tap = |ky: usize, kx: usize| m * patch + (c * KERNEL + ky) * KERNEL + kx;
                    for kx in 0..KERNEL {
                        let x: [__m256; V] = std::array::from_fn(|v| {
                            // SAFETY: the output rows' taps lie inside `padded`, and a partial
                            // vector's lanes past them inside its asserted slack.
                            unsafe { _mm256_loadu_ps(padded.as_ptr().add(row + kx + v * LANES)) }
                        });
                        for r in 0..2 {
                            if i < r || i - r == KERNEL {
                                continue;
                            }
                            // SAFETY: the wrapper asserted the weight's length.
                            let w =
                                _mm256_set1_ps(unsafe { *weight.get_unchecked(tap(i - r, kx)) });
                            for v in 0..V {
                                acc[r][v] = _mm256_fmadd_ps(x[v], w, acc[r][v]);
                            }
                        }
                    }
                }
            }
            let mut act = acc;
            for r in 0..2 {
                // SAFETY: an inlined AVX2 helper.
                act[r] = unsafe { activate_each(layer.activation, acc[r], bias) };
            }
            let Some(pooling) = layer.pooling else {
                for r in 0..2 {
                    for v in 0..V {
                        let at = m * shape.positions() + (2 * py + r) * out_width + v * LANES;
                        // SAFETY: a whole vector, or one ending inside the output, or the mask
                        // keeps the lanes written inside this image's output.
                        unsafe {
                            let to = y.as_mut_ptr().wrapping_add(at);
                            if whole[v] || at + LANES <= output_len {
                                _mm256_storeu_ps(to, act[r][v]);
                            } else {
                                _mm256_maskstore_ps(to, masks[v], act[r][v]);
                            }
                        }
                    }
                }
                continue;
            };
            // A row's vectors in pairs (`rows_fit` admits at most two); an odd last one pairs
            // with itself, pooled and dropped, and so does a missing second pair.
            let mut windows = [[_mm256_setzero_ps(); 4]; 2];
            for j in 0..2 {
                let (left, right) = ((2 * j).min(V - 1), (2 * j + 1).min(V - 1));
                // SAFETY: inlined AVX2 helpers.
                let (top, bottom) = unsafe {
                    (
                        columns(act[0][left], act[0][right]),
                        columns(act[1][left], act[1][right]),
                    )
                };
                windows[j] = [top[0], top[1], bottom[0], bottom[1]];
            }
            // SAFETY: an inlined AVX2 helper.
            let pooled = unsafe { pool_each(pooling, windows) };
            for j in 0..V.div_ceil(2) {
                let at = m * pooled_plane + py * pooled_width + j * LANES;
                // SAFETY: a whole vector, or one ending inside the output, or the mask keeps
                // the lanes written inside this image's pooled output.
                unsafe {
                    let to = y.as_mut_ptr().add(at);
                    if (j + 1) * LANES <= pooled_width || at + LANES <= output_len {
                        _mm256_storeu_ps(to, pooled[j]);
                    } else {
                        let mask = first(pooled_width.saturating_sub(j * LANES));
                        _mm256_maskstore_ps(to, mask, pooled[j]);
                    }
                }
            }
        }
    }
}

/// # Safety
/// The lengths that the public wrapper asserts.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn conv_pool_maps16(
    layer: Layer,
    taps: &[usize],
    padded: &[f32],
    weight_t: &[f32],
    y: &mut [f32],
) {
    let shape = layer.shape;
    let width = shape.padded_width();
    let pooled_width = shape.out_width() / 2;
    let plane = layer.output_plane();
    // SAFETY: the wrapper asserted 16 biases.
    let bias = unsafe { [0, 1].map(|h| _mm256_loadu_ps(layer.bias.as_ptr().add(h * LANES))) };
    let Some(pooling) = layer.pooling else {
        // SAFETY: forwarded.
        unsafe { maps16_rows(layer, taps, padded, weight_t, bias, y) };
        return;
    };
    for py in 0..shape.out_height() / 2 {
        for px in 0..pooled_width {
            // A window's four positions (row, column), each position's maps in two halves.
            let mut acc = [[[_mm256_setzero_ps(); 2]; 2]; 2];
            for (k, &tap) in taps.iter().enumerate() {
                // SAFETY: one vector pair per tap in `weight_t`; every input read lies inside
                // the padded image (the output's rows and columns with the kernel's reach).
                unsafe {
                    let w = [0, 1]
                        .map(|h| _mm256_loadu_ps(weight_t.as_ptr().add(k * MAPS + h * LANES)));
                    for r in 0..2 {
                        let row = padded.as_ptr().add(tap + (2 * py + r) * width + 2 * px);
                        for c in 0..2 {
                            let x = _mm256_set1_ps(*row.add(c));
                            for h in 0..2 {
                                acc[r][c][h] = _mm256_fmadd_ps(x, w[h], acc[r][c][h]);
                            }
                        }
                    }
                }
            }
            // Each half's four positions activated together, then both halves' windows
            // pooled together (their tanh interleaved).
            let mut windows = [[_mm256_setzero_ps(); 4]; 2];
            for h in 0..2 {
                let window = [acc[0][0][h], acc[0][1][h], acc[1][0][h], acc[1][1][h]];
                // SAFETY: an inlined AVX2 helper.
                windows[h] = unsafe { activate_each(layer.activation, window, bias[h]) };
            }
            let mut lanes = [0.0f32; LANES];
            // SAFETY: an inlined AVX2 helper.
            let pooled = unsafe { pool_each(pooling, windows) };
            for h in 0..2 {
                // SAFETY: `lanes` holds one vector.
                unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), pooled[h]) };
                let q = py * pooled_width + px;
                for (lane, &v) in lanes.iter().enumerate() {
                    y[(h * LANES + lane) * plane + q] = v;
                }
            }
        }
    }
}

/// Positions of a row that [`maps16_rows`] computes together: ten accumulators.
const ROW_BLOCK: usize = 5;

/// [`conv_pool_maps16`] without pooling (training stores the activated maps): each row
/// [`ROW_BLOCK`] positions at a time, where a pooling window's four positions keep 8
/// accumulators, just as many as the multiply-adds' latency needs at their full rate.
///
/// # Safety
/// The lengths that the public wrapper asserts.
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn maps16_rows(
    layer: Layer,
    taps: &[usize],
    padded: &[f32],
    weight_t: &[f32],
    bias: [__m256; 2],
    y: &mut [f32],
) {
    let out_width = layer.shape.out_width();
    let block = Block {
        layer,
        taps,
        padded,
        weight_t,
        bias,
    };
    for oy in 0..layer.shape.out_height() {
        let mut ox = 0;
        // SAFETY: forwarded; each block's positions lie inside the row.
        unsafe {
            while ox + ROW_BLOCK <= out_width {
                block.store::<ROW_BLOCK>(oy, ox, y);
                ox += ROW_BLOCK;
            }
            match out_width - ox {
                0 => {}
                1 => block.store::<1>(oy, ox, y),
                2 => block.store::<2>(oy, ox, y),
                3 => block.store::<3>(oy, ox, y),
                4 => block.store::<4>(oy, ox, y),
                left => unreachable!("{left} positions left of blocks of {ROW_BLOCK}"),
            }
        }
    }
}

/// The operands of [`maps16_rows`].
struct Block<'a> {
    layer: Layer<'a>,
    taps: &'a [usize],
    padded: &'a [f32],
    weight_t: &'a [f32],
    bias: [__m256; 2],
}

impl Block<'_> {
    /// The activated maps at `P` positions of row `oy` from column `ox`, stored in `y`.
    ///
    /// # Safety
    /// The lengths that the public wrapper asserts; the positions lie inside the row.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn store<const P: usize>(&self, oy: usize, ox: usize, y: &mut [f32]) {
        let shape = self.layer.shape;
        let (width, out_width, plane) =
            (shape.padded_width(), shape.out_width(), shape.positions());
        let mut acc = [[_mm256_setzero_ps(); 2]; P];
        for (k, &tap) in self.taps.iter().enumerate() {
            // SAFETY: one vector pair per tap in `weight_t`; every input read lies inside the
            // padded image (the output's rows and columns with the kernel's reach).
            unsafe {
                let w = [0, 1]
                    .map(|h| _mm256_loadu_ps(self.weight_t.as_ptr().add(k * MAPS + h * LANES)));
                let row = self.padded.as_ptr().add(tap + oy * width + ox);
                for p in 0..P {
                    let x = _mm256_set1_ps(*row.add(p));
                    for h in 0..2 {
                        acc[p][h] = _mm256_fmadd_ps(x, w[h], acc[p][h]);
                    }
                }
            }
        }
        let mut lanes = [0.0f32; LANES];
        for h in 0..2 {
            let z: [__m256; P] = std::array::from_fn(|p| acc[p][h]);
            // SAFETY: an inlined AVX2 helper.
            let activated = unsafe { activate_each(self.layer.activation, z, self.bias[h]) };
            for (p, value) in activated.into_iter().enumerate() {
                // SAFETY: `lanes` holds one vector.
                unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), value) };
                let at = oy * out_width + ox + p;
                for (lane, &v) in lanes.iter().enumerate() {
                    y[(h * LANES + lane) * plane + at] = v;
                }
            }
        }
    }
}
