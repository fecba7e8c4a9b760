//! What the two instruction sets' kernels share: the activation and the pooling, written once
//! over a vector type. Everything here is `#[inline(always)]` rather than `#[target_feature]`
//! (which would keep it out of line, taking and returning vectors through memory): inlined into
//! the kernels' `avx512f` or `avx2,fma` functions, the intrinsics compile with their features.
//! Hence `unsafe`: call these only from such functions.

use std::arch::x86_64::*;

use super::super::activation::{ALPHA, BETA, CLAMP};
use crate::{Activation, Pooling, SCALED_TANH_AMPLITUDE as A, SCALED_TANH_SLOPE as S};

/// A vector of `f32` lanes and the operations the activation and the pooling need.
pub(super) trait Vector: Copy {
    unsafe fn splat(value: f32) -> Self;
    unsafe fn add(self, other: Self) -> Self;
    unsafe fn mul(self, other: Self) -> Self;
    unsafe fn div(self, other: Self) -> Self;
    unsafe fn min(self, other: Self) -> Self;
    unsafe fn max(self, other: Self) -> Self;
}

macro_rules! vector {
    ($type:ty, $set1:ident, $add:ident, $mul:ident, $div:ident, $min:ident, $max:ident) => {
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
    _mm512_mul_ps,
    _mm512_div_ps,
    _mm512_min_ps,
    _mm512_max_ps
);
vector!(
    __m256,
    _mm256_set1_ps,
    _mm256_add_ps,
    _mm256_mul_ps,
    _mm256_div_ps,
    _mm256_min_ps,
    _mm256_max_ps
);

/// The rational tanh of `activation::tanh`, lane by lane, operation for operation (a multiply
/// then an add, never fused, as the scalar code compiles without fast-math).
#[inline(always)]
unsafe fn tanh<V: Vector>(x: V) -> V {
    // SAFETY: the caller's features.
    unsafe {
        let x = x.max(V::splat(-CLAMP)).min(V::splat(CLAMP));
        let x2 = x.mul(x);
        let mut p = V::splat(0.0);
        for &a in ALPHA.iter().rev() {
            p = p.mul(x2).add(V::splat(a));
        }
        let p = p.mul(x);
        let mut q = V::splat(0.0);
        for &b in BETA.iter().rev() {
            q = q.mul(x2).add(V::splat(b));
        }
        p.div(q)
    }
}

/// `activation(z + bias)`, as `Activation::apply_row` computes it.
#[inline(always)]
pub(super) unsafe fn activate<V: Vector>(activation: Activation, z: V, bias: V) -> V {
    // SAFETY: the caller's features.
    unsafe {
        let z = z.add(bias);
        match activation {
            Activation::Tanh => tanh(z),
            Activation::ScaledTanh => V::splat(A).mul(tanh(V::splat(S).mul(z))),
            Activation::Relu => z.max(V::splat(0.0)),
        }
    }
}

/// A window pooled from its values in row-major order, as `pool_planes` pools it.
#[inline(always)]
pub(super) unsafe fn pool<V: Vector>(pooling: Pooling, [a, b, c, d]: [V; 4]) -> V {
    // SAFETY: the caller's features.
    unsafe {
        match pooling {
            Pooling::Average => tanh(a.add(b).add(c).add(d).mul(V::splat(0.25))),
            Pooling::Max => a.max(b).max(c).max(d),
        }
    }
}
