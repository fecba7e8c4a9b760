//! The run's pictures in the artifacts directory: `curves.png` after every epoch, and
//! `confusion.png` and `mistakes.png` after the test evaluation (drawn by the `figures`
//! crate). A picture that cannot be drawn or written is a warning: the run, its weights and
//! its report never depend on one.

use std::path::Path;

use figures::{EpochPoint, Mistake};
use mnist::MnistDataset;

use experiment::Artifacts;

use crate::evaluation::Evaluation;

/// Redraws `curves.png` in `dir` from the epochs so far; a failure is logged.
pub fn draw_curves(dir: &Path, title: &str, points: &[EpochPoint]) {
    let path = dir.join(Artifacts::CURVES);
    if let Err(error) = figures::curves(title, points).and_then(|p| figures::save_png(&p, &path)) {
        log::warn!("{:#}", anyhow::Error::new(error));
    }
}

/// Draws `confusion.png` and `mistakes.png` in `dir` from the test evaluation of `test`;
/// returns a warning for each picture that could not be written.
pub fn draw_test(
    dir: &Path,
    title: &str,
    evaluation: &Evaluation,
    test: &MnistDataset,
) -> Vec<String> {
    let mistakes: Vec<Mistake> = evaluation
        .mistakes
        .iter()
        .filter_map(|mistake| {
            Some(Mistake {
                image: *test.image(mistake.index)?,
                truth: mistake.truth,
                predicted: mistake.predicted,
                probability: mistake.probability,
            })
        })
        .collect();
    let of = evaluation.total() as usize;
    let pictures = [
        (
            Artifacts::CONFUSION,
            figures::confusion(title, &evaluation.confusion_matrix),
        ),
        (Artifacts::MISTAKES, figures::mistakes(title, &mistakes, of)),
    ];
    pictures
        .into_iter()
        .filter_map(|(name, picture)| {
            let path = dir.join(name);
            picture
                .and_then(|picture| figures::save_png(&picture, &path))
                .err()
                .map(|error| format!("{:#}", anyhow::Error::new(error)))
        })
        .collect()
}
