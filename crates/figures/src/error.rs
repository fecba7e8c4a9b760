use std::path::PathBuf;

/// What can go wrong drawing or saving a figure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FigureError {
    /// The shipped font could not be read (a damaged build).
    #[error("the figures' font could not be read")]
    Font,
    /// plotters could not draw the figure.
    #[error("cannot draw the figure: {0}")]
    Draw(String),
    /// The picture could not be written.
    #[error("cannot write {}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

impl FigureError {
    pub(crate) fn draw(error: impl std::fmt::Display) -> Self {
        FigureError::Draw(error.to_string())
    }
}
