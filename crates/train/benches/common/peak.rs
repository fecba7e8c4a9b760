//! The machine's own f32 arithmetic limit, measured rather than assumed: every thread runs
//! independent chains of fused multiply-adds at the widest vector width the CPU has. Enough
//! chains that each FMA unit always has one ready (latency 4 cycles x 2 units needs 8), and
//! nothing else in the loop, so the figure is what the FMA units deliver on this machine, at
//! its clock, virtualised or not.

use std::time::Instant;

/// Independent accumulators per thread.
const CHAINS: usize = 12;
/// Loop trips per thread: about a quarter of a second at 2 FMA instructions per cycle and 3 GHz.
const ITERATIONS: u64 = 125_000_000;

/// The measured limit: f32 GFLOP/s of `threads` threads together (an FMA counts two), and the
/// instruction set it was measured with.
pub fn peak_gflops(threads: usize) -> (f64, &'static str) {
    let (isa, lanes, run): (_, usize, fn(u64) -> f32) = kernel();
    let iterations = ITERATIONS;
    run(iterations / 10); // warm-up: clocks up, code paged in
    let start = Instant::now();
    let sums: Vec<f32> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads.max(1))
            .map(|_| scope.spawn(move || run(iterations)))
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or(0.0))
            .collect()
    });
    let seconds = start.elapsed().as_secs_f64();
    // The sums keep the work from being optimised away.
    std::hint::black_box(sums);
    let flops = 2.0 * (CHAINS * lanes) as f64 * iterations as f64 * threads.max(1) as f64;
    (flops / seconds / 1e9, isa)
}

/// The widest FMA loop this CPU runs: its name, f32 lanes per instruction, and the loop.
fn kernel() -> (&'static str, usize, fn(u64) -> f32) {
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx512f") {
            return ("AVX-512 FMA", 16, |n| {
                // SAFETY: the CPU has AVX-512F (checked above).
                unsafe { x86::fma_avx512(n) }
            });
        }
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            return ("AVX2 FMA", 8, |n| {
                // SAFETY: the CPU has AVX2 and FMA (checked above).
                unsafe { x86::fma_avx2(n) }
            });
        }
    }
    ("scalar mul_add", 1, scalar)
}

fn scalar(iterations: u64) -> f32 {
    let mut acc = [0.0f32; CHAINS];
    for _ in 0..iterations {
        for x in &mut acc {
            *x = x.mul_add(0.999_999, 1e-7);
        }
    }
    acc.iter().sum()
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::CHAINS;

    #[target_feature(enable = "avx512f")]
    pub fn fma_avx512(iterations: u64) -> f32 {
        let (a, b) = (_mm512_set1_ps(0.999_999), _mm512_set1_ps(1e-7));
        let mut acc = [_mm512_setzero_ps(); CHAINS];
        for _ in 0..iterations {
            for x in &mut acc {
                *x = _mm512_fmadd_ps(*x, a, b);
            }
        }
        acc.iter().map(|&x| _mm512_reduce_add_ps(x)).sum()
    }

    #[target_feature(enable = "avx2,fma")]
    pub fn fma_avx2(iterations: u64) -> f32 {
        let (a, b) = (_mm256_set1_ps(0.999_999), _mm256_set1_ps(1e-7));
        let mut acc = [_mm256_setzero_ps(); CHAINS];
        for _ in 0..iterations {
            for x in &mut acc {
                *x = _mm256_fmadd_ps(*x, a, b);
            }
        }
        let mut lanes = [0.0f32; 8];
        let mut sum = 0.0;
        for x in acc {
            // SAFETY: `lanes` holds 8 f32s, and storeu takes any alignment.
            unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), x) };
            sum += lanes.iter().sum::<f32>();
        }
        sum
    }
}
