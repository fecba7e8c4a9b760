//! MNIST for Burn: found, downloaded, verified, parsed, split, augmented and batched.
//!
//! Data flows one way:
//!
//! 1. [`locate`] finds a directory holding the four IDX files (argument, `MNIST_DIR`, the
//!    per-user cache, Burn's cache), downloading and verifying them if needed ([`Download`]).
//! 2. [`MnistSplits::load`] parses and validates them into train, validation and test
//!    [`MnistDataset`]s of u8 images.
//! 3. [`AugmentedDataset`] optionally distorts training images, reproducibly per seed, and
//!    adds what preprocessing a photo leaves beside a digit ([`LeftoverConfig`]).
//! 4. [`MnistBatcher`] pads and normalises a batch into one tensor, using the model's input
//!    step ([`lenet::InputConfig::to_tensor`]), the same step inference uses for users' images.
//!
//! # Example
//!
//! ```
//! use burn::backend::NdArray;
//! use burn::data::dataloader::batcher::Batcher;
//! use burn::data::dataset::Dataset;
//! use lenet::{InputConfig, MnistBatch};
//! use mnist::{MnistBatcher, MnistDataset, MnistItem, MnistSplits};
//!
//! // A tiny synthetic dataset; real code gets one from `MnistSplits::load(&locate(..)?, 5000)`.
//! let items = (0..10u8).map(|label| MnistItem { image: [label * 25; 784], label });
//! let splits = MnistSplits::split(MnistDataset::from_items(items), MnistDataset::from_items([]), 2)?;
//! assert_eq!((splits.train.len(), splits.valid.len()), (8, 2));
//!
//! // Classic LeNet-5 input: 32x32, standardised.
//! let batcher = MnistBatcher::new(InputConfig::new());
//! let batch: MnistBatch<NdArray> =
//!     batcher.batch(splits.valid.iter().collect(), &Default::default());
//! assert_eq!(batch.images.dims(), [2, 1, 32, 32]);
//! assert_eq!(batch.targets.into_data().to_vec::<i64>().unwrap(), vec![8, 9]);
//! # Ok::<(), mnist::MnistError>(())
//! ```

#![warn(missing_docs)]

mod augment;
mod batcher;
mod config;
mod dataset;
mod error;
mod idx;
mod leftovers;
mod source;

pub use augment::{AugmentConfig, AugmentedDataset};
pub use batcher::MnistBatcher;
pub use config::DataConfig;
pub use dataset::{MnistDataset, MnistItem, MnistSplits};
pub use error::MnistError;
pub use idx::{parse_images, parse_labels};
pub use leftovers::LeftoverConfig;
/// The model's digit size, which MNIST's files must have.
pub use lenet::{IMAGE_PIXELS, IMAGE_SIDE};
pub use source::{Download, MNIST_FILES, MNIST_SHA256, locate};
