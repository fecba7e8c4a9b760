//! The fused layers on Burn's CPU backends, as a backend extension: forward kernels for the
//! backend itself (`Flex`, `NdArray`), and for its autodiff wrapper (`Autodiff<Flex>`,
//! `Autodiff<NdArray>`) autodiff operations whose backward steps are ours.
//!
//! The model stays generic over `B: Backend`: each entry point checks whether `B` is one of
//! those types and, when it is not (or the layer is not one these kernels cover), hands the
//! input back for Burn's own operations.

use std::{
    any::{Any, TypeId},
    borrow::Cow,
};

use burn::{
    backend::{
        Autodiff,
        autodiff::{
            checkpoint::{base::Checkpointer, strategy::NoCheckpointing},
            grads::Gradients,
            ops::{Backward, Ops, OpsKind},
        },
    },
    nn::{PaddingConfig2d, conv::Conv2d},
    prelude::*,
    tensor::{DType, TensorMetadata, TensorPrimitive, ops::FloatTensor},
};

use crate::Activation;
use crate::cpu::{self, ConvShape, Pool};

/// A CPU backend whose `f32` tensors the kernels read as slices and build from vectors.
pub(crate) trait Host: Backend {
    /// The values in row-major order; borrowed unless the layout is strided.
    fn values(tensor: &FloatTensor<Self>) -> Cow<'_, [f32]>;

    /// A tensor of `shape` holding `values` (row-major), without copying them.
    fn tensor(values: Vec<f32>, shape: Shape) -> FloatTensor<Self>;
}

#[cfg(feature = "flex")]
impl Host for burn::backend::Flex {
    fn values(tensor: &FloatTensor<Self>) -> Cow<'_, [f32]> {
        match tensor.as_slice() {
            Some(values) => Cow::Borrowed(values),
            None => Cow::Owned(
                tensor
                    .to_contiguous()
                    .as_slice()
                    .expect("a contiguous f32 tensor")
                    .to_vec(),
            ),
        }
    }

    fn tensor(values: Vec<f32>, shape: Shape) -> FloatTensor<Self> {
        burn::backend::flex::FlexTensor::from_data(TensorData::new(values, shape))
    }
}

#[cfg(feature = "ndarray")]
impl Host for burn::backend::NdArray {
    fn values(tensor: &FloatTensor<Self>) -> Cow<'_, [f32]> {
        let burn::backend::ndarray::NdArrayTensor::F32(storage) = tensor else {
            unreachable!("`route` lets only f32 tensors through");
        };
        let view = storage.view();
        match view.to_slice() {
            Some(values) => Cow::Borrowed(values),
            None => Cow::Owned(view.iter().copied().collect()),
        }
    }

    fn tensor(values: Vec<f32>, shape: Shape) -> FloatTensor<Self> {
        burn::backend::ndarray::NdArrayTensor::from_data(TensorData::new(values, shape))
    }
}

/// Whether `B` is host `H` itself or its autodiff wrapper.
#[derive(Clone, Copy)]
pub(crate) enum Route {
    Inference,
    Training,
}

/// How `B` relates to host `H`, if it is `H` itself or its autodiff wrapper without
/// checkpointing.
pub(crate) fn route_of<B: Backend, H: Host>() -> Option<Route> {
    let id = TypeId::of::<B>();
    if id == TypeId::of::<H>() {
        Some(Route::Inference)
    } else if id == TypeId::of::<Autodiff<H>>() {
        Some(Route::Training)
    } else {
        None
    }
}

/// The route for a layer whose operands have `dtypes`: every one must be `f32`.
fn route<B: Backend, H: Host>(dtypes: &[DType]) -> Option<Route> {
    if dtypes.iter().any(|&dtype| dtype != DType::F32) {
        return None;
    }
    route_of::<B, H>()
}

/// Moves a value between two names of the same type; [`route`] has established that they are.
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

/// `activation(conv(x, weight) + bias)` with `padding` on every side, on host `H`, or `Err(x)`
/// when `B` is not `H` (or its autodiff wrapper) or the shapes are not ones the kernels cover.
pub(crate) fn conv2d<B: Backend, H: Host>(
    x: Tensor<B, 4>,
    weight: Tensor<B, 4>,
    bias: Tensor<B, 1>,
    padding: usize,
    activation: Activation,
) -> Result<Tensor<B, 4>, Tensor<B, 4>> {
    let (Some(route), Some(shape)) = (
        route::<B, H>(&[x.dtype(), weight.dtype(), bias.dtype()]),
        conv_shape(weight.dims(), bias.dims(), padding, x.dims()),
    ) else {
        return Err(x);
    };
    Ok(match route {
        Route::Inference => {
            let [x, weight, bias]: [FloatTensor<H>; 3] =
                [primitive(x), primitive(weight), primitive::<B, 1, _>(bias)];
            tensor::<B, 4, _>(conv_forward::<H>(&shape, activation, &x, &weight, &bias))
        }
        Route::Training => tensor::<B, 4, _>(conv_autodiff::<H>(
            shape,
            activation,
            primitive(x),
            primitive(weight),
            primitive::<B, 1, _>(bias),
        )),
    })
}

/// The padding of `conv` when it is the same on every side, and `conv` is square, unit-stride,
/// undilated and ungrouped, with a bias: the convolutions the kernels cover.
pub(crate) fn conv_padding<B: Backend>(conv: &Conv2d<B>) -> Option<usize> {
    let padding = match conv.padding {
        PaddingConfig2d::Valid => 0,
        PaddingConfig2d::Explicit(top, left, bottom, right)
            if top == left && left == bottom && bottom == right =>
        {
            top
        }
        _ => return None,
    };
    let plain = conv.stride == [1, 1] && conv.dilation == [1, 1] && conv.groups == 1;
    (plain && conv.bias.is_some()).then_some(padding)
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
        let [x_node, weight_node, bias_node] = ops.parents;
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
            grads.register::<H>(node.id, H::tensor(computed.bias, [shape.maps].into()));
        }
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

/// A 2x2, stride-2 subsampling layer on host `H`, or `Err(x)` when not covered.
pub(crate) fn pool<B: Backend, H: Host>(
    pool: Pool,
    x: Tensor<B, 4>,
) -> Result<Tensor<B, 4>, Tensor<B, 4>> {
    let [batch, maps, height, width] = x.dims();
    let (Some(route), true) = (
        route::<B, H>(&[x.dtype()]),
        height % 2 == 0 && width % 2 == 0,
    ) else {
        return Err(x);
    };
    let forward = |x: &FloatTensor<H>| {
        let y = cpu::pool_forward(pool, [height, width], &H::values(x));
        H::tensor(y, [batch, maps, height / 2, width / 2].into())
    };
    Ok(unary::<B, H, 4, _>(
        route,
        x,
        PoolBackward,
        forward,
        |x, y| (pool, x, y),
    ))
}

#[derive(Debug)]
struct PoolBackward;

impl<H: Host> Backward<H, 1> for PoolBackward {
    /// The pooling, its input and its output.
    type State = (Pool, FloatTensor<H>, FloatTensor<H>);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<H>(&ops.node);
        let (pool, x, y) = ops.state;
        let shape = x.shape();
        if let [Some(node)] = ops.parents {
            let input = cpu::pool_backward(
                pool,
                [shape[2], shape[3]],
                &H::values(&x),
                &H::values(&y),
                &H::values(&grad),
            );
            grads.register::<H>(node.id, H::tensor(input, shape));
        }
    }
}

/// `activation(x)` on host `H`, or `Err(x)` when not covered.
pub(crate) fn activate<B: Backend, H: Host, const D: usize>(
    x: Tensor<B, D>,
    activation: Activation,
) -> Result<Tensor<B, D>, Tensor<B, D>> {
    let Some(route) = route::<B, H>(&[x.dtype()]) else {
        return Err(x);
    };
    let forward = |x: &FloatTensor<H>| {
        H::tensor(
            cpu::activation_forward(activation, &H::values(x)),
            x.shape(),
        )
    };
    Ok(unary::<B, H, D, _>(
        route,
        x,
        ActivationBackward,
        forward,
        |_, y| (activation, y),
    ))
}

/// A one-input layer on host `H`: `forward` alone for inference; for training, `forward`
/// recorded as an autodiff operation whose backward step is `op`, with the state that `state`
/// makes from the layer's input and output.
fn unary<B: Backend, H: Host, const D: usize, Op: Backward<H, 1>>(
    route: Route,
    x: Tensor<B, D>,
    op: Op,
    forward: impl Fn(&FloatTensor<H>) -> FloatTensor<H>,
    state: impl FnOnce(FloatTensor<H>, FloatTensor<H>) -> Op::State,
) -> Tensor<B, D> {
    match route {
        Route::Inference => tensor::<B, D, _>(forward(&primitive(x))),
        Route::Training => {
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

/// The paper's trainable subsampling on host `H`, or `Err(x)` when not covered.
pub(crate) fn subsample<B: Backend, H: Host>(
    x: Tensor<B, 4>,
    coefficient: Tensor<B, 1>,
    bias: Tensor<B, 1>,
    activation: Activation,
) -> Result<Tensor<B, 4>, Tensor<B, 4>> {
    let [batch, maps, height, width] = x.dims();
    let fits = height % 2 == 0 && width % 2 == 0 && coefficient.dims() == [maps];
    let (Some(route), true) = (
        route::<B, H>(&[x.dtype(), coefficient.dtype(), bias.dtype()]),
        fits && bias.dims() == [maps] && batch > 0,
    ) else {
        return Err(x);
    };
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
    Ok(match route {
        Route::Inference => {
            let [x, c, b]: [FloatTensor<H>; 3] = [
                primitive(x),
                primitive::<B, 1, _>(coefficient),
                primitive::<B, 1, _>(bias),
            ];
            tensor::<B, 4, _>(forward(&x, &c, &b))
        }
        Route::Training => {
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
    })
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

/// The paper's Euclidean RBF units on host `H`, or `Err(x)` when not covered.
pub(crate) fn rbf<B: Backend, H: Host>(
    x: Tensor<B, 2>,
    centres: Tensor<B, 2>,
) -> Result<Tensor<B, 2>, Tensor<B, 2>> {
    let ([batch, inputs], [units, width]) = (x.dims(), centres.dims());
    let (Some(route), true) = (
        route::<B, H>(&[x.dtype(), centres.dtype()]),
        batch > 0 && inputs > 0 && width == inputs,
    ) else {
        return Err(x);
    };
    let forward = |x: &FloatTensor<H>, c: &FloatTensor<H>| {
        let y = cpu::rbf_forward(inputs, &H::values(x), &H::values(c));
        H::tensor(y, [batch, units].into())
    };
    Ok(match route {
        Route::Inference => {
            let [x, c]: [FloatTensor<H>; 2] = [primitive(x), primitive(centres)];
            tensor::<B, 2, _>(forward(&x, &c))
        }
        Route::Training => {
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
    })
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
