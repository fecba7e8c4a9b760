//! The arithmetic of the fused layers on plain `f32` slices in NCHW order.
//!
//! Work is split over images with rayon. Wherever images are summed (weight and bias
//! gradients), the batch is cut into chunks of a fixed size and the chunks' partial sums are
//! added in order, so results are bit-identical whatever the number of threads.
//!
//! Each task runs inside [`with_avx2`], so its element-wise loops vectorise 8 lanes wide where
//! the CPU allows. Not AVX-512 for these loops: the classic network's rows, 5 to 32 values, are
//! too short to fill 16 lanes (`docs/kernels.md` has the measurements). Without fast-math the
//! compiler never reorders float operations, so the results are bit-identical whatever the
//! instruction set.
//!
//! One file per layer: [`activation`] (the rational tanh and the activations' rows), [`dense`]
//! (the fully connected layers), [`conv`]
//! (over the wide unfolding of [`unfold`] and the matrix products of [`matmul`]), [`pool`],
//! [`subsample`] (the paper's trainable subsampling) and [`rbf`]; [`features`] runs C1 to S4
//! one image at a time for inference. Where the CPU has AVX-512F, or AVX2 and FMA, the
//! convolutions' forward products, C3's and C1's gradients and the pooled gradients through
//! the activation run in registers ([`direct`]), with the CPU's widest vectors, instead of through
//! the unfolding and gemm or the element-wise loops.

use std::mem::MaybeUninit;

use rayon::prelude::*;

mod activation;
mod adam;
mod conv;
mod dense;
mod direct;
mod features;
mod matmul;
mod pool;
mod rbf;
mod subsample;
#[cfg(test)]
pub(crate) mod testing;
mod unfold;

pub use activation::tanh;
pub(crate) use activation::{activation_backward, activation_forward};
pub(crate) use adam::{AdamConstants, adam_step};
pub(crate) use conv::{OutputGrad, conv_backward, conv_forward, conv_pool_forward};
pub(crate) use dense::{DenseShape, dense_backward, dense_forward};
pub(crate) use features::{ConvWeights, features_forward};
pub(crate) use pool::{pool_backward, pool_forward};
pub(crate) use rbf::{rbf_backward, rbf_forward};
pub(crate) use subsample::{subsample_backward, subsample_forward};
pub(crate) use unfold::ConvShape;

/// Runs `task` compiled for AVX2 + FMA where the CPU has them, chosen at run time: the build
/// targets baseline x86-64, whose SSE2 vectorises 4 lanes wide. `task` itself and everything
/// it calls that should vectorise are `#[inline(always)]`, so they are compiled into that
/// context; a closure left to the inliner stays a separate SSE2 function.
#[inline(always)]
fn with_avx2<R>(task: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if let Some(simd) = pulp::x86::V3::try_new() {
        return pulp::Simd::vectorize(simd, task);
    }
    task()
}

/// A new buffer of `len` values, cut into pieces of `chunk` that rayon tasks zero and then
/// hand to `fill(state, index, piece)`, with one `state` from `init` per task. `vec![0.0; len]`
/// would zero the whole buffer (megabytes for a batch's maps) on the calling thread while the
/// other cores wait, and then the tasks would bring it back into their caches. A buffer of one
/// piece is filled on the calling thread: waking the pool costs more than one image's layer.
fn filled_in_parallel<S>(
    len: usize,
    chunk: usize,
    init: impl Fn() -> S + Send + Sync,
    fill: impl Fn(&mut S, usize, &mut [f32]) + Send + Sync,
) -> Vec<f32> {
    let [buffer] = filled_together([len], [chunk], init, |state, index, [piece]| {
        fill(state, index, piece)
    });
    buffer
}

/// [`filled_in_parallel`] for `N` buffers cut into as many pieces each (of `chunks[i]` values
/// in buffer `i`): one call fills piece `index` of every buffer, so that one task writes
/// everything it computes from one image (a convolution's maps and their pooling, say).
fn filled_together<const N: usize, S>(
    lens: [usize; N],
    chunks: [usize; N],
    init: impl Fn() -> S + Send + Sync,
    fill: impl Fn(&mut S, usize, [&mut [f32]; N]) + Send + Sync,
) -> [Vec<f32>; N] {
    let mut buffers: [Vec<f32>; N] = lens.map(Vec::with_capacity);
    let mut i = 0;
    let mut pieces = buffers.each_mut().map(|buffer| {
        let (len, chunk) = (lens[i], chunks[i]);
        i += 1;
        buffer.spare_capacity_mut()[..len].chunks_mut(chunk)
    });
    let count = pieces[0].len();
    assert!(
        pieces.iter().all(|piece| piece.len() == count),
        "as many pieces each"
    );
    let zeroed = |piece: &mut [MaybeUninit<f32>]| {
        piece.fill(MaybeUninit::new(0.0));
        // SAFETY: `MaybeUninit<f32>` has `f32`'s layout, and every element of `piece` has just
        // been written.
        unsafe { &mut *(piece as *mut [MaybeUninit<f32>] as *mut [f32]) }
    };
    let tasks: Vec<[&mut [MaybeUninit<f32>]; N]> = (0..count)
        .map(|_| {
            pieces
                .each_mut()
                .map(|piece| piece.next().expect("counted"))
        })
        .collect();
    if count == 1 {
        // One piece (one image's layer, say): on this thread, without waking the pool.
        let task = tasks.into_iter().next().expect("counted");
        fill(&mut init(), 0, task.map(zeroed));
    } else {
        tasks
            .into_par_iter()
            .enumerate()
            // Rayon splits a loop into as many runs as threads, and splits a run again only
            // when another thread steals from it: a thread that ran out of work then waited
            // while the other worked through a quarter of the loop alone. Runs of a few
            // pieces keep them level; `init` runs once per run.
            .with_max_len(4)
            .for_each_init(init, |state, (index, task)| {
                fill(state, index, task.map(zeroed))
            });
    }
    // SAFETY: the pieces cover the first `lens[i]` elements of each buffer, and each was
    // written above (a panic in `fill` propagates out of this function before this line).
    for (buffer, len) in buffers.iter_mut().zip(lens) {
        unsafe { buffer.set_len(len) };
    }
    buffers
}

/// `sum += part`, elementwise.
#[inline(always)]
fn add(sum: &mut [f32], part: &[f32]) {
    for (s, p) in sum.iter_mut().zip(part) {
        *s += p;
    }
}

/// A sum in eight interleaved lanes, which vectorises (a plain left-to-right float sum
/// cannot), always in the same order.
#[inline(always)]
fn sum(values: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let chunks = values.chunks_exact(8);
    let rest: f32 = chunks.remainder().iter().sum();
    for chunk in chunks {
        for (lane, v) in lanes.iter_mut().zip(chunk) {
            *lane += v;
        }
    }
    lanes.iter().sum::<f32>() + rest
}

/// Adds [`sum`] of each run of `len` in `values` to its place in `sums` (one run per place):
/// the same sums to the bit, with up to eight runs' additions interleaved, where a run at a
/// time waits for each addition's result before the next.
#[inline(always)]
fn add_sums(values: &[f32], len: usize, sums: &mut [f32]) {
    const RUNS: usize = 8;
    let whole = len / 8;
    for (runs, sums) in values.chunks(len * RUNS).zip(sums.chunks_mut(RUNS)) {
        let mut lanes = [[0.0f32; 8]; RUNS];
        for k in 0..whole {
            for (run, lanes) in lanes.iter_mut().take(sums.len()).enumerate() {
                let chunk = &runs[run * len + 8 * k..][..8];
                for (lane, v) in lanes.iter_mut().zip(chunk) {
                    *lane += v;
                }
            }
        }
        for (run, (sum, lanes)) in sums.iter_mut().zip(&lanes).enumerate() {
            let rest: f32 = runs[run * len + 8 * whole..][..len % 8].iter().sum();
            *sum += lanes.iter().sum::<f32>() + rest;
        }
    }
}

/// Planes per pooling task: enough work (about 16K inputs) to outweigh rayon's per-task cost.
fn planes_per_task(plane: usize) -> usize {
    (1 << 14) / plane.max(1) + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use testing::pattern;

    /// Runs of whole and partial lane groups, in groups of up to eight runs and a group left.
    #[test]
    fn sums_of_runs_are_each_runs_sum_to_the_bit() {
        for (runs, len) in [(6, 896), (16, 140), (11, 7), (3, 20)] {
            let values = pattern(runs * len, 0.7);
            let mut sums = pattern(runs, 1.3);
            let expected: Vec<u32> = sums
                .iter()
                .zip(values.chunks(len))
                .map(|(start, run)| (start + sum(run)).to_bits())
                .collect();
            add_sums(&values, len, &mut sums);
            let got: Vec<u32> = sums.iter().map(|v| v.to_bits()).collect();
            assert_eq!(got, expected, "{runs} runs of {len}");
        }
    }
}
