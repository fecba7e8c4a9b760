//! Train LeNet-5 on MNIST with Burn's `Learner`.
//!
//! The `train` binary reads an experiment from `configs/*.toml` ([`ExperimentConfig`]), finds
//! or downloads MNIST, and calls [`train_on_configured_backend`], which runs [`train`] on the
//! flex, ndarray or wgpu backend. A run leaves, in its artifacts directory, the weights
//! (`model.mpk`, loadable with `lenet::load_file`), the effective `config.toml`, one
//! `metrics.csv` row per epoch, Burn's epoch checkpoints (for `--resume`) and `report.json`
//! with the test-set accuracy and confusion matrix.
//!
//! # Example
//! Read a configuration and change it before training, as the binary does:
//! ```
//! use std::path::Path;
//! use train::{BackendKind, ExperimentConfig};
//!
//! let toml = "[training]\nepochs = 2\nbackend = \"ndarray\"\n";
//! let mut config = ExperimentConfig::from_toml(toml, Path::new("example.toml")).unwrap();
//! config.training.batch_size = 64;
//! assert_eq!(config.training.backend, BackendKind::Ndarray);
//! assert!(config.to_toml().contains("batch_size = 64"));
//!
//! // An unknown key is an error that names it.
//! let error = ExperimentConfig::from_toml("[training]\nepoks = 2\n", Path::new("example.toml"));
//! assert!(error.unwrap_err().to_string().contains("training.epoks"));
//! ```

mod backend;
pub mod config;
mod dashboard;
pub mod data;
mod error;
pub mod metrics_csv;
pub mod optimizer;
mod pictures;
pub mod progress;
pub mod report;
pub mod schedule;
pub mod throughput;
pub mod training;

pub use backend::{WgpuBackend, probe_wgpu, train_on_configured_backend};
pub use config::{BackendKind, ExperimentConfig, OptimizerConfig, Schedule, TrainingConfig};
pub use error::TrainError;
pub use report::Report;
pub use training::{RunOptions, train};
