//! The learning-rate schedule, as a Burn `LrScheduler` whose state survives checkpoints.

use burn::{lr_scheduler::LrScheduler, prelude::*};

use experiment::{OptimizerConfig, Schedule};

/// One scheduler type for every [`Schedule`], so that the Learner's type does not depend on
/// the configuration. Its checkpointed state is the number of steps taken.
#[derive(Clone, Debug)]
pub struct LearningRateSchedule {
    schedule: Schedule,
    initial: f64,
    last: f64,
    total_steps: usize,
    steps_per_epoch: usize,
    epoch_rates: Vec<f64>,
    steps: usize,
}

impl LearningRateSchedule {
    /// The schedule of `optimizer` over a run of `epochs` epochs of `steps_per_epoch`
    /// optimizer steps.
    pub fn new(optimizer: &OptimizerConfig, epochs: usize, steps_per_epoch: usize) -> Self {
        Self {
            schedule: optimizer.schedule,
            initial: optimizer.learning_rate,
            last: optimizer.learning_rate * optimizer.final_learning_rate_fraction,
            total_steps: (epochs * steps_per_epoch).max(1),
            steps_per_epoch: steps_per_epoch.max(1),
            epoch_rates: optimizer.epoch_learning_rates.clone(),
            steps: 0,
        }
    }

    /// The learning rate of step `step` (0-based).
    pub fn at(&self, step: usize) -> f64 {
        match self.schedule {
            Schedule::Constant => self.initial,
            Schedule::Cosine => {
                let progress = (step as f64 / self.total_steps as f64).min(1.0);
                self.last
                    + 0.5
                        * (self.initial - self.last)
                        * (1.0 + (std::f64::consts::PI * progress).cos())
            }
            Schedule::Epochs => {
                let epoch = step / self.steps_per_epoch;
                let last = self.epoch_rates.len().saturating_sub(1);
                self.epoch_rates
                    .get(epoch.min(last))
                    .copied()
                    .unwrap_or(self.initial)
            }
        }
    }
}

impl LrScheduler for LearningRateSchedule {
    type Record<B: Backend> = usize;

    fn step(&mut self) -> f64 {
        let rate = self.at(self.steps);
        self.steps += 1;
        rate
    }

    fn to_record<B: Backend>(&self) -> usize {
        self.steps
    }

    fn load_record<B: Backend>(mut self, steps: usize) -> Self {
        self.steps = steps;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_decays_from_the_peak_to_the_floor() {
        let config = OptimizerConfig::new()
            .with_schedule(Schedule::Cosine)
            .with_learning_rate(0.01)
            .with_final_learning_rate_fraction(0.1);
        let mut schedule = LearningRateSchedule::new(&config, 4, 25);
        let rates: Vec<f64> = (0..100).map(|_| schedule.step()).collect();
        assert!((rates[0] - 0.01).abs() < 1e-12);
        assert!((schedule.at(50) - 0.0055).abs() < 1e-12);
        assert!((schedule.at(100) - 0.001).abs() < 1e-12);
        assert!(rates.windows(2).all(|pair| pair[1] < pair[0]));
    }

    #[test]
    fn constant_stays_put_and_resumes_where_it_stopped() {
        let config = OptimizerConfig::new().with_learning_rate(0.002);
        let mut schedule = LearningRateSchedule::new(&config, 2, 5);
        assert_eq!(schedule.step(), 0.002);
        let cosine = OptimizerConfig::new().with_schedule(Schedule::Cosine);
        let mut original = LearningRateSchedule::new(&cosine, 2, 5);
        for _ in 0..4 {
            original.step();
        }
        let record = original.to_record::<burn::backend::NdArray>();
        let mut resumed =
            LearningRateSchedule::new(&cosine, 2, 5).load_record::<burn::backend::NdArray>(record);
        assert_eq!(resumed.step(), original.step());
    }

    #[test]
    fn the_epochs_schedule_changes_at_epoch_boundaries_and_keeps_its_last_rate() {
        let config = OptimizerConfig::new()
            .with_schedule(Schedule::Epochs)
            .with_epoch_learning_rates(vec![5e-4, 2e-4]);
        let mut schedule = LearningRateSchedule::new(&config, 3, 2);
        let rates: Vec<f64> = (0..6).map(|_| schedule.step()).collect();
        assert_eq!(rates, [5e-4, 5e-4, 2e-4, 2e-4, 2e-4, 2e-4]);
    }
}
