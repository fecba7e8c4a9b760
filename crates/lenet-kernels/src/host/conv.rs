//! The convolution with its bias and activation: its shape, its forward kernel, and for
//! training an autodiff operation with our backward step.

use burn::{
    backend::{
        Autodiff,
        autodiff::{
            NodeId,
            checkpoint::{base::Checkpointer, strategy::NoCheckpointing},
            grads::Gradients,
            ops::{Backward, Ops, OpsKind},
        },
    },
    prelude::*,
    tensor::ops::FloatTensor,
};

use super::{Host, Mode, primitive, tensor};
use crate::cpu::{self, ConvGrads, ConvShape, OutputGrad};
use crate::{Activation, Pooling};

/// `activation(conv(x, weight) + bias)` on host `H`.
pub(super) fn convolve<B: Backend, H: Host>(
    mode: Mode,
    shape: ConvShape,
    activation: Activation,
    x: Tensor<B, 4>,
    weight: Tensor<B, 4>,
    bias: Tensor<B, 1>,
) -> Tensor<B, 4> {
    match mode {
        Mode::Inference => {
            let [x, weight, bias]: [FloatTensor<H>; 3] =
                [primitive(x), primitive(weight), primitive::<B, 1, _>(bias)];
            tensor::<B, 4, _>(conv_forward::<H>(&shape, activation, &x, &weight, &bias))
        }
        Mode::Training => tensor::<B, 4, _>(conv_autodiff::<H>(
            shape,
            activation,
            primitive(x),
            primitive(weight),
            primitive::<B, 1, _>(bias),
        )),
    }
}

/// The shape of a convolution with a `weight` and `bias` of these dimensions on input `dims`,
/// when it is one the kernels cover.
pub(crate) fn conv_shape(
    [maps, channels, kh, kw]: [usize; 4],
    [biases]: [usize; 1],
    padding: usize,
    [batch, input_channels, height, width]: [usize; 4],
) -> Option<ConvShape> {
    let fits = kh == kw && height + 2 * padding >= kh && width + 2 * padding >= kw;
    (fits && biases == maps && channels == input_channels && batch > 0).then_some(ConvShape {
        batch,
        channels,
        maps,
        height,
        width,
        kernel: kh,
        padding,
    })
}

fn conv_forward<H: Host>(
    shape: &ConvShape,
    activation: Activation,
    x: &FloatTensor<H>,
    weight: &FloatTensor<H>,
    bias: &FloatTensor<H>,
) -> FloatTensor<H> {
    let y = cpu::conv_forward(
        shape,
        activation,
        &H::values(x),
        &H::values(weight),
        &H::values(bias),
    );
    let dims = [
        shape.batch,
        shape.maps,
        shape.out_height(),
        shape.out_width(),
    ];
    H::tensor(y, dims.into())
}

#[derive(Debug)]
struct ConvBackward;

#[derive(Debug, Clone)]
struct ConvState<H: Host> {
    shape: ConvShape,
    activation: Activation,
    x: FloatTensor<H>,
    weight: FloatTensor<H>,
    y: FloatTensor<H>,
}

impl<H: Host> Backward<H, 3> for ConvBackward {
    type State = ConvState<H>;

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<H>(&ops.node);
        let ConvState {
            shape,
            activation,
            x,
            weight,
            y,
        } = ops.state;
        let computed = cpu::conv_backward(
            &shape,
            activation,
            &H::values(&x),
            &H::values(&weight),
            &H::values(&y),
            OutputGrad::Maps(&H::values(&grad)),
            ops.parents[0].is_some(),
        );
        let parents = ops.parents.map(|node| node.map(|node| node.id));
        register::<H>(parents, computed, &shape, grads);
    }
}

/// Registers a convolution's gradients with the parents that want them: its input, weight and
/// bias.
fn register<H: Host>(
    [x_node, weight_node, bias_node]: [Option<NodeId>; 3],
    computed: ConvGrads,
    shape: &ConvShape,
    grads: &mut Gradients,
) {
    if let (Some(node), Some(input)) = (x_node, computed.input) {
        let dims = [shape.batch, shape.channels, shape.height, shape.width];
        grads.register::<H>(node, H::tensor(input, dims.into()));
    }
    if let Some(node) = weight_node {
        let dims = [shape.maps, shape.channels, shape.kernel, shape.kernel];
        grads.register::<H>(node, H::tensor(computed.weight, dims.into()));
    }
    if let Some(node) = bias_node {
        grads.register::<H>(node, H::tensor(computed.bias, [shape.maps].into()));
    }
}

/// A convolution whose output only a 2x2 pooling reads, for training:
/// `pool(activation(conv(x, weight) + bias))` as one autodiff operation. Its backward step
/// finds each image's maps' gradient from the pooling's as the image's turn comes, in the
/// task's own buffer, where the two operations apart write the whole batch's to memory and
/// read it back.
#[derive(Debug)]
struct ConvPoolBackward;

#[derive(Debug, Clone)]
struct ConvPoolState<H: Host> {
    shape: ConvShape,
    activation: Activation,
    pooling: Pooling,
    x: FloatTensor<H>,
    weight: FloatTensor<H>,
    /// The convolution's activated maps, which the pooling read.
    maps: Vec<f32>,
    pooled: FloatTensor<H>,
}

impl<H: Host> Backward<H, 3> for ConvPoolBackward {
    type State = ConvPoolState<H>;

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<H>(&ops.node);
        let ConvPoolState {
            shape,
            activation,
            pooling,
            x,
            weight,
            maps,
            pooled,
        } = ops.state;
        let computed = cpu::conv_backward(
            &shape,
            activation,
            &H::values(&x),
            &H::values(&weight),
            &maps,
            OutputGrad::Pooled {
                pooling,
                pooled: &H::values(&pooled),
                grad: &H::values(&grad),
            },
            ops.parents[0].is_some(),
        );
        let parents = ops.parents.map(|node| node.map(|node| node.id));
        register::<H>(parents, computed, &shape, grads);
    }
}

/// `pool(activation(conv(x, weight) + bias))` on `Autodiff<H>`, for a `shape` from
/// [`conv_shape`] whose output [`pool_fits`](super::pool_fits).
pub(super) fn conv_pool_autodiff<H: Host>(
    shape: ConvShape,
    activation: Activation,
    pooling: Pooling,
    x: FloatTensor<Autodiff<H>>,
    weight: FloatTensor<Autodiff<H>>,
    bias: FloatTensor<Autodiff<H>>,
) -> FloatTensor<Autodiff<H>> {
    let prepared = ConvPoolBackward
        .prepare::<NoCheckpointing>([x.node.clone(), weight.node.clone(), bias.node.clone()])
        .compute_bound()
        .stateful();
    let (x, weight) = (x.primitive, weight.primitive);
    let maps = cpu::conv_forward(
        &shape,
        activation,
        &H::values(&x),
        &H::values(&weight),
        &H::values(&bias.primitive),
    );
    let (height, width) = (shape.out_height(), shape.out_width());
    let pooled = cpu::pool_forward(pooling, [height, width], &maps);
    let dims = [shape.batch, shape.maps, height / 2, width / 2];
    let pooled = H::tensor(pooled, dims.into());
    match prepared {
        OpsKind::Tracked(prep) => {
            let state = ConvPoolState {
                shape,
                activation,
                pooling,
                x,
                weight,
                maps,
                pooled: pooled.clone(),
            };
            prep.finish(state, pooled)
        }
        OpsKind::UnTracked(prep) => prep.finish(pooled),
    }
}

fn conv_autodiff<H: Host>(
    shape: ConvShape,
    activation: Activation,
    x: FloatTensor<Autodiff<H>>,
    weight: FloatTensor<Autodiff<H>>,
    bias: FloatTensor<Autodiff<H>>,
) -> FloatTensor<Autodiff<H>> {
    let prepared = ConvBackward
        .prepare::<NoCheckpointing>([x.node.clone(), weight.node.clone(), bias.node.clone()])
        .compute_bound()
        .stateful();
    let (x, weight) = (x.primitive, weight.primitive);
    let y = conv_forward::<H>(&shape, activation, &x, &weight, &bias.primitive);
    match prepared {
        OpsKind::Tracked(prep) => {
            let state = ConvState {
                shape,
                activation,
                x,
                weight,
                y: y.clone(),
            };
            prep.finish(state, y)
        }
        OpsKind::UnTracked(prep) => prep.finish(y),
    }
}
