//! The experiment schema: one TOML file in `configs/` per training run, read into Burn `Config`
//! structs ([`ExperimentConfig`]), with defaults for what a file leaves out and an error naming
//! the file and the key for anything else.
//!
//! `train` runs what a configuration says and leaves its results in an artifacts directory
//! ([`Artifacts`]: the weights, the effective configuration, the test [`Report`]); `infer` and
//! `web` read them to know a model's input step and accuracy. The crate holds no training
//! code, so reading a configuration or a report does not build Burn's training stack or any
//! backend.
//!
//! # Example
//! Read a configuration and change it before training, as `train` does:
//! ```
//! use std::path::Path;
//! use experiment::{BackendKind, ExperimentConfig};
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

mod artifacts;
mod config;
mod error;
mod report;

pub use artifacts::Artifacts;
pub use config::{
    BackendKind, ExperimentConfig, OptimizerConfig, OptimizerKind, Schedule, TrainingConfig,
    default_artifacts_dir,
};
pub use error::ConfigError;
pub use report::Report;
