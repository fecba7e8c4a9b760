use image::RgbImage;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::{FigureError, canvas::figure};

/// A convolution's kernels: `weights[output][input][row][column]`, flattened.
#[derive(Clone, Debug, PartialEq)]
pub struct Kernels {
    /// Output maps.
    pub outputs: usize,
    /// Input maps.
    pub inputs: usize,
    /// The kernels' side (5 in LeNet-5).
    pub side: usize,
    /// The weights, `outputs * inputs * side * side` of them.
    pub weights: Vec<f32>,
}

impl Kernels {
    fn weight(&self, output: usize, input: usize, row: usize, column: usize) -> f32 {
        self.weights[((output * self.inputs + input) * self.side + row) * self.side + column]
    }

    fn largest(&self) -> f32 {
        largest(&self.weights)
    }
}

const PIXEL: i32 = 10;
const GAP: i32 = 8;

/// C1's kernels in a row and C3's as a grid (a row per C3 map, a column per S2 map), each
/// weight a square coloured on a diverging scale centred at zero (dark blue negative, grey
/// zero, light yellow positive, symmetric per layer), so that sign and size read in greyscale
/// too. `title` says which model.
pub fn kernels(title: &str, c1: &Kernels, c3: &Kernels) -> Result<RgbImage, FigureError> {
    kernels_with_source(title, "", c1, c3)
}

/// [`kernels`] with a second title line, `source` (the model file, say).
pub fn kernels_with_source(
    title: &str,
    source: &str,
    c1: &Kernels,
    c3: &Kernels,
) -> Result<RgbImage, FigureError> {
    let block = |k: &Kernels| k.side as i32 * PIXEL + GAP;
    let (left, top) = (70, 110);
    let c3_top = top + block(c1) + 90;
    let width = (left + c1.outputs.max(c3.inputs) as i32 * block(c1) + 40).max(640);
    let height = c3_top + c3.outputs as i32 * block(c3) + 50;
    if c1.weights.len() != c1.outputs * c1.inputs * c1.side * c1.side
        || c3.weights.len() != c3.outputs * c3.inputs * c3.side * c3.side
    {
        return Err(FigureError::Draw(
            "kernel weights of the wrong length".into(),
        ));
    }
    figure(width as u32, height as u32, |root| {
        let text = |size: u32, h: HPos| {
            ("sans-serif", size)
                .into_text_style(root)
                .pos(Pos::new(h, VPos::Center))
        };
        let label = |s: String, at: (i32, i32), style: TextStyle| {
            root.draw(&Text::new(s, at, style))
                .map_err(FigureError::draw)
        };
        label(title.into(), (width / 2, 22), text(20, HPos::Center))?;
        label(source.into(), (width / 2, 48), text(14, HPos::Center))?;
        let draw = |k: &Kernels, output: usize, input: usize, x0: i32, y0: i32| {
            let scale = k.largest();
            for row in 0..k.side {
                for column in 0..k.side {
                    let colour = signed(k.weight(output, input, row, column), scale);
                    let (x, y) = (x0 + column as i32 * PIXEL, y0 + row as i32 * PIXEL);
                    root.draw(&Rectangle::new(
                        [(x, y), (x + PIXEL, y + PIXEL)],
                        colour.filled(),
                    ))
                    .map_err(FigureError::draw)?;
                }
            }
            Ok::<(), FigureError>(())
        };
        label(
            format!(
                "C1: {} kernels {}x{}, colour from -{m:.2} to +{m:.2}",
                c1.outputs,
                c1.side,
                c1.side,
                m = c1.largest()
            ),
            (left, top - 22),
            text(16, HPos::Left),
        )?;
        for output in 0..c1.outputs {
            draw(c1, output, 0, left + output as i32 * block(c1), top)?;
        }
        label(
            format!(
                "C3: {} x {} kernels, colour from -{m:.2} to +{m:.2}",
                c3.outputs,
                c3.inputs,
                m = c3.largest()
            ),
            (left, c3_top - 62),
            text(16, HPos::Left),
        )?;
        label(
            "S2 map (input) →".into(),
            (left, c3_top - 36),
            text(14, HPos::Left),
        )?;
        label(
            "C3 map (output) →".into(),
            (left - 48, c3_top + 8 * block(c3)),
            text(14, HPos::Center).transform(FontTransform::Rotate90),
        )?;
        for input in 0..c3.inputs {
            let x = left + input as i32 * block(c3) + block(c3) / 2 - GAP / 2;
            label(input.to_string(), (x, c3_top - 14), text(14, HPos::Center))?;
        }
        for output in 0..c3.outputs {
            let y = c3_top + output as i32 * block(c3);
            label(
                output.to_string(),
                (left - 18, y + block(c3) / 2 - GAP / 2),
                text(14, HPos::Center),
            )?;
            for input in 0..c3.inputs {
                draw(c3, output, input, left + input as i32 * block(c3), y)?;
            }
        }
        Ok(())
    })
}

/// The largest magnitude among the finite `values` (0 for none): the ends of a symmetric
/// colour scale.
pub(crate) fn largest(values: &[f32]) -> f32 {
    values.iter().fold(
        0.0f32,
        |m, v| if v.is_finite() { m.max(v.abs()) } else { m },
    )
}

/// `value`'s colour on the diverging scale from -`scale` to +`scale`.
pub(crate) fn signed(value: f32, scale: f32) -> RGBColor {
    diverging(0.5 + 0.5 * f64::from(value / scale.max(f32::MIN_POSITIVE)))
}

/// `t` in 0..=1, 0.5 for zero: dark blue, neutral grey, light yellow; lighter as `t` grows.
pub(crate) fn diverging(t: f64) -> RGBColor {
    const LOW: [f64; 3] = [0.0, 32.0, 96.0];
    const MID: [f64; 3] = [128.0, 128.0, 128.0];
    const HIGH: [f64; 3] = [255.0, 230.0, 120.0];
    let t = t.clamp(0.0, 1.0);
    let (a, b, f) = if t < 0.5 {
        (LOW, MID, t / 0.5)
    } else {
        (MID, HIGH, (t - 0.5) / 0.5)
    };
    let channel = |i: usize| (a[i] + f * (b[i] - a[i])).round() as u8;
    RGBColor(channel(0), channel(1), channel(2))
}
