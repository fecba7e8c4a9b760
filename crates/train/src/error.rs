use std::path::{Path, PathBuf};

/// Everything that stops a training run, each with the file or key concerned and what to do.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The configuration file cannot be read, or a key in it (or the option that overrides it)
    /// is wrong.
    #[error(transparent)]
    Config(#[from] experiment::ConfigError),

    /// The artifacts directory already holds a run.
    #[error(
        "{dir} already holds a training run: continue it with --resume, choose another directory with --artifacts DIR, or delete {dir}"
    )]
    ArtifactsExist {
        /// The directory.
        dir: PathBuf,
    },

    /// Another run holds the artifacts directory.
    #[error(
        "{dir} is in use by another training run ({holder}): wait for it to finish, or choose another directory with --artifacts DIR"
    )]
    Locked {
        /// The directory.
        dir: PathBuf,
        /// What the lock file says about its holder, e.g. `pid 1234`.
        holder: String,
    },

    /// `--resume` of a run that already trained all its epochs.
    #[error(
        "{dir} holds a finished run of {epochs} epochs: nothing to resume; to train it longer, pass --resume --epochs N with N above {epochs}"
    )]
    Finished {
        /// The artifacts directory.
        dir: PathBuf,
        /// Epochs it trained.
        epochs: usize,
    },

    /// `--resume` found nothing to resume.
    #[error("nothing to resume in {dir}: {reason}; start a new run without --resume")]
    NoCheckpoint {
        /// The artifacts directory.
        dir: PathBuf,
        /// What is missing.
        reason: String,
    },

    /// The configured backend cannot run here (wgpu without a usable adapter).
    #[error(transparent)]
    Backend(#[from] backends::BackendError),

    /// MNIST could not be found, downloaded or read.
    #[error(transparent)]
    Data(#[from] mnist::MnistError),

    /// The model could not be saved or loaded.
    #[error(transparent)]
    Model(#[from] lenet::LeNetError),

    /// The user stopped the run (a dashboard key, Ctrl-C or SIGTERM) before its last epoch.
    #[error("{}", stopped_message(dir, *completed))]
    Stopped {
        /// The artifacts directory.
        dir: PathBuf,
        /// The last epoch with a complete checkpoint, if any.
        completed: Option<usize>,
    },

    /// A checkpoint could not be written (a full disk, a removed directory); the run stopped.
    #[error("{}", checkpoint_message(dir, reason, *completed))]
    Checkpoint {
        /// The artifacts directory.
        dir: PathBuf,
        /// What the checkpointer reported.
        reason: String,
        /// The last epoch with a complete checkpoint, if any.
        completed: Option<usize>,
    },

    /// The terminal dashboard could not take over the terminal.
    #[error(
        "cannot start the terminal dashboard (run with the output redirected to get plain progress lines)"
    )]
    Terminal(#[source] std::io::Error),

    /// An output file could not be written.
    #[error("cannot write {path}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

fn resume_hint(dir: &Path, completed: Option<usize>) -> String {
    match completed {
        Some(epoch) => format!(
            "the last complete checkpoint is epoch {epoch}: continue with --resume --artifacts {}",
            dir.display()
        ),
        None => format!(
            "no epoch was completed: --resume --artifacts {} starts again from epoch 1",
            dir.display()
        ),
    }
}

fn stopped_message(dir: &Path, completed: Option<usize>) -> String {
    format!(
        "training stopped before its last epoch; {}",
        resume_hint(dir, completed)
    )
}

fn checkpoint_message(dir: &Path, reason: &str, completed: Option<usize>) -> String {
    let free = fs4::available_space(dir).map_or_else(
        |_| "unknown".to_string(),
        |bytes| format!("{:.1} MB", bytes as f64 / 1e6),
    );
    format!(
        "cannot write a checkpoint in {} ({reason}; free space there: {free}); the run stopped; \
         free some space, then {}",
        dir.join("checkpoint").display(),
        resume_hint(dir, completed)
    )
}
