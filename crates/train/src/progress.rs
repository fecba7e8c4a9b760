//! What a run shows while it trains: the state both renderers keep from Burn's metric updates,
//! and plain progress lines for logs and pipes (the terminal dashboard is a private module
//! beside this one).

use std::{
    collections::HashMap,
    io::Write,
    sync::atomic::{AtomicBool, Ordering},
};

use burn_train::{
    LearnerSummary,
    metric::{MetricDefinition, MetricId, NumericEntry},
    renderer::{
        EvaluationName, EvaluationProgress, MetricState, MetricsRenderer,
        MetricsRendererEvaluation, MetricsRendererTraining, ProgressType, TrainingProgress,
    },
};

use crate::throughput::THROUGHPUT;

/// Set once stdout has been closed (`train ... | head`); nothing is printed after that.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// The interrupter's message when the user stopped the run (a dashboard key, Ctrl-C or
/// SIGTERM): a stop, not a failure.
pub const STOP_REQUESTED: &str = "stopped at the user's request";

/// Prints a line to stdout, or nothing once stdout is closed: a run never stops, and never
/// panics, because whoever read its output went away.
pub fn say(text: &str) {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut out = std::io::stdout().lock();
    if writeln!(out, "{text}").and_then(|()| out.flush()).is_err() {
        STDOUT_CLOSED.store(true, Ordering::Relaxed);
    }
}

/// The split a progress report or metric belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    Train,
    Valid,
    Test,
}

impl Phase {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Phase::Train => "train",
            Phase::Valid => "valid",
            Phase::Test => "test",
        }
    }
}

/// One metric over the current epoch of one split: the batches' values weighted by their
/// sizes, and the latest batch.
#[derive(Clone, Copy, Debug, Default)]
struct Mean {
    sum: f64,
    count: f64,
    last: f64,
    last_count: f64,
}

impl Mean {
    fn add(&mut self, entry: &NumericEntry) {
        let (value, count) = match entry {
            NumericEntry::Value(value) => (*value, 1.0),
            NumericEntry::Aggregated {
                aggregated_value,
                count,
            } => (*aggregated_value, *count as f64),
        };
        self.sum += value * count;
        self.count += count;
        (self.last, self.last_count) = (value, count);
    }

    /// Starts a new epoch with the latest batch only.
    fn restart(&mut self) {
        (self.sum, self.count) = (self.last * self.last_count, self.last_count);
    }

    fn mean(&self) -> f64 {
        self.sum / self.count.max(f64::MIN_POSITIVE)
    }
}

/// Where one split stands: the epoch, the items done, and its metrics.
#[derive(Clone, Debug, Default)]
pub(crate) struct SplitState {
    pub(crate) epoch: usize,
    pub(crate) items: usize,
    pub(crate) total: usize,
    metrics: HashMap<String, Mean>,
}

impl SplitState {
    /// The epoch's mean loss so far.
    pub(crate) fn loss(&self) -> Option<f64> {
        self.metrics.get("Loss").map(Mean::mean)
    }

    /// The epoch's accuracy so far, in percent.
    pub(crate) fn accuracy(&self) -> Option<f64> {
        self.metrics.get("Accuracy").map(Mean::mean)
    }

    /// Training images per second over the epoch (the metric itself averages).
    pub(crate) fn throughput(&self) -> Option<f64> {
        self.metrics.get(THROUGHPUT).map(|mean| mean.last)
    }

    /// The learning rate of the latest step.
    pub(crate) fn learning_rate(&self) -> Option<f64> {
        self.metrics.get("Learning Rate").map(|mean| mean.last)
    }

    pub(crate) fn done(&self) -> bool {
        self.total > 0 && self.items >= self.total
    }
}

/// What a renderer knows about the run, built from Burn's structured metric values (never
/// from their formatted text).
#[derive(Debug, Default)]
pub(crate) struct RunState {
    names: HashMap<MetricId, String>,
    pub(crate) train: SplitState,
    pub(crate) valid: SplitState,
    pub(crate) test: SplitState,
}

impl RunState {
    pub(crate) fn split(&mut self, phase: Phase) -> &mut SplitState {
        match phase {
            Phase::Train => &mut self.train,
            Phase::Valid => &mut self.valid,
            Phase::Test => &mut self.test,
        }
    }

    pub(crate) fn register(&mut self, definition: MetricDefinition) {
        self.names.insert(definition.metric_id, definition.name);
    }

    pub(crate) fn update(&mut self, phase: Phase, state: &MetricState) {
        if let MetricState::Numeric(entry, value) = state
            && let Some(name) = self.names.get(&entry.metric_id).cloned()
        {
            self.split(phase)
                .metrics
                .entry(name)
                .or_default()
                .add(value);
        }
    }

    /// Records where `phase` stands; the metrics restart with each new epoch (the update for
    /// an epoch's first batch arrives before its progress).
    pub(crate) fn progress(&mut self, phase: Phase, item: &TrainingProgress) {
        let split = self.split(phase);
        let epoch = item.global_progress.items_processed;
        let (items, total) = item
            .progress
            .as_ref()
            .map_or((0, 0), |p| (p.items_processed, p.items_total));
        if epoch != split.epoch || items < split.items {
            split.metrics.values_mut().for_each(Mean::restart);
        }
        (split.epoch, split.items, split.total) = (epoch, items, total);
    }
}

/// Progress for logs and pipes: a line every tenth of an epoch and one per finished split,
/// where Burn's own fallback prints a debug line per step.
pub struct PlainRenderer {
    state: RunState,
    epochs: usize,
    last_decile: Option<(Phase, usize, usize)>,
}

impl PlainRenderer {
    /// A renderer for a run of `epochs` epochs.
    pub fn new(epochs: usize) -> Self {
        Self {
            state: RunState::default(),
            epochs,
            last_decile: None,
        }
    }

    fn line(&mut self, phase: Phase, item: &TrainingProgress) {
        self.state.progress(phase, item);
        let split = self.state.split(phase).clone();
        let decile = split.items * 10 / split.total.max(1);
        if self.last_decile == Some((phase, split.epoch, decile)) {
            return;
        }
        self.last_decile = Some((phase, split.epoch, decile));
        if !(split.done() || (phase == Phase::Train && decile > 0)) {
            return;
        }
        let mut text = format!(
            "epoch {}/{} {:<5} {:>3}% {:>6}/{:<6}",
            split.epoch,
            self.epochs,
            phase.name(),
            split.items * 100 / split.total.max(1),
            split.items,
            split.total
        );
        if let Some(loss) = split.loss() {
            text.push_str(&format!("  loss {loss:.4}"));
        }
        if let Some(accuracy) = split.accuracy() {
            text.push_str(&format!("  accuracy {accuracy:.2}%"));
        }
        if phase == Phase::Train {
            if let Some(rate) = split.throughput() {
                text.push_str(&format!("  {rate:.0} images/s"));
            }
            if let Some(lr) = split.learning_rate() {
                text.push_str(&format!("  lr {lr:.2e}"));
            }
        }
        say(&text);
    }
}

impl MetricsRendererTraining for PlainRenderer {
    fn update_train(&mut self, state: MetricState) {
        self.state.update(Phase::Train, &state);
    }

    fn update_valid(&mut self, state: MetricState) {
        self.state.update(Phase::Valid, &state);
    }

    fn render_train(&mut self, item: TrainingProgress, _indicators: Vec<ProgressType>) {
        self.line(Phase::Train, &item);
    }

    fn render_valid(&mut self, item: TrainingProgress, _indicators: Vec<ProgressType>) {
        self.line(Phase::Valid, &item);
    }

    fn on_train_end(
        &mut self,
        _summary: Option<LearnerSummary>,
    ) -> Result<(), Box<dyn core::error::Error>> {
        Ok(())
    }
}

impl MetricsRendererEvaluation for PlainRenderer {
    fn update_test(&mut self, _name: EvaluationName, state: MetricState) {
        self.state.update(Phase::Test, &state);
    }

    fn render_test(&mut self, item: EvaluationProgress, _indicators: Vec<ProgressType>) {
        self.line(Phase::Test, &(&item).into());
    }
}

impl MetricsRenderer for PlainRenderer {
    fn manual_close(&mut self) {}

    fn register_metric(&mut self, definition: MetricDefinition) {
        self.state.register(definition);
    }
}
