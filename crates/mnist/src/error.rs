//! The one error type of the crate.

use std::fmt::Write as _;
use std::io;
use std::path::PathBuf;

use thiserror::Error;

/// Everything that can go wrong while finding, downloading, verifying or reading MNIST.
///
/// Each variant names the file (or URL) concerned and what is wrong with it, and its message
/// says what to do about it, so that binaries can print it as it is.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum MnistError {
    /// Some of the four files are in none of the searched directories and downloading was off.
    #[error("{}", missing_files_message(missing, searched, urls))]
    MissingFiles {
        /// File names (without `.gz`) that were not found.
        missing: Vec<String>,
        /// Every directory that was searched, in search order.
        searched: Vec<PathBuf>,
        /// Where the missing files can be downloaded from.
        urls: Vec<String>,
    },

    /// A file or directory could not be read, written or created.
    #[error("cannot {action} {}", path.display())]
    Io {
        /// What was being done, e.g. "read" or "create directory".
        action: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },

    /// A directory stands where one of the IDX files should be.
    #[error(
        "{} is a directory where an MNIST IDX file should be: move it away and put the file \
         (raw or .gz) there, or point MNIST_DIR or --data-dir elsewhere",
        path.display()
    )]
    NotAFile {
        /// The directory.
        path: PathBuf,
    },

    /// A file starts like gzip but does not decompress.
    #[error(
        "{}: corrupted gzip data; delete the file so that it is downloaded again, \
         or replace it with a good copy",
        path.display()
    )]
    Gzip {
        /// The file (or URL, for a download) concerned.
        path: PathBuf,
        /// The decompressor's error.
        source: io::Error,
    },

    /// A file is shorter than the IDX header it must start with.
    #[error(
        "{}: only {len} bytes, too short for the {needed}-byte IDX header; the file is \
         truncated or not an MNIST file",
        path.display()
    )]
    TruncatedHeader {
        /// The file concerned.
        path: PathBuf,
        /// Its (decompressed) length.
        len: usize,
        /// The header length its kind needs.
        needed: usize,
    },

    /// The first four bytes are not the magic number of the expected IDX kind.
    #[error(
        "{}: magic number {found:#010x}, expected {expected:#010x} ({kind}); the file is not \
         an MNIST {kind} file or is corrupted (images and labels swapped?)",
        path.display()
    )]
    BadMagic {
        /// The file concerned.
        path: PathBuf,
        /// "images" or "labels".
        kind: &'static str,
        /// The magic number that kind requires.
        expected: u32,
        /// The number found.
        found: u32,
    },

    /// An image file declares images that are not 28x28.
    #[error(
        "{}: images are {rows}x{cols} pixels, expected 28x28; this is not MNIST",
        path.display()
    )]
    BadDimensions {
        /// The file concerned.
        path: PathBuf,
        /// Declared rows.
        rows: u32,
        /// Declared columns.
        cols: u32,
    },

    /// The data after the header does not have the length the header declares.
    #[error(
        "{}: the header declares {declared} items, i.e. {expected_bytes} bytes of data, but \
         {actual_bytes} bytes follow it; the file is truncated or corrupted",
        path.display()
    )]
    LengthMismatch {
        /// The file concerned.
        path: PathBuf,
        /// Item count in the header.
        declared: u32,
        /// Data bytes that count requires.
        expected_bytes: u64,
        /// Data bytes present.
        actual_bytes: u64,
    },

    /// The image and label files of one split disagree on the number of items.
    #[error(
        "{} holds {image_count} images but {} holds {label_count} labels; the two files do \
         not belong together",
        images.display(),
        labels.display()
    )]
    CountMismatch {
        /// The image file.
        images: PathBuf,
        /// The label file.
        labels: PathBuf,
        /// Images in it.
        image_count: usize,
        /// Labels in the label file.
        label_count: usize,
    },

    /// A label outside 0..=9.
    #[error(
        "{}: label {label} at index {index} is not a digit 0..=9; the file is corrupted",
        path.display()
    )]
    InvalidLabel {
        /// The file concerned.
        path: PathBuf,
        /// Position of the first bad label.
        index: usize,
        /// Its value.
        label: u8,
    },

    /// Decompressed content whose SHA-256 is not the published one.
    #[error(
        "{file} from {origin}: SHA-256 of the decompressed content is {actual}, expected \
         {expected}; the data is corrupted or not the published MNIST (a download with it is \
         discarded; delete or replace such a file on disk)"
    )]
    ChecksumMismatch {
        /// MNIST file name, e.g. `train-images-idx3-ubyte`.
        file: String,
        /// Where the content came from: a URL or a path.
        origin: String,
        /// Expected hash, lowercase hex.
        expected: String,
        /// Hash of what was received, lowercase hex.
        actual: String,
    },

    /// An HTTP request failed: no connection, timeout, error status, or a broken transfer.
    #[error("{url}")]
    Http {
        /// The URL requested.
        url: String,
        /// The HTTP client's error (boxed to keep this enum small).
        source: Box<ureq::Error>,
    },

    /// The server closed the connection before sending the whole body.
    #[error("{url}: connection closed after {received} of {expected} bytes")]
    IncompleteDownload {
        /// The URL requested.
        url: String,
        /// Bytes received.
        received: u64,
        /// Bytes announced by Content-Length.
        expected: u64,
    },

    /// Every mirror failed for one file; `attempts` holds each failure in order.
    #[error("{}", download_failed_message(file, attempts))]
    DownloadFailed {
        /// MNIST file name.
        file: String,
        /// One error per attempt, in the order tried.
        attempts: Vec<MnistError>,
    },

    /// The mirrors file could not be read or is malformed.
    #[error(
        "mirrors file {}: {reason}; it must hold `mirrors = [\"https://...\", ...]`",
        path.display()
    )]
    MirrorsFile {
        /// The file concerned.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },

    /// The validation split asked for more items than the training set has.
    #[error(
        "validation size {requested} is larger than the training set ({available} items); \
         choose a validation size from 0 to {available}"
    )]
    ValidationTooLarge {
        /// Requested validation size.
        requested: usize,
        /// Items in the training set.
        available: usize,
    },

    /// An augmentation range is negative, not finite, or out of its domain.
    #[error("augmentation setting {name} = {value} is invalid: {reason}")]
    InvalidAugmentation {
        /// The configuration field.
        name: &'static str,
        /// Its value.
        value: f32,
        /// The allowed range.
        reason: &'static str,
    },
}

impl MnistError {
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

fn missing_files_message(missing: &[String], searched: &[PathBuf], urls: &[String]) -> String {
    let mut message = format!("MNIST files not found: {}\n", missing.join(", "));
    if searched.is_empty() {
        message.push_str("no directory to search: no data directory was given, MNIST_DIR is unset and the system has no cache directory\n");
    } else {
        message.push_str("looked in:\n");
        for dir in searched {
            // Writing to a String cannot fail.
            let _ = writeln!(message, "  {}", dir.display());
        }
    }
    message.push_str(
        "to fix: put the four IDX files (raw or .gz) in a directory and set MNIST_DIR to it or \
         pass --data-dir, or allow downloading (drop --no-download)",
    );
    if !urls.is_empty() {
        message.push_str("; the files can be downloaded from:\n");
        for url in urls {
            let _ = writeln!(message, "  {url}");
        }
    }
    message.trim_end().to_owned()
}

fn download_failed_message(file: &str, attempts: &[MnistError]) -> String {
    if attempts.is_empty() {
        return format!(
            "cannot download {file}: no mirror is configured; add one to the mirrors file or \
             supply the file yourself (MNIST_DIR or --data-dir)"
        );
    }
    let mut message = format!("cannot download {file} from any mirror:\n");
    for attempt in attempts {
        // Each attempt with its causes: they are this error's details, not its source.
        let mut line = attempt.to_string();
        let mut cause = std::error::Error::source(attempt);
        while let Some(error) = cause {
            let _ = write!(line, ": {error}");
            cause = error.source();
        }
        let _ = writeln!(message, "  {line}");
    }
    message.push_str(
        "check the network connection, or download the file yourself and point MNIST_DIR or \
         --data-dir at its directory",
    );
    message
}
