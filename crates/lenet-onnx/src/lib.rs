//! LeNet-5 ([`lenet`]) to [ONNX](https://onnx.ai): a trained network as a file that onnxruntime
//! runs from Python, C++, C#, Java, on phones and in browsers (onnxruntime-web), and that
//! Netron draws. Burn 0.21 reads ONNX but does not write it.
//!
//! [`OnnxConfig::to_bytes`] and [`OnnxConfig::to_file`] write a [`lenet::Classifier`] (a
//! network and its input step) as one ONNX model, opset [`OPSET`]:
//! - input [`INPUT`], `[batch, 1, side, side]`: the variant's input tensor, as
//!   [`lenet::InputConfig::to_tensor`] makes it from 28x28 MNIST digits (the metadata's
//!   `lenet.input` says how: padding and normalisation), the batch size chosen at run time;
//! - outputs [`LOGITS`] and [`PROBABILITIES`], `[batch, 10]`, and with
//!   [`OnnxConfig::layer_outputs`] every hidden layer's activations ([`LAYERS`]);
//! - nodes named after the lecture's layers (`C1/conv`, `S2/pool`, ...), weights after the
//!   network's parameters (`c1.weight`, `f6.bias`, ...);
//! - metadata: `lenet.variant`, `lenet.model` (the [`lenet::LeNet5Config`] as JSON),
//!   `lenet.input` (the [`lenet::InputConfig`] as JSON), and what the caller adds (`infer`
//!   adds the training run's test accuracy).
//!
//! Each variant's layers become the operators that compute what `lenet` computes:
//! - classic: Conv, Tanh, AveragePool then Tanh, Flatten, Gemm;
//! - keras (either C1 padding): Conv, Relu, MaxPool, Flatten, Gemm;
//! - lecun1998: the scaled tanh as Mul, Tanh, Mul; the trainable subsampling as AveragePool
//!   times 4 x its coefficient (Mul) plus its bias (Add); C3's connection table as the full
//!   convolution weight with the missing kernels at zero; the RBF output as the sum
//!   (ReduceSum) of the squared differences (Sub, Mul) between F6 and the fixed centres, an
//!   initializer, negated (Neg);
//! - every variant: Softmax for the probabilities.
//!
//! The repository checks every variant against onnxruntime (`crates/infer/tests/onnx.rs`).
//!
//! # Example
//! ```
//! use lenet::burn::backend::NdArray;
//! use lenet::{Classifier, InputConfig, LeNet5Config, Variant};
//! use lenet_onnx::OnnxConfig;
//!
//! let device = Default::default();
//! let model = LeNet5Config::new().with_variant(Variant::Keras).init::<NdArray>(&device);
//! let classifier = Classifier::new(model, InputConfig::for_variant(Variant::Keras), &device);
//!
//! let metadata = [("note".to_owned(), "untrained".to_owned())];
//! let onnx = OnnxConfig::new().to_bytes(&classifier, &metadata);
//! assert!(onnx.len() > 44_426 * 4, "every parameter, as f32");
//! ```

mod error;
mod export;
mod graph;
pub mod proto;

pub use error::OnnxError;
pub use export::{INPUT, IR_VERSION, LAYERS, LOGITS, OPSET, OnnxConfig, PROBABILITIES};
