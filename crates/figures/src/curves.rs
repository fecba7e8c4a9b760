use image::RgbImage;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;

use crate::{FigureError, canvas::figure};

/// The size of [`curves`]' picture, in pixels.
pub const CURVES_SIZE: (u32, u32) = (1500, 520);

const TRAIN: RGBColor = RGBColor(31, 119, 180);
const VALID: RGBColor = RGBColor(255, 127, 14);

/// One epoch of a run, as the curves show it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochPoint {
    /// The epoch, from 1.
    pub epoch: usize,
    /// The mean training loss over the epoch.
    pub train_loss: f64,
    /// The validation loss after it, if the run validates.
    pub valid_loss: Option<f64>,
    /// The training accuracy over the epoch, 0..=1.
    pub train_accuracy: f64,
    /// The validation accuracy after it, 0..=1.
    pub valid_accuracy: Option<f64>,
    /// The learning rate at the end of the epoch.
    pub learning_rate: Option<f64>,
}

/// The training curves, side by side: loss (log scale), accuracy, and the learning rate (log
/// scale), per epoch; training in blue, validation in orange. `title` says which run.
pub fn curves(title: &str, points: &[EpochPoint]) -> Result<RgbImage, FigureError> {
    let (width, height) = CURVES_SIZE;
    figure(width, height, |root| {
        let root = root
            .titled(title, ("sans-serif", 26))
            .map_err(FigureError::draw)?;
        let panels = root.split_evenly((1, 3));
        let last = points.iter().map(|p| p.epoch).max().unwrap_or(1);
        let epochs = 0.5..last as f64 + 0.5;

        let losses = points
            .iter()
            .flat_map(|p| [Some(p.train_loss), p.valid_loss])
            .flatten();
        panel(
            &panels[0],
            Panel {
                caption: "loss (cross-entropy, log scale)",
                y_label: "loss",
                names: ["training", "validation"],
                legend: SeriesLabelPosition::UpperRight,
            },
            (epochs.clone(), log_range(losses).log_scale()),
            points,
            |p| (Some(p.train_loss), p.valid_loss),
        )?;
        let accuracies = points
            .iter()
            .flat_map(|p| [Some(p.train_accuracy), p.valid_accuracy])
            .flatten()
            .map(|a| a * 100.0);
        let lowest = accuracies.fold(100.0f64, f64::min);
        panel(
            &panels[1],
            Panel {
                caption: "accuracy",
                y_label: "accuracy (%)",
                names: ["training", "validation"],
                legend: SeriesLabelPosition::LowerRight,
            },
            (
                epochs.clone(),
                (lowest.min(99.0).floor() - 1.0).max(0.0)..100.0,
            ),
            points,
            |p| {
                (
                    Some(p.train_accuracy * 100.0),
                    p.valid_accuracy.map(|a| a * 100.0),
                )
            },
        )?;
        let rates = points.iter().filter_map(|p| p.learning_rate);
        panel(
            &panels[2],
            Panel {
                caption: "learning rate (log scale)",
                y_label: "learning rate",
                names: ["learning rate", ""],
                legend: SeriesLabelPosition::UpperRight,
            },
            (epochs, log_range(rates).log_scale()),
            points,
            |p| (p.learning_rate, None),
        )
    })
}

/// A tick label with two significant digits, in scientific notation below 0.01.
fn tick(value: f64) -> String {
    if value == 0.0 || value.abs() >= 0.01 {
        let decimals = (1 - value.abs().log10().floor() as i32).max(0) as usize;
        format!("{value:.decimals$}")
    } else {
        format!("{value:.1e}")
    }
}

/// A range for a log axis holding `values` (positive), with a margin.
fn log_range(values: impl Iterator<Item = f64>) -> std::ops::Range<f64> {
    let (low, high) = values
        .filter(|v| v.is_finite() && *v > 0.0)
        .fold((f64::INFINITY, 0.0f64), |(low, high), v| {
            (low.min(v), high.max(v))
        });
    if high == 0.0 {
        return 0.1..1.0;
    }
    low / 1.5..high * 1.5
}

/// What one chart says: its caption, y axis, series names and where their legend goes.
struct Panel {
    caption: &'static str,
    y_label: &'static str,
    names: [&'static str; 2],
    legend: SeriesLabelPosition,
}

/// One chart over `(epochs, y)`: a training series and, where present, a validation series.
fn panel<DB: DrawingBackend, Y: Ranged<ValueType = f64> + ValueFormatter<f64>>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    Panel {
        caption,
        y_label,
        names,
        legend,
    }: Panel,
    (epochs, y): (
        std::ops::Range<f64>,
        impl AsRangedCoord<CoordDescType = Y, Value = f64>,
    ),
    points: &[EpochPoint],
    values: impl Fn(&EpochPoint) -> (Option<f64>, Option<f64>),
) -> Result<(), FigureError> {
    let last_epoch = epochs.end;
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(46)
        .y_label_area_size(90)
        .build_cartesian_2d(epochs, y)
        .map_err(FigureError::draw)?;
    let last = last_epoch.floor() as usize;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc(y_label)
        .x_labels(last.min(10) + 1)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_labels(16)
        .y_label_formatter(&|y| tick(*y))
        .light_line_style(WHITE)
        .label_style(("sans-serif", 15))
        .axis_desc_style(("sans-serif", 16))
        .draw()
        .map_err(FigureError::draw)?;
    for (series, colour) in [(0, TRAIN), (1, VALID)] {
        let line: Vec<(f64, f64)> = points
            .iter()
            .filter_map(|p| {
                let (train, valid) = values(p);
                [train, valid][series].map(|v| (p.epoch as f64, v))
            })
            .collect();
        if line.is_empty() {
            continue;
        }
        chart
            .draw_series(LineSeries::new(line.clone(), colour.stroke_width(2)))
            .map_err(FigureError::draw)?
            .label(names[series])
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
            });
        chart
            .draw_series(line.iter().map(|&p| Circle::new(p, 4, colour.filled())))
            .map_err(FigureError::draw)?;
    }
    chart
        .configure_series_labels()
        .border_style(BLACK.mix(0.3))
        .background_style(WHITE.mix(0.9))
        .label_font(("sans-serif", 15))
        .position(legend)
        .draw()
        .map_err(FigureError::draw)
}
