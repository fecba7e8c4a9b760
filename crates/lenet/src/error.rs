use std::path::PathBuf;

use crate::{LeNet5Config, Variant};

/// Everything that can go wrong when building, feeding, saving or loading a [`crate::LeNet5`].
#[derive(Debug, thiserror::Error)]
pub enum LeNetError {
    /// A variant name that is neither "classic" nor "keras".
    #[error("unknown LeNet-5 variant {0:?}: use \"classic\" or \"keras\"")]
    UnknownVariant(String),

    /// A configuration that describes no network.
    #[error("cannot build this LeNet-5: {0}")]
    Unbuildable(String),

    /// Images of the wrong shape for the variant.
    #[error(
        "LeNet-5 \"{variant}\" expects images [batch >= 1, {}, {}, {}], got {actual:?}",
        expected[0], expected[1], expected[2]
    )]
    InputShape {
        /// The network's variant.
        variant: Variant,
        /// Channels, height and width the variant expects.
        expected: [usize; 3],
        /// The shape that was given.
        actual: [usize; 4],
    },

    /// The weights file does not exist.
    #[error(
        "model file {path} not found: train a model first (cargo run -p train) or pass the path of a model.mpk"
    )]
    NotFound {
        /// The path that was looked up.
        path: PathBuf,
    },

    /// The weights file could not be read or written.
    #[error("cannot {action} model file {path}")]
    Io {
        /// "read" or "write".
        action: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },

    /// The file is not a LeNet-5 record (truncated, corrupted, or another kind of file).
    #[error(
        "model file {origin} is not a LeNet-5 record written by this crate (truncated or corrupted?): {reason}"
    )]
    Decode {
        /// The file, or a description of where the bytes came from.
        origin: String,
        /// What the decoder reported.
        reason: String,
    },

    /// The record was saved from another network than the one asked for.
    #[error(
        "model file {origin} holds a LeNet-5 with {}, but one with {} was asked for: set the model's configuration to match or load another file",
        describe(found),
        describe(expected)
    )]
    ConfigMismatch {
        /// The file.
        origin: String,
        /// The network asked for.
        expected: LeNet5Config,
        /// The network the file holds.
        found: LeNet5Config,
    },

    /// A parameter in the record has a shape the network does not.
    #[error(
        "model file {origin}: parameter {param} has shape {found:?}, LeNet-5 \"{variant}\" needs {expected:?}"
    )]
    ParamShape {
        /// The file.
        origin: String,
        /// The network's variant.
        variant: Variant,
        /// The parameter's path, e.g. `c3.weight`.
        param: String,
        /// The shape the network needs.
        expected: Vec<usize>,
        /// The shape in the file.
        found: Vec<usize>,
    },
}

/// `variant = "keras", c1_padding = "same"`, as in a configuration file.
fn describe(config: &LeNet5Config) -> String {
    format!(
        "variant = \"{}\", c1_padding = \"{}\"",
        config.variant,
        config.c1_padding.name()
    )
}
