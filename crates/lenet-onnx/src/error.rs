use std::path::PathBuf;

/// What can go wrong writing an ONNX file.
#[derive(Debug, thiserror::Error)]
pub enum OnnxError {
    /// The file could not be written (a missing directory, no permission, a full disk); any
    /// file that was there is unchanged.
    #[error("cannot write the ONNX model {}", file.display())]
    Write {
        /// The file.
        file: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}
