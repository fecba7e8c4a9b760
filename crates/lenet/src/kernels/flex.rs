//! The fused layers on Burn's flex backend, as a backend extension: forward kernels for
//! `Flex`, and for `Autodiff<Flex>` autodiff operations whose backward steps are ours.
//!
//! The model stays generic over `B: Backend`: each entry point checks whether `B` is one of
//! those two types and, when it is not (or the layer is not one these kernels cover), hands
//! the input back for Burn's own operations.

use std::any::{Any, TypeId};

use burn::{
    backend::{
        Autodiff,
        autodiff::{
            checkpoint::{base::Checkpointer, strategy::NoCheckpointing},
            grads::Gradients,
            ops::{Backward, Ops, OpsKind},
        },
        flex::{Flex, FlexTensor},
    },
    nn::{PaddingConfig2d, conv::Conv2d},
    prelude::*,
    tensor::{DType, TensorMetadata, TensorPrimitive, ops::FloatTensor},
};

use super::cpu::{self, ConvShape, Pool};
use crate::config::Activation;

type Ad = Autodiff<Flex>;

/// Which of the two flex backends `B` is.
#[derive(Clone, Copy)]
enum Target {
    Inference,
    Training,
}

fn target<B: Backend, const D: usize>(x: &Tensor<B, D>) -> Option<Target> {
    if x.dtype() != DType::F32 {
        return None;
    }
    let id = TypeId::of::<B>();
    if id == TypeId::of::<Flex>() {
        Some(Target::Inference)
    } else if id == TypeId::of::<Ad>() {
        Some(Target::Training)
    } else {
        None
    }
}

/// Moves a value between two names of the same type; [`target`] has established that they are.
fn same<T: 'static, U: 'static>(value: T) -> U {
    let mut slot = Some(value);
    (&mut slot as &mut dyn Any)
        .downcast_mut::<Option<U>>()
        .and_then(Option::take)
        .expect("the backend was checked to be this type")
}

fn primitive<B: Backend, const D: usize, P: 'static>(tensor: Tensor<B, D>) -> P {
    same(tensor.into_primitive().tensor())
}

fn tensor<B: Backend, const D: usize, P: 'static>(primitive: P) -> Tensor<B, D> {
    Tensor::from_primitive(TensorPrimitive::Float(same::<P, FloatTensor<B>>(primitive)))
}

/// The tensor's values in order, copied only when its layout is not already contiguous.
fn values(tensor: &FlexTensor) -> FlexTensor {
    tensor.to_contiguous()
}

fn slice(tensor: &FlexTensor) -> &[f32] {
    tensor
        .as_slice()
        .expect("a contiguous f32 tensor (checked by `target`)")
}

fn flex(values: Vec<f32>, shape: impl Into<Shape>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}

/// `activation(conv(x))`, or `Err(x)` when neither the backend nor the layer is covered.
pub(super) fn conv2d_activation<B: Backend>(
    conv: &Conv2d<B>,
    x: Tensor<B, 4>,
    activation: Activation,
) -> Result<Tensor<B, 4>, Tensor<B, 4>> {
    let (Some(target), Some(bias), Some(shape)) =
        (target(&x), &conv.bias, conv_shape(conv, x.dims()))
    else {
        return Err(x);
    };
    let (weight, bias) = (conv.weight.val(), bias.val());
    Ok(match target {
        Target::Inference => {
            let [x, weight, bias] = [primitive(x), primitive(weight), primitive::<B, 1, _>(bias)]
                .map(|t: FlexTensor| values(&t));
            let y = cpu::conv_forward(&shape, activation, slice(&x), slice(&weight), slice(&bias));
            tensor::<B, 4, _>(flex(y, output_dims(&shape)))
        }
        Target::Training => tensor::<B, 4, _>(conv_autodiff(
            shape,
            activation,
            primitive(x),
            primitive(weight),
            primitive::<B, 1, _>(bias),
        )),
    })
}

/// The shape of `conv` on input `dims`, when it is one the kernels cover.
fn conv_shape<B: Backend>(conv: &Conv2d<B>, dims: [usize; 4]) -> Option<ConvShape> {
    let [maps, channels, kh, kw] = conv.weight.dims();
    let padding = match conv.padding {
        PaddingConfig2d::Valid => 0,
        PaddingConfig2d::Explicit(top, left, bottom, right)
            if top == left && left == bottom && bottom == right =>
        {
            top
        }
        _ => return None,
    };
    let [batch, input_channels, height, width] = dims;
    let plain = conv.stride == [1, 1] && conv.dilation == [1, 1] && conv.groups == 1;
    let fits = kh == kw && height + 2 * padding >= kh && width + 2 * padding >= kw;
    (plain && fits && channels == input_channels && batch > 0).then_some(ConvShape {
        batch,
        channels,
        maps,
        height,
        width,
        kernel: kh,
        padding,
    })
}

fn output_dims(shape: &ConvShape) -> [usize; 4] {
    [
        shape.batch,
        shape.maps,
        shape.out_height(),
        shape.out_width(),
    ]
}

#[derive(Debug)]
struct ConvBackward;

#[derive(Debug, Clone)]
struct ConvState {
    shape: ConvShape,
    activation: Activation,
    x: FlexTensor,
    weight: FlexTensor,
    y: FlexTensor,
}

impl Backward<Flex, 3> for ConvBackward {
    type State = ConvState;

    fn backward(self, ops: Ops<ConvState, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [x_node, weight_node, bias_node] = ops.parents;
        let grad = values(&grads.consume::<Flex>(&ops.node));
        let ConvState {
            shape,
            activation,
            x,
            weight,
            y,
        } = ops.state;
        let grads_of = cpu::conv_backward(
            &shape,
            activation,
            slice(&x),
            slice(&weight),
            slice(&y),
            slice(&grad),
            x_node.is_some(),
        );
        if let (Some(node), Some(input)) = (x_node, grads_of.input) {
            grads.register::<Flex>(node.id, flex(input, x.shape()));
        }
        if let Some(node) = weight_node {
            grads.register::<Flex>(node.id, flex(grads_of.weight, weight.shape()));
        }
        if let Some(node) = bias_node {
            grads.register::<Flex>(node.id, flex(grads_of.bias, [shape.maps]));
        }
    }
}

fn conv_autodiff(
    shape: ConvShape,
    activation: Activation,
    x: FloatTensor<Ad>,
    weight: FloatTensor<Ad>,
    bias: FloatTensor<Ad>,
) -> FloatTensor<Ad> {
    let prepared = ConvBackward
        .prepare::<NoCheckpointing>([x.node.clone(), weight.node.clone(), bias.node.clone()])
        .compute_bound()
        .stateful();
    let [x, weight, bias] = [x, weight, bias].map(|t| values(&t.primitive));
    let y = cpu::conv_forward(&shape, activation, slice(&x), slice(&weight), slice(&bias));
    let y = flex(y, output_dims(&shape));
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

/// A 2x2, stride-2 subsampling layer, or `Err(x)` when not covered.
pub(super) fn pool<B: Backend>(pool: Pool, x: Tensor<B, 4>) -> Result<Tensor<B, 4>, Tensor<B, 4>> {
    let [batch, maps, height, width] = x.dims();
    let (Some(target), true) = (target(&x), height % 2 == 0 && width % 2 == 0) else {
        return Err(x);
    };
    let out = [batch, maps, height / 2, width / 2];
    Ok(match target {
        Target::Inference => {
            let x = values(&primitive(x));
            tensor::<B, 4, _>(flex(
                cpu::pool_forward(pool, [height, width], slice(&x)),
                out,
            ))
        }
        Target::Training => {
            let x: FloatTensor<Ad> = primitive(x);
            let prepared = PoolBackward
                .prepare::<NoCheckpointing>([x.node.clone()])
                .compute_bound()
                .stateful();
            let x = values(&x.primitive);
            let y = flex(cpu::pool_forward(pool, [height, width], slice(&x)), out);
            tensor::<B, 4, _>(match prepared {
                OpsKind::Tracked(prep) => prep.finish((pool, x, y.clone()), y),
                OpsKind::UnTracked(prep) => prep.finish(y),
            })
        }
    })
}

#[derive(Debug)]
struct PoolBackward;

impl Backward<Flex, 1> for PoolBackward {
    /// The pooling, its input and its output.
    type State = (Pool, FlexTensor, FlexTensor);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = values(&grads.consume::<Flex>(&ops.node));
        let (pool, x, y) = ops.state;
        let [_, _, height, width] = x.shape().dims();
        if let [Some(node)] = ops.parents {
            let input =
                cpu::pool_backward(pool, [height, width], slice(&x), slice(&y), slice(&grad));
            grads.register::<Flex>(node.id, flex(input, x.shape()));
        }
    }
}

/// `tanh(x)`, or `Err(x)` when not covered.
pub(super) fn tanh<B: Backend, const D: usize>(
    x: Tensor<B, D>,
) -> Result<Tensor<B, D>, Tensor<B, D>> {
    let Some(target) = target(&x) else {
        return Err(x);
    };
    Ok(match target {
        Target::Inference => {
            let x = values(&primitive(x));
            tensor::<B, D, _>(flex(cpu::tanh_forward(slice(&x)), x.shape()))
        }
        Target::Training => {
            let x: FloatTensor<Ad> = primitive(x);
            let prepared = TanhBackward
                .prepare::<NoCheckpointing>([x.node.clone()])
                .compute_bound()
                .stateful();
            let x = values(&x.primitive);
            let y = flex(cpu::tanh_forward(slice(&x)), x.shape());
            tensor::<B, D, _>(match prepared {
                OpsKind::Tracked(prep) => prep.finish(y.clone(), y),
                OpsKind::UnTracked(prep) => prep.finish(y),
            })
        }
    })
}

#[derive(Debug)]
struct TanhBackward;

impl Backward<Flex, 1> for TanhBackward {
    /// The output: tanh's derivative is `1 - y^2`, so nothing is recomputed.
    type State = FlexTensor;

    fn backward(self, ops: Ops<FlexTensor, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = values(&grads.consume::<Flex>(&ops.node));
        let y = ops.state;
        if let [Some(node)] = ops.parents {
            let input = cpu::tanh_backward(slice(&y), slice(&grad));
            grads.register::<Flex>(node.id, flex(input, y.shape()));
        }
    }
}
