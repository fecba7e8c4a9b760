//! C3's gradients without the unfolded matrix, with AVX2 and FMA or with AVX-512F (the same
//! code over either vector, [`Lanes`]; the fold's rows are AVX2's on both).
//!
//! C3's two kernels take the gradient before the activation compact, `[16, positions]`: the
//! wide layout's dropped columns (40 of C3's 140) would only add zero products.
//!
//! - The input's: where the layer-by-layer backward pass computes `col = weight^T · pre`
//!   (gemm) and then folds `col` into the padded image's gradient, [`add_input_gradient`]
//!   computes each kernel row's five unfolded rows in registers (five taps share each load of
//!   `pre`) and adds them in a padded row at a time, in the fold's order ([`Fold`]).
//! - The weight's: where it unfolds the image and computes `col · pre^T` (gemm, which packs the
//!   unfolding again), [`add_weight_gradient`] reads each unfolded row straight from the padded
//!   image, a kernel row's five taps (AVX2) or two rows' ten (AVX-512) by the 16 maps at a
//!   time: taps one float apart, so each block's inputs are one pointer per kernel row.
//!
//! The arithmetic is theirs to the bit: each value sums its products in gemm's order from zero,
//! one fused multiply-add at a time, as gemm's microkernels sum over `k` whatever their vectors'
//! width, and is then added where gemm and the fold add it.

use std::arch::x86_64::*;

use super::super::ConvShape;
use super::vector::Lanes;
use super::{Isa, KERNEL, MAPS, PRE_SLACK, maps16_shape};

/// f32 lanes of the fold's 256-bit vectors.
const LANES: usize = 8;

/// Vectors of output positions computed together, per tap.
const BLOCK: usize = 2;
const _: () = assert!(<__m512 as Lanes>::LANES <= PRE_SLACK + 1);

/// Adds the input gradient of the convolution `shape` (16 maps, its [`KERNEL`]-wide weight
/// `[16, patch]`) into `padded_grad`, the padded image's gradient, from `pre`, the gradient
/// before the activation, compact (`[16, positions]`), followed by at least 15 floats (read,
/// never used), with `isa`'s vectors. `buffer` is scratch.
///
/// The wide gradient's dropped columns are zeros: the matrix product makes zeros of them, and
/// the fold adds those to the image's gradient, which leaves each value as it was (a sum that
/// starts at +0 and adds finite values is never -0). So leaving them out keeps every bit.
///
/// # Safety
/// The CPU runs `isa`.
pub(in crate::cpu) unsafe fn add_input_gradient(
    isa: Isa,
    shape: &ConvShape,
    weight: &[f32],
    pre: &[f32],
    padded_grad: &mut [f32],
    buffer: &mut Vec<f32>,
) {
    let input = Input { shape, weight, pre };
    // SAFETY: the caller's CPU.
    unsafe {
        match isa {
            Isa::Avx2 => input.add_avx2(padded_grad, buffer),
            Isa::Avx512 => input.add_avx512(padded_grad, buffer),
        }
    }
}

/// The operands of [`add_input_gradient`].
struct Input<'a> {
    shape: &'a ConvShape,
    weight: &'a [f32],
    pre: &'a [f32],
}

impl Input<'_> {
    /// # Safety
    /// The CPU has AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn add_avx2(&self, padded_grad: &mut [f32], buffer: &mut Vec<f32>) {
        // SAFETY: the caller's features.
        unsafe { self.add::<__m256>(padded_grad, buffer) }
    }

    /// # Safety
    /// The CPU has AVX-512F.
    #[target_feature(enable = "avx512f")]
    unsafe fn add_avx512(&self, padded_grad: &mut [f32], buffer: &mut Vec<f32>) {
        // SAFETY: the caller's features.
        unsafe { self.add::<__m512>(padded_grad, buffer) }
    }

    /// Each kernel row's five taps computed into one half of `buffer`, [`BLOCK`] vectors of
    /// positions at a time, while the other half, the kernel row before, is folded in.
    ///
    /// # Safety
    /// `V`'s instructions (and AVX2's, which the fold uses) run here and the call is inlined
    /// into code compiled with them.
    #[inline(always)]
    unsafe fn add<V: Lanes>(&self, padded_grad: &mut [f32], buffer: &mut Vec<f32>) {
        let (shape, weight, pre) = (self.shape, self.weight, self.pre);
        let (positions, patch) = (shape.positions(), shape.patch());
        let vectors = positions.div_ceil(V::LANES);
        let stride = vectors * V::LANES;
        assert!(maps16_shape(shape) && shape.kernel == KERNEL && weight.len() >= MAPS * patch);
        assert!(pre.len() >= (MAPS - 1) * positions + stride);
        assert!(padded_grad.len() >= shape.padded_len());
        // Two kernel rows' taps: each row's are folded in after the next row's are computed,
        // by when their stores have left the store queue (see `Fold`).
        let rows = KERNEL * stride;
        buffer.resize(2 * rows, 0.0);
        let (one, other) = buffer.split_at_mut(rows);
        let mut halves = [one, other];
        // SAFETY: the caller's AVX2.
        let fold = unsafe { Fold::new(shape, stride) };
        let mut pending = None;
        for c in 0..shape.channels {
            for ky in 0..KERNEL {
                let taps = (c * KERNEL + ky) * KERNEL;
                let weight = &weight[taps..];
                let [computed, folding] = &mut halves;
                let mut first = 0;
                // SAFETY: the lengths asserted above hold each block's loads and stores.
                unsafe {
                    while first + BLOCK <= vectors {
                        tap_row::<V, BLOCK>(first, positions, patch, weight, pre, stride, computed);
                        first += BLOCK;
                    }
                    if first < vectors {
                        tap_row::<V, 1>(first, positions, patch, weight, pre, stride, computed);
                    }
                    if let Some(start) = pending {
                        // SAFETY: the kernel row's taps.
                        fold.add(start, folding, padded_grad);
                    }
                }
                pending = Some(shape.tap_run(taps).0);
                halves.swap(0, 1);
            }
        }
        if let Some(start) = pending {
            // SAFETY: as above.
            unsafe { fold.add(start, halves[1], padded_grad) };
        }
    }
}

/// The fold's additions of one kernel row's five taps, a row of the padded image's gradient at
/// a time: the row loaded once as two vectors, one at its start and one at its end (where
/// they overlap, both compute the same values), the five taps' values added in their order,
/// and the row stored once. Each tap's load is masked: a lane keeps the tap's value where the
/// tap adds one to that column, and is +0 elsewhere, which leaves the sum as it was (a
/// gradient here is never -0). Adding the taps one at a time instead made each tap's loads
/// wait on the previous tap's stores, one value over (a load that spans two queued stores
/// cannot take its bytes from them); a second vector running on into the next row would make
/// that row's first load wait the same way.
struct Fold {
    width: usize,
    out_width: usize,
    out_height: usize,
    stride: usize,
    /// Lane `l` of tap `kx`'s first vector keeps the tap's value at output column `l - kx`,
    /// of its second at `width - 8 + l - kx`, where the tap adds one there.
    masks: [[__m256; 2]; KERNEL],
}

impl Fold {
    /// # Safety
    /// The CPU has AVX2.
    #[target_feature(enable = "avx2")]
    unsafe fn new(shape: &ConvShape, stride: usize) -> Self {
        assert!(maps16_shape(shape));
        let (width, out_width) = (shape.padded_width(), shape.out_width());
        let masks = std::array::from_fn(|kx| {
            std::array::from_fn(|half| {
                let lanes: [f32; LANES] = std::array::from_fn(|l| {
                    let padded = if half == 0 { l } else { width - LANES + l };
                    let column = padded.wrapping_sub(kx);
                    f32::from_bits(if column < out_width { u32::MAX } else { 0 })
                });
                // SAFETY: eight floats.
                unsafe { _mm256_loadu_ps(lanes.as_ptr()) }
            })
        });
        Self {
            width,
            out_width,
            out_height: shape.out_height(),
            stride,
            masks,
        }
    }

    /// Adds the kernel row's taps, `buffer`'s first [`KERNEL`] rows of `stride`, to
    /// `padded_grad` from `start`, the kernel row's first tap's offset.
    ///
    /// # Safety
    /// The CPU has AVX2.
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn add(&self, start: usize, buffer: &[f32], padded_grad: &mut [f32]) {
        let (width, out_width, stride) = (self.width, self.out_width, self.stride);
        // The last tap's last row, the furthest any load reaches, ends at its last output.
        assert!(buffer.len() >= KERNEL * stride);
        assert!(padded_grad.len() >= start + self.out_height * width);
        let halves = [0, width - LANES];
        for oy in 0..self.out_height {
            // SAFETY: each of the row's two vectors lies inside it (asserted above); tap
            // `kx`'s loads start `kx` floats before the tap's output row `oy` (inside `buffer`:
            // the taps before it, or the row itself for the first tap) and end at most at its
            // last output.
            unsafe {
                let to = padded_grad.as_mut_ptr().add(start + oy * width);
                let mut acc = halves.map(|at| _mm256_loadu_ps(to.add(at)));
                for kx in 0..KERNEL {
                    let from = buffer.as_ptr().add(kx * stride + oy * out_width - kx);
                    for h in 0..2 {
                        let value = _mm256_loadu_ps(from.add(halves[h]));
                        let value = _mm256_and_ps(value, self.masks[kx][h]);
                        acc[h] = _mm256_add_ps(acc[h], value);
                    }
                }
                for h in 0..2 {
                    _mm256_storeu_ps(to.add(halves[h]), acc[h]);
                }
            }
        }
    }
}

/// `B` vectors of positions from vector `first` of one kernel row's five taps, `weight` from
/// the row's first tap: each value summed over the 16 maps from zero, one fused multiply-add
/// at a time, as gemm sums them, and stored in `buffer`'s row of its tap.
///
/// # Safety
/// The lengths that [`Input::add`] asserts; as [`Input::add`] for `V`.
#[inline(always)]
unsafe fn tap_row<V: Lanes, const B: usize>(
    first: usize,
    positions: usize,
    patch: usize,
    weight: &[f32],
    pre: &[f32],
    stride: usize,
    buffer: &mut [f32],
) {
    // SAFETY: `pre`'s length and slack hold the block; the weight's asserted length holds the
    // taps; `buffer` holds `KERNEL` rows of `stride`.
    unsafe {
        let mut acc = [[V::splat(0.0); B]; KERNEL];
        for m in 0..MAPS {
            let mut x = [V::splat(0.0); B];
            for b in 0..B {
                let at = m * positions + (first + b) * V::LANES;
                x[b] = V::load(pre.as_ptr().add(at), V::LANES);
            }
            for kx in 0..KERNEL {
                let w = V::splat(*weight.get_unchecked(m * patch + kx));
                for b in 0..B {
                    acc[kx][b] = w.mul_add(x[b], acc[kx][b]);
                }
            }
        }
        for kx in 0..KERNEL {
            for b in 0..B {
                let at = kx * stride + (first + b) * V::LANES;
                acc[kx][b].store(buffer.as_mut_ptr().add(at));
            }
        }
    }
}

/// Adds `col · pre^T`, the weight's gradient of the convolution `shape` (16 maps) transposed,
/// `[patch, 16]`, into `weight_grad`, reading each unfolded row straight from `padded`, the
/// padded image followed by `kernel - 1` zeros; `pre` is the gradient before the activation,
/// compact (`[16, positions]`), which is transposed into `pre_t` first. The wide layout's
/// dropped columns are left out as in [`add_input_gradient`], keeping every bit. With `isa`'s
/// vectors.
///
/// # Safety
/// The CPU runs `isa`.
pub(in crate::cpu) unsafe fn add_weight_gradient(
    isa: Isa,
    shape: &ConvShape,
    padded: &[f32],
    pre: &[f32],
    pre_t: &mut Vec<f32>,
    weight_grad: &mut [f32],
) {
    let positions = shape.positions();
    assert!(maps16_shape(shape) && shape.kernel == KERNEL);
    assert!(pre.len() >= MAPS * positions && padded.len() >= shape.padded_len());
    assert!(weight_grad.len() >= shape.patch() * MAPS);
    // SAFETY: AVX2 is part of either `isa`.
    unsafe { transpose_maps(&pre[..MAPS * positions], positions, pre_t) };
    let weights = Weights {
        shape,
        padded,
        pre_t,
    };
    // SAFETY: the caller's CPU; the lengths asserted above.
    unsafe {
        match isa {
            Isa::Avx2 => weights.add_avx2(weight_grad),
            Isa::Avx512 => weights.add_avx512(weight_grad),
        }
    }
}

/// The operands of [`add_weight_gradient`], whose lengths it asserts; `pre_t` is `pre^T`,
/// `[positions, 16]`.
struct Weights<'a> {
    shape: &'a ConvShape,
    padded: &'a [f32],
    pre_t: &'a [f32],
}

impl Weights<'_> {
    /// One kernel row's five taps by the 16 maps in two vectors: 10 of AVX2's 16 registers.
    ///
    /// # Safety
    /// The CPU has AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn add_avx2(&self, weight_grad: &mut [f32]) {
        // SAFETY: the caller's features.
        unsafe { self.add::<__m256, 1, 2>(weight_grad) }
    }

    /// Two kernel rows' ten taps by the 16 maps in one vector.
    ///
    /// # Safety
    /// The CPU has AVX-512F.
    #[target_feature(enable = "avx512f")]
    unsafe fn add_avx512(&self, weight_grad: &mut [f32]) {
        // SAFETY: the caller's features.
        unsafe { self.add::<__m512, 2, 1>(weight_grad) }
    }

    /// Every kernel row (its [`KERNEL`] taps), `R` at a time where they fill a block, one by
    /// one where they do not, each tap by the 16 maps in `H` vectors of `V`. Each value is its
    /// own sum, so the blocks do not change the bits.
    ///
    /// # Safety
    /// `V`'s instructions run here and the call is inlined into code compiled with them.
    #[inline(always)]
    unsafe fn add<V: Lanes, const R: usize, const H: usize>(&self, weight_grad: &mut [f32]) {
        let rows = self.shape.patch() / KERNEL;
        let mut first = 0;
        // SAFETY: forwarded.
        unsafe {
            while first + R <= rows {
                self.rows::<V, R, H>(first, weight_grad);
                first += R;
            }
            for row in first..rows {
                self.rows::<V, 1, H>(row, weight_grad);
            }
        }
    }

    /// Kernel rows `first..first + R`, each of [`KERNEL`] taps whose unfolded rows start one
    /// float apart: each value summed over the output positions in order from zero, one fused
    /// multiply-add at a time, as gemm's microkernels sum over `k`, then added to the gradient
    /// so far.
    ///
    /// # Safety
    /// As [`Weights::add`].
    #[inline(always)]
    unsafe fn rows<V: Lanes, const R: usize, const H: usize>(
        &self,
        first: usize,
        weight_grad: &mut [f32],
    ) {
        let shape = self.shape;
        let (width, out_width) = (shape.padded_width(), shape.out_width());
        // Plain loops, no closures: a closure would be compiled without the caller's features.
        let mut starts = [0; R];
        for r in 0..R {
            starts[r] = shape.tap_run((first + r) * KERNEL).0;
        }
        // SAFETY: `pre_t` holds `positions` rows of 16; each tap's input under an output
        // position lies inside the padded image; the gradient holds `patch` rows of 16.
        unsafe {
            let mut acc = [[[V::splat(0.0); H]; KERNEL]; R];
            for oy in 0..shape.out_height() {
                let pre_row = self.pre_t.as_ptr().add(oy * out_width * MAPS);
                let mut rows = [self.padded.as_ptr(); R];
                for r in 0..R {
                    rows[r] = rows[r].add(starts[r] + oy * width);
                }
                for ox in 0..out_width {
                    let pre = pre_row.add(ox * MAPS);
                    let mut x = [V::splat(0.0); H];
                    for h in 0..H {
                        x[h] = V::load(pre.add(h * V::LANES), V::LANES);
                    }
                    for r in 0..R {
                        for kx in 0..KERNEL {
                            let value = V::splat(*rows[r].add(ox + kx));
                            for h in 0..H {
                                acc[r][kx][h] = x[h].mul_add(value, acc[r][kx][h]);
                            }
                        }
                    }
                }
            }
            for r in 0..R {
                for kx in 0..KERNEL {
                    let tap = (first + r) * KERNEL + kx;
                    for h in 0..H {
                        let to = weight_grad.as_mut_ptr().add(tap * MAPS + h * V::LANES);
                        V::load(to, V::LANES).add(acc[r][kx][h]).store(to);
                    }
                }
            }
        }
    }
}

/// `pre_t = pre^T` for `pre` `[16, len]`: 8 maps by 8 positions at a time through the
/// registers (unpack, shuffle, swap halves), the last positions one by one.
///
/// # Safety
/// The CPU has AVX2.
#[target_feature(enable = "avx2")]
unsafe fn transpose_maps(pre: &[f32], len: usize, pre_t: &mut Vec<f32>) {
    pre_t.resize(len * MAPS, 0.0);
    let blocks = len / LANES;
    for half in 0..MAPS / LANES {
        for block in 0..blocks {
            let p = block * LANES;
            // SAFETY: rows `half * 8 ..` of `pre`, positions `p .. p + 8 <= len`; each store
            // is one row of `pre_t` inside its `len * 16` values.
            unsafe {
                let row =
                    |m: usize| _mm256_loadu_ps(pre.as_ptr().add((half * LANES + m) * len + p));
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
    for p in blocks * LANES..len {
        for m in 0..MAPS {
            pre_t[p * MAPS + m] = pre[m * len + p];
        }
    }
}
