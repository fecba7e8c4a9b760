//! Classify handwritten digits in ordinary images (photos and scans of paper, drawings,
//! screenshots) with a LeNet-5 trained on MNIST.
//!
//! LeNet-5 only knows MNIST's form: 28x28 pixels, light ink on a black field, the digit fitted
//! to a 20x20 box and centred by its centre of mass. The crate bridges the two:
//!
//! ```text
//! file ──preprocess::read_image (decode, size limits)──> image
//!      ──preprocess::to_mnist (grey, background, polarity, lines, crop, 20x20, centre)──> 28x28 u8
//!      ──lenet::InputConfig::to_tensor (the model-input step training uses)──> LeNet-5
//!      ──> Classification ──output──> text or JSON lines
//! ```
//!
//! The model is built into the binary (see [`ModelSource::Embedded`]), so classifying works
//! right after cloning; [`ModelSource::Path`] loads one written by `train` instead.
//!
//! # Example
//! Draw a dark "1" off centre on a light grey canvas, bring it into MNIST's form, and classify
//! it with the built-in model on the ndarray backend:
//! ```
//! use burn::backend::NdArray;
//! use image::{DynamicImage, GrayImage, Luma};
//! use infer::{Classifier, ModelSource, preprocess};
//!
//! let canvas = GrayImage::from_fn(120, 90, |x, y| {
//!     let stroke = (70..78).contains(&x) && (10..80).contains(&y);
//!     Luma([if stroke { 30 } else { 220 }])
//! });
//! let digit = preprocess::to_mnist(&DynamicImage::ImageLuma8(canvas)).expect("a digit");
//!
//! // Light ink on a background of exactly 0, 20 pixels tall, in the middle of 28x28.
//! assert_eq!(digit.iter().max(), Some(&255));
//! assert_eq!(digit[0], 0);
//! let rows_with_ink = digit.chunks(28).filter(|row| row.iter().any(|&p| p > 0)).count();
//! assert_eq!(rows_with_ink, 20);
//!
//! let classifier = Classifier::<NdArray>::load(&ModelSource::Embedded, &Default::default())?;
//! let classification = &classifier.classify(&[digit])[0];
//! println!("{} with probability {:.3}", classification.digit, classification.confidence());
//! let total: f32 = classification.probabilities.iter().sum();
//! assert!((total - 1.0).abs() < 1e-4);
//! # Ok::<(), infer::InferError>(())
//! ```

mod error;
pub mod explain;
mod model;
mod onnx;
pub mod output;
mod run;

pub use error::InferError;
pub use explain::Explanation;
pub use lenet::Classification;
pub use model::{AnyClassifier, Classifier, ModelSource};
pub use onnx::export_onnx;
/// From a file to MNIST's form: safe decoding, then the recipe MNIST's digits were made with;
/// re-exported so that `infer` is the one entry point an application needs.
pub use preprocess;
pub use run::{
    IMAGE_EXTENSIONS, Outcome, SaveNames, Saves, classify_files, expand_inputs, prepare_save_dir,
};
