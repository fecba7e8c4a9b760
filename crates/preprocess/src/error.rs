use std::path::{Path, PathBuf};

use crate::{MAX_PIXELS, MAX_SIDE};

/// Why a file, or bytes, could not be decoded into an image; each names the file and, where
/// the user can do something, what.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The file does not exist.
    #[error("{file}: no such file or directory")]
    NotFound {
        /// The path as given.
        file: PathBuf,
    },

    /// The file exists but cannot be read.
    #[error("{file}: cannot read")]
    Read {
        /// The file.
        file: PathBuf,
        /// What the operating system reported.
        source: std::io::Error,
    },

    /// The content is not in one of the supported image formats.
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
        "{file}: image is {width}x{height} pixels; at most {MAX_SIDE} pixels on a side and {} megapixels are accepted: scale it down first",
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
}

impl DecodeError {
    /// The file the error is about.
    pub fn file(&self) -> &Path {
        match self {
            DecodeError::NotFound { file }
            | DecodeError::Read { file, .. }
            | DecodeError::NotAnImage { file }
            | DecodeError::Corrupt { file, .. }
            | DecodeError::Unsupported { file, .. }
            | DecodeError::TooLarge { file, .. }
            | DecodeError::Empty { file, .. } => file,
        }
    }
}
