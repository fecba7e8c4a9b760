//! `metrics.csv`: one row per epoch, written by a Burn metric logger and read back for
//! `--resume` and the report.

use std::{collections::HashMap, path::PathBuf};

use burn_train::{
    logger::MetricLogger,
    metric::{
        MetricDefinition, MetricId, NumericEntry,
        store::{EpochSummary, MetricsUpdate, Split},
    },
};

use figures::EpochPoint;

use crate::throughput::THROUGHPUT;

/// One `metrics.csv` row: the epoch's means on the training and validation splits.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EpochRow {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training loss.
    pub train_loss: f64,
    /// Training accuracy, 0 to 1.
    pub train_accuracy: f64,
    /// Mean validation loss (NaN without a validation split).
    pub valid_loss: f64,
    /// Validation accuracy, 0 to 1.
    pub valid_accuracy: f64,
    /// Learning rate at the epoch's last step.
    pub learning_rate: f64,
    /// Training images per second over the epoch.
    pub train_images_per_second: f64,
}

const CSV_HEADER: &str = "epoch,train_loss,train_accuracy,valid_loss,valid_accuracy,learning_rate,train_images_per_second";

impl EpochRow {
    /// The row as the curves plot it: what was not measured (NaN) is left out.
    fn point(&self) -> EpochPoint {
        let known = |v: f64| v.is_finite().then_some(v);
        EpochPoint {
            epoch: self.epoch,
            train_loss: self.train_loss,
            valid_loss: known(self.valid_loss),
            train_accuracy: self.train_accuracy,
            valid_accuracy: known(self.valid_accuracy),
            learning_rate: known(self.learning_rate),
        }
    }

    fn to_csv(&self) -> String {
        format!(
            "{},{:.6},{:.6},{:.6},{:.6},{:.3e},{:.1}",
            self.epoch,
            self.train_loss,
            self.train_accuracy,
            self.valid_loss,
            self.valid_accuracy,
            self.learning_rate,
            self.train_images_per_second
        )
    }

    fn from_csv(line: &str) -> Option<Self> {
        let fields: Vec<&str> = line.split(',').collect();
        let number = |i: usize| fields.get(i)?.parse::<f64>().ok();
        Some(Self {
            epoch: fields.first()?.parse().ok()?,
            train_loss: number(1)?,
            train_accuracy: number(2)?,
            valid_loss: number(3)?,
            valid_accuracy: number(4)?,
            learning_rate: number(5)?,
            train_images_per_second: number(6)?,
        })
    }
}

/// Reads the rows of an existing `metrics.csv` (for `--resume`); a missing file has none.
pub fn read_metrics_csv(path: &std::path::Path) -> Vec<EpochRow> {
    std::fs::read_to_string(path)
        .map(|text| {
            text.lines()
                .skip(1)
                .filter_map(EpochRow::from_csv)
                .collect()
        })
        .unwrap_or_default()
}

/// A Burn metric logger that keeps each split's epoch means and rewrites `metrics.csv` (and
/// `curves.png` beside it) after every validation pass.
pub struct CsvMetricLogger {
    path: PathBuf,
    title: String,
    names: HashMap<MetricId, String>,
    latest: HashMap<String, (f64, f64)>,
    rows: Vec<EpochRow>,
    current: EpochRow,
}

impl CsvMetricLogger {
    /// Writes to `path`, keeping `previous` rows (from an interrupted run) before the new ones;
    /// `title` heads the curves.
    pub fn new(path: PathBuf, previous: Vec<EpochRow>, title: String) -> Self {
        Self {
            path,
            title,
            names: HashMap::new(),
            latest: HashMap::new(),
            rows: previous,
            current: EpochRow::default(),
        }
    }

    fn running(&self, name: &str) -> f64 {
        self.latest
            .get(name)
            .map_or(f64::NAN, |&(_, running)| running)
    }

    fn write(&self) {
        let mut text = String::from(CSV_HEADER);
        text.push('\n');
        for row in &self.rows {
            text.push_str(&row.to_csv());
            text.push('\n');
        }
        // A failed write must not stop training; the final report says where the files are.
        if let Err(error) = crate::run_dir::write_atomically(&self.path, text.as_bytes()) {
            log::warn!("cannot write {}: {error}", self.path.display());
        }
        if let Some(dir) = self.path.parent() {
            let points: Vec<EpochPoint> = self.rows.iter().map(EpochRow::point).collect();
            crate::pictures::draw_curves(dir, &self.title, &points);
        }
    }
}

impl MetricLogger for CsvMetricLogger {
    fn log(&mut self, update: MetricsUpdate, _epoch: usize, _split: &Split) {
        for numeric in update.entries_numeric {
            if let Some(name) = self.names.get(&numeric.entry.metric_id) {
                self.latest.insert(
                    name.clone(),
                    (
                        numeric.numeric_entry.current(),
                        numeric.running_entry.current(),
                    ),
                );
            }
        }
    }

    fn read_numeric(
        &mut self,
        _name: &str,
        _epoch: usize,
        _split: &Split,
    ) -> Result<Vec<NumericEntry>, String> {
        Err("the CSV logger only writes".into())
    }

    fn log_metric_definition(&mut self, definition: MetricDefinition) {
        self.names.insert(definition.metric_id, definition.name);
    }

    fn log_epoch_summary(&mut self, summary: EpochSummary) {
        match summary.split {
            Split::Train => {
                self.current = EpochRow {
                    epoch: summary.epoch_number,
                    train_loss: self.running("Loss"),
                    train_accuracy: self.running("Accuracy") / 100.0,
                    valid_loss: f64::NAN,
                    valid_accuracy: f64::NAN,
                    learning_rate: self
                        .latest
                        .get("Learning Rate")
                        .map_or(f64::NAN, |&(last, _)| last),
                    train_images_per_second: self
                        .latest
                        .get(THROUGHPUT)
                        .map_or(f64::NAN, |&(last, _)| last),
                };
                self.latest.clear();
            }
            Split::Valid => {
                let mut row = std::mem::take(&mut self.current);
                row.valid_loss = self.running("Loss");
                row.valid_accuracy = self.running("Accuracy") / 100.0;
                self.latest.clear();
                self.rows.retain(|old| old.epoch < row.epoch);
                self.rows.push(row);
                self.write();
            }
            Split::Test(_) => {}
        }
    }
}
