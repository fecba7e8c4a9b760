//! A convolution's input gradient with AVX2 and FMA, without the unfolded matrix: where the
//! layer-by-layer backward pass computes `col = weight^T · pre` (gemm) and then folds `col`
//! into the padded image's gradient, this computes each kernel row's five unfolded rows in
//! registers (five taps share each load of `pre`) and adds them in at once. The arithmetic is
//! theirs to the bit: each unfolded entry sums its maps' products in order from zero, one fused
//! multiply-add at a time, as gemm's microkernels sum over `k`; the fold's additions come in
//! the fold's order, tap by tap, over the same wide run of each.

use std::arch::x86_64::*;

use super::super::ConvShape;

/// f32 lanes of a 256-bit vector.
const LANES: usize = 8;

/// The kernel's width that this kernel takes: LeNet-5's 5x5.
pub(in crate::cpu) const KERNEL: usize = 5;

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
    let (wide, patch, width) = (shape.wide(), shape.patch(), shape.padded_width());
    let plane = shape.padded_len() / shape.channels;
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
                let start = c * plane + ky * width + kx;
                let len = wide.min(shape.padded_len() - start);
                let row = &buffer[kx * stride..][..len];
                for (d, s) in padded_grad[start..start + len].iter_mut().zip(row) {
                    *d += s;
                }
            }
        }
    }
}
