//! Adam's update on a host's own tensors (the optimizer steps the inner backend's parameters).

use burn::{
    optim::{AdamState, AdaptiveMomentumState},
    prelude::*,
    tensor::ops::FloatTensor,
};

use super::{Host, primitive, tensor};
use crate::cpu::{self, AdamConstants};

/// The parameter `x` after one step of Adam with gradient `grad`, and the optimizer's state
/// after it, from the state before it (none at the first step).
pub(super) fn adam<B: Backend, H: Host, const D: usize>(
    constants: AdamConstants,
    lr: f64,
    x: Tensor<B, D>,
    grad: Tensor<B, D>,
    state: Option<AdamState<B, D>>,
) -> (Tensor<B, D>, AdamState<B, D>) {
    let shape = x.shape();
    let x: FloatTensor<H> = primitive(x);
    let grad: FloatTensor<H> = primitive(grad);
    let (time, moments) = match state {
        Some(AdamState { momentum }) => {
            let moment: fn(Tensor<B, D>) -> FloatTensor<H> = primitive;
            let moments = [moment(momentum.moment_1), moment(momentum.moment_2)];
            (momentum.time + 1, Some(moments))
        }
        None => (1, None),
    };
    let moments = moments.as_ref().map(|[m, v]| [H::values(m), H::values(v)]);
    let [x, m, v] = cpu::adam_step(
        constants,
        lr,
        time,
        &H::values(&x),
        &H::values(&grad),
        moments.as_ref().map(|[m, v]| [&m[..], &v[..]]),
    );
    let host = |values| tensor::<B, D, _>(H::tensor(values, shape.clone()));
    let momentum = AdaptiveMomentumState::new(time, host(m), host(v));
    (host(x), AdamState::new(momentum))
}
