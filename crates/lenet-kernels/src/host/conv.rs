//! The convolution with its bias and activation: its shape, its forward kernel, and for
//! training an autodiff operation with our backward step, which takes the pooling after it
//! along where there is one.

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
use crate::cpu::{self, ConvShape, OutputGrad};
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
            None,
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

/// [`cpu::conv_pool_forward`] on host `H`: the maps and their pooling.
fn conv_pool_forward<H: Host>(
    shape: &ConvShape,
    activation: Activation,
    pooling: Pooling,
    x: &FloatTensor<H>,
    weight: &FloatTensor<H>,
    bias: &FloatTensor<H>,
) -> [FloatTensor<H>; 2] {
    let [maps, pooled] = cpu::conv_pool_forward(
        shape,
        activation,
        pooling,
        &H::values(x),
        &H::values(weight),
        &H::values(bias),
    );
    let [batch, channels, height, width] = output_dims(shape);
    [
        H::tensor(maps, [batch, channels, height, width].into()),
        H::tensor(pooled, [batch, channels, height / 2, width / 2].into()),
    ]
}

/// A convolution's output dimensions, `[batch, maps, out_height, out_width]`.
fn output_dims(shape: &ConvShape) -> [usize; 4] {
    [
        shape.batch,
        shape.maps,
        shape.out_height(),
        shape.out_width(),
    ]
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
    H::tensor(y, output_dims(shape).into())
}

/// A convolution with its bias and activation, and the 2x2 pooling that alone reads its maps
/// where there is one (C1 with S2, C3 with S4), as one autodiff operation. With the pooling,
/// its backward step finds each image's maps' gradient from the pooling's as the image's turn
/// comes, in the task's own buffer, where two operations would write the whole batch's to
/// memory and read it back.
#[derive(Debug)]
struct ConvBackward;

#[derive(Debug, Clone)]
struct ConvState<H: Host> {
    shape: ConvShape,
    activation: Activation,
    x: FloatTensor<H>,
    weight: FloatTensor<H>,
    /// The convolution's activated maps.
    maps: FloatTensor<H>,
    /// The pooling that read them and its output, where the operation has one.
    pooled: Option<(Pooling, FloatTensor<H>)>,
}

impl<H: Host> Backward<H, 3> for ConvBackward {
    type State = ConvState<H>;

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [x_node, weight_node, bias_node] = ops.parents;
        let grad = grads.consume::<H>(&ops.node);
        let ConvState {
            shape,
            activation,
            x,
            weight,
            maps,
            pooled,
        } = ops.state;
        let grad = H::values(&grad);
        let pooled = pooled
            .as_ref()
            .map(|(pooling, pooled)| (*pooling, H::values(pooled)));
        let output_grad = match &pooled {
            None => OutputGrad::Maps(&grad),
            Some((pooling, pooled)) => OutputGrad::Pooled {
                pooling: *pooling,
                pooled,
                grad: &grad,
            },
        };
        let computed = cpu::conv_backward(
            &shape,
            activation,
            &H::values(&x),
            &H::values(&weight),
            &H::values(&maps),
            output_grad,
            x_node.is_some(),
        );
        if let (Some(node), Some(input)) = (x_node, computed.input) {
            grads.register::<H>(node.id, H::tensor(input, x.shape()));
        }
        if let Some(node) = weight_node {
            grads.register::<H>(node.id, H::tensor(computed.weight, weight.shape()));
        }
        if let Some(node) = bias_node {
            grads.register::<H>(node.id, H::tensor(computed.bias, [shape.maps].into()));
        }
    }
}

/// `activation(conv(x, weight) + bias)` on `Autodiff<H>`, pooled by `pooling` where there is
/// one (whose [`pool_fits`](super::pool_fits) the maps), for a `shape` from [`conv_shape`].
pub(super) fn conv_autodiff<H: Host>(
    shape: ConvShape,
    activation: Activation,
    pooling: Option<Pooling>,
    x: FloatTensor<Autodiff<H>>,
    weight: FloatTensor<Autodiff<H>>,
    bias: FloatTensor<Autodiff<H>>,
) -> FloatTensor<Autodiff<H>> {
    let prepared = ConvBackward
        .prepare::<NoCheckpointing>([x.node.clone(), weight.node.clone(), bias.node.clone()])
        .compute_bound()
        .stateful();
    let (x, weight) = (x.primitive, weight.primitive);
    let (maps, pooled) = match pooling {
        None => (
            conv_forward::<H>(&shape, activation, &x, &weight, &bias.primitive),
            None,
        ),
        Some(pooling) => {
            let [maps, pooled] =
                conv_pool_forward::<H>(&shape, activation, pooling, &x, &weight, &bias.primitive);
            (maps, Some((pooling, pooled)))
        }
    };
    let output = pooled
        .as_ref()
        .map_or_else(|| maps.clone(), |(_, pooled)| pooled.clone());
    match prepared {
        OpsKind::Tracked(prep) => {
            let state = ConvState {
                shape,
                activation,
                x,
                weight,
                maps,
                pooled,
            };
            prep.finish(state, output)
        }
        OpsKind::UnTracked(prep) => prep.finish(output),
    }
}
