//! One training run with Burn's Learner, generic over the autodiff backend.

use std::{
    io::Write,
    num::NonZeroUsize,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, Once},
    time::Instant,
};

use burn::{
    record::{FullPrecisionSettings, NamedMpkFileRecorder},
    tensor::backend::AutodiffBackend,
    tensor::backend::DeviceOps,
    train::{
        Interrupter, Learner, MetricEarlyStoppingStrategy, StoppingCondition, SupervisedTraining,
        checkpoint::KeepLastNCheckpoints,
        logger::InMemoryMetricLogger,
        metric::{
            AccuracyMetric, LearningRateMetric, LossMetric,
            store::{Aggregate, Direction, Split},
        },
    },
};
use experiment::ExperimentConfig;
use mnist::{AugmentedDataset, MnistBatcher, MnistDataset, MnistSplits};

use crate::{
    TrainError,
    dashboard::Dashboard,
    data::{SharedDataset, eval_loader, train_loader},
    metrics_csv::{CsvMetricLogger, read_metrics_csv},
    optimizer::TrainOptimizer,
    pictures,
    progress::PlainRenderer,
    report::{Report, evaluate, write_atomically},
    schedule::LearningRateSchedule,
    throughput::ThroughputMetric,
};

/// Batch size for validation and test: larger is faster and changes no result.
const EVAL_BATCH_SIZE: usize = 1000;

/// The interrupter's message when the user stopped the run (a dashboard key, Ctrl-C or
/// SIGTERM).
pub(crate) const STOP_REQUESTED: &str = "stopped at the user's request";

/// The run that Ctrl-C and SIGTERM stop.
static CURRENT_RUN: Mutex<Option<Interrupter>> = Mutex::new(None);

/// Ctrl-C and SIGTERM stop the run at the next batch, as the dashboard's keys do, instead of
/// killing it mid-write; SIGHUP (the terminal closed) is ignored, so that the run goes on and
/// writes everything, as under `nohup`.
fn stop_on_signal(interrupter: &Interrupter) {
    if let Ok(mut current) = CURRENT_RUN.lock() {
        *current = Some(interrupter.clone());
    }
    #[cfg(unix)]
    {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        static HANDLER: Once = Once::new();
        HANDLER.call_once(|| {
            // Without the handler (it could not be installed) the signals keep their default
            // action; the last complete checkpoint survives that too.
            let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])
            else {
                return;
            };
            let _ = std::thread::Builder::new()
                .name("train-signals".into())
                .spawn(move || {
                    for signal in signals.forever() {
                        if signal == SIGHUP {
                            continue;
                        }
                        match CURRENT_RUN.lock().ok().and_then(|current| current.clone()) {
                            Some(interrupter) => interrupter.stop(Some(STOP_REQUESTED)),
                            // Between runs there is nothing to stop cleanly: end as Ctrl-C would.
                            None => std::process::exit(130),
                        }
                    }
                });
        });
    }
}

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
    pub limit_train: Option<NonZeroUsize>,
    /// Test on the first `n` test images only.
    pub limit_test: Option<NonZeroUsize>,
    /// Continue from the last complete checkpoint in `artifacts`.
    pub resume: bool,
    /// Show the terminal dashboard (stdout must be a terminal) instead of plain progress lines.
    pub dashboard: bool,
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
    /// Held by the run using the directory.
    pub const LOCK: &str = "train.lock";
    /// Loss, accuracy and learning rate per epoch, redrawn after every epoch.
    pub const CURVES: &str = "curves.png";
    /// The test confusion matrix as a heat map.
    pub const CONFUSION: &str = "confusion.png";
    /// The test digits the model got wrong, most confident first.
    pub const MISTAKES: &str = "mistakes.png";
}

/// Trains LeNet-5 as `config` says, evaluates it on the test set and writes `model.mpk`,
/// `config.toml`, `metrics.csv` and `report.json` into `options.artifacts`.
pub fn train<B: AutodiffBackend>(
    config: &ExperimentConfig,
    options: &RunOptions,
    device: B::Device,
) -> Result<Report, TrainError> {
    let dir = &options.artifacts;
    // A second run into the same directory stops here, before it changes anything.
    let lock = if dir.exists() {
        Some(lock_artifacts(dir)?)
    } else {
        None
    };
    let done = if options.resume {
        resume_point(dir, config.training.epochs)?
    } else {
        refuse_existing_run(dir)?;
        0
    };

    let training = &config.training;
    B::seed(&device, training.seed);

    // The data first: a run that cannot start leaves no files behind.
    let splits = MnistSplits::load(&options.data_dir, config.data.validation_size)?;
    let _lock = match lock {
        Some(lock) => lock,
        None => lock_artifacts(dir)?,
    };
    write(&dir.join(files::CONFIG), config.to_toml().as_bytes())?;
    let train_set = limit(splits.train, options.limit_train);
    let test_set = limit(splits.test, options.limit_test);
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
        train_dataset.clone(),
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
        device.inner(),
    );

    let steps_per_epoch = train_images.div_ceil(training.batch_size);
    let schedule = LearningRateSchedule::new(&config.optimizer, training.epochs, steps_per_epoch);
    let optimizer =
        TrainOptimizer::<B>::new(config, steps_per_epoch, train_dataset, device.clone());
    let model = config.model.init::<B>(&device);

    // Names the run on its pictures.
    let title = format!(
        "LeNet-5 \"{}\" on {}, config {}",
        config.model.variant, training.backend, options.config_name
    );
    let mut builder = SupervisedTraining::new(dir, loader_train, loader_valid)
        .metrics((AccuracyMetric::new(), LossMetric::new()))
        .metric_train_numeric(LearningRateMetric::new())
        .metric_train_numeric(ThroughputMetric::new())
        .with_file_checkpointer(NamedMpkFileRecorder::<FullPrecisionSettings>::new())
        .with_checkpointing_strategy(KeepLastNCheckpoints::new(training.keep_checkpoints))
        // Kept in memory for early stopping; `metrics.csv` is the record on disk.
        .with_metric_logger(InMemoryMetricLogger::default())
        .with_metric_logger(CsvMetricLogger::new(
            dir.join(files::METRICS),
            read_metrics_csv(&dir.join(files::METRICS)),
            title.clone(),
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
    let interrupter = Interrupter::new();
    builder = builder.with_interrupter(interrupter.clone());
    // The dashboard needs a terminal; in logs and pipes it would print escape codes.
    builder = if options.dashboard {
        let title = format!(
            "LeNet-5 \"{}\" on {} · config {} · {}",
            config.model.variant,
            training.backend,
            options.config_name,
            dir.display()
        );
        let dashboard = Dashboard::new(title, training.epochs, interrupter.clone())
            .map_err(TrainError::Terminal)?;
        builder.renderer(dashboard)
    } else {
        builder.renderer(PlainRenderer::new(training.epochs))
    };
    stop_on_signal(&interrupter);

    let start = Instant::now();
    let result = builder.launch(Learner::new(model, optimizer, schedule));
    let train_seconds = start.elapsed().as_secs_f64();
    if let Ok(mut current) = CURRENT_RUN.lock() {
        *current = None;
    }
    // Closes the dashboard and gives the terminal back before anything else is printed.
    drop(result.renderer);
    if interrupter.should_stop() {
        let reason = interrupter.get_message().unwrap_or_default();
        let completed = last_complete_checkpoint(dir).ok();
        return Err(if reason == STOP_REQUESTED {
            TrainError::Stopped {
                dir: dir.clone(),
                completed,
            }
        } else {
            TrainError::Checkpoint {
                dir: dir.clone(),
                reason,
                completed,
            }
        });
    }
    let model = result.model;

    let epochs = read_metrics_csv(&dir.join(files::METRICS))
        .iter()
        .map(|row| row.epoch)
        .max()
        .unwrap_or(done);
    let test_set = Arc::new(test_set);
    let test_loader =
        eval_loader::<B::InnerBackend>(test_set.clone(), batcher, EVAL_BATCH_SIZE, device.inner());
    let evaluation = evaluate(&model, test_loader.as_ref());

    model.save(dir.join(files::MODEL))?;
    let report = Report {
        config: options.config_name.clone(),
        variant: config.model.variant.to_string(),
        backend: training.backend.to_string(),
        epochs,
        resumed_from: done,
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
    let title = format!("{title}: {epochs} epochs, MNIST test set");
    for warning in pictures::draw_test(dir, &title, &evaluation, &test_set) {
        crate::progress::say(&format!("warning: {warning}"));
    }
    Ok(report)
}

fn limit(dataset: MnistDataset, limit: Option<NonZeroUsize>) -> MnistDataset {
    match limit {
        Some(n) => dataset.limit(n.get()),
        None => dataset,
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

/// The epoch `--resume` continues after: the last complete checkpoint, or 0 (with a note) when
/// the run died before completing one. A finished run is extended only to more epochs than it
/// has.
fn resume_point(dir: &Path, epochs: usize) -> Result<usize, TrainError> {
    if let Ok(text) = std::fs::read_to_string(dir.join(files::REPORT))
        && let Ok(report) = serde_json::from_str::<Report>(&text)
        && epochs <= report.epochs
    {
        return Err(TrainError::Finished {
            dir: dir.to_path_buf(),
            epochs: report.epochs,
        });
    }
    match last_complete_checkpoint(dir) {
        Ok(epoch) => Ok(epoch),
        Err(TrainError::NoCheckpoint { .. }) => {
            crate::progress::say(&format!(
                "no complete checkpoint in {}: training again from epoch 1 with its saved configuration",
                dir.display()
            ));
            Ok(0)
        }
        Err(error) => Err(error),
    }
}

/// Holds `dir/train.lock` for the run: the operating system releases it when the process
/// ends, however it ends, so a dead run never blocks the next one.
fn lock_artifacts(dir: &Path) -> Result<std::fs::File, TrainError> {
    let write_error = |source| TrainError::Write {
        path: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(write_error)?;
    let path = dir.join(files::LOCK);
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|source| TrainError::Write {
            path: path.clone(),
            source,
        })?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let holder = std::fs::read_to_string(&path).unwrap_or_default();
            return Err(TrainError::Locked {
                dir: dir.to_path_buf(),
                holder: holder.trim().to_string(),
            });
        }
        Err(std::fs::TryLockError::Error(source)) => {
            return Err(TrainError::Write { path, source });
        }
    }
    // Who holds the lock, for the message a second run prints.
    let _ = file.set_len(0);
    let _ = write!(file, "pid {}", std::process::id());
    Ok(file)
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
