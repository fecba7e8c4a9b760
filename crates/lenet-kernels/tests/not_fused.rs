//! Types the fused kernels must leave to Burn's operations, and say so.

#![cfg(all(feature = "flex", feature = "ndarray"))]

use burn::backend::{Autodiff, NdArray, autodiff::checkpoint::strategy::BalancedCheckpointing};
use burn::prelude::*;
use lenet_kernels::{Activation, Route, activate, is_fused, rational_tanh, route};

/// Whether `activate` gave the kernels' rational tanh (which differs from libm's in the last
/// bits of these inputs) rather than Burn's.
fn fused_tanh_runs_on<B: Backend>() -> bool {
    let inputs: Vec<f32> = (1..2000)
        .map(|i| i as f32 * 3.7e-3)
        .filter(|&x| rational_tanh(x) != x.tanh())
        .collect();
    assert!(inputs.len() > 100);
    let x = Tensor::<B, 1>::from_floats(inputs.as_slice(), &Default::default());
    let y = activate(x, Activation::Tanh)
        .into_data()
        .convert::<f32>()
        .to_vec::<f32>()
        .unwrap();
    y.iter().zip(&inputs).all(|(&y, &x)| y == rational_tanh(x))
}

#[test]
fn other_element_types_and_checkpointing_run_burns_operations_and_say_so() {
    assert!(!is_fused::<NdArray<f64>>() && !fused_tanh_runs_on::<NdArray<f64>>());
    assert_eq!(route::<NdArray<f64>>(), Route::Burn);
    type Checkpointed = Autodiff<NdArray, BalancedCheckpointing>;
    assert!(!is_fused::<Checkpointed>() && !fused_tanh_runs_on::<Checkpointed>());
    assert_eq!(route::<Checkpointed>(), Route::Burn);
}
