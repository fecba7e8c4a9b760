//! One training run with Burn's Learner, generic over the autodiff backend.

use std::{
    io::IsTerminal,
    path::{Path, PathBuf},
    sync::Arc,
    time::Instant,
};

use burn::{
    optim::{AdamConfig, decay::WeightDecayConfig},
    record::{FullPrecisionSettings, NamedMpkFileRecorder},
    tensor::backend::AutodiffBackend,
    train::{
        Learner, MetricEarlyStoppingStrategy, StoppingCondition, SupervisedTraining,
        checkpoint::KeepLastNCheckpoints,
        logger::FileMetricLogger,
        metric::{
            AccuracyMetric, LearningRateMetric, LossMetric,
            store::{Aggregate, Direction, Split},
        },
    },
};
use mnist::{AugmentedDataset, MnistBatcher, MnistDataset, MnistSplits};

use crate::{
    TrainError,
    config::ExperimentConfig,
    data::{SharedDataset, eval_loader, train_loader},
    progress::{CsvMetricLogger, PlainRenderer, ThroughputMetric, read_metrics_csv},
    report::{Report, evaluate, write_atomically},
    schedule::LearningRateSchedule,
};

/// Batch size for validation and test: larger is faster and changes no result.
const EVAL_BATCH_SIZE: usize = 1000;

/// Where a run reads and writes, and how much of MNIST it uses.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Name of the configuration, recorded in the report (the config file's stem).
    pub config_name: String,
    /// The directory for checkpoints, metrics, the model and the report.
    pub artifacts: PathBuf,
    /// The directory holding the four MNIST files (see [`mnist::locate`]).
    pub data_dir: PathBuf,
    /// Train on the first `n` training images only (smoke runs).
    pub limit_train: Option<usize>,
    /// Test on the first `n` test images only.
    pub limit_test: Option<usize>,
    /// Continue from the last complete checkpoint in `artifacts`.
    pub resume: bool,
}

/// Files of a run inside its artifacts directory.
pub mod files {
    /// The effective configuration.
    pub const CONFIG: &str = "config.toml";
    /// The trained weights, loadable with `lenet::load_file`.
    pub const MODEL: &str = "model.mpk";
    /// One row per epoch.
    pub const METRICS: &str = "metrics.csv";
    /// The test-set report.
    pub const REPORT: &str = "report.json";
    /// Burn's epoch checkpoints.
    pub const CHECKPOINTS: &str = "checkpoint";
}

/// Trains LeNet-5 as `config` says, evaluates it on the test set and writes `model.mpk`,
/// `config.toml`, `metrics.csv` and `report.json` into `options.artifacts`.
pub fn train<B: AutodiffBackend>(
    config: &ExperimentConfig,
    options: &RunOptions,
    device: B::Device,
) -> Result<Report, TrainError> {
    let dir = &options.artifacts;
    let done = if options.resume {
        last_complete_checkpoint(dir)?
    } else {
        refuse_existing_run(dir)?;
        0
    };
    std::fs::create_dir_all(dir).map_err(|source| TrainError::Write {
        path: dir.clone(),
        source,
    })?;
    write(&dir.join(files::CONFIG), config.to_toml().as_bytes())?;

    let training = &config.training;
    B::seed(&device, training.seed);

    let splits = MnistSplits::load(&options.data_dir, config.data.validation_size)?;
    let train_set = limit(splits.train, options.limit_train, "--limit-train")?;
    let test_set = limit(splits.test, options.limit_test, "--limit-test")?;
    let (train_images, valid_images) = (train_set.len(), splits.valid.len());
    let batcher = MnistBatcher::new(config.data.input.clone());

    let train_dataset: SharedDataset = if config.data.augmentation.enabled {
        let augmented =
            AugmentedDataset::new(train_set, config.data.augmentation.clone(), training.seed)?;
        Arc::new(augmented.with_start_epoch(done as u32))
    } else {
        Arc::new(train_set)
    };
    let loader_train = train_loader::<B>(
        train_dataset,
        batcher.clone(),
        training.batch_size,
        training.seed,
        training.loader_workers,
        done,
        &device,
    );
    let loader_valid = eval_loader::<B::InnerBackend>(
        Arc::new(splits.valid),
        batcher.clone(),
        EVAL_BATCH_SIZE,
        &device,
    );

    let steps_per_epoch = train_images.div_ceil(training.batch_size);
    let schedule = LearningRateSchedule::new(&config.optimizer, steps_per_epoch * training.epochs);
    let optimizer = adam(config).init();
    let model = config.model.init::<B>(&device);

    let mut builder = SupervisedTraining::new(dir, loader_train, loader_valid)
        .metrics((AccuracyMetric::new(), LossMetric::new()))
        .metric_train_numeric(LearningRateMetric::new())
        .metric_train_numeric(ThroughputMetric::new())
        .with_file_checkpointer(NamedMpkFileRecorder::<FullPrecisionSettings>::new())
        .with_checkpointing_strategy(KeepLastNCheckpoints::new(training.keep_checkpoints))
        .with_metric_logger(FileMetricLogger::new(dir))
        .with_metric_logger(CsvMetricLogger::new(
            dir.join(files::METRICS),
            read_metrics_csv(&dir.join(files::METRICS)),
        ))
        .num_epochs(training.epochs);
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
    // Burn's dashboard needs a terminal; in logs and pipes it would print escape codes.
    let dashboard = std::io::stdout().is_terminal();
    if !dashboard {
        builder = builder.renderer(PlainRenderer::new(training.epochs));
    }

    let start = Instant::now();
    let result = builder.launch(Learner::new(model, optimizer, schedule));
    let train_seconds = start.elapsed().as_secs_f64();
    let mut renderer = result.renderer;
    renderer.manual_close();
    let model = result.model;

    let epochs = read_metrics_csv(&dir.join(files::METRICS))
        .iter()
        .map(|row| row.epoch)
        .max()
        .unwrap_or(done);
    let test_loader =
        eval_loader::<B::InnerBackend>(Arc::new(test_set), batcher, EVAL_BATCH_SIZE, &device);
    let evaluation = evaluate(&model, test_loader.as_ref());

    model.save(dir.join(files::MODEL))?;
    let report = Report {
        config: options.config_name.clone(),
        variant: config.model.variant.to_string(),
        backend: training.backend.to_string(),
        epochs,
        seed: training.seed,
        train_images,
        valid_images,
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
        train_images_per_second: (epochs.saturating_sub(done) * train_images) as f64
            / train_seconds.max(1e-9),
    };
    let json = serde_json::to_string_pretty(&report).expect("the report serialises to JSON");
    write(&dir.join(files::REPORT), json.as_bytes())?;
    Ok(report)
}

fn adam(config: &ExperimentConfig) -> AdamConfig {
    let optimizer = &config.optimizer;
    let adam = AdamConfig::new()
        .with_beta_1(optimizer.beta_1)
        .with_beta_2(optimizer.beta_2)
        .with_epsilon(optimizer.epsilon);
    if optimizer.weight_decay > 0.0 {
        adam.with_weight_decay(Some(WeightDecayConfig::new(optimizer.weight_decay as f32)))
    } else {
        adam
    }
}

fn limit(
    dataset: MnistDataset,
    limit: Option<usize>,
    option: &'static str,
) -> Result<MnistDataset, TrainError> {
    match limit {
        Some(0) => Err(TrainError::Option {
            option,
            message: "must be at least 1".into(),
        }),
        Some(n) => Ok(dataset.limit(n)),
        None => Ok(dataset),
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), TrainError> {
    write_atomically(path, bytes).map_err(|source| TrainError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// A new run must not overwrite an earlier one's checkpoints, model or report.
fn refuse_existing_run(dir: &Path) -> Result<(), TrainError> {
    let exists = [files::CHECKPOINTS, files::MODEL, files::REPORT]
        .iter()
        .any(|name| dir.join(name).exists());
    if exists {
        return Err(TrainError::ArtifactsExist {
            dir: dir.to_path_buf(),
        });
    }
    Ok(())
}

/// The highest epoch whose model, optimizer and scheduler checkpoints are all present and
/// decode completely. A process killed while writing leaves a truncated file, which is skipped.
pub fn last_complete_checkpoint(dir: &Path) -> Result<usize, TrainError> {
    let checkpoints = dir.join(files::CHECKPOINTS);
    let no_checkpoint = |reason: String| TrainError::NoCheckpoint {
        dir: dir.to_path_buf(),
        reason,
    };
    let entries = std::fs::read_dir(&checkpoints).map_err(|error| {
        no_checkpoint(format!("cannot read {}: {error}", checkpoints.display()))
    })?;
    let mut epochs: Vec<usize> = entries
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            name.strip_prefix("model-")?
                .strip_suffix(".mpk")?
                .parse()
                .ok()
        })
        .collect();
    epochs.sort_unstable();
    let complete = |epoch: &usize| {
        ["model", "optim", "scheduler"].iter().all(|kind| {
            std::fs::read(checkpoints.join(format!("{kind}-{epoch}.mpk")))
                .is_ok_and(|bytes| rmp_serde::from_slice::<serde::de::IgnoredAny>(&bytes).is_ok())
        })
    };
    epochs.iter().rev().copied().find(complete).ok_or_else(|| {
        no_checkpoint(format!(
            "no complete checkpoint in {}",
            checkpoints.display()
        ))
    })
}
