//! The paper's trainable subsampling: its forward kernel, and for training an autodiff
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
use crate::Activation;
use crate::cpu;

/// Whether the trainable subsampling kernels take an input `[batch, maps, height, width]` with
/// coefficients and biases of these dimensions: at least one image, an even height and width,
/// and one coefficient and one bias per map.
pub(crate) fn subsample_fits(
    [batch, maps, height, width]: [usize; 4],
    coefficient: [usize; 1],
    bias: [usize; 1],
) -> bool {
    batch > 0 && height % 2 == 0 && width % 2 == 0 && coefficient == [maps] && bias == [maps]
}

/// The paper's trainable subsampling on host `H`.
pub(super) fn subsample<B: Backend, H: Host>(
    mode: Mode,
    activation: Activation,
    x: Tensor<B, 4>,
    coefficient: Tensor<B, 1>,
    bias: Tensor<B, 1>,
) -> Tensor<B, 4> {
    let [batch, maps, height, width] = x.dims();
    let dims = [maps, height, width];
    let out_shape = Shape::from([batch, maps, height / 2, width / 2]);
    let forward = |x: &FloatTensor<H>, c: &FloatTensor<H>, b: &FloatTensor<H>| {
        let y = cpu::subsample_forward(
            activation,
            dims,
            &H::values(x),
            &H::values(c),
            &H::values(b),
        );
        H::tensor(y, out_shape.clone())
    };
    match mode {
        Mode::Inference => {
            let [x, c, b]: [FloatTensor<H>; 3] = [
                primitive(x),
                primitive::<B, 1, _>(coefficient),
                primitive::<B, 1, _>(bias),
            ];
            tensor::<B, 4, _>(forward(&x, &c, &b))
        }
        Mode::Training => {
            let [x, c, b]: [FloatTensor<Autodiff<H>>; 3] = [
                primitive(x),
                primitive::<B, 1, _>(coefficient),
                primitive::<B, 1, _>(bias),
            ];
            let parents = [x.node.clone(), c.node.clone(), b.node.clone()];
            let prepared = Backward::<H, 3>::prepare::<NoCheckpointing>(SubsampleBackward, parents)
                .compute_bound()
                .stateful();
            let y = forward(&x.primitive, &c.primitive, &b.primitive);
            tensor::<B, 4, _>(match prepared {
                OpsKind::Tracked(prep) => {
                    let state = SubsampleState {
                        activation,
                        dims,
                        x: x.primitive,
                        coefficient: c.primitive,
                        y: y.clone(),
                    };
                    prep.finish(state, y)
                }
                OpsKind::UnTracked(prep) => prep.finish(y),
            })
        }
    }
}

#[derive(Debug)]
struct SubsampleBackward;

#[derive(Debug, Clone)]
struct SubsampleState<H: Host> {
    activation: Activation,
    dims: [usize; 3],
    x: FloatTensor<H>,
    coefficient: FloatTensor<H>,
    y: FloatTensor<H>,
}

impl<H: Host> Backward<H, 3> for SubsampleBackward {
    type State = SubsampleState<H>;

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [x_node, coefficient_node, bias_node] = ops.parents;
        let grad = grads.consume::<H>(&ops.node);
        let SubsampleState {
            activation,
            dims,
            x,
            coefficient,
            y,
        } = ops.state;
        let computed = cpu::subsample_backward(
            activation,
            dims,
            &H::values(&x),
            &H::values(&coefficient),
            &H::values(&y),
            &H::values(&grad),
        );
        if let Some(node) = x_node {
            grads.register::<H>(node.id, H::tensor(computed.input, x.shape()));
        }
        let maps = Shape::from([dims[0]]);
        if let Some(node) = coefficient_node {
            grads.register::<H>(node.id, H::tensor(computed.coefficient, maps.clone()));
        }
        if let Some(node) = bias_node {
            grads.register::<H>(node.id, H::tensor(computed.bias, maps));
        }
    }
}
