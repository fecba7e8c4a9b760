//! A Burn metric for training speed: images per second over the epoch.

use std::{sync::Arc, time::Instant};

use burn_train::metric::{
    Metric, MetricAttributes, MetricMetadata, MetricName, Numeric, NumericAttributes, NumericEntry,
    SerializedEntry,
    state::{FormatOptions, NumericMetricState},
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
