//! The direct kernels with AVX-512F: 16 lanes, 32 registers.

use std::arch::x86_64::*;

use super::vector::{activate, pool};
use super::{Layer, Stores};

/// f32 lanes of a 512-bit vector (as many as C3's maps).
const LANES: usize = 16;

/// A mask of the first `count` lanes.
fn first(count: usize) -> __mmask16 {
    ((1u32 << count.min(LANES)) - 1) as __mmask16
}

/// # Safety
/// The lengths that the public wrapper asserts.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn conv_pool_rows(
    layer: Layer,
    taps: &[usize],
    padded: &[f32],
    weight: &[f32],
    stores: Stores,
) {
    let shape = layer.shape;
    let mut map = 0;
    while map < shape.maps {
        // SAFETY: forwarded; each block's maps lie inside the weight, bias and output.
        map += unsafe {
            if shape.maps - map >= 6 {
                rows_block::<6>(layer, taps, padded, weight, map, stores)
            } else {
                rows_block::<1>(layer, taps, padded, weight, map, stores)
            }
        };
    }
}

/// Maps `first_map..first_map + M`, every pair of rows; returns `M`.
///
/// # Safety
/// The lengths that the public wrapper asserts.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn rows_block<const M: usize>(
    layer: Layer,
    taps: &[usize],
    padded: &[f32],
    weight: &[f32],
    first_map: usize,
    stores: Stores,
) -> usize {
    let shape = layer.shape;
    let (patch, width, out_width) = (shape.patch(), shape.padded_width(), shape.out_width());
    let (pooled_width, pooled_plane) = (out_width / 2, shape.positions() / 4);
    // A row's two vectors: lanes inside the row.
    let halves = [first(out_width), first(out_width.saturating_sub(LANES))];
    let even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    let odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    let weight = &weight[first_map * patch..];
    for py in 0..shape.out_height() / 2 {
        let mut acc = [[[_mm512_setzero_ps(); 2]; 2]; M];
        for (k, &tap) in taps.iter().enumerate() {
            let mut inputs = [[_mm512_setzero_ps(); 2]; 2];
            for r in 0..2 {
                for h in 0..2 {
                    let at = tap + (2 * py + r) * width + h * LANES;
                    // SAFETY: the mask keeps the lanes read inside the output row's taps,
                    // which lie inside `padded` (a right half may have none).
                    inputs[r][h] = unsafe {
                        _mm512_maskz_loadu_ps(halves[h], padded.as_ptr().wrapping_add(at))
                    };
                }
            }
            for m in 0..M {
                // SAFETY: the wrapper asserted the weight's length.
                let w = _mm512_set1_ps(unsafe { *weight.get_unchecked(m * patch + k) });
                for r in 0..2 {
                    for h in 0..2 {
                        acc[m][r][h] = _mm512_fmadd_ps(inputs[r][h], w, acc[m][r][h]);
                    }
                }
            }
        }
        for m in 0..M {
            let bias = _mm512_set1_ps(layer.bias[first_map + m]);
            let mut act = [[_mm512_setzero_ps(); 2]; 2];
            for r in 0..2 {
                for h in 0..2 {
                    // SAFETY: an inlined AVX-512F helper.
                    act[r][h] = unsafe { activate(layer.activation, acc[m][r][h], bias) };
                }
            }
            let map = first_map + m;
            if let Some(maps) = stores.maps {
                for r in 0..2 {
                    for h in 0..2 {
                        let at = map * shape.positions() + (2 * py + r) * out_width + h * LANES;
                        // SAFETY: the mask keeps the lanes written inside the output row (a
                        // right half may have none).
                        unsafe {
                            _mm512_mask_storeu_ps(maps.wrapping_add(at), halves[h], act[r][h])
                        };
                    }
                }
            }
            let (Some(pooling), Some(pooled)) = (layer.pooling, stores.pooled) else {
                continue;
            };
            let [top, bottom] = act.map(|[left, right]| {
                [
                    _mm512_permutex2var_ps(left, even, right),
                    _mm512_permutex2var_ps(left, odd, right),
                ]
            });
            // SAFETY: an inlined AVX-512F helper.
            let window = unsafe { pool(pooling, [top[0], top[1], bottom[0], bottom[1]]) };
            let at = map * pooled_plane + py * pooled_width;
            // SAFETY: the mask keeps the lanes written inside the pooled row.
            unsafe { _mm512_mask_storeu_ps(pooled.add(at), first(pooled_width), window) };
        }
    }
    M
}

/// # Safety
/// The lengths that the public wrapper asserts.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn conv_pool_maps16(
    layer: Layer,
    taps: &[usize],
    padded: &[f32],
    weight_t: &[f32],
    stores: Stores,
) {
    // SAFETY: forwarded; `maps16_fit` admits these widths only.
    unsafe {
        match layer.shape.out_width() {
            2 => maps16_rows::<2, 1>(layer, taps, padded, weight_t, stores),
            4 => maps16_rows::<4, 2>(layer, taps, padded, weight_t, stores),
            6 => maps16_rows::<6, 3>(layer, taps, padded, weight_t, stores),
            8 => maps16_rows::<8, 4>(layer, taps, padded, weight_t, stores),
            10 => maps16_rows::<10, 5>(layer, taps, padded, weight_t, stores),
            12 => maps16_rows::<12, 6>(layer, taps, padded, weight_t, stores),
            width => unreachable!("maps16_fit admits no width {width}"),
        }
    }
}

/// Every pair of rows of `P` positions (`Q` = `P` / 2 windows), all 16 maps.
///
/// # Safety
/// The lengths that the public wrapper asserts.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn maps16_rows<const P: usize, const Q: usize>(
    layer: Layer,
    taps: &[usize],
    padded: &[f32],
    weight_t: &[f32],
    stores: Stores,
) {
    let shape = layer.shape;
    let width = shape.padded_width();
    let positions = shape.positions();
    // SAFETY: the wrapper asserted 16 biases.
    let bias = unsafe { _mm512_loadu_ps(layer.bias.as_ptr()) };
    // Map m's plane starts m planes on in each output: its maps', and its pooling's.
    let planes = |plane: usize| {
        _mm512_mullo_epi32(
            _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
            _mm512_set1_epi32(plane as i32),
        )
    };
    let (maps_scatter, pooled_scatter) = (planes(positions), planes(positions / 4));
    for py in 0..shape.out_height() / 2 {
        let mut acc = [[_mm512_setzero_ps(); P]; 2];
        for (k, &tap) in taps.iter().enumerate() {
            // SAFETY: one vector per tap in `weight_t`; every input read lies inside the
            // padded image (the output's rows and columns with the kernel's reach).
            unsafe {
                let w = _mm512_loadu_ps(weight_t.as_ptr().add(k * LANES));
                for r in 0..2 {
                    let x = padded.as_ptr().add(tap + (2 * py + r) * width);
                    for p in 0..P {
                        acc[r][p] = _mm512_fmadd_ps(_mm512_set1_ps(*x.add(p)), w, acc[r][p]);
                    }
                }
            }
        }
        let mut act = [[_mm512_setzero_ps(); P]; 2];
        for r in 0..2 {
            for p in 0..P {
                // SAFETY: an inlined AVX-512F helper.
                act[r][p] = unsafe { activate(layer.activation, acc[r][p], bias) };
            }
        }
        if let Some(maps) = stores.maps {
            for r in 0..2 {
                for p in 0..P {
                    let at = (2 * py + r) * P + p;
                    // SAFETY: lane m goes to map m's plane, inside the maps.
                    unsafe { _mm512_i32scatter_ps::<4>(maps.add(at), maps_scatter, act[r][p]) };
                }
            }
        }
        let (Some(pooling), Some(pooled)) = (layer.pooling, stores.pooled) else {
            continue;
        };
        for q in 0..Q {
            let window = [
                act[0][2 * q],
                act[0][2 * q + 1],
                act[1][2 * q],
                act[1][2 * q + 1],
            ];
            // SAFETY: lane m goes to map m's pooled plane, inside the pooling; `pool` is an
            // inlined AVX-512F helper.
            unsafe {
                let value = pool(pooling, window);
                _mm512_i32scatter_ps::<4>(pooled.add(py * Q + q), pooled_scatter, value);
            }
        }
    }
}
