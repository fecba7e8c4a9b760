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
//! Without features this crate does not depend on Burn's training crate: an application that
//! only classifies digits pulls in the network and a backend, nothing else. The `train` feature
//! adds Burn's `TrainStep` and `InferenceStep` for MNIST batches (from the `mnist` crate).
//!
//! The `flex` and `ndarray` features make the network fast on Burn's two CPU backends: on
//! `Flex` and `NdArray` (f32) and their `Autodiff` wrappers, the convolutions (with their bias
//! and activation), the subsampling layers and tanh run fused kernels with hand-written
//! backward passes, several times faster than Burn's generic operations there. Their values
//! agree with Burn's to within 1e-5 (tanh is a rational approximation within 5e-7 of
//! `f32::tanh`). The model's type and API do not change, and every other backend runs Burn's
//! own operations.
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

mod config;
mod error;
mod model;
mod paper;
mod record;
mod summary;
#[cfg(feature = "train")]
mod training;

pub use config::{C1Padding, LeNet5Config, Variant};
pub use error::LeNetError;
pub use lenet_kernels::{Activation, Pooling};
pub use model::{C3, C5, LayerOutputs, LeNet5, Output, Prediction};
pub use paper::{C3_TABLE, RBF_BITMAP, RBF_DIGITS, Rbf, Subsampling, TableConv2d, rbf_bitmaps};
pub use record::{load_bytes, load_file};
pub use summary::{LayerKind, LayerSummary, Summary};
#[cfg(feature = "train")]
pub use training::{MAP_J, map_loss};

/// README's examples are compiled and run as doctests of this crate.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;
