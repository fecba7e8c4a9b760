//! The fused layers on Burn's CPU backends, as a backend extension: forward kernels for the
//! backend itself (`Flex`, `NdArray`), and for its autodiff wrapper (`Autodiff<Flex>`,
//! `Autodiff<NdArray>`) autodiff operations whose backward steps are ours.
//!
//! [`Fused::of`] tells whether a layer's backend and operand types are ones the kernels take,
//! and its methods run a layer on the host it names. The public operations in the crate root
//! ask it, check the shapes with this module's `*_shape` and `*_fits` functions, and otherwise
//! run Burn's operations.

mod adam;
mod conv;
mod dense;
mod features;
mod rbf;
mod subsample;
mod unary;

use std::{
    any::{Any, TypeId},
    borrow::Cow,
};

#[cfg(feature = "flex")]
use burn::backend::Flex;
#[cfg(feature = "ndarray")]
use burn::backend::NdArray;
use burn::{
    backend::Autodiff,
    optim::AdamState,
    prelude::*,
    tensor::{DType, TensorPrimitive, ops::FloatTensor},
};

pub(crate) use conv::conv_shape;
pub(crate) use dense::dense_shape;
pub(crate) use features::{Conv, feature_convs};
pub(crate) use rbf::rbf_fits;
pub(crate) use subsample::subsample_fits;
pub(crate) use unary::pool_fits;

use crate::cpu::{AdamConstants, ConvShape, DenseShape};
use crate::{Activation, Pooling, Route};

/// A CPU backend whose `f32` tensors the kernels read as slices and build from vectors.
trait Host: Backend {
    /// The values in row-major order; borrowed unless the layout is strided.
    fn values(tensor: &FloatTensor<Self>) -> Cow<'_, [f32]>;

    /// A tensor of `shape` holding `values` (row-major), without copying them.
    fn tensor(values: Vec<f32>, shape: Shape) -> FloatTensor<Self>;
}

#[cfg(feature = "flex")]
impl Host for Flex {
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
impl Host for NdArray {
    fn values(tensor: &FloatTensor<Self>) -> Cow<'_, [f32]> {
        let burn::backend::ndarray::NdArrayTensor::F32(storage) = tensor else {
            unreachable!("`Fused::of` lets only f32 tensors through");
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

/// Whether the backend is a host itself, for inference, or its autodiff wrapper, for training.
#[derive(Clone, Copy)]
pub(crate) enum Mode {
    Inference,
    Training,
}

impl Mode {
    /// How `B` relates to host `H`, if it is `H` itself or its autodiff wrapper without
    /// checkpointing.
    fn of<B: Backend, H: Host>() -> Option<Self> {
        let id = TypeId::of::<B>();
        if id == TypeId::of::<H>() {
            Some(Mode::Inference)
        } else if id == TypeId::of::<Autodiff<H>>() {
            Some(Mode::Training)
        } else {
            None
        }
    }
}

/// The fused kernels that take a layer: which host's, and in which mode. The one place that
/// knows which hosts exist.
#[derive(Clone, Copy)]
pub(crate) enum Fused {
    #[cfg(feature = "flex")]
    Flex(Mode),
    #[cfg(feature = "ndarray")]
    NdArray(Mode),
}

impl Fused {
    /// The kernels that take a layer on backend `B` whose operands have the types `dtypes`:
    /// none unless every one is `f32` and `B` is a host or its autodiff wrapper.
    pub(crate) fn of<B: Backend>(dtypes: &[DType]) -> Option<Self> {
        if dtypes.iter().any(|&dtype| dtype != DType::F32) {
            return None;
        }
        #[cfg(feature = "flex")]
        if let Some(mode) = Mode::of::<B, Flex>() {
            return Some(Fused::Flex(mode));
        }
        #[cfg(feature = "ndarray")]
        if let Some(mode) = Mode::of::<B, NdArray>() {
            return Some(Fused::NdArray(mode));
        }
        None
    }

    /// Whether `B` is the host itself (not its autodiff wrapper): an optimizer's tensors.
    pub(crate) fn is_host(self) -> bool {
        match self {
            #[cfg(feature = "flex")]
            Fused::Flex(mode) => matches!(mode, Mode::Inference),
            #[cfg(feature = "ndarray")]
            Fused::NdArray(mode) => matches!(mode, Mode::Inference),
        }
    }

    /// One step of Adam on a parameter of the host itself ([`Fused::is_host`]): the
    /// parameter after it and the optimizer's state.
    pub(crate) fn adam<B: Backend, const D: usize>(
        self,
        constants: AdamConstants,
        lr: f64,
        x: Tensor<B, D>,
        grad: Tensor<B, D>,
        state: Option<AdamState<B, D>>,
    ) -> (Tensor<B, D>, AdamState<B, D>) {
        assert!(self.is_host(), "an optimizer steps the host's own tensors");
        match self {
            #[cfg(feature = "flex")]
            Fused::Flex(_) => adam::adam::<B, Flex, D>(constants, lr, x, grad, state),
            #[cfg(feature = "ndarray")]
            Fused::NdArray(_) => adam::adam::<B, NdArray, D>(constants, lr, x, grad, state),
        }
    }

    /// The route these kernels are, in the crate's public terms.
    pub(crate) fn route(self) -> Route {
        match self {
            #[cfg(feature = "flex")]
            Fused::Flex(_) => Route::FusedFlex,
            #[cfg(feature = "ndarray")]
            Fused::NdArray(_) => Route::FusedNdArray,
        }
    }

    /// `activation(conv(x, weight) + bias)`, for a `shape` from [`conv_shape`].
    pub(crate) fn convolve<B: Backend>(
        self,
        shape: ConvShape,
        activation: Activation,
        x: Tensor<B, 4>,
        weight: Tensor<B, 4>,
        bias: Tensor<B, 1>,
    ) -> Tensor<B, 4> {
        match self {
            #[cfg(feature = "flex")]
            Fused::Flex(mode) => {
                conv::convolve::<B, Flex>(mode, shape, activation, x, weight, bias)
            }
            #[cfg(feature = "ndarray")]
            Fused::NdArray(mode) => {
                conv::convolve::<B, NdArray>(mode, shape, activation, x, weight, bias)
            }
        }
    }

    /// `x · weight + bias`, for a `shape` from [`dense_shape`] (the weight of any rank: a
    /// convolution's kernels).
    pub(crate) fn dense<B: Backend, const D: usize>(
        self,
        shape: DenseShape,
        x: Tensor<B, 2>,
        weight: Tensor<B, D>,
        bias: Tensor<B, 1>,
    ) -> Tensor<B, 2> {
        match self {
            #[cfg(feature = "flex")]
            Fused::Flex(mode) => dense::dense::<B, Flex, D>(mode, shape, x, weight, bias),
            #[cfg(feature = "ndarray")]
            Fused::NdArray(mode) => dense::dense::<B, NdArray, D>(mode, shape, x, weight, bias),
        }
    }

    /// C1 to S4 for convolutions whose outputs [`pool_fits`]: in one pass per image for
    /// inference; on an autodiff backend, each convolution with its pooling.
    pub(crate) fn features<B: Backend>(
        self,
        convs: [Conv<B>; 2],
        activation: Activation,
        pooling: Pooling,
        x: Tensor<B, 4>,
    ) -> Tensor<B, 4> {
        match self {
            #[cfg(feature = "flex")]
            Fused::Flex(Mode::Inference) => {
                features::features::<B, Flex>(convs, activation, pooling, x)
            }
            #[cfg(feature = "flex")]
            Fused::Flex(Mode::Training) => {
                features::features_autodiff::<B, Flex>(convs, activation, pooling, x)
            }
            #[cfg(feature = "ndarray")]
            Fused::NdArray(Mode::Inference) => {
                features::features::<B, NdArray>(convs, activation, pooling, x)
            }
            #[cfg(feature = "ndarray")]
            Fused::NdArray(Mode::Training) => {
                features::features_autodiff::<B, NdArray>(convs, activation, pooling, x)
            }
        }
    }

    /// A 2x2, stride-2 subsampling layer, on an input that [`pool_fits`].
    pub(crate) fn pool<B: Backend>(self, pooling: Pooling, x: Tensor<B, 4>) -> Tensor<B, 4> {
        match self {
            #[cfg(feature = "flex")]
            Fused::Flex(mode) => unary::pool::<B, Flex>(mode, pooling, x),
            #[cfg(feature = "ndarray")]
            Fused::NdArray(mode) => unary::pool::<B, NdArray>(mode, pooling, x),
        }
    }

    /// `activation(x)`, elementwise.
    pub(crate) fn activate<B: Backend, const D: usize>(
        self,
        activation: Activation,
        x: Tensor<B, D>,
    ) -> Tensor<B, D> {
        match self {
            #[cfg(feature = "flex")]
            Fused::Flex(mode) => unary::activate::<B, Flex, D>(mode, activation, x),
            #[cfg(feature = "ndarray")]
            Fused::NdArray(mode) => unary::activate::<B, NdArray, D>(mode, activation, x),
        }
    }

    /// The paper's trainable subsampling, on operands that [`subsample_fits`].
    pub(crate) fn subsample<B: Backend>(
        self,
        activation: Activation,
        x: Tensor<B, 4>,
        coefficient: Tensor<B, 1>,
        bias: Tensor<B, 1>,
    ) -> Tensor<B, 4> {
        match self {
            #[cfg(feature = "flex")]
            Fused::Flex(mode) => {
                subsample::subsample::<B, Flex>(mode, activation, x, coefficient, bias)
            }
            #[cfg(feature = "ndarray")]
            Fused::NdArray(mode) => {
                subsample::subsample::<B, NdArray>(mode, activation, x, coefficient, bias)
            }
        }
    }

    /// The paper's Euclidean RBF units, on operands that [`rbf_fits`].
    pub(crate) fn rbf<B: Backend>(self, x: Tensor<B, 2>, centres: Tensor<B, 2>) -> Tensor<B, 2> {
        match self {
            #[cfg(feature = "flex")]
            Fused::Flex(mode) => rbf::rbf::<B, Flex>(mode, x, centres),
            #[cfg(feature = "ndarray")]
            Fused::NdArray(mode) => rbf::rbf::<B, NdArray>(mode, x, centres),
        }
    }
}

/// Moves a value between two names of the same type; [`Fused::of`] has established that they
/// are.
fn same<T: 'static, U: 'static>(value: T) -> U {
    let mut slot = Some(value);
    (&mut slot as &mut dyn Any)
        .downcast_mut::<Option<U>>()
        .and_then(Option::take)
        .expect("the backend was checked to be this type")
}

/// A tensor of backend `B` as the primitive of the host (or autodiff wrapper) that `B` is.
fn primitive<B: Backend, const D: usize, P: 'static>(tensor: Tensor<B, D>) -> P {
    same(tensor.into_primitive().tensor())
}

/// The inverse of [`primitive`].
fn tensor<B: Backend, const D: usize, P: 'static>(primitive: P) -> Tensor<B, D> {
    Tensor::from_primitive(TensorPrimitive::Float(same::<P, FloatTensor<B>>(primitive)))
}
