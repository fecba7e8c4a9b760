//! `train` in a real terminal, as a user who types `cargo run -p train` meets it: under a
//! pseudo-terminal (util-linux's `script`), the dashboard draws, closes by itself when the run
//! ends and gives the terminal back; `q` and Ctrl-C stop the run cleanly and `--resume`
//! finishes it. Read real MNIST from `MNIST_DIR`.

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// Entering and leaving the alternate screen, and showing the cursor again.
const ENTER_ALTERNATE: &str = "\u{1b}[?1049h";
const LEAVE_ALTERNATE: &str = "\u{1b}[?1049l";
const SHOW_CURSOR: &str = "\u{1b}[?25h";

fn mnist_dir() -> PathBuf {
    mnist::locate(None, &mnist::Download::disabled())
        .expect("these tests need MNIST: set MNIST_DIR to the directory holding the four files")
}

/// `train` with a tiny run under a pseudo-terminal of 120x40; what the terminal received is
/// written to `typescript`.
fn in_terminal(artifacts: &Path, typescript: &Path, extra: &[&str]) -> Child {
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/lenet5.toml");
    let mut args = vec![
        env!("CARGO_BIN_EXE_train").to_string(),
        "--config".into(),
        config.display().to_string(),
        "--data-dir".into(),
        mnist_dir().display().to_string(),
        "--no-download".into(),
        "--limit-train".into(),
        "3000".into(),
        "--limit-test".into(),
        "500".into(),
        "--artifacts".into(),
        artifacts.display().to_string(),
    ];
    args.extend(extra.iter().map(|arg| arg.to_string()));
    let command = format!(
        "stty cols 120 rows 40; exec {}",
        args.iter()
            .map(|arg| format!("'{arg}'"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    Command::new("script")
        .args(["--quiet", "--flush", "--return", "--command", &command])
        .arg(typescript)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("util-linux's `script` runs (apt install util-linux)")
}

/// Waits for `child` at most `limit`, killing it if it takes longer.
fn wait(child: &mut Child, limit: Duration) -> Option<i32> {
    wait_watching_dashboard(child, limit).0
}

/// [`wait`], also returning the CPU time the dashboard's thread used and how long it was seen
/// running (sampled from `/proc`: `script`'s child is `train`).
fn wait_watching_dashboard(
    child: &mut Child,
    limit: Duration,
) -> (Option<i32>, Duration, Duration) {
    let start = Instant::now();
    let (mut cpu, mut first_seen, mut last_seen) = (Duration::ZERO, None, start);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let alive = first_seen.map_or(Duration::ZERO, |first| last_seen - first);
            return (status.code(), cpu, alive);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("train did not exit within {limit:?} in a terminal");
        }
        if let Some(used) = dashboard_cpu(child.id()) {
            cpu = used;
            first_seen.get_or_insert_with(Instant::now);
            last_seen = Instant::now();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// User plus system time of the `train-dashboard` thread of `script`'s child, if it runs.
fn dashboard_cpu(script: u32) -> Option<Duration> {
    let children =
        std::fs::read_to_string(format!("/proc/{script}/task/{script}/children")).ok()?;
    let train = children.split_whitespace().next()?;
    std::fs::read_dir(format!("/proc/{train}/task"))
        .ok()?
        .flatten()
        .find(|task| {
            std::fs::read_to_string(task.path().join("comm"))
                .is_ok_and(|comm| comm.trim() == "train-dashboard")
        })
        .and_then(|task| {
            let stat = std::fs::read_to_string(task.path().join("stat")).ok()?;
            // Fields after the command name, which ends at the last ')', start at field 3;
            // utime and stime are fields 14 and 15, in clock ticks (USER_HZ, 100 on Linux).
            let fields: Vec<u64> = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .skip(11)
                .take(2)
                .map(|field| field.parse().ok())
                .collect::<Option<_>>()?;
            Some(Duration::from_millis(10 * fields.iter().sum::<u64>()))
        })
}

fn screen(typescript: &Path) -> String {
    String::from_utf8_lossy(&std::fs::read(typescript).unwrap()).into_owned()
}

/// The terminal was taken over, drawn on, and given back last.
fn assert_restored(screen: &str) {
    let entered = screen
        .find(ENTER_ALTERNATE)
        .expect("the dashboard took the screen");
    let left = screen
        .rfind(LEAVE_ALTERNATE)
        .expect("the screen was given back");
    assert!(
        entered < left,
        "left the alternate screen after entering it"
    );
    assert!(
        screen
            .rfind(SHOW_CURSOR)
            .is_some_and(|shown| shown > entered),
        "the cursor is shown again"
    );
    assert!(!screen.contains("panicked"), "no panic: {screen}");
}

#[test]
#[ignore = "needs MNIST: set MNIST_DIR"]
fn the_dashboard_closes_by_itself_and_the_run_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let (artifacts, typescript) = (dir.path().join("run"), dir.path().join("typescript"));
    let mut child = in_terminal(&artifacts, &typescript, &["--epochs", "2"]);
    let (status, cpu, alive) = wait_watching_dashboard(&mut child, Duration::from_secs(300));
    assert_eq!(status, Some(0));
    // A drawing thread that waits between frames uses well under 1% of a core (the README's
    // figure); one that spins uses all of it. The bound is far from both so that a loaded
    // machine cannot fail it.
    assert!(alive > Duration::ZERO, "the dashboard thread was seen");
    assert!(
        cpu.as_secs_f64() <= 0.1 * alive.as_secs_f64() + 0.05,
        "the dashboard thread used {cpu:?} of CPU in {alive:?}: a busy loop"
    );
    let screen = screen(&typescript);
    assert_restored(&screen);
    // ratatui moves the cursor over blanks, so words, not phrases, appear in the stream.
    for word in ["Epoch", "Training", "Validation", "Finished"] {
        assert!(screen.contains(word), "the dashboard drew {word}");
    }
    assert!(
        screen.contains("confusion matrix"),
        "the summary follows the dashboard"
    );
    assert!(artifacts.join("model.mpk").is_file() && artifacts.join("report.json").is_file());
}

/// Sends `key` once the run has a complete checkpoint; the run stops cleanly, and `--resume`
/// finishes it.
fn stop_with(key: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let (artifacts, typescript) = (dir.path().join("run"), dir.path().join("typescript"));
    let mut child = in_terminal(&artifacts, &typescript, &["--epochs", "30"]);
    let start = Instant::now();
    while train::last_complete_checkpoint(&artifacts).is_err() {
        assert!(start.elapsed() < Duration::from_secs(300), "no checkpoint");
        assert!(child.try_wait().unwrap().is_none(), "ended before the key");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.stdin.as_mut().unwrap().write_all(key).unwrap();
    child.stdin.as_mut().unwrap().flush().unwrap();
    assert_eq!(wait(&mut child, Duration::from_secs(120)), Some(130));
    let screen = screen(&typescript);
    assert_restored(&screen);
    assert!(screen.contains("continue with --resume"), "{screen}");
    assert!(
        !artifacts.join("report.json").exists(),
        "a stopped run has no report"
    );

    let output = Command::new(env!("CARGO_BIN_EXE_train"))
        .args(["--resume", "--epochs", "3", "--artifacts"])
        .arg(&artifacts)
        .args(["--data-dir"])
        .arg(mnist_dir())
        .args([
            "--no-download",
            "--limit-train",
            "3000",
            "--limit-test",
            "500",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(artifacts.join("report.json").is_file());
}

#[test]
#[ignore = "needs MNIST: set MNIST_DIR"]
fn q_stops_the_run_cleanly_and_resume_finishes_it() {
    stop_with(b"q");
}

#[test]
#[ignore = "needs MNIST: set MNIST_DIR"]
fn ctrl_c_stops_the_run_cleanly_and_resume_finishes_it() {
    stop_with(b"\x03");
}
