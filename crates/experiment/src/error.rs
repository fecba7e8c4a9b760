use std::path::PathBuf;

/// A configuration file that cannot be read or is not valid, with the file, the key and what to
/// do.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The configuration file cannot be read.
    #[error(
        "cannot read configuration file {path} (run from the repository root, or pass --config FILE)"
    )]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },

    /// A key in the configuration (or the option that overrides it) is wrong.
    #[error("{path}: {key}: {message}")]
    Invalid {
        /// The configuration file.
        path: PathBuf,
        /// The key, dotted: `training.batch_size`.
        key: String,
        /// What is wrong and what is allowed.
        message: String,
    },
}
