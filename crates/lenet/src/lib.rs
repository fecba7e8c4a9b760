//! LeNet-5 (LeCun, Bottou, Bengio and Haffner, 1998) as a [Burn](https://burn.dev) `Module`,
//! generic over the backend.
//!
//! Three variants, chosen in [`LeNet5Config`]:
//! - [`Variant::Classic`] (the default): the paper's network as the lecture tabulates it.
//!   32x32 input; C1 6@5x5 tanh; S2 2x2 average pooling then tanh; C3 16@5x5 tanh; S4 like S2;
//!   C5 120@5x5 (a convolution, output 120x1x1) tanh; F6 84 tanh; output 10.
//! - [`Variant::Keras`]: the lecture's Keras code as it runs. 28x28 input; C1 6@5x5 without
//!   padding, ReLU; 2x2 max pooling; C3 16@5x5 ReLU; 2x2 max pooling; flatten (16x4x4); dense
//!   120, 84 (ReLU) and 10: 44,426 trainable parameters, as Keras' `model.summary()` prints.
//!   With [`C1Padding::Same`], the form its comments count: C1 keeps 28x28, S4 is 16x5x5, and
//!   the parameters are the classic network's 61,706.
//! - [`Variant::LeCun1998`]: the paper's network exactly (Section II-B). The squashing
//!   function `1.7159 tanh(2a/3)`; S2 and S4 add each 2x2 window, multiply by a trainable
//!   coefficient and add a trainable bias per map ([`Subsampling`]); C3 reads S2 through the
//!   paper's Table I ([`C3_TABLE`], [`TableConv2d`]); the output is 10 Euclidean RBF units
//!   ([`Rbf`]) comparing F6 with fixed 7x12 digit bitmaps ([`RBF_DIGITS`]). 60,000 trainable
//!   parameters, 340,908 connections, as the paper counts them.
//!
//! [`LeNet5::summary`] derives the lecture's table of parameters and connections from the built
//! network.
//!
//! # What an application needs
//! [`Classifier`] pairs a network with the input step it was trained with ([`InputConfig`]:
//! 28x28 u8 digits to the variant's input tensor, the same step `mnist`'s batcher uses in
//! training) and classifies digits into [`Classification`]s. With the `pretrained` feature,
//! [`Classifier::pretrained`] loads the weights this project trained ([`pretrained`]); any
//! other `model.mpk` loads with [`load_file`]. The repository's `apps/classify-png` is such an
//! application, outside the workspace.
//!
//! # Features
//! - `pretrained`: the built-in weights, with their training configuration and test report.
//! - `flex`, `ndarray`: fused kernels ([`lenet_kernels`]) on Burn's two CPU backends: on
//!   `Flex` and `NdArray` (f32) and their `Autodiff` wrappers, the convolutions (with their
//!   bias and activation), the subsampling layers and tanh run one pass each way, several
//!   times faster than Burn's generic operations there, to within 1e-5 of them.
//!   [`kernel_route`] says which path a backend takes. Every other backend, and these two
//!   without the features, run Burn's own operations: the same values, at Burn's speed.
//! - `train`: Burn's `TrainStep` and `InferenceStep` for [`MnistBatch`]es (burn-train). Off by
//!   default, so that an application that only classifies digits does not build the
//!   training stack.
//!
//! # Example
//! Build the network on the ndarray backend and classify one 32x32 image:
//! ```
//! use burn::backend::NdArray;
//! use burn::tensor::Tensor;
//! use lenet::{LeNet5Config, Variant};
//!
//! let device = Default::default();
//! let model = LeNet5Config::new()
//!     .with_variant(Variant::Classic)
//!     .init::<NdArray>(&device);
//!
//! // One image: [batch, channels, height, width].
//! let image = Tensor::<NdArray, 4>::zeros([1, 1, 32, 32], &device);
//! let prediction = model.predict(image);
//!
//! let digit = prediction.classes.into_scalar();
//! assert!((0..10).contains(&digit));
//! let total: f32 = prediction.probabilities.sum().into_scalar();
//! assert!((total - 1.0).abs() < 1e-5);
//!
//! assert_eq!(model.summary().total_params(), 61_706);
//! ```
//!
//! Trained weights are saved with [`LeNet5::save`] and read back with [`load_file`],
//! which reports a missing, truncated or mismatched file as a [`LeNetError`].

mod classify;
mod config;
mod error;
mod init;
mod input;
mod model;
mod paper;
#[cfg(feature = "pretrained")]
pub mod pretrained;
mod record;
mod summary;
#[cfg(feature = "train")]
mod training;

/// Burn, as this crate uses it: an application names its backend through it
/// (`lenet::burn::backend::NdArray`) without a Burn dependency of its own.
pub use burn;
pub use classify::{Classification, Classifier};
pub use config::{C1Padding, LeNet5Config, Variant};
pub use error::LeNetError;
pub use input::{IMAGE_PIXELS, IMAGE_SIDE, InputConfig, MnistBatch, Normalization};
pub use lenet_kernels::{
    Activation, Pooling, Route as KernelRoute, SCALED_TANH_AMPLITUDE, SCALED_TANH_SLOPE,
    route as kernel_route,
};
pub use model::{C3, C5, LayerOutputs, LeNet5, Output, Prediction};
pub use paper::{C3_TABLE, RBF_BITMAP, RBF_DIGITS, Rbf, Subsampling, TableConv2d, rbf_bitmaps};
pub use record::{load_bytes, load_file};
pub use summary::{LayerKind, LayerSummary, Summary};
#[cfg(feature = "train")]
pub use training::{MAP_J, map_loss};

/// README's Rust code (the downstream app's `main.rs`) is compiled as a doctest of this crate,
/// so that it stays true to the API; it uses the built-in weights.
#[cfg(all(doctest, feature = "pretrained"))]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;
