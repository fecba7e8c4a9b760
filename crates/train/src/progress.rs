//! What a run shows and records while it trains: a throughput metric, plain progress lines
//! for logs and pipes, and `metrics.csv`.

use std::{collections::HashMap, path::PathBuf, sync::Arc, time::Instant};

use burn::train::{
    logger::MetricLogger,
    metric::{
        Metric, MetricAttributes, MetricDefinition, MetricId, MetricMetadata, MetricName, Numeric,
        NumericAttributes, NumericEntry, SerializedEntry,
        state::{FormatOptions, NumericMetricState},
        store::{EpochSummary, MetricsUpdate, Split},
    },
    renderer::{
        EvaluationName, EvaluationProgress, MetricState, MetricsRenderer,
        MetricsRendererEvaluation, MetricsRendererTraining, ProgressType, TrainingProgress,
    },
};

/// Name of the throughput metric, in the dashboard and in `metrics.csv`.
pub const THROUGHPUT: &str = "Throughput";

/// Images per second since the start of the epoch, counting everything the step loop does
/// (loading, forward, backward, optimizer, metrics).
#[derive(Clone)]
pub struct ThroughputMetric {
    name: MetricName,
    state: NumericMetricState,
    start: Option<(Instant, usize)>,
}

impl ThroughputMetric {
    /// A new metric, started by its first update.
    pub fn new() -> Self {
        Self {
            name: Arc::new(THROUGHPUT.to_string()),
            state: NumericMetricState::new(),
            start: None,
        }
    }
}

impl Default for ThroughputMetric {
    fn default() -> Self {
        Self::new()
    }
}

impl Metric for ThroughputMetric {
    type Input = ();

    fn update(&mut self, _: &(), metadata: &MetricMetadata) -> SerializedEntry {
        let processed = metadata.progress.items_processed;
        // The first batch of an epoch only starts the clock: its images were loaded and
        // processed before any time was measured.
        let rate = match self.start {
            Some((start, first)) => {
                (processed - first) as f64 / start.elapsed().as_secs_f64().max(1e-9)
            }
            None => {
                self.start = Some((Instant::now(), processed));
                0.0
            }
        };
        self.state.update(
            rate,
            1,
            FormatOptions::new(self.name())
                .unit("images/s")
                .precision(0),
        )
    }

    fn clear(&mut self) {
        self.state.reset();
        self.start = None;
    }

    fn name(&self) -> MetricName {
        self.name.clone()
    }

    fn attributes(&self) -> MetricAttributes {
        NumericAttributes {
            unit: Some("images/s".to_string()),
            higher_is_better: true,
        }
        .into()
    }
}

impl Numeric for ThroughputMetric {
    /// The latest rate, which already averages over the epoch so far.
    fn value(&self) -> NumericEntry {
        self.state.current_value()
    }

    fn running_value(&self) -> NumericEntry {
        self.state.current_value()
    }
}

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

/// A Burn metric logger that keeps each split's epoch means and rewrites `metrics.csv` after
/// every validation pass.
pub struct CsvMetricLogger {
    path: PathBuf,
    names: HashMap<MetricId, String>,
    latest: HashMap<String, (f64, f64)>,
    rows: Vec<EpochRow>,
    current: EpochRow,
}

impl CsvMetricLogger {
    /// Writes to `path`, keeping `previous` rows (from an interrupted run) before the new ones.
    pub fn new(path: PathBuf, previous: Vec<EpochRow>) -> Self {
        Self {
            path,
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
        if let Err(error) = crate::report::write_atomically(&self.path, text.as_bytes()) {
            log::warn!("cannot write {}: {error}", self.path.display());
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

/// Progress for logs and pipes: a line every tenth of an epoch and one per finished split,
/// where Burn's own fallback prints a debug line per step.
pub struct PlainRenderer {
    names: HashMap<MetricId, String>,
    latest: HashMap<String, f64>,
    epochs: usize,
    last_decile: Option<(usize, bool, usize)>,
}

impl PlainRenderer {
    /// A renderer for a run of `epochs` epochs.
    pub fn new(epochs: usize) -> Self {
        Self {
            names: HashMap::new(),
            latest: HashMap::new(),
            epochs,
            last_decile: None,
        }
    }

    fn remember(&mut self, state: MetricState) {
        if let MetricState::Numeric(entry, _) = state
            && let Some(name) = self.names.get(&entry.metric_id)
        {
            // The formatted entry reads "epoch <running> [unit] - batch <current>".
            let running = entry
                .serialized_entry
                .formatted
                .split_whitespace()
                .nth(1)
                .and_then(|value| value.parse::<f64>().ok());
            if let Some(value) = running {
                self.latest.insert(name.clone(), value);
            }
        }
    }

    fn line(&mut self, split: &str, item: &TrainingProgress) {
        let Some(progress) = &item.progress else {
            return;
        };
        let epoch = item.global_progress.items_processed;
        let total = progress.items_total.max(1);
        let decile = progress.items_processed * 10 / total;
        let is_train = split == "train";
        if self.last_decile == Some((epoch, is_train, decile)) {
            return;
        }
        self.last_decile = Some((epoch, is_train, decile));
        let done = progress.items_processed == progress.items_total;
        if !(done || (is_train && decile > 0)) {
            return;
        }
        let mut text = format!(
            "epoch {epoch}/{} {split:<5} {:>3}% {:>6}/{:<6}",
            self.epochs,
            progress.items_processed * 100 / total,
            progress.items_processed,
            progress.items_total
        );
        if let Some(loss) = self.latest.get("Loss") {
            text.push_str(&format!("  loss {loss:.4}"));
        }
        if let Some(accuracy) = self.latest.get("Accuracy") {
            text.push_str(&format!("  accuracy {accuracy:.2}%"));
        }
        if is_train {
            if let Some(rate) = self.latest.get(THROUGHPUT) {
                text.push_str(&format!("  {rate:.0} images/s"));
            }
            if let Some(lr) = self.latest.get("Learning Rate") {
                text.push_str(&format!("  lr {lr:.2e}"));
            }
        }
        println!("{text}");
    }
}

impl MetricsRendererTraining for PlainRenderer {
    fn update_train(&mut self, state: MetricState) {
        self.remember(state);
    }

    fn update_valid(&mut self, state: MetricState) {
        self.remember(state);
    }

    fn render_train(&mut self, item: TrainingProgress, _indicators: Vec<ProgressType>) {
        self.line("train", &item);
    }

    fn render_valid(&mut self, item: TrainingProgress, _indicators: Vec<ProgressType>) {
        self.line("valid", &item);
    }

    fn on_train_end(
        &mut self,
        _summary: Option<burn::train::LearnerSummary>,
    ) -> Result<(), Box<dyn core::error::Error>> {
        Ok(())
    }
}

impl MetricsRendererEvaluation for PlainRenderer {
    fn update_test(&mut self, _name: EvaluationName, state: MetricState) {
        self.remember(state);
    }

    fn render_test(&mut self, item: EvaluationProgress, _indicators: Vec<ProgressType>) {
        self.line("test", &(&item).into());
    }
}

impl MetricsRenderer for PlainRenderer {
    fn manual_close(&mut self) {}

    fn register_metric(&mut self, definition: MetricDefinition) {
        self.names.insert(definition.metric_id, definition.name);
    }
}
