//! One training run with Burn's `Learner`, generic over the autodiff backend, as a short list
//! of named steps.

use std::{num::NonZeroUsize, path::PathBuf, time::Instant};

use burn::prelude::Backend;
use burn::{
    record::{FullPrecisionSettings, NamedMpkFileRecorder},
    tensor::backend::AutodiffBackend,
};
use burn_train::{
    Interrupter, Learner, LearningComponentsMarker, MetricEarlyStoppingStrategy, StoppingCondition,
    SupervisedTraining,
    checkpoint::KeepLastNCheckpoints,
    logger::InMemoryMetricLogger,
    metric::{
        AccuracyMetric, LearningRateMetric, LossMetric,
        store::{Aggregate, Direction, Split},
    },
};
use experiment::{Artifacts, ExperimentConfig, Report};
use lenet::LeNet5;

use crate::{
    TrainError,
    dashboard::Dashboard,
    data::{Loaders, RunData},
    evaluation::{Evaluation, evaluate},
    metrics_csv::{CsvMetricLogger, read_metrics_csv},
    optimizer::TrainOptimizer,
    pictures,
    progress::{PlainRenderer, STOP_REQUESTED},
    run_dir::{Claim, last_complete_checkpoint, write},
    schedule::LearningRateSchedule,
    throughput::ThroughputMetric,
};

/// What Burn's `Learner` trains: the network on `B`, with this project's optimiser and schedule.
type Components<B> =
    LearningComponentsMarker<B, LearningRateSchedule, LeNet5<B>, TrainOptimizer<B>>;

/// Where a run reads and writes, how much of MNIST it uses, and how it is stopped.
#[derive(Clone)]
pub struct RunOptions {
    /// Name of the configuration, recorded in the report (the config file's stem).
    pub config_name: String,
    /// The directory for checkpoints, metrics, the model and the report ([`Artifacts`]).
    pub artifacts: PathBuf,
    /// The directory holding the four MNIST files (see [`mnist::locate`]).
    pub data_dir: PathBuf,
    /// Train on the first `n` training images only (smoke runs).
    pub limit_train: Option<NonZeroUsize>,
    /// Test on the first `n` test images only.
    pub limit_test: Option<NonZeroUsize>,
    /// Continue from the last complete checkpoint in `artifacts`.
    pub resume: bool,
    /// Show the terminal dashboard (stdout must be a terminal) instead of plain progress lines.
    pub dashboard: bool,
    /// Stops the run at the next batch, keeping the last complete checkpoint: the dashboard's
    /// keys use it, and an application can (the `train` binary does on Ctrl-C and SIGTERM).
    pub interrupter: Interrupter,
}

/// Trains LeNet-5 as `config` says, evaluates it on the test set and writes the run's
/// [`Artifacts`] (`model.mpk`, `config.toml`, `metrics.csv`, `report.json`, pictures).
pub fn train<B: AutodiffBackend>(
    config: &ExperimentConfig,
    options: &RunOptions,
    device: B::Device,
) -> Result<Report, TrainError> {
    let artifacts = Artifacts::new(&options.artifacts);
    let claim = Claim::new(&artifacts, options.resume, config.training.epochs)?;
    let done = claim.done;
    B::seed(&device, config.training.seed);
    // The data first: a run that cannot start leaves no files behind.
    let data = RunData::load(config, options, done)?;
    let _lock = claim.hold(&artifacts)?;
    write(&artifacts.config(), config.to_toml().as_bytes())?;

    let loaders = data.loaders::<B>(config, done, &device);
    let learner = learner::<B>(config, &data, &device);
    let training = supervised_training::<B>(config, options, &artifacts, loaders.clone(), done)?;
    let (model, train_seconds) = fit(training, learner, &artifacts, &options.interrupter)?;

    let evaluation = evaluate(&model, loaders.test.as_ref());
    write_results(
        config,
        options,
        &artifacts,
        &data,
        done,
        train_seconds,
        &model,
        &evaluation,
    )
}

/// The network, its optimiser and the learning-rate schedule, as Burn's `Learner`.
fn learner<B: AutodiffBackend>(
    config: &ExperimentConfig,
    data: &RunData,
    device: &B::Device,
) -> Learner<Components<B>> {
    let epochs = config.training.epochs;
    let steps_per_epoch = data.train_images.div_ceil(config.training.batch_size);
    let schedule = LearningRateSchedule::new(&config.optimizer, epochs, steps_per_epoch);
    let optimizer =
        TrainOptimizer::<B>::new(config, steps_per_epoch, data.train.clone(), device.clone());
    Learner::new(config.model.init::<B>(device), optimizer, schedule)
}

/// Burn's supervised training: the metrics, the checkpoints, early stopping and the progress
/// display (the dashboard in a terminal, plain lines otherwise).
fn supervised_training<B: AutodiffBackend>(
    config: &ExperimentConfig,
    options: &RunOptions,
    artifacts: &Artifacts,
    loaders: Loaders<B>,
    done: usize,
) -> Result<SupervisedTraining<Components<B>>, TrainError> {
    let training = &config.training;
    let metrics = artifacts.metrics();
    let mut builder = SupervisedTraining::new(artifacts.dir(), loaders.train, loaders.valid)
        .metrics((AccuracyMetric::new(), LossMetric::new()))
        .metric_train_numeric(LearningRateMetric::new())
        .metric_train_numeric(ThroughputMetric::new())
        .with_file_checkpointer(NamedMpkFileRecorder::<FullPrecisionSettings>::new())
        .with_checkpointing_strategy(KeepLastNCheckpoints::new(training.keep_checkpoints))
        // Kept in memory for early stopping; `metrics.csv` is the record on disk.
        .with_metric_logger(InMemoryMetricLogger::default())
        .with_metric_logger(CsvMetricLogger::new(
            metrics.clone(),
            read_metrics_csv(&metrics),
            run_title(config, options),
        ))
        .num_epochs(training.epochs)
        .with_interrupter(options.interrupter.clone());
    if training.early_stopping_patience > 0 {
        builder = builder.early_stopping(MetricEarlyStoppingStrategy::new(
            &LossMetric::<B>::new(),
            Aggregate::Mean,
            Direction::Lowest,
            Split::Valid,
            StoppingCondition::NoImprovementSince {
                n_epochs: training.early_stopping_patience,
            },
        ));
    }
    if done > 0 {
        builder = builder.checkpoint(done);
    }
    // The dashboard needs a terminal; in logs and pipes it would print escape codes.
    Ok(if options.dashboard {
        let title = format!(
            "{} · {}",
            run_title(config, options),
            artifacts.dir().display()
        );
        let dashboard = Dashboard::new(title, training.epochs, options.interrupter.clone())
            .map_err(TrainError::Terminal)?;
        builder.renderer(dashboard)
    } else {
        builder.renderer(PlainRenderer::new(training.epochs))
    })
}

/// Runs the training loop; the trained network and the loop's wall time, or why it stopped
/// early (the user, or a checkpoint that could not be written).
fn fit<B: AutodiffBackend>(
    training: SupervisedTraining<Components<B>>,
    learner: Learner<Components<B>>,
    artifacts: &Artifacts,
    interrupter: &Interrupter,
) -> Result<(LeNet5<B::InnerBackend>, f64), TrainError> {
    let start = Instant::now();
    let result = training.launch(learner);
    let seconds = start.elapsed().as_secs_f64();
    // Closes the dashboard and gives the terminal back before anything else is printed.
    drop(result.renderer);
    if interrupter.should_stop() {
        let dir = artifacts.dir().to_path_buf();
        let reason = interrupter.get_message().unwrap_or_default();
        let completed = last_complete_checkpoint(&dir).ok();
        return Err(if reason == STOP_REQUESTED {
            TrainError::Stopped { dir, completed }
        } else {
            TrainError::Checkpoint {
                dir,
                reason,
                completed,
            }
        });
    }
    Ok((result.model, seconds))
}

/// Writes the trained network, `report.json` and the test pictures into `artifacts`; the
/// report, for the caller to show. `done` epochs were complete when this process started.
#[allow(clippy::too_many_arguments)]
fn write_results<B: Backend>(
    config: &ExperimentConfig,
    options: &RunOptions,
    artifacts: &Artifacts,
    data: &RunData,
    done: usize,
    train_seconds: f64,
    model: &LeNet5<B>,
    evaluation: &Evaluation,
) -> Result<Report, TrainError> {
    let epochs = read_metrics_csv(&artifacts.metrics())
        .iter()
        .map(|row| row.epoch)
        .max()
        .unwrap_or(done);
    model.save(artifacts.model())?;
    let report = Report {
        config: options.config_name.clone(),
        variant: config.model.variant.to_string(),
        backend: config.training.backend.to_string(),
        epochs,
        resumed_from: done,
        seed: config.training.seed,
        train_images: data.train_images,
        valid_images: data.valid_images(),
        test_images: evaluation.total() as usize,
        test_accuracy: evaluation.accuracy(),
        test_loss: evaluation.loss,
        per_class_accuracy: evaluation.per_class_accuracy(),
        confusion_matrix: evaluation
            .confusion_matrix
            .iter()
            .map(|row| row.to_vec())
            .collect(),
        train_seconds,
        train_images_per_second: (epochs.saturating_sub(done) * data.train_images) as f64
            / train_seconds.max(1e-9),
    };
    let json = serde_json::to_string_pretty(&report).expect("the report serialises to JSON");
    write(&artifacts.report(), json.as_bytes())?;
    let title = format!(
        "{}: {epochs} epochs, MNIST test set",
        run_title(config, options)
    );
    for warning in pictures::draw_test(artifacts.dir(), &title, evaluation, &data.test) {
        crate::progress::say(&format!("warning: {warning}"));
    }
    Ok(report)
}

/// Names the run on its pictures and its dashboard.
fn run_title(config: &ExperimentConfig, options: &RunOptions) -> String {
    format!(
        "LeNet-5 \"{}\" on {}, config {}",
        config.model.variant, config.training.backend, options.config_name
    )
}
