//! Train LeNet-5 on MNIST with Burn's `Learner`.
//!
//! The `train` binary reads an experiment from `configs/*.toml` (the `experiment` crate), finds
//! or downloads MNIST, and calls [`train_on_configured_backend`], which runs [`train`] on the
//! flex, ndarray or wgpu backend. [`train`] is a short list of steps: claim the artifacts
//! directory (lock, resume point), load the data, build the loaders and the `Learner`, fit,
//! evaluate on the test set, write the results. A run leaves, in its artifacts directory
//! ([`experiment::Artifacts`]), the weights (`model.mpk`, loadable with `lenet::load_file`),
//! the effective `config.toml`, one `metrics.csv` row per epoch, Burn's epoch checkpoints (for
//! `--resume`) and `report.json` ([`experiment::Report`]) with the test-set accuracy and
//! confusion matrix.
//!
//! The library installs no signal handler and no panic hook: a run stops through
//! [`RunOptions::interrupter`], which the binary connects to Ctrl-C and SIGTERM.
//!
//! # Example
//! Train the classic network for one epoch on the first 2,000 training images, on ndarray, as
//! `cargo run -p train -- --backend ndarray --epochs 1 --limit-train 2000` does (not run as a
//! doctest: it finds or downloads MNIST and trains):
//! ```no_run
//! use std::{num::NonZeroUsize, path::Path};
//! use experiment::{BackendKind, ExperimentConfig};
//! use train::RunOptions;
//!
//! let mut config = ExperimentConfig::load(Path::new("configs/lenet5.toml"))?;
//! config.training.backend = BackendKind::Ndarray;
//! config.training.epochs = 1;
//! let options = RunOptions {
//!     config_name: "lenet5".into(),
//!     artifacts: "artifacts/example".into(),
//!     data_dir: mnist::locate(None, &mnist::Download::default())?,
//!     limit_train: NonZeroUsize::new(2000),
//!     limit_test: None,
//!     resume: false,
//!     dashboard: false,
//!     interrupter: Default::default(),
//! };
//! let report = train::train_on_configured_backend(&config, &options)?;
//! println!("test accuracy {:.2}%", 100.0 * report.test_accuracy);
//! # Ok::<(), train::TrainError>(())
//! ```

mod backend;
mod dashboard;
pub mod data;
mod error;
pub mod evaluation;
pub mod metrics_csv;
pub mod optimizer;
mod pictures;
pub mod pool;
pub mod progress;
mod run_dir;
pub mod schedule;
pub mod throughput;
mod training;

pub use backend::train_on_configured_backend;
pub use error::TrainError;
pub use run_dir::last_complete_checkpoint;
pub use training::{RunOptions, train};
