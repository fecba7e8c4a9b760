//! The terminal dashboard: a Burn `MetricsRenderer` drawn with ratatui while the run trains.
//!
//! Burn 0.21's own dashboard (`burn/tui`) is not used: its drawing thread polls its channel
//! without waiting, so it keeps a core busy for the whole run, and after the last epoch it
//! waits for a key nobody is told to press, then panics in its `Drop`. This one waits on its
//! channel (waking four times a second), closes itself when the run ends, and restores the
//! terminal on every path: the end of the run, a stop, an error and a panic.
//!
//! `q`, `Esc` or Ctrl-C stop the run at the next batch: the epoch in progress is dropped, the
//! last complete checkpoint stays, and `--resume` continues from it.

use std::{
    sync::mpsc::{self, Receiver, Sender, TryRecvError},
    thread::JoinHandle,
    time::Duration,
};

use burn_train::{
    Interrupter, LearnerSummary,
    metric::MetricDefinition,
    renderer::{
        EvaluationName, EvaluationProgress, MetricState, MetricsRenderer,
        MetricsRendererEvaluation, MetricsRendererTraining, ProgressType, TrainingProgress,
    },
};
use ratatui::{
    DefaultTerminal, Frame,
    layout::{Constraint, Layout},
    style::{Style, Stylize},
    text::Line,
    widgets::{Block, Gauge, Paragraph, Row, Table},
};

use crate::progress::{Phase, RunState, STOP_REQUESTED};

/// The time between two frames; also the longest the end of a run waits for the dashboard.
const FRAME: Duration = Duration::from_millis(250);

enum Message {
    Register(MetricDefinition),
    Update(Phase, MetricState),
    Progress(Phase, TrainingProgress),
}

/// The dashboard: Burn's renderer calls arrive on the training thread and go to a drawing
/// thread, which owns the terminal.
pub struct Dashboard {
    sender: Option<Sender<Message>>,
    thread: Option<JoinHandle<()>>,
}

impl Dashboard {
    /// Takes over the terminal (alternate screen, raw mode) until the dashboard is dropped.
    /// `title` names the run; a stop key calls `interrupter.stop`.
    pub fn new(title: String, epochs: usize, interrupter: Interrupter) -> std::io::Result<Self> {
        let terminal = ratatui::try_init()?;
        let (sender, receiver) = mpsc::channel();
        let view = View {
            title,
            epochs,
            state: RunState::default(),
            history: Vec::new(),
            stopping: false,
        };
        let thread = std::thread::Builder::new()
            .name("train-dashboard".into())
            .spawn(move || draw_until_closed(terminal, view, receiver, interrupter))?;
        Ok(Self {
            sender: Some(sender),
            thread: Some(thread),
        })
    }

    fn send(&self, message: Message) {
        if let Some(sender) = &self.sender {
            // The thread only ends when the dashboard closes; a failed send changes nothing.
            let _ = sender.send(message);
        }
    }

    fn close(&mut self) {
        // Dropping the sender ends the drawing thread, which restores the terminal.
        self.sender = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Dashboard {
    fn drop(&mut self) {
        self.close();
    }
}

/// Draws frames until the channel closes, then gives the terminal back.
fn draw_until_closed(
    mut terminal: DefaultTerminal,
    mut view: View,
    receiver: Receiver<Message>,
    interrupter: Interrupter,
) {
    // Once the terminal is gone (closed window, hung-up session) neither its input nor its
    // screen is touched again: the run goes on, and this thread only collects messages.
    let mut terminal_gone = false;
    let mut keys = Keys::open();
    loop {
        // The thread wakes once a frame (or at a key), not at every message: a run sends
        // several per batch, hundreds a second.
        let stop = if terminal_gone {
            std::thread::sleep(FRAME);
            Ok(false)
        } else {
            keys.stop_pressed_within(FRAME)
        };
        match stop {
            Ok(false) => {}
            Ok(true) => {
                interrupter.stop(Some(STOP_REQUESTED));
                view.stopping = true;
            }
            Err(Gone) => terminal_gone = true,
        }
        let closed = loop {
            match receiver.try_recv() {
                Ok(message) => view.apply(message),
                Err(TryRecvError::Empty) => break false,
                Err(TryRecvError::Disconnected) => break true,
            }
        };
        if closed {
            break;
        }
        if !terminal_gone {
            terminal_gone = terminal.draw(|frame| view.draw(frame)).is_err();
        }
    }
    let _ = terminal.show_cursor();
    ratatui::restore();
}

/// The terminal is gone (a closed window, a hung-up session).
struct Gone;

/// The stop keys (`q`, `Esc`, Ctrl-C, which raw mode delivers as a byte), read from the
/// terminal itself. crossterm 0.29's event reader is not used: when its terminal hangs up it
/// reads end-of-file in a loop that never returns, spinning a core for the rest of the run.
struct Keys {
    tty: Option<std::fs::File>,
}

#[cfg(unix)]
impl Keys {
    fn open() -> Self {
        Self {
            tty: std::fs::File::open("/dev/tty").ok(),
        }
    }

    /// Whether a stop key is pressed within `timeout` (returning at once when one is).
    fn stop_pressed_within(&mut self, timeout: Duration) -> Result<bool, Gone> {
        use rustix::event::{PollFd, PollFlags, Timespec, poll};
        let Some(tty) = &self.tty else {
            std::thread::sleep(timeout);
            return Ok(false);
        };
        let mut fds = [PollFd::new(tty, PollFlags::IN)];
        let timeout = Timespec {
            tv_sec: timeout.as_secs().try_into().unwrap_or(i64::MAX),
            tv_nsec: timeout.subsec_nanos().into(),
        };
        match poll(&mut fds, Some(&timeout)) {
            Ok(0) => return Ok(false),
            Ok(_) => {}
            // A signal (SIGTERM's handler, a window resize) ends the wait early.
            Err(rustix::io::Errno::INTR) => return Ok(false),
            Err(_) => return Err(Gone),
        }
        if fds[0]
            .revents()
            .intersects(PollFlags::HUP | PollFlags::ERR | PollFlags::NVAL)
        {
            return Err(Gone);
        }
        let mut bytes = [0u8; 64];
        match rustix::io::read(tty, &mut bytes) {
            Ok(0) | Err(_) => Err(Gone),
            // A lone ESC is the key; ESC followed by more is an arrow or function key.
            Ok(n) => Ok(bytes[..n]
                .iter()
                .any(|&byte| matches!(byte, 0x03 | b'q' | b'Q'))
                || bytes[..n] == [0x1b]),
        }
    }
}

/// Elsewhere the keys are not read; Ctrl-C ends the process, and the last complete checkpoint
/// survives that.
#[cfg(not(unix))]
impl Keys {
    fn open() -> Self {
        Self { tty: None }
    }

    fn stop_pressed_within(&mut self, timeout: Duration) -> Result<bool, Gone> {
        let _ = &self.tty;
        std::thread::sleep(timeout);
        Ok(false)
    }
}

/// One finished epoch, as the history table shows it.
struct EpochLine {
    epoch: usize,
    train_loss: Option<f64>,
    train_accuracy: Option<f64>,
    valid_loss: Option<f64>,
    valid_accuracy: Option<f64>,
    throughput: Option<f64>,
}

struct View {
    title: String,
    epochs: usize,
    state: RunState,
    history: Vec<EpochLine>,
    stopping: bool,
}

impl View {
    fn apply(&mut self, message: Message) {
        match message {
            Message::Register(definition) => self.state.register(definition),
            Message::Update(phase, state) => self.state.update(phase, &state),
            Message::Progress(phase, item) => {
                self.state.progress(phase, &item);
                let valid = &self.state.valid;
                if phase == Phase::Valid
                    && valid.done()
                    && self
                        .history
                        .last()
                        .is_none_or(|line| line.epoch < valid.epoch)
                {
                    let train = &self.state.train;
                    self.history.push(EpochLine {
                        epoch: valid.epoch,
                        train_loss: train.loss(),
                        train_accuracy: train.accuracy(),
                        valid_loss: valid.loss(),
                        valid_accuracy: valid.accuracy(),
                        throughput: train.throughput(),
                    });
                }
            }
        }
    }

    fn draw(&self, frame: &mut Frame) {
        let [header, epoch, train, valid, history, footer] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(3),
            Constraint::Length(3),
            Constraint::Length(3),
            Constraint::Min(3),
            Constraint::Length(1),
        ])
        .areas(frame.area());
        frame.render_widget(Line::from(self.title.as_str()).bold(), header);

        let (train_state, valid_state) = (&self.state.train, &self.state.valid);
        let finished = self.history.last().map_or(0, |line| line.epoch);
        frame.render_widget(
            gauge(
                format!("Epoch {}/{}", train_state.epoch.max(1), self.epochs),
                finished,
                self.epochs,
                String::new(),
            ),
            epoch,
        );
        let mut detail = metrics_text(train_state.loss(), train_state.accuracy());
        if let Some(rate) = train_state.throughput() {
            detail.push_str(&format!("  {rate:.0} images/s"));
        }
        if let Some(lr) = train_state.learning_rate() {
            detail.push_str(&format!("  lr {lr:.2e}"));
        }
        frame.render_widget(
            gauge(
                "Training".into(),
                train_state.items,
                train_state.total,
                detail,
            ),
            train,
        );
        frame.render_widget(
            gauge(
                "Validation".into(),
                valid_state.items,
                valid_state.total,
                metrics_text(valid_state.loss(), valid_state.accuracy()),
            ),
            valid,
        );

        let number = |value: Option<f64>, digits: usize| {
            value.map_or_else(|| "-".to_string(), |v| format!("{v:.digits$}"))
        };
        let rows = self
            .history
            .iter()
            .rev()
            .take(history.height.saturating_sub(3) as usize)
            .map(|line| {
                Row::new([
                    line.epoch.to_string(),
                    number(line.train_loss, 4),
                    number(line.train_accuracy, 2),
                    number(line.valid_loss, 4),
                    number(line.valid_accuracy, 2),
                    number(line.throughput, 0),
                ])
            });
        let widths = [Constraint::Length(11); 6];
        let table = Table::new(rows, widths)
            .header(
                Row::new([
                    "epoch",
                    "train loss",
                    "train acc %",
                    "valid loss",
                    "valid acc %",
                    "images/s",
                ])
                .bold(),
            )
            .column_spacing(2)
            .block(Block::bordered().title(" Finished epochs (latest first) "));
        frame.render_widget(table, history);

        let help = if self.stopping {
            "Stopping after this batch; the last complete checkpoint stays (continue with --resume)"
        } else {
            "q, Esc or Ctrl-C: stop (the last complete checkpoint stays; --resume continues)"
        };
        frame.render_widget(Paragraph::new(help).style(Style::new().dim()), footer);
    }
}

fn metrics_text(loss: Option<f64>, accuracy: Option<f64>) -> String {
    let mut text = String::new();
    if let Some(loss) = loss {
        text.push_str(&format!("loss {loss:.4}"));
    }
    if let Some(accuracy) = accuracy {
        text.push_str(&format!("  accuracy {accuracy:.2}%"));
    }
    text
}

fn gauge(title: String, done: usize, total: usize, detail: String) -> Gauge<'static> {
    let ratio = if total == 0 {
        0.0
    } else {
        (done as f64 / total as f64).clamp(0.0, 1.0)
    };
    let label = if detail.is_empty() {
        format!("{done}/{total}")
    } else {
        format!("{done}/{total}  {detail}")
    };
    Gauge::default()
        .block(Block::bordered().title(format!(" {title} ")))
        .ratio(ratio)
        .label(label)
}

impl MetricsRendererTraining for Dashboard {
    fn update_train(&mut self, state: MetricState) {
        self.send(Message::Update(Phase::Train, state));
    }

    fn update_valid(&mut self, state: MetricState) {
        self.send(Message::Update(Phase::Valid, state));
    }

    fn render_train(&mut self, item: TrainingProgress, _indicators: Vec<ProgressType>) {
        self.send(Message::Progress(Phase::Train, item));
    }

    fn render_valid(&mut self, item: TrainingProgress, _indicators: Vec<ProgressType>) {
        self.send(Message::Progress(Phase::Valid, item));
    }

    fn on_train_end(
        &mut self,
        _summary: Option<LearnerSummary>,
    ) -> Result<(), Box<dyn core::error::Error>> {
        self.close();
        Ok(())
    }
}

impl MetricsRendererEvaluation for Dashboard {
    fn update_test(&mut self, _name: EvaluationName, state: MetricState) {
        self.send(Message::Update(Phase::Test, state));
    }

    fn render_test(&mut self, item: EvaluationProgress, _indicators: Vec<ProgressType>) {
        self.send(Message::Progress(Phase::Test, (&item).into()));
    }
}

impl MetricsRenderer for Dashboard {
    fn manual_close(&mut self) {
        self.close();
    }

    fn register_metric(&mut self, definition: MetricDefinition) {
        self.send(Message::Register(definition));
    }
}
