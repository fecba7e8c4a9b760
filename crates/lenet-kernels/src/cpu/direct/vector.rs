//! What the two instruction sets' kernels share: the activation and the pooling, and the
//! gradient kernels' loads, stores and products, written once over a vector type. Everything
//! here is `#[inline(always)]` rather than `#[target_feature]` (which would keep it out of line,
//! taking and returning vectors through memory): inlined into the kernels' `avx512f` or
//! `avx2,fma` functions, the intrinsics compile with their features.
//! Hence `unsafe`: call these only from such functions.

use std::arch::x86_64::*;

use super::super::activation::{ALPHA, BETA, CLAMP};
use crate::{Activation, Pooling, SCALED_TANH_AMPLITUDE as A, SCALED_TANH_SLOPE as S};

/// A vector of `f32` lanes and the operations the activation and the pooling need.
pub(super) trait Vector: Copy {
    unsafe fn splat(value: f32) -> Self;
    unsafe fn add(self, other: Self) -> Self;
    unsafe fn sub(self, other: Self) -> Self;
    unsafe fn mul(self, other: Self) -> Self;
    unsafe fn div(self, other: Self) -> Self;
    unsafe fn min(self, other: Self) -> Self;
    unsafe fn max(self, other: Self) -> Self;
}

macro_rules! vector {
    ($type:ty, $set1:ident, $add:ident, $sub:ident, $mul:ident, $div:ident, $min:ident, $max:ident) => {
        impl Vector for $type {
            #[inline(always)]
            unsafe fn splat(value: f32) -> Self {
                // SAFETY: the caller's features.
                unsafe { $set1(value) }
            }
            #[inline(always)]
            unsafe fn add(self, other: Self) -> Self {
                // SAFETY: the caller's features.
                unsafe { $add(self, other) }
            }
            #[inline(always)]
            unsafe fn sub(self, other: Self) -> Self {
                // SAFETY: the caller's features.
                unsafe { $sub(self, other) }
            }
            #[inline(always)]
            unsafe fn mul(self, other: Self) -> Self {
                // SAFETY: the caller's features.
                unsafe { $mul(self, other) }
            }
            #[inline(always)]
            unsafe fn div(self, other: Self) -> Self {
                // SAFETY: the caller's features.
                unsafe { $div(self, other) }
            }
            #[inline(always)]
            unsafe fn min(self, other: Self) -> Self {
                // SAFETY: the caller's features.
                unsafe { $min(self, other) }
            }
            #[inline(always)]
            unsafe fn max(self, other: Self) -> Self {
                // SAFETY: the caller's features.
                unsafe { $max(self, other) }
            }
        }
    };
}

vector!(
    __m512,
    _mm512_set1_ps,
    _mm512_add_ps,
    _mm512_sub_ps,
    _mm512_mul_ps,
    _mm512_div_ps,
    _mm512_min_ps,
    _mm512_max_ps
);
vector!(
    __m256,
    _mm256_set1_ps,
    _mm256_add_ps,
    _mm256_sub_ps,
    _mm256_mul_ps,
    _mm256_div_ps,
    _mm256_min_ps,
    _mm256_max_ps
);

/// The rational tanh of `activation::tanh`, lane by lane, operation for operation (a multiply
/// then an add, never fused, as the scalar code compiles without fast-math), of `N` vectors
/// step by step together: their dependency chains interleaved, where one vector's chain after
/// another's left the multipliers waiting on each step's latency. (Indexed loops, no closures:
/// a closure is compiled without the kernels' features.)
#[inline(always)]
unsafe fn tanh<V: Vector, const N: usize>(mut x: [V; N]) -> [V; N] {
    // SAFETY: the caller's features.
    unsafe {
        let mut x2 = x;
        for i in 0..N {
            x[i] = x[i].max(V::splat(-CLAMP)).min(V::splat(CLAMP));
            x2[i] = x[i].mul(x[i]);
        }
        let mut p = horner(&ALPHA, x2);
        let q = horner(&BETA, x2);
        for i in 0..N {
            p[i] = p[i].mul(x[i]).div(q[i]);
        }
        p
    }
}

/// `activation::horner` at `N` vectors, lane by lane.
#[inline(always)]
unsafe fn horner<V: Vector, const N: usize>(coefficients: &[f32], x: [V; N]) -> [V; N] {
    let (&highest, lower) = coefficients.split_last().expect("a coefficient");
    // SAFETY: the caller's features.
    unsafe {
        let mut acc = [V::splat(highest); N];
        for &a in lower.iter().rev() {
            for i in 0..N {
                acc[i] = acc[i].mul(x[i]).add(V::splat(a));
            }
        }
        acc
    }
}

/// `activation(z + bias)` of `N` vectors, as `Activation::apply_row` computes it.
#[inline(always)]
pub(super) unsafe fn activate_each<V: Vector, const N: usize>(
    activation: Activation,
    mut z: [V; N],
    bias: V,
) -> [V; N] {
    // SAFETY: the caller's features.
    unsafe {
        for i in 0..N {
            z[i] = z[i].add(bias);
        }
        match activation {
            Activation::Tanh => tanh(z),
            Activation::ScaledTanh => {
                for i in 0..N {
                    z[i] = V::splat(S).mul(z[i]);
                }
                let mut t = tanh(z);
                for i in 0..N {
                    t[i] = V::splat(A).mul(t[i]);
                }
                t
            }
            Activation::Relu => {
                for i in 0..N {
                    z[i] = z[i].max(V::splat(0.0));
                }
                z
            }
        }
    }
}

/// `activation(z + bias)` of one vector.
#[inline(always)]
pub(super) unsafe fn activate<V: Vector>(activation: Activation, z: V, bias: V) -> V {
    // SAFETY: the caller's features.
    unsafe { activate_each(activation, [z], bias)[0] }
}

/// `N` windows, each pooled from its values in row-major order, as `pool_planes` pools it
/// (their tanh interleaved, as in [`activate_each`]).
#[inline(always)]
pub(super) unsafe fn pool_each<V: Vector, const N: usize>(
    pooling: Pooling,
    windows: [[V; 4]; N],
) -> [V; N] {
    // SAFETY: the caller's features.
    unsafe {
        let mut pooled = [V::splat(0.0); N];
        for i in 0..N {
            let [a, b, c, d] = windows[i];
            pooled[i] = match pooling {
                Pooling::Average => a.add(b).add(c).add(d).mul(V::splat(0.25)),
                Pooling::Max => a.max(b).max(c).max(d),
            };
        }
        match pooling {
            Pooling::Average => tanh(pooled),
            Pooling::Max => pooled,
        }
    }
}

/// One window pooled, as [`pool_each`] pools it.
#[inline(always)]
pub(super) unsafe fn pool<V: Vector>(pooling: Pooling, window: [V; 4]) -> V {
    // SAFETY: the caller's features.
    unsafe { pool_each(pooling, [window])[0] }
}

/// What the gradient kernels (`gradients.rs`, `horizontal.rs`) do with a vector, written once
/// for both widths: memory, fused multiply-adds and gemm's sum across the lanes.
pub(super) trait Lanes: Vector {
    const LANES: usize;
    /// The first `count` lanes from `ptr`, zeros in the rest (nothing past them read).
    unsafe fn load(ptr: *const f32, count: usize) -> Self;
    unsafe fn store(self, ptr: *mut f32);
    /// The first `count` lanes stored at `ptr` (nothing past them written).
    unsafe fn store_first(self, ptr: *mut f32, count: usize);
    /// Each lane twice, in order: the first half's lanes, then the second half's.
    unsafe fn spread(self) -> [Self; 2];
    /// `self * b + c`, fused.
    unsafe fn mul_add(self, b: Self, c: Self) -> Self;
    /// The lanes' sum in gemm's `reduce_sum`'s order.
    unsafe fn reduce_sum(self) -> f32;
}

impl Lanes for __m256 {
    const LANES: usize = 8;

    #[inline(always)]
    unsafe fn load(ptr: *const f32, count: usize) -> Self {
        // SAFETY: the caller's AVX2 and pointer.
        unsafe {
            if count == Self::LANES {
                _mm256_loadu_ps(ptr)
            } else {
                _mm256_maskload_ps(ptr, super::avx2::first(count))
            }
        }
    }

    #[inline(always)]
    unsafe fn store(self, ptr: *mut f32) {
        // SAFETY: the caller's AVX and pointer.
        unsafe { _mm256_storeu_ps(ptr, self) }
    }

    #[inline(always)]
    unsafe fn store_first(self, ptr: *mut f32, count: usize) {
        // SAFETY: the caller's AVX and pointer; masked lanes are not written.
        unsafe {
            if count == Self::LANES {
                _mm256_storeu_ps(ptr, self)
            } else {
                _mm256_maskstore_ps(ptr, super::avx2::first(count), self)
            }
        }
    }

    #[inline(always)]
    unsafe fn spread(self) -> [Self; 2] {
        // SAFETY: the caller's AVX2.
        unsafe {
            [
                _mm256_permutevar8x32_ps(self, _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3)),
                _mm256_permutevar8x32_ps(self, _mm256_setr_epi32(4, 4, 5, 5, 6, 6, 7, 7)),
            ]
        }
    }

    #[inline(always)]
    unsafe fn mul_add(self, b: Self, c: Self) -> Self {
        // SAFETY: the caller's FMA.
        unsafe { _mm256_fmadd_ps(self, b, c) }
    }

    /// The halves added, then the upper pair onto the lower, then the two left.
    #[inline(always)]
    unsafe fn reduce_sum(self) -> f32 {
        // SAFETY: the caller's AVX.
        unsafe {
            let x = _mm_add_ps(
                _mm256_castps256_ps128(self),
                _mm256_extractf128_ps::<1>(self),
            );
            let pairs = _mm_add_ps(x, _mm_movehl_ps(x, x));
            _mm_cvtss_f32(_mm_add_ss(pairs, _mm_shuffle_ps::<0b0001>(pairs, pairs)))
        }
    }
}

impl Lanes for __m512 {
    const LANES: usize = 16;

    #[inline(always)]
    unsafe fn load(ptr: *const f32, count: usize) -> Self {
        // SAFETY: the caller's AVX-512F and pointer; masked lanes are not read.
        unsafe {
            if count == Self::LANES {
                _mm512_loadu_ps(ptr)
            } else {
                _mm512_maskz_loadu_ps(((1u32 << count) - 1) as __mmask16, ptr)
            }
        }
    }

    #[inline(always)]
    unsafe fn store(self, ptr: *mut f32) {
        // SAFETY: the caller's AVX-512F and pointer.
        unsafe { _mm512_storeu_ps(ptr, self) }
    }

    #[inline(always)]
    unsafe fn store_first(self, ptr: *mut f32, count: usize) {
        // SAFETY: the caller's AVX-512F and pointer; masked lanes are not written.
        unsafe {
            if count == Self::LANES {
                _mm512_storeu_ps(ptr, self)
            } else {
                _mm512_mask_storeu_ps(ptr, ((1u32 << count) - 1) as __mmask16, self)
            }
        }
    }

    #[inline(always)]
    unsafe fn spread(self) -> [Self; 2] {
        // SAFETY: the caller's AVX-512F.
        unsafe {
            let low = _mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
            let high = _mm512_add_epi32(low, _mm512_set1_epi32(8));
            [
                _mm512_permutexvar_ps(low, self),
                _mm512_permutexvar_ps(high, self),
            ]
        }
    }

    #[inline(always)]
    unsafe fn mul_add(self, b: Self, c: Self) -> Self {
        // SAFETY: the caller's AVX-512F.
        unsafe { _mm512_fmadd_ps(self, b, c) }
    }

    /// The 256-bit halves added, then summed as AVX2's vector.
    #[inline(always)]
    unsafe fn reduce_sum(self) -> f32 {
        // SAFETY: the caller's AVX-512F.
        unsafe {
            let high = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(self)));
            _mm256_add_ps(_mm512_castps512_ps256(self), high).reduce_sum()
        }
    }
}
