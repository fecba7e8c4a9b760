//! Pictures of a LeNet-5 run, as PNG files: the training curves, the test confusion matrix as
//! a heat map, the test digits the model got wrong, the learned convolution kernels, and a
//! sheet of every layer's output for one image.
//!
//! Plain data in, pictures out: the crate knows nothing of Burn, so `train` (and any app)
//! hands it numbers and 28x28 digits. Charts are drawn with plotters; text with DejaVu Sans,
//! shipped in the crate (`fonts/`), so a figure looks the same on every machine whatever
//! fonts it has. Colour maps get lighter as values grow, so the figures read in greyscale too.
//!
//! # Example
//! ```
//! use figures::{EpochPoint, curves};
//!
//! let points = [
//!     EpochPoint { epoch: 1, train_loss: 0.40, valid_loss: Some(0.12), train_accuracy: 0.88,
//!                  valid_accuracy: Some(0.96), learning_rate: Some(1e-3) },
//!     EpochPoint { epoch: 2, train_loss: 0.10, valid_loss: Some(0.07), train_accuracy: 0.97,
//!                  valid_accuracy: Some(0.98), learning_rate: Some(5e-4) },
//! ];
//! let picture = curves("lenet5 on flex", &points)?;
//! assert_eq!(picture.dimensions(), figures::CURVES_SIZE);
//! # Ok::<(), figures::FigureError>(())
//! ```

#![warn(missing_docs)]

mod canvas;
mod confusion;
mod curves;
mod error;
mod kernels;
mod mistakes;
mod sheet;

pub use confusion::{CONFUSION_SIZE, confusion, confusion_cell};
pub use curves::{CURVES_SIZE, EpochPoint, curves};
pub use error::FigureError;
pub use kernels::{Kernels, kernels, kernels_with_source};
pub use mistakes::{MAX_MISTAKES, Mistake, mistake_tile, mistakes};
pub use sheet::{Maps, Panel, SHEET_SIZE, Sheet, sheet, sheet_panel};

use std::io::Write;
use std::path::Path;

/// Writes `picture` to `path` as a PNG, through a temporary file and a rename, so that a
/// reader (a browser refreshing the picture during a run) never sees half a file.
pub fn save_png(picture: &image::RgbImage, path: &Path) -> Result<(), FigureError> {
    let write = |source| FigureError::Write {
        path: path.into(),
        source,
    };
    let mut bytes = Vec::new();
    picture
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .map_err(|error| write(std::io::Error::other(error)))?;
    let mut file = atomic_write_file::AtomicWriteFile::open(path).map_err(write)?;
    file.write_all(&bytes).map_err(write)?;
    file.commit().map_err(write)
}

/// A colour for `t` in 0..=1, from dark blue through teal to light yellow (viridis' ends):
/// lightness grows with `t`, so the map reads in greyscale.
pub(crate) fn colour_map(t: f64) -> plotters::style::RGBColor {
    const STOPS: [(f64, [f64; 3]); 5] = [
        (0.00, [68.0, 1.0, 84.0]),
        (0.25, [59.0, 82.0, 139.0]),
        (0.50, [33.0, 145.0, 140.0]),
        (0.75, [94.0, 201.0, 98.0]),
        (1.00, [253.0, 231.0, 37.0]),
    ];
    let t = t.clamp(0.0, 1.0);
    let upper = STOPS
        .iter()
        .position(|&(at, _)| at >= t)
        .unwrap_or(4)
        .max(1);
    let ((t0, a), (t1, b)) = (STOPS[upper - 1], STOPS[upper]);
    let f = (t - t0) / (t1 - t0);
    let channel = |i: usize| (a[i] + f * (b[i] - a[i])).round() as u8;
    plotters::style::RGBColor(channel(0), channel(1), channel(2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_colour_map_gets_lighter_as_values_grow() {
        let luma = |t: f64| {
            let plotters::style::RGBColor(r, g, b) = colour_map(t);
            0.2126 * f64::from(r) + 0.7152 * f64::from(g) + 0.0722 * f64::from(b)
        };
        let steps: Vec<f64> = (0..=100).map(|i| luma(f64::from(i) / 100.0)).collect();
        assert!(steps.windows(2).all(|w| w[1] > w[0]), "{steps:?}");
    }

    #[test]
    fn the_diverging_map_is_grey_at_zero_and_gets_lighter_as_values_grow() {
        let luma = |t: f64| {
            let plotters::style::RGBColor(r, g, b) = kernels::diverging(t);
            0.2126 * f64::from(r) + 0.7152 * f64::from(g) + 0.0722 * f64::from(b)
        };
        assert_eq!(
            kernels::diverging(0.5),
            plotters::style::RGBColor(128, 128, 128)
        );
        let steps: Vec<f64> = (0..=100).map(|i| luma(f64::from(i) / 100.0)).collect();
        assert!(steps.windows(2).all(|w| w[1] > w[0]), "{steps:?}");
    }

    #[test]
    fn a_picture_is_saved_as_a_png_that_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("confusion.png");
        let picture = confusion("test", &[[1; 10]; 10]).unwrap();
        save_png(&picture, &path).unwrap();
        let back = image::open(&path).unwrap().to_rgb8();
        assert_eq!(back, picture);

        let error = save_png(&picture, &dir.path().join("missing/confusion.png")).unwrap_err();
        assert!(matches!(error, FigureError::Write { .. }), "{error}");
        assert!(
            error.to_string().contains("missing/confusion.png"),
            "{error}"
        );
    }
}
