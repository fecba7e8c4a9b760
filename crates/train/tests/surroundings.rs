//! `train` when its surroundings go wrong: a closed output, a full disk, a run killed before
//! its first checkpoint, two runs in one directory, a `--resume` of a finished run, a picture
//! that cannot be written, and the files' permissions. Each needs real MNIST (`MNIST_DIR`); the full disk needs root, to mount
//! a small tmpfs.

use std::{
    io::{BufRead, BufReader, Write},
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

fn mnist_dir() -> PathBuf {
    mnist::locate(None, &mnist::Download::disabled())
        .expect("these tests need MNIST: set MNIST_DIR to the directory holding the four files")
}

/// A run of `epochs` epochs on the first `images` training images, flex, cosine schedule.
fn run_command(dir: &Path, artifacts: &Path, epochs: usize, images: usize) -> Command {
    let config = dir.join("small.toml");
    std::fs::write(
        &config,
        "[data]\nvalidation_size = 500\n[optimizer]\nschedule = \"cosine\"\n\
         [training]\nbatch_size = 64\nkeep_checkpoints = 3\n",
    )
    .unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_train"));
    command
        .arg("--config")
        .arg(&config)
        .arg("--artifacts")
        .arg(artifacts)
        .arg("--data-dir")
        .arg(mnist_dir())
        .args(["--no-download", "--limit-test", "500"])
        .args(["--epochs", &epochs.to_string()])
        .args(["--limit-train", &images.to_string()]);
    command
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn wait_for(what: &str, child: &mut Child, ready: impl Fn() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "{what}: timed out"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "{what}: the run ended first"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn has_checkpoint(artifacts: &Path) -> bool {
    train::last_complete_checkpoint(artifacts).is_ok()
}

fn model_bytes_equal(a: &Path, b: &Path) -> bool {
    let load = |dir: &Path| {
        lenet::load_file::<burn::backend::NdArray>(dir.join("model.mpk"), None, &Default::default())
            .unwrap()
    };
    let values = |dir: &Path| -> Vec<f32> {
        use burn::module::{Module, ModuleVisitor, Param};
        struct Collect(Vec<f32>);
        impl ModuleVisitor<burn::backend::NdArray> for Collect {
            fn visit_float<const D: usize>(
                &mut self,
                param: &Param<burn::tensor::Tensor<burn::backend::NdArray, D>>,
            ) {
                self.0
                    .extend(param.val().into_data().to_vec::<f32>().unwrap());
            }
        }
        let mut collect = Collect(Vec::new());
        load(dir).visit(&mut collect);
        collect.0
    };
    values(a) == values(b)
}

#[test]
#[ignore = "needs MNIST: set MNIST_DIR"]
fn a_closed_output_does_not_stop_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let artifacts = dir.path().join("run");
    let mut child = run_command(dir.path(), &artifacts, 2, 3000)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // As `train ... | head -1`: read one line, then close the pipe.
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with("training LeNet-5"), "{first}");
    // The first line says which code computes the layers.
    assert!(
        first.contains("on flex for 2 epochs, its layers on fused kernels (flex)"),
        "{first}"
    );
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!stderr(&output).contains("panicked"), "{}", stderr(&output));
    assert!(artifacts.join("model.mpk").is_file() && artifacts.join("report.json").is_file());
}

/// A tmpfs of `size` mounted for the test's lifetime.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Self {
        std::fs::create_dir_all(at).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .status()
            .expect("mount runs");
        assert!(status.success(), "mounting a tmpfs needs root");
        Tmpfs(at.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
#[ignore = "needs MNIST (set MNIST_DIR) and root, to mount a tmpfs"]
fn a_full_disk_stops_with_one_message_and_resume_continues_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let reference = dir.path().join("reference");
    let output = run_command(dir.path(), &reference, 3, 12_000)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));

    let disk = Tmpfs::mount(&dir.path().join("disk"), "64m");
    let artifacts = disk.0.join("run");
    let mut child = run_command(dir.path(), &artifacts, 3, 12_000)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("first checkpoint", &mut child, || {
        has_checkpoint(&artifacts)
    });
    // Fill the disk: the next checkpoint cannot be written.
    let filler = disk.0.join("filler");
    let mut file = std::fs::File::create(&filler).unwrap();
    let block = vec![0u8; 1 << 16];
    while file.write_all(&block).is_ok() {}
    drop(file);
    let output = child.wait_with_output().unwrap();
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{message}");
    assert!(
        message.contains("cannot write a checkpoint in") && message.contains("free space"),
        "{message}"
    );
    assert!(message.contains("--resume"), "{message}");
    assert!(!message.contains("panicked"), "{message}");
    assert!(!artifacts.join("report.json").exists());

    std::fs::remove_file(&filler).unwrap();
    let output = run_command(dir.path(), &artifacts, 3, 12_000)
        .arg("--resume")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        model_bytes_equal(&reference, &artifacts),
        "the resumed run ends with the weights of the uninterrupted one"
    );
}

#[test]
#[ignore = "needs MNIST: set MNIST_DIR"]
fn a_run_killed_in_its_first_epoch_resumes_from_epoch_one() {
    let dir = tempfile::tempdir().unwrap();
    let artifacts = dir.path().join("run");
    let mut child = run_command(dir.path(), &artifacts, 2, 20_000)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for("config.toml", &mut child, || {
        artifacts.join("config.toml").is_file()
    });
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        !has_checkpoint(&artifacts),
        "killed before the first checkpoint"
    );

    let output = run_command(dir.path(), &artifacts, 2, 20_000)
        .arg("--resume")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("from epoch 1"), "{stdout}");
    assert!(artifacts.join("report.json").is_file());
}

#[test]
#[ignore = "needs MNIST: set MNIST_DIR"]
fn a_second_run_into_a_directory_in_use_refuses_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let artifacts = dir.path().join("run");
    let mut first = run_command(dir.path(), &artifacts, 20, 20_000)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lock = artifacts.join("train.lock");
    wait_for("the lock and the configuration", &mut first, || {
        std::fs::read_to_string(&lock).is_ok_and(|text| text.starts_with("pid"))
            && artifacts.join("config.toml").is_file()
    });
    let second = run_command(dir.path(), &artifacts, 20, 20_000)
        .output()
        .unwrap();
    first.kill().unwrap();
    first.wait().unwrap();
    let message = stderr(&second);
    assert_eq!(second.status.code(), Some(1), "{message}");
    assert!(
        message.contains("in use by another training run")
            && message.contains(&format!("pid {}", first.id())),
        "{message}"
    );

    // The lock ended with its process: a resume of the killed run goes ahead.
    let output = run_command(dir.path(), &artifacts, 1, 20_000)
        .arg("--resume")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
}

#[test]
#[ignore = "needs MNIST: set MNIST_DIR"]
fn a_finished_run_is_left_as_it_is_and_resume_epochs_extends_it() {
    let dir = tempfile::tempdir().unwrap();
    let artifacts = dir.path().join("run");
    let output = Command::new("sh")
        .arg("-c")
        .arg("umask 022 && exec \"$0\" \"$@\"")
        .arg(run_command(dir.path(), &artifacts, 2, 3000).get_program())
        .args(run_command(dir.path(), &artifacts, 2, 3000).get_args())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    for file in ["model.mpk", "report.json", "config.toml", "metrics.csv"] {
        let mode = std::fs::metadata(artifacts.join(file))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o777,
            0o644,
            "{file}: the umask's mode, as any new file"
        );
    }

    let report = std::fs::read(artifacts.join("report.json")).unwrap();
    let config = std::fs::read(artifacts.join("config.toml")).unwrap();
    let output = run_command(dir.path(), &artifacts, 2, 3000)
        .arg("--resume")
        .output()
        .unwrap();
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{message}");
    assert!(message.contains("finished run of 2 epochs"), "{message}");
    assert_eq!(
        std::fs::read(artifacts.join("report.json")).unwrap(),
        report
    );
    assert_eq!(
        std::fs::read(artifacts.join("config.toml")).unwrap(),
        config
    );

    let output = run_command(dir.path(), &artifacts, 3, 3000)
        .arg("--resume")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(artifacts.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["epochs"], 3);
    assert_eq!(report["resumed_from"], 2);
}

#[test]
#[ignore = "needs MNIST: set MNIST_DIR"]
fn a_picture_that_cannot_be_written_is_a_warning_and_the_run_completes() {
    let dir = tempfile::tempdir().unwrap();
    let artifacts = dir.path().join("run");
    // Directories where two of the pictures go: neither can be written.
    for picture in ["curves.png", "mistakes.png"] {
        std::fs::create_dir_all(artifacts.join(picture)).unwrap();
    }
    let output = run_command(dir.path(), &artifacts, 1, 1000)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("warning: cannot write") && stdout.contains("mistakes.png"),
        "{stdout}"
    );
    for file in ["model.mpk", "report.json", "confusion.png"] {
        assert!(artifacts.join(file).is_file(), "{file} is written");
    }
}
