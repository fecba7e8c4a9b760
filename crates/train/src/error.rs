use std::path::PathBuf;

/// Everything that stops a training run, each with the file or key concerned and what to do.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The configuration file cannot be read.
    #[error(
        "cannot read configuration file {path}: {source} (run from the repository root, or pass --config FILE)"
    )]
    ConfigRead {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },

    /// A key in the configuration (or the option that overrides it) is wrong.
    #[error("{path}: {key}: {message}")]
    Config {
        /// The configuration file.
        path: PathBuf,
        /// The key, dotted: `training.batch_size`.
        key: String,
        /// What is wrong and what is allowed.
        message: String,
    },

    /// A command-line option is out of range.
    #[error("{option}: {message}")]
    Option {
        /// The option, e.g. `--limit-train`.
        option: &'static str,
        /// What is wrong.
        message: String,
    },

    /// The artifacts directory already holds a run.
    #[error(
        "{dir} already holds a training run: continue it with --resume, choose another directory with --artifacts DIR, or delete {dir}"
    )]
    ArtifactsExist {
        /// The directory.
        dir: PathBuf,
    },

    /// `--resume` found nothing to resume.
    #[error("nothing to resume in {dir}: {reason}; start a new run without --resume")]
    NoCheckpoint {
        /// The artifacts directory.
        dir: PathBuf,
        /// What is missing.
        reason: String,
    },

    /// The wgpu backend found no adapter.
    #[error(
        "the wgpu backend found no usable GPU adapter ({reason}); install a Vulkan, Metal or DirectX 12 driver (on Linux without a GPU, Mesa's lavapipe: apt install mesa-vulkan-drivers), or use --backend flex"
    )]
    NoAdapter {
        /// What wgpu reported.
        reason: String,
    },

    /// MNIST could not be found, downloaded or read.
    #[error(transparent)]
    Data(#[from] mnist::MnistError),

    /// The model could not be saved or loaded.
    #[error(transparent)]
    Model(#[from] lenet::LeNetError),

    /// An output file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}
