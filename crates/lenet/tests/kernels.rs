//! The fused kernels of the `flex` feature against Burn's own operations: the same weights
//! give the same logits on `Flex` as Burn's operations compute in f64 (`NdArray<f64>`, which
//! the kernels leave alone), and the same gradients of every parameter and of the input on
//! `Autodiff<Flex>`. (`model/kernels_ndarray.rs` checks ndarray, in another process.)

mod common;

use burn::backend::{Autodiff, Flex, NdArray};
use common::fused::{assert_f32_tensors, assert_gradients_match, assert_logits_match};

/// Burn's generic operations, in f64.
type Reference = NdArray<f64>;

#[test]
fn fused_logits_match_burns_operations() {
    assert_f32_tensors::<Flex>();
    assert_logits_match::<Flex, Reference>("flex", 1e-5);
}

#[test]
fn fused_gradients_match_burns_operations() {
    assert_f32_tensors::<Autodiff<Flex>>();
    assert_gradients_match::<Autodiff<Flex>, Autodiff<Reference>>("flex", 1e-4);
}
