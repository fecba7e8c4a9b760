//! `cargo run -p train -- [options]`: train LeNet-5 on MNIST.

use std::{io::IsTerminal, num::NonZeroUsize, path::PathBuf, process::ExitCode};

use burn_train::Interrupter;
use clap::Parser;
use experiment::{Artifacts, BackendKind, ExperimentConfig, default_artifacts_dir};
use train::{RunOptions, TrainError, progress::STOP_REQUESTED, progress::say};

// The program, not the library, picks the allocator: an app that embeds `train` keeps its own.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Train LeNet-5 on MNIST with Burn. Every option overrides the configuration file.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Experiment configuration (TOML; see configs/).
    #[arg(long, default_value = "configs/lenet5.toml")]
    config: PathBuf,
    /// Burn backend to train on (default: the config's training.backend).
    #[arg(long, value_enum)]
    backend: Option<BackendKind>,
    /// Passes over the training set.
    #[arg(long, value_parser = count)]
    epochs: Option<usize>,
    /// Images per optimizer step.
    #[arg(long, value_parser = count)]
    batch_size: Option<usize>,
    /// The (peak) learning rate, a positive number; the "epochs" schedule takes its rates from
    /// the configuration instead.
    #[arg(long, value_parser = positive, allow_negative_numbers = true)]
    learning_rate: Option<f64>,
    /// Seed for the weights, the shuffling and the augmentation.
    #[arg(long)]
    seed: Option<u64>,
    /// Directory holding the four MNIST files (default: $MNIST_DIR, then the user cache, where
    /// they are downloaded if missing).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Never download MNIST: fail if the files are not found.
    #[arg(long)]
    no_download: bool,
    /// Output directory (default: artifacts/<config file name>).
    #[arg(long)]
    artifacts: Option<PathBuf>,
    /// Train on the first N training images only (smoke runs).
    #[arg(long, value_parser = nonzero)]
    limit_train: Option<NonZeroUsize>,
    /// Test on the first N test images only.
    #[arg(long, value_parser = nonzero)]
    limit_test: Option<NonZeroUsize>,
    /// Continue the run in the artifacts directory from its last complete checkpoint, with the
    /// configuration saved there (options still override it, e.g. --epochs to train longer).
    #[arg(long)]
    resume: bool,
}

fn count(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(value) if value >= 1 => Ok(value),
        _ => Err(format!("{text:?} is not a whole number of at least 1")),
    }
}

fn nonzero(text: &str) -> Result<NonZeroUsize, String> {
    count(text).map(|value| NonZeroUsize::new(value).expect("count() refuses 0"))
}

fn positive(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(value) if value.is_finite() && value > 0.0 => Ok(value),
        _ => Err(format!("{text:?} is not a positive number")),
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    // The training loop's thread is one of rayon's workers (the program owns the global pool;
    // the library leaves it to the app): every kernel's parallel loop then starts on this
    // thread, which works through its share, where a thread outside the pool would hand the
    // loop to the workers and sleep until they finished, a wake-up on each side per layer.
    if let Err(error) = rayon::ThreadPoolBuilder::new()
        .use_current_thread()
        .build_global()
    {
        eprintln!("train: warning: rayon's default thread pool, not this thread in it: {error}");
    }
    // The pool's other threads keep looking for work through each step's serial stretches,
    // where rayon would send them to sleep and the next kernel would wait for a wake-up.
    match train::pool::with_workers_looking(|| run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            // As a shell reports a command stopped by Ctrl-C.
            let stopped = matches!(
                error.downcast_ref::<TrainError>(),
                Some(TrainError::Stopped { .. })
            );
            ExitCode::from(if stopped { 130 } else { 1 })
        }
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    let artifacts = args
        .artifacts
        .clone()
        .unwrap_or_else(|| default_artifacts_dir(&args.config));
    let config_path = if args.resume {
        Artifacts::new(&artifacts).config()
    } else {
        args.config.clone()
    };
    if args.resume && !config_path.exists() {
        anyhow::bail!(
            "nothing to resume: {} does not exist; start a new run without --resume",
            config_path.display()
        );
    }
    let mut config = ExperimentConfig::load(&config_path)?;
    let training = &mut config.training;
    if let Some(backend) = args.backend {
        training.backend = backend;
    }
    if let Some(epochs) = args.epochs {
        training.epochs = epochs;
    }
    if let Some(batch_size) = args.batch_size {
        training.batch_size = batch_size;
    }
    if let Some(seed) = args.seed {
        training.seed = seed;
    }
    if let Some(learning_rate) = args.learning_rate {
        config.optimizer.learning_rate = learning_rate;
    }
    config.validate(&config_path)?;

    let download = if args.no_download {
        mnist::Download::disabled()
    } else {
        mnist::Download::default()
    };
    let data_dir = mnist::locate(args.data_dir.as_deref(), &download)?;
    let config_name = args.config.file_stem().map_or_else(
        || "run".to_string(),
        |stem| stem.to_string_lossy().into_owned(),
    );
    say(&format!(
        "training LeNet-5 \"{}\" on {} for {} epochs, its layers on {} (config {}, data {}, artifacts {})",
        config.model.variant,
        config.training.backend,
        config.training.epochs,
        backends::kernel_route(config.training.backend),
        config_path.display(),
        data_dir.display(),
        artifacts.display()
    ));
    let options = RunOptions {
        config_name,
        artifacts: artifacts.clone(),
        data_dir,
        limit_train: args.limit_train,
        limit_test: args.limit_test,
        resume: args.resume,
        dashboard: std::io::stdout().is_terminal(),
        interrupter: Interrupter::new(),
    };
    stop_on_signals(&options.interrupter);
    let report = train::train_on_configured_backend(&config, &options)?;
    say(&format!("\n{}", report.render()));
    say(&format!(
        "wrote {} ({})",
        artifacts.display(),
        Artifacts::OUTPUTS.join(", ")
    ));
    Ok(())
}

/// Ctrl-C and SIGTERM stop the run at the next batch, as the dashboard's keys do, instead of
/// killing it mid-write; SIGHUP (the terminal closed) is ignored, so that the run goes on and
/// writes everything, as under `nohup`. Without the handler (it could not be installed) the
/// signals keep their default action; the last complete checkpoint survives that too.
fn stop_on_signals(interrupter: &Interrupter) {
    #[cfg(unix)]
    {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
            return;
        };
        let interrupter = interrupter.clone();
        let _ = std::thread::Builder::new()
            .name("train-signals".into())
            .spawn(move || {
                for signal in signals.forever() {
                    if signal != SIGHUP {
                        interrupter.stop(Some(STOP_REQUESTED));
                    }
                }
            });
    }
}
