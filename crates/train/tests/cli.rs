//! The `train` binary as a user runs it: bad input gives one clear message and a non-zero exit
//! before any work starts; a run is reproducible and `--resume` after a killed process ends
//! with the weights of an uninterrupted run. Runs that train read real MNIST from `MNIST_DIR`.

use burn::{
    backend::NdArray,
    module::{Module, ModuleVisitor, Param},
    tensor::Tensor,
};
use std::{
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};

fn train() -> Command {
    Command::new(env!("CARGO_BIN_EXE_train"))
}

fn configs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs")
}

/// Real MNIST, found as `train` finds it (`MNIST_DIR`, then the user cache), never downloaded.
fn mnist_dir() -> PathBuf {
    mnist::locate(None, &mnist::Download::disabled())
        .expect("these tests need MNIST: set MNIST_DIR to the directory holding the four files")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn run(command: &mut Command) -> Output {
    command.output().expect("the train binary runs")
}

/// A small, quick experiment.
fn small_config(dir: &Path, backend: &str) -> PathBuf {
    let path = dir.join("small.toml");
    std::fs::write(
        &path,
        format!(
            "[data]\nvalidation_size = 500\n[optimizer]\nschedule = \"cosine\"\n\
             [training]\nepochs = 3\nbatch_size = 64\nbackend = \"{backend}\"\nkeep_checkpoints = 3\n"
        ),
    )
    .unwrap();
    path
}

fn small_run(config: &Path, artifacts: &Path) -> Command {
    let mut command = train();
    command
        .args(["--config", config.to_str().unwrap()])
        .args(["--artifacts", artifacts.to_str().unwrap()])
        .args(["--data-dir", mnist_dir().to_str().unwrap()])
        .args([
            "--limit-train",
            "1200",
            "--limit-test",
            "500",
            "--no-download",
        ]);
    command
}

#[test]
fn config_errors_name_the_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    for (text, key) in [
        ("[training]\nbatch_sise = 32\n", "training.batch_sise"),
        ("[training]\nbatch_size = 0\n", "training.batch_size"),
        ("[training]\nbackend = \"cuda\"\n", "training.backend"),
        ("[model]\nvariant = \"alexnet\"\n", "model.variant"),
        (
            "[optimizer]\nlearning_rate = -1.0\n",
            "optimizer.learning_rate",
        ),
        ("[training]\nepochs = \"ten\"\n", "training.epochs"),
    ] {
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, text).unwrap();
        let output = run(train()
            .args(["--config", path.to_str().unwrap(), "--no-download"])
            .args(["--artifacts", dir.path().join("out").to_str().unwrap()]));
        assert_eq!(output.status.code(), Some(1), "{text}");
        let message = stderr(&output);
        assert!(
            message.contains("bad.toml") && message.contains(key),
            "{text}: {message}"
        );
        assert!(!message.contains("panicked"), "{message}");
        assert!(
            !dir.path().join("out").exists(),
            "no work started for {text}"
        );
    }
}

#[test]
fn bad_options_are_usage_errors() {
    for args in [
        vec!["--backend", "cuda"],
        vec!["--batch-size", "0"],
        vec!["--learning-rate", "-0.5"],
        vec!["--epochs", "many"],
    ] {
        let output = run(train().args(&args));
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&output).contains(args[0]),
            "{args:?}: {}",
            stderr(&output)
        );
    }
    let output = run(train().arg("--help"));
    let help = String::from_utf8_lossy(&output.stdout);
    for option in [
        "--config",
        "--backend",
        "--epochs",
        "--batch-size",
        "--learning-rate",
        "--seed",
        "--data-dir",
        "--artifacts",
        "--limit-train",
        "--limit-test",
        "--resume",
        "--no-download",
    ] {
        assert!(help.contains(option), "--help lacks {option}");
    }
}

#[test]
fn missing_config_and_missing_data_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(train().args(["--config", "no/such/file.toml"]));
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("no/such/file.toml"),
        "{}",
        stderr(&output)
    );

    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let output = run(train()
        .args(["--config", configs().join("lenet5.toml").to_str().unwrap()])
        .args(["--data-dir", empty.to_str().unwrap(), "--no-download"])
        .env("MNIST_DIR", &empty)
        .env("XDG_CACHE_HOME", &empty)
        .env("HOME", &empty));
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(
        message.contains("MNIST_DIR") && message.contains("--data-dir"),
        "{message}"
    );
    assert!(message.contains("train-images-idx3-ubyte"), "{message}");
}

#[test]
fn resume_with_nothing_to_resume_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(train().args([
        "--resume",
        "--artifacts",
        dir.path().join("none").to_str().unwrap(),
    ]));
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("nothing to resume"),
        "{}",
        stderr(&output)
    );
}

fn read_report(artifacts: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(artifacts.join("report.json")).unwrap()).unwrap()
}

/// Runs are bit-exact on both CPU backends: the same seed gives the same weights, and a run
/// killed after its first checkpoint and resumed ends with exactly the weights of an
/// uninterrupted one.
#[test]
#[ignore = "needs MNIST: set MNIST_DIR"]
fn flex_same_seed_same_weights_and_resume_after_a_kill_matches_exactly() {
    assert_same_seed_and_resume_match_exactly("flex");
}

/// The paper's network with SDLM: the curvature is estimated again, from the same sample, when
/// a run resumes, so one pass then a resumed second ends with the weights of two passes.
#[test]
#[ignore = "needs MNIST: set MNIST_DIR"]
fn sdlm_resumes_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/lecun1998.toml");
    let both = dir.path().join("both");
    let output = run(small_run(&config, &both).args(["--epochs", "2"]));
    assert!(output.status.success(), "{}", stderr(&output));
    let resumed = dir.path().join("resumed");
    assert!(
        run(small_run(&config, &resumed).args(["--epochs", "1"]))
            .status
            .success()
    );
    let output = run(small_run(&config, &resumed).args(["--epochs", "2", "--resume"]));
    assert!(output.status.success(), "{}", stderr(&output));
    let weights_of_both = weights(&both);
    assert_eq!(weights_of_both.len(), 60_000);
    assert!(
        weights_of_both == weights(&resumed),
        "the resumed run ends with the same weights"
    );
    let accuracy = read_report(&both)["test_accuracy"].as_f64().unwrap();
    // 1,200 images twice: 40% measured, against 10% by chance.
    assert!(
        accuracy > 0.3,
        "2 small SDLM passes learn something: {accuracy}"
    );
}

/// ndarray's own SIMD reciprocal is approximate and alignment-dependent, which once made its
/// gradients differ from process to process; the workspace builds burn-ndarray without it.
#[test]
#[ignore = "needs MNIST: set MNIST_DIR"]
fn ndarray_same_seed_same_weights_and_resume_after_a_kill_matches_exactly() {
    assert_same_seed_and_resume_match_exactly("ndarray");
}

fn assert_same_seed_and_resume_match_exactly(backend: &str) {
    let (uninterrupted, again, resumed) = same_seed_and_resumed_runs(backend);
    assert!(uninterrupted == again, "{backend}: same seed, same weights");
    assert!(
        uninterrupted == resumed,
        "{backend}: the resumed run ends with the same weights"
    );
}

/// Three small runs on `backend`: uninterrupted, again with the same seed, and killed after
/// its first checkpoint then resumed. Returns the three final weight vectors.
fn same_seed_and_resumed_runs(backend: &str) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let dir = tempfile::tempdir().unwrap();
    let config = small_config(dir.path(), backend);

    let first = dir.path().join("first");
    let output = run(&mut small_run(&config, &first));
    assert!(output.status.success(), "{}", stderr(&output));
    let report = read_report(&first);
    assert_eq!(report["epochs"], 3);
    assert_eq!(report["backend"], backend);
    assert_eq!(report["test_images"], 500);
    assert_eq!(report["confusion_matrix"].as_array().unwrap().len(), 10);
    let accuracy = report["test_accuracy"].as_f64().unwrap();
    assert!(accuracy > 0.7, "3 small epochs learn something: {accuracy}");
    assert_pictures_show(&first, &report);
    let metrics = std::fs::read_to_string(first.join("metrics.csv")).unwrap();
    assert_eq!(metrics.lines().count(), 4, "{metrics}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("confusion matrix"), "{stdout}");
    assert!(
        !stdout.contains('\u{1b}'),
        "plain progress in a pipe, no escape codes"
    );

    let again = dir.path().join("again");
    assert!(run(&mut small_run(&config, &again)).status.success());

    // Kill a run as soon as its first epoch's checkpoint is on disk, then resume it.
    let resumed = dir.path().join("resumed");
    let mut child = small_run(&config, &resumed)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Files appear before they are complete: wait until --resume would accept one.
    let start = Instant::now();
    while train::last_complete_checkpoint(&resumed).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(600),
            "no checkpoint after 10 minutes"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!resumed.join("model.mpk").exists(), "killed before the end");
    let output = run(small_run(&config, &resumed).arg("--resume"));
    assert!(output.status.success(), "{}", stderr(&output));
    // The killed run may not have logged its first epoch yet: metrics are written
    // asynchronously, the checkpoint first. The resumed run logs every epoch it trains.
    let resumed_metrics = std::fs::read_to_string(resumed.join("metrics.csv")).unwrap();
    let epochs: Vec<&str> = resumed_metrics
        .lines()
        .skip(1)
        .map(|line| line.split(',').next().unwrap_or_default())
        .collect();
    assert!(epochs.ends_with(&["2", "3"]), "{resumed_metrics}");

    // Starting over in a directory that holds a run would destroy it.
    let before = weights(&first);
    let output = run(&mut small_run(&config, &first));
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("--resume"), "{}", stderr(&output));
    assert!(before == weights(&first), "the earlier run is untouched");

    (before, weights(&again), weights(&resumed))
}

/// Every parameter of the model saved in `artifacts`, in order. (The files themselves differ
/// between runs: Burn gives each parameter a random id.)
fn weights(artifacts: &Path) -> Vec<f32> {
    struct Collect(Vec<f32>);
    impl ModuleVisitor<NdArray> for Collect {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<NdArray, D>>) {
            self.0
                .extend(param.val().into_data().to_vec::<f32>().unwrap());
        }
    }
    let model = lenet::load_file::<NdArray>(artifacts.join("model.mpk"), None, &Default::default())
        .unwrap();
    let mut collect = Collect(Vec::new());
    model.visit(&mut collect);
    assert_eq!(collect.0.len(), model.num_params());
    collect.0
}

#[test]
#[ignore = "needs MNIST: set MNIST_DIR"]
fn wgpu_without_an_adapter_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    // No Vulkan driver: on Linux, wgpu then finds no adapter at all.
    let output = run(train()
        .args(["--config", configs().join("lenet5.toml").to_str().unwrap()])
        .args(["--backend", "wgpu", "--no-download"])
        .args(["--data-dir", mnist_dir().to_str().unwrap()])
        .args(["--artifacts", dir.path().join("out").to_str().unwrap()])
        .env("VK_ICD_FILENAMES", dir.path().join("no-driver.json"))
        .env("RUST_BACKTRACE", "0"));
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(
        message.contains("no usable GPU adapter") && message.contains("--backend flex"),
        "{message}"
    );
    assert!(!message.contains("panicked"), "{message}");
}

/// The run's three pictures decode as PNGs of their documented sizes, and `mistakes.png`
/// shows as many digits as the report counts mistakes (up to its cap).
fn assert_pictures_show(artifacts: &Path, report: &serde_json::Value) {
    let picture = |name: &str| {
        image::open(artifacts.join(name))
            .unwrap_or_else(|error| panic!("{name}: {error}"))
            .to_rgb8()
    };
    assert_eq!(picture("curves.png").dimensions(), figures::CURVES_SIZE);
    assert_eq!(
        picture("confusion.png").dimensions(),
        figures::CONFUSION_SIZE
    );
    let matrix = report["confusion_matrix"].as_array().unwrap();
    let wrong: u64 = matrix
        .iter()
        .enumerate()
        .flat_map(|(truth, row)| {
            let row = row.as_array().unwrap();
            row.iter()
                .enumerate()
                .filter(move |(predicted, _)| *predicted != truth)
                .map(|(_, count)| count.as_u64().unwrap())
        })
        .sum();
    let mistakes = picture("mistakes.png");
    let drawn = (0..=figures::MAX_MISTAKES)
        .take_while(|&index| {
            let [left, top, right, bottom] = figures::mistake_tile(index);
            right <= mistakes.width()
                && bottom <= mistakes.height()
                && mistakes.get_pixel(left + 1, top + 1).0 == [0, 0, 0]
        })
        .count();
    assert!(wrong > 0, "a small run makes mistakes");
    assert_eq!(drawn as u64, wrong.min(figures::MAX_MISTAKES as u64));
}
