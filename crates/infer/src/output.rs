//! What the user reads: a few lines per file, or one JSON object per line.

use std::io::{self, Write};

use serde::Serialize;

use crate::{Classification, Outcome};

/// How results are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A line with the digit and its probability, then the `top` most probable digits with a
    /// bar each; errors go to the error stream.
    Text {
        /// Digits listed under the answer (0 for none).
        top: usize,
    },
    /// One JSON object per line and file on the output stream, errors included, for scripts:
    /// `{"file", "digit", "confidence", "probabilities"}` or `{"file", "error"}`.
    Json,
}

/// The error and its causes, each once: `message: cause: cause`.
pub fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let messages: Vec<String> = anyhow::Chain::new(error).map(ToString::to_string).collect();
    messages.join(": ")
}

/// Writes one file's outcome: results to `out`, and in text form errors to `err`.
pub fn write_outcome(
    outcome: &Outcome,
    format: Format,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<()> {
    let file = outcome.file.display().to_string();
    match (format, &outcome.result) {
        (Format::Text { top }, Ok(classification)) => write_text(&file, classification, top, out),
        (Format::Text { .. }, Err(error)) => writeln!(err, "infer: {}", describe(error)),
        (Format::Json, Ok(classification)) => {
            write_json(&JsonResult::new(&file, classification), out)
        }
        (Format::Json, Err(error)) => write_json(&JsonError::new(&file, error), out),
    }
}

/// Width of a bar for probability 1, in characters.
const BAR_WIDTH: usize = 20;

fn write_text(
    file: &str,
    classification: &Classification,
    top: usize,
    out: &mut dyn Write,
) -> io::Result<()> {
    writeln!(
        out,
        "{file}: {} ({})",
        classification.digit,
        percent(classification.confidence())
    )?;
    for (digit, probability) in classification.top(top) {
        writeln!(
            out,
            "  {digit} {:<width$} {:>6}",
            bar(probability),
            percent(probability),
            width = BAR_WIDTH
        )?;
    }
    Ok(())
}

fn percent(probability: f32) -> String {
    format!("{:.1}%", 100.0 * probability)
}

/// A horizontal bar in eighths of a character, so that small differences still show.
fn bar(probability: f32) -> String {
    const EIGHTHS: [&str; 8] = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];
    let eighths = (probability.clamp(0.0, 1.0) * (BAR_WIDTH * 8) as f32).round() as usize;
    let mut bar = "█".repeat(eighths / 8);
    bar.push_str(EIGHTHS[eighths % 8]);
    bar
}

/// One file's classification as `--json` writes it, and as the `web` crate's API answers it:
/// `{"file", "digit", "confidence", "probabilities"}`.
///
/// ```
/// use infer::Classification;
/// use infer::output::JsonResult;
///
/// let mut probabilities = [0.0; 10];
/// probabilities[7] = 1.0;
/// let classification = Classification { digit: 7, probabilities };
/// let json = serde_json::to_value(JsonResult::new("a.png", &classification))?;
/// assert_eq!(json["digit"], 7);
/// assert_eq!(json["confidence"], 1.0);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct JsonResult<'a> {
    /// The file as given (or a name for an upload).
    pub file: &'a str,
    /// The most probable digit.
    pub digit: u8,
    /// Its probability.
    pub confidence: f32,
    /// The probability of each digit 0..=9.
    pub probabilities: [f32; 10],
}

impl<'a> JsonResult<'a> {
    /// The object for `classification` of `file`.
    pub fn new(file: &'a str, classification: &Classification) -> Self {
        Self {
            file,
            digit: classification.digit,
            confidence: classification.confidence(),
            probabilities: classification.probabilities,
        }
    }
}

/// One file's failure as `--json` writes it, and as the `web` crate's API answers it:
/// `{"file", "error"}`, the error with its causes as [`describe`] writes them.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct JsonError<'a> {
    /// The file as given (or a name for an upload).
    pub file: &'a str,
    /// What went wrong, for people.
    pub error: String,
}

impl<'a> JsonError<'a> {
    /// The object for `error` about `file`.
    pub fn new(file: &'a str, error: &(dyn std::error::Error + 'static)) -> Self {
        Self {
            file,
            error: describe(error),
        }
    }
}

fn write_json(value: &impl Serialize, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::InferError;

    fn classification() -> Classification {
        let mut probabilities = [0.0; 10];
        probabilities[7] = 0.75;
        probabilities[1] = 0.25;
        Classification {
            digit: 7,
            probabilities,
        }
    }

    fn render(outcome: &Outcome, format: Format) -> (String, String) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        write_outcome(outcome, format, &mut out, &mut err).expect("in memory");
        (
            String::from_utf8(out).expect("utf-8"),
            String::from_utf8(err).expect("utf-8"),
        )
    }

    #[test]
    fn text_shows_the_digit_then_ranked_bars() {
        let outcome = Outcome {
            file: PathBuf::from("a.png"),
            result: Ok(classification()),
        };
        let (out, err) = render(&outcome, Format::Text { top: 2 });
        assert_eq!(err, "");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "a.png: 7 (75.0%)");
        assert_eq!(lines[1], format!("  7 {:<20}  75.0%", "█".repeat(15)));
        assert_eq!(lines[2], format!("  1 {:<20}  25.0%", "█".repeat(5)));
        assert_eq!(lines.len(), 3);
    }

    #[test]
    fn json_is_one_object_per_line() {
        let ok = Outcome {
            file: PathBuf::from("a.png"),
            result: Ok(classification()),
        };
        let (out, _) = render(&ok, Format::Json);
        assert_eq!(out.lines().count(), 1);
        let value: serde_json::Value = serde_json::from_str(&out).expect("json");
        assert_eq!(value["file"], "a.png");
        assert_eq!(value["digit"], 7);
        assert_eq!(value["confidence"], 0.75);
        assert_eq!(value["probabilities"].as_array().map(Vec::len), Some(10));

        let failed = Outcome {
            file: PathBuf::from("b.png"),
            result: Err(InferError::NoDigit {
                file: PathBuf::from("b.png"),
            }),
        };
        let (out, err) = render(&failed, Format::Json);
        assert_eq!(err, "");
        let value: serde_json::Value = serde_json::from_str(&out).expect("json");
        assert_eq!(value["file"], "b.png");
        assert!(
            value["error"]
                .as_str()
                .is_some_and(|e| e.contains("no digit"))
        );
    }

    #[test]
    fn bars_grow_in_eighths() {
        assert_eq!(bar(0.0), "");
        assert_eq!(bar(1.0), "█".repeat(20));
        assert_eq!(bar(1.0 / 160.0), "▏");
        assert_eq!(bar(0.5 + 4.0 / 160.0), format!("{}▌", "█".repeat(10)));
    }
}
