use std::path::{Path, PathBuf};

use experiment::ConfigError;
use lenet::LeNetError;
use preprocess::DecodeError;

/// Everything that can go wrong in `infer`: with the model (before any image is read) or with
/// one input file (the other files are still classified).
#[derive(Debug, thiserror::Error)]
pub enum InferError {
    /// An input directory, or the model's `report.json`, exists but cannot be read.
    #[error("{file}: cannot read")]
    Read {
        /// The directory or file.
        file: PathBuf,
        /// What the operating system reported.
        source: std::io::Error,
    },

    /// A directory given as input holds no file with an image extension.
    #[error(
        "{file}: directory holds no images (looked for .png, .jpg, .jpeg, .bmp, .gif, .webp, .tif, .tiff): pass image files or another directory"
    )]
    NoImagesInDirectory {
        /// The directory.
        file: PathBuf,
    },

    /// An input file cannot be decoded into an image.
    #[error(transparent)]
    Decode(#[from] DecodeError),

    /// Nothing in the image stands out from its background.
    #[error(
        "{file}: no digit found: nothing stands out from the background (a blank or nearly uniform image?)"
    )]
    NoDigit {
        /// The file.
        file: PathBuf,
    },

    /// The preprocessed 28x28 image could not be written (`--save-preprocessed`).
    #[error("{file}: cannot save the preprocessed image as {target}: {reason}")]
    SavePreprocessed {
        /// The input file.
        file: PathBuf,
        /// The PNG that could not be written.
        target: PathBuf,
        /// What failed.
        reason: String,
    },

    /// The sheet of the layers' outputs could not be drawn or written (`--explain`).
    #[error("{file}: cannot write the explanation sheet {target}: {reason}")]
    SaveExplanation {
        /// The input file.
        file: PathBuf,
        /// The PNG that could not be written.
        target: PathBuf,
        /// What failed.
        reason: String,
    },

    /// The directory for `--save-preprocessed` or `--explain` cannot be created.
    #[error("cannot create directory {dir}")]
    SaveDirectory {
        /// The directory.
        dir: PathBuf,
        /// What the operating system reported.
        source: std::io::Error,
    },

    /// A model directory without `model.mpk`.
    #[error(
        "{dir} holds no model.mpk: pass a model.mpk or an artifacts directory written by train, or leave out --model to use the built-in model"
    )]
    NoModelInDirectory {
        /// The directory.
        dir: PathBuf,
    },

    /// The weights cannot be loaded.
    #[error("cannot load the model")]
    Model(#[from] LeNetError),

    /// The training configuration beside the model cannot be read or is not valid.
    #[error("{file}: not a training configuration infer can use")]
    ModelConfig {
        /// The configuration file, or a description of the embedded one.
        file: PathBuf,
        /// What is wrong with it.
        source: ConfigError,
    },

    /// The ONNX file cannot be written (`--export-onnx`).
    #[error(transparent)]
    Export(#[from] lenet_onnx::OnnxError),

    /// The wgpu backend has no usable device.
    #[error(transparent)]
    Backend(#[from] backends::BackendError),
}

impl InferError {
    /// The input file (or directory) the error is about, for errors about one input.
    pub fn file(&self) -> Option<&Path> {
        match self {
            InferError::Read { file, .. }
            | InferError::NoImagesInDirectory { file }
            | InferError::NoDigit { file }
            | InferError::SavePreprocessed { file, .. }
            | InferError::SaveExplanation { file, .. } => Some(file),
            InferError::Decode(error) => Some(error.file()),
            InferError::SaveDirectory { .. }
            | InferError::NoModelInDirectory { .. }
            | InferError::Model(_)
            | InferError::ModelConfig { .. }
            | InferError::Export(_)
            | InferError::Backend(_) => None,
        }
    }
}
