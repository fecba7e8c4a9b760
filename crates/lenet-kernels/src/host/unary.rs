//! The one-input layers, subsampling with fixed weights and the activations: forward kernels,
//! and for training autodiff operations with our backward steps.

use burn::{
    backend::{
        Autodiff,
        autodiff::{
            checkpoint::{base::Checkpointer, strategy::NoCheckpointing},
            grads::Gradients,
            ops::{Backward, Ops, OpsKind},
        },
    },
    prelude::*,
    tensor::{TensorMetadata, ops::FloatTensor},
};

use super::{Host, Mode, primitive, tensor};
use crate::cpu;
use crate::{Activation, Pooling};

/// Whether the pooling kernels take an input of `dims`: its height and width must be even.
pub(crate) fn pool_fits([_, _, height, width]: [usize; 4]) -> bool {
    height % 2 == 0 && width % 2 == 0
}

/// A 2x2, stride-2 subsampling layer on host `H`.
pub(super) fn pool<B: Backend, H: Host>(
    mode: Mode,
    pooling: Pooling,
    x: Tensor<B, 4>,
) -> Tensor<B, 4> {
    let forward = |x: &FloatTensor<H>| pooled::<H>(pooling, x);
    unary::<B, H, 4, _>(mode, x, PoolBackward, forward, |x, y| (pooling, x, y))
}

/// The pooling's forward kernel on a host tensor `[batch, maps, height, width]`.
fn pooled<H: Host>(pooling: Pooling, x: &FloatTensor<H>) -> FloatTensor<H> {
    let [batch, maps, height, width] = x.shape().dims();
    let y = cpu::pool_forward(pooling, [height, width], &H::values(x));
    H::tensor(y, [batch, maps, height / 2, width / 2].into())
}

#[derive(Debug)]
struct PoolBackward;

impl<H: Host> Backward<H, 1> for PoolBackward {
    /// The pooling, its input and its output.
    type State = (Pooling, FloatTensor<H>, FloatTensor<H>);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<H>(&ops.node);
        let (pooling, x, y) = ops.state;
        let shape = x.shape();
        if let [Some(node)] = ops.parents {
            let input = cpu::pool_backward(
                pooling,
                [shape[2], shape[3]],
                &H::values(&x),
                &H::values(&y),
                &H::values(&grad),
            );
            grads.register::<H>(node.id, H::tensor(input, shape));
        }
    }
}

/// `activation(x)` on host `H`.
pub(super) fn activate<B: Backend, H: Host, const D: usize>(
    mode: Mode,
    activation: Activation,
    x: Tensor<B, D>,
) -> Tensor<B, D> {
    let forward = |x: &FloatTensor<H>| {
        H::tensor(
            cpu::activation_forward(activation, &H::values(x)),
            x.shape(),
        )
    };
    unary::<B, H, D, _>(mode, x, ActivationBackward, forward, |_, y| (activation, y))
}

#[derive(Debug)]
struct ActivationBackward;

impl<H: Host> Backward<H, 1> for ActivationBackward {
    /// The activation and its output, from which its derivative follows: nothing is recomputed.
    type State = (Activation, FloatTensor<H>);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<H>(&ops.node);
        let (activation, y) = ops.state;
        if let [Some(node)] = ops.parents {
            let input = cpu::activation_backward(activation, &H::values(&y), &H::values(&grad));
            grads.register::<H>(node.id, H::tensor(input, y.shape()));
        }
    }
}

/// A one-input layer on host `H`: `forward` alone for inference; for training, `forward`
/// recorded as an autodiff operation whose backward step is `op`, with the state that `state`
/// makes from the layer's input and output.
fn unary<B: Backend, H: Host, const D: usize, Op: Backward<H, 1>>(
    mode: Mode,
    x: Tensor<B, D>,
    op: Op,
    forward: impl Fn(&FloatTensor<H>) -> FloatTensor<H>,
    state: impl FnOnce(FloatTensor<H>, FloatTensor<H>) -> Op::State,
) -> Tensor<B, D> {
    match mode {
        Mode::Inference => tensor::<B, D, _>(forward(&primitive(x))),
        Mode::Training => {
            let x: FloatTensor<Autodiff<H>> = primitive(x);
            let prepared = Backward::<H, 1>::prepare::<NoCheckpointing>(op, [x.node.clone()])
                .compute_bound()
                .stateful();
            let y = forward(&x.primitive);
            tensor::<B, D, _>(match prepared {
                OpsKind::Tracked(prep) => prep.finish(state(x.primitive, y.clone()), y),
                OpsKind::UnTracked(prep) => prep.finish(y),
            })
        }
    }
}
