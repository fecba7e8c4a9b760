use std::path::{Path, PathBuf};

use lenet::LeNetError;
use train::TrainError;

use crate::preprocess::{MAX_PIXELS, MAX_SIDE};

/// Everything that can go wrong in `infer`: with the model (before any image is read) or with
/// one input file (the other files are still classified).
#[derive(Debug, thiserror::Error)]
pub enum InferError {
    /// An input path does not exist.
    #[error("{file}: no such file or directory")]
    NotFound {
        /// The path as given.
        file: PathBuf,
    },

    /// An input file or directory exists but cannot be read.
    #[error("{file}: cannot read")]
    Read {
        /// The file or directory.
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

    /// The file's content is not in one of the supported image formats.
    #[error(
        "{file}: not an image in a supported format (PNG, JPEG, BMP, GIF, WebP or TIFF): convert it to PNG first"
    )]
    NotAnImage {
        /// The file.
        file: PathBuf,
    },

    /// The file looks like an image but cannot be decoded.
    #[error("{file}: cannot decode the image (truncated or corrupted?): {reason}")]
    Corrupt {
        /// The file.
        file: PathBuf,
        /// What the decoder reported.
        reason: String,
    },

    /// The image is in a supported format but uses a feature the decoder lacks.
    #[error("{file}: cannot decode the image: {reason}: convert it to PNG first")]
    Unsupported {
        /// The file.
        file: PathBuf,
        /// What the decoder does not support.
        reason: String,
    },

    /// The image is larger than [`MAX_SIDE`] on a side or than [`MAX_PIXELS`] in all; refused
    /// before decoding so that a decompression bomb cannot exhaust memory.
    #[error(
        "{file}: image is {width}x{height} pixels; infer accepts at most {MAX_SIDE} pixels on a side and {} megapixels: scale it down first",
        MAX_PIXELS / 1_000_000
    )]
    TooLarge {
        /// The file.
        file: PathBuf,
        /// Width the file declares.
        width: u64,
        /// Height the file declares.
        height: u64,
    },

    /// The image has no pixels.
    #[error("{file}: image is empty ({width}x{height} pixels)")]
    Empty {
        /// The file.
        file: PathBuf,
        /// Width the file declares.
        width: u32,
        /// Height the file declares.
        height: u32,
    },

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
        /// What `train` found wrong with it (boxed to keep this enum small).
        source: Box<TrainError>,
    },

    /// The wgpu backend has no usable device.
    #[error("the wgpu backend cannot start")]
    Backend(#[source] Box<TrainError>),
}

impl InferError {
    /// The input file (or directory) the error is about, for errors about one input.
    pub fn file(&self) -> Option<&Path> {
        match self {
            InferError::NotFound { file }
            | InferError::Read { file, .. }
            | InferError::NoImagesInDirectory { file }
            | InferError::NotAnImage { file }
            | InferError::Corrupt { file, .. }
            | InferError::Unsupported { file, .. }
            | InferError::TooLarge { file, .. }
            | InferError::Empty { file, .. }
            | InferError::NoDigit { file }
            | InferError::SavePreprocessed { file, .. }
            | InferError::SaveExplanation { file, .. } => Some(file),
            InferError::SaveDirectory { .. }
            | InferError::NoModelInDirectory { .. }
            | InferError::Model(_)
            | InferError::ModelConfig { .. }
            | InferError::Backend(_) => None,
        }
    }
}
