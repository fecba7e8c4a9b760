//! The artifacts directory of a run: who holds it, where a resumed run continues, and the
//! files written into it whole or not at all.

use std::{io::Write, path::Path};

use experiment::{Artifacts, Report};

use crate::TrainError;

/// A run's claim on its artifacts directory: the epochs already done there (0 for a new run)
/// and, when the directory already existed, the lock taken before anything was checked.
pub(crate) struct Claim {
    /// Complete epochs a resumed run continues after.
    pub done: usize,
    lock: Option<std::fs::File>,
}

impl Claim {
    /// Claims `artifacts` for a run of `epochs` epochs: a second run into the same directory
    /// stops here, before it changes anything; a new run refuses a directory holding another
    /// run's results; a resumed one finds its last complete checkpoint.
    pub fn new(artifacts: &Artifacts, resume: bool, epochs: usize) -> Result<Self, TrainError> {
        let lock = match artifacts.dir().exists() {
            true => Some(lock(artifacts)?),
            false => None,
        };
        let done = if resume {
            resume_point(artifacts, epochs)?
        } else {
            refuse_existing_run(artifacts)?;
            0
        };
        Ok(Self { done, lock })
    }

    /// The lock, creating the directory if the claim did not find it: called once the run's
    /// data has loaded, so that a run that cannot start leaves no directory behind.
    pub fn hold(self, artifacts: &Artifacts) -> Result<std::fs::File, TrainError> {
        match self.lock {
            Some(lock) => Ok(lock),
            None => lock(artifacts),
        }
    }
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename, so
/// that an interrupted write never leaves a truncated file behind; the file gets the mode the
/// umask allows, as any new file.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = atomic_write_file::AtomicWriteFile::open(path)?;
    file.write_all(bytes)?;
    file.commit()
}

/// [`write_atomically`], with the path in the error.
pub(crate) fn write(path: &Path, bytes: &[u8]) -> Result<(), TrainError> {
    write_atomically(path, bytes).map_err(|source| TrainError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// A new run must not overwrite an earlier one's checkpoints, model or report.
fn refuse_existing_run(artifacts: &Artifacts) -> Result<(), TrainError> {
    let exists = [Artifacts::CHECKPOINTS, Artifacts::MODEL, Artifacts::REPORT]
        .iter()
        .any(|name| artifacts.file(name).exists());
    if exists {
        return Err(TrainError::ArtifactsExist {
            dir: artifacts.dir().to_path_buf(),
        });
    }
    Ok(())
}

/// The epoch `--resume` continues after: the last complete checkpoint, or 0 (with a note) when
/// the run died before completing one. A finished run is extended only to more epochs than it
/// has.
fn resume_point(artifacts: &Artifacts, epochs: usize) -> Result<usize, TrainError> {
    let dir = artifacts.dir();
    if let Ok(text) = std::fs::read_to_string(artifacts.report())
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

/// Holds `train.lock` in the directory for the run: the operating system releases it when the
/// process ends, however it ends, so a dead run never blocks the next one.
fn lock(artifacts: &Artifacts) -> Result<std::fs::File, TrainError> {
    let dir = artifacts.dir();
    let write_error = |source| TrainError::Write {
        path: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(write_error)?;
    let path = artifacts.file(Artifacts::LOCK);
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
    let checkpoints = Artifacts::new(dir).checkpoints();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_writes_replace_the_file_and_leave_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        write_atomically(&path, b"first").unwrap();
        write_atomically(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
