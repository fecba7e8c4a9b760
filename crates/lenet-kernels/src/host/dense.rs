//! A dense layer with its bias: its forward kernel, and for training an autodiff operation
//! with our backward step.

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
use crate::cpu::{self, DenseShape};

/// The shape of a dense layer on input `[batch, inputs]` with a weight `[inputs, outputs]` (or
/// `[outputs, inputs]` where `outputs_first`) and a bias `[outputs]` of these dimensions, when
/// they agree.
pub(crate) fn dense_shape(
    [batch, inputs]: [usize; 2],
    weight: [usize; 2],
    [outputs]: [usize; 1],
    outputs_first: bool,
) -> Option<DenseShape> {
    let expected = match outputs_first {
        false => [inputs, outputs],
        true => [outputs, inputs],
    };
    (weight == expected && batch > 0 && inputs > 0 && outputs > 0).then_some(DenseShape {
        batch,
        inputs,
        outputs,
        outputs_first,
    })
}

/// `x · weight + bias` on host `H`, the weight of any rank (a convolution's kernels) laid
/// out as `shape` says.
pub(super) fn dense<B: Backend, H: Host, const D: usize>(
    mode: Mode,
    shape: DenseShape,
    x: Tensor<B, 2>,
    weight: Tensor<B, D>,
    bias: Tensor<B, 1>,
) -> Tensor<B, 2> {
    let forward = |x: &FloatTensor<H>, weight: &FloatTensor<H>, bias: &FloatTensor<H>| {
        let [x, weight, bias] = [x, weight, bias].map(H::values);
        let y = cpu::dense_forward(shape, &x, &weight, &bias);
        H::tensor(y, [shape.batch, shape.outputs].into())
    };
    match mode {
        Mode::Inference => {
            let [x, weight, bias]: [FloatTensor<H>; 3] =
                [primitive(x), primitive(weight), primitive::<B, 1, _>(bias)];
            tensor::<B, 2, _>(forward(&x, &weight, &bias))
        }
        Mode::Training => {
            let [x, weight, bias]: [FloatTensor<Autodiff<H>>; 3] =
                [primitive(x), primitive(weight), primitive::<B, 1, _>(bias)];
            let parents = [x.node.clone(), weight.node.clone(), bias.node.clone()];
            let prepared = Backward::<H, 3>::prepare::<NoCheckpointing>(DenseBackward, parents)
                .compute_bound()
                .stateful();
            let y = forward(&x.primitive, &weight.primitive, &bias.primitive);
            tensor::<B, 2, _>(match prepared {
                OpsKind::Tracked(prep) => prep.finish((shape, x.primitive, weight.primitive), y),
                OpsKind::UnTracked(prep) => prep.finish(y),
            })
        }
    }
}

#[derive(Debug)]
struct DenseBackward;

impl<H: Host> Backward<H, 3> for DenseBackward {
    /// The layer's shape, input and weight.
    type State = (DenseShape, FloatTensor<H>, FloatTensor<H>);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [x_node, weight_node, bias_node] = ops.parents;
        let grad = grads.consume::<H>(&ops.node);
        let (shape, x, weight) = ops.state;
        let computed = cpu::dense_backward(
            shape,
            &H::values(&x),
            &H::values(&weight),
            &H::values(&grad),
            x_node.is_some(),
        );
        if let (Some(node), Some(input)) = (x_node, computed.input) {
            grads.register::<H>(node.id, H::tensor(input, x.shape()));
        }
        if let Some(node) = weight_node {
            grads.register::<H>(node.id, H::tensor(computed.weight, weight.shape()));
        }
        if let Some(node) = bias_node {
            grads.register::<H>(node.id, H::tensor(computed.bias, [shape.outputs].into()));
        }
    }
}
