//! The files a training run leaves in its artifacts directory: `train` writes them, `infer`
//! and `web` read them, and their names exist only here.

use std::path::{Path, PathBuf};

/// A training run's artifacts directory and the paths of its files.
///
/// ```
/// use experiment::Artifacts;
///
/// let run = Artifacts::new("artifacts/lenet5");
/// assert_eq!(run.model(), std::path::Path::new("artifacts/lenet5/model.mpk"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Artifacts {
    dir: PathBuf,
}

impl Artifacts {
    /// The effective configuration.
    pub const CONFIG: &str = "config.toml";
    /// The trained weights, loadable with `lenet::load_file`.
    pub const MODEL: &str = "model.mpk";
    /// One row per epoch.
    pub const METRICS: &str = "metrics.csv";
    /// The test-set report ([`crate::Report`]).
    pub const REPORT: &str = "report.json";
    /// Burn's epoch checkpoints (a directory).
    pub const CHECKPOINTS: &str = "checkpoint";
    /// Held by the run using the directory.
    pub const LOCK: &str = "train.lock";
    /// Loss, accuracy and learning rate per epoch, redrawn after every epoch.
    pub const CURVES: &str = "curves.png";
    /// The test confusion matrix as a heat map.
    pub const CONFUSION: &str = "confusion.png";
    /// The test digits the model got wrong, most confident first.
    pub const MISTAKES: &str = "mistakes.png";

    /// The run in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file or directory `name` (one of the constants) in it.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The effective configuration, [`Artifacts::CONFIG`].
    pub fn config(&self) -> PathBuf {
        self.file(Self::CONFIG)
    }

    /// The weights, [`Artifacts::MODEL`].
    pub fn model(&self) -> PathBuf {
        self.file(Self::MODEL)
    }

    /// The per-epoch metrics, [`Artifacts::METRICS`].
    pub fn metrics(&self) -> PathBuf {
        self.file(Self::METRICS)
    }

    /// The test report, [`Artifacts::REPORT`].
    pub fn report(&self) -> PathBuf {
        self.file(Self::REPORT)
    }

    /// Burn's checkpoint directory, [`Artifacts::CHECKPOINTS`].
    pub fn checkpoints(&self) -> PathBuf {
        self.file(Self::CHECKPOINTS)
    }

    /// The files a finished run leaves, in the order `train` lists them.
    pub const OUTPUTS: [&str; 7] = [
        Self::MODEL,
        Self::CONFIG,
        Self::METRICS,
        Self::REPORT,
        Self::CURVES,
        Self::CONFUSION,
        Self::MISTAKES,
    ];
}
