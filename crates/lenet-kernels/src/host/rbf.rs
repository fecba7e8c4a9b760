//! The paper's Euclidean RBF output units: their forward kernel, and for training an autodiff
//! operation with our backward step.

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

/// Whether the RBF kernels take inputs `[batch, inputs]` and centres `[units, width]` of these
/// dimensions: centres as wide as the inputs, and at least one row of at least one input.
pub(crate) fn rbf_fits([batch, inputs]: [usize; 2], [_, width]: [usize; 2]) -> bool {
    batch > 0 && inputs > 0 && width == inputs
}

/// The paper's Euclidean RBF units on host `H`.
pub(super) fn rbf<B: Backend, H: Host>(
    mode: Mode,
    x: Tensor<B, 2>,
    centres: Tensor<B, 2>,
) -> Tensor<B, 2> {
    let ([batch, inputs], [units, _]) = (x.dims(), centres.dims());
    let forward = |x: &FloatTensor<H>, c: &FloatTensor<H>| {
        let y = cpu::rbf_forward(inputs, &H::values(x), &H::values(c));
        H::tensor(y, [batch, units].into())
    };
    match mode {
        Mode::Inference => {
            let [x, c]: [FloatTensor<H>; 2] = [primitive(x), primitive(centres)];
            tensor::<B, 2, _>(forward(&x, &c))
        }
        Mode::Training => {
            let [x, c]: [FloatTensor<Autodiff<H>>; 2] = [primitive(x), primitive(centres)];
            let parents = [x.node.clone(), c.node.clone()];
            let prepared = Backward::<H, 2>::prepare::<NoCheckpointing>(RbfBackward, parents)
                .compute_bound()
                .stateful();
            let y = forward(&x.primitive, &c.primitive);
            tensor::<B, 2, _>(match prepared {
                OpsKind::Tracked(prep) => prep.finish((x.primitive, c.primitive), y),
                OpsKind::UnTracked(prep) => prep.finish(y),
            })
        }
    }
}

#[derive(Debug)]
struct RbfBackward;

impl<H: Host> Backward<H, 2> for RbfBackward {
    /// The units' inputs and centres.
    type State = (FloatTensor<H>, FloatTensor<H>);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [x_node, centres_node] = ops.parents;
        let grad = grads.consume::<H>(&ops.node);
        let (x, centres) = ops.state;
        let inputs = x.shape()[1];
        let computed = cpu::rbf_backward(
            inputs,
            &H::values(&x),
            &H::values(&centres),
            &H::values(&grad),
            centres_node.is_some(),
        );
        if let Some(node) = x_node {
            grads.register::<H>(node.id, H::tensor(computed.input, x.shape()));
        }
        if let (Some(node), Some(gradient)) = (centres_node, computed.centres) {
            grads.register::<H>(node.id, H::tensor(gradient, centres.shape()));
        }
    }
}
