//! The fused kernels on ndarray give flex's values, which `kernels.rs` checks against Burn's
//! operations in f64. In a process apart from `kernels.rs`: its f64 reference would make every
//! `NdArray` tensor f64 here (Burn keeps one default float type per device).

use crate::common::fused::{assert_f32_tensors, assert_gradients_match, assert_logits_match};
use burn::backend::{Autodiff, Flex, NdArray};

#[test]
fn ndarray_logits_match_flex() {
    assert_f32_tensors::<NdArray>();
    assert_logits_match::<NdArray, Flex>("ndarray", 1e-5);
}

#[test]
fn ndarray_gradients_match_flex() {
    assert_f32_tensors::<Autodiff<NdArray>>();
    assert_gradients_match::<Autodiff<NdArray>, Autodiff<Flex>>("ndarray", 1e-4);
}
