use image::imageops::{self, FilterType};
use image::{Rgb, RgbImage};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::kernels::{diverging, largest, signed};
use crate::{FigureError, canvas::figure};

/// One layer's feature maps for one image: `count` maps of `height` x `width` values, row
/// after row, map after map.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Maps {
    /// How many maps (6 for C1).
    pub count: usize,
    /// Rows in each map.
    pub height: usize,
    /// Columns in each map.
    pub width: usize,
    /// The values, `count * height * width` of them.
    pub values: Vec<f32>,
}

impl Maps {
    /// The `index`-th map's values, row after row.
    pub fn map(&self, index: usize) -> &[f32] {
        let size = self.height * self.width;
        &self.values[index * size..(index + 1) * size]
    }

    fn is_consistent(&self) -> bool {
        self.values.len() == self.count * self.height * self.width
    }
}

/// What one image looked like to the network, layer by layer: the input of [`sheet`].
#[derive(Clone, Copy, Debug)]
pub struct Sheet<'a> {
    /// The image as the user gave it.
    pub original: &'a RgbImage,
    /// What preprocessing kept and removed on the way to the 28x28 image (the ink in grey,
    /// printed lines in red, ink that is not the digit in orange, light too broad to be a
    /// stroke in blue).
    pub removed: &'a RgbImage,
    /// The 28x28 image the model saw, in MNIST's form (light ink on black).
    pub seen: &'a [u8; 784],
    /// C1's maps.
    pub c1: &'a Maps,
    /// S2's maps.
    pub s2: &'a Maps,
    /// C3's maps.
    pub c3: &'a Maps,
    /// S4's maps.
    pub s4: &'a Maps,
    /// C5's units.
    pub c5: &'a [f32],
    /// F6's units.
    pub f6: &'a [f32],
    /// The probability of each digit.
    pub probabilities: &'a [f32; 10],
}

/// A panel of [`sheet`]'s picture, for [`sheet_panel`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Panel {
    /// The image as given.
    Original,
    /// What preprocessing removed.
    Removed,
    /// The 28x28 image the model saw.
    Seen,
    /// The bar chart of the ten probabilities.
    Probabilities,
    /// C1's map of this index.
    C1(usize),
    /// S2's map of this index.
    S2(usize),
    /// C3's map of this index.
    C3(usize),
    /// S4's map of this index.
    S4(usize),
}

/// [`sheet`]'s picture size.
pub const SHEET_SIZE: (u32, u32) = (1180, 1090);

const LEFT: u32 = 30;
const PHOTO: u32 = 240;
const SEEN_ZOOM: u32 = 8;
const ROW1: u32 = 110;
/// Each layer's row: its top and the side of its tiles; a map is scaled by a whole factor to
/// fit its tile, so that its pixels stay square and sharp.
const C1_ROW: (u32, u32) = (420, 112);
const S2_ROW: (u32, u32) = (575, 112);
const C3_ROW: (u32, u32) = (730, 60);
const S4_ROW: (u32, u32) = (833, 60);
const C5_TOP: u32 = 940;
const F6_TOP: u32 = 1030;
const STRIP_HEIGHT: u32 = 36;
const GAP: u32 = 14;

/// The rectangle `[left, top, right, bottom]` (pixels, right and bottom excluded) of `panel`
/// in [`sheet`]'s picture, for a network with 6 C1 maps and 16 C3 maps (LeNet-5).
pub fn sheet_panel(panel: Panel) -> [u32; 4] {
    let tile = |(top, side): (u32, u32), index: u32| {
        let left = LEFT + index * (side + if side > 100 { GAP } else { 10 });
        [left, top, left + side, top + side]
    };
    match panel {
        Panel::Original => [LEFT, ROW1, LEFT + PHOTO, ROW1 + PHOTO],
        Panel::Removed => {
            let left = LEFT + PHOTO + 30;
            [left, ROW1, left + PHOTO, ROW1 + PHOTO]
        }
        Panel::Seen => {
            let left = LEFT + 2 * PHOTO + 70;
            [left, ROW1, left + 28 * SEEN_ZOOM, ROW1 + 28 * SEEN_ZOOM]
        }
        Panel::Probabilities => [
            LEFT + 2 * PHOTO + 330,
            ROW1 - 30,
            SHEET_SIZE.0 - 20,
            ROW1 + 260,
        ],
        Panel::C1(i) => tile(C1_ROW, i as u32),
        Panel::S2(i) => tile(S2_ROW, i as u32),
        Panel::C3(i) => tile(C3_ROW, i as u32),
        Panel::S4(i) => tile(S4_ROW, i as u32),
    }
}

/// One page showing how the network read one image: the image as given, what preprocessing
/// kept and removed of it, the 28x28 it saw,
/// the ten probabilities with the predicted digit, then every layer's output: C1 and S2 (each
/// S2 map under the C1 map it pools), C3 and S4, C5 and F6 as strips of units. Values are
/// coloured on the kernels' diverging scale, centred at zero and symmetric per layer (dark
/// blue negative, grey zero, light yellow positive), so that they read in greyscale too.
/// `title` says which model; `source` which file (and its size: `original` may be a thumbnail).
pub fn sheet(title: &str, source: &str, look: &Sheet<'_>) -> Result<RgbImage, FigureError> {
    let layers = [look.c1, look.s2, look.c3, look.s4];
    if layers.iter().any(|maps| !maps.is_consistent()) {
        return Err(FigureError::Draw("feature maps of the wrong length".into()));
    }
    let (width, height) = SHEET_SIZE;
    figure(width, height, |root| {
        let text = |size: u32, h: HPos| {
            ("sans-serif", size)
                .into_text_style(root)
                .pos(Pos::new(h, VPos::Center))
        };
        let label = |s: String, at: (u32, u32), style: TextStyle| {
            root.draw(&Text::new(s, (at.0 as i32, at.1 as i32), style))
                .map_err(FigureError::draw)
        };
        let bitmap = |picture: RgbImage, at: (u32, u32)| {
            let size = picture.dimensions();
            let element = BitMapElement::with_owned_buffer(
                (at.0 as i32, at.1 as i32),
                size,
                picture.into_raw(),
            )
            .ok_or_else(|| FigureError::Draw("a panel's buffer".into()))?;
            root.draw(&element).map_err(FigureError::draw)
        };
        let frame = |[x0, y0, x1, y1]: [u32; 4]| {
            root.draw(&Rectangle::new(
                [(x0 as i32 - 1, y0 as i32 - 1), (x1 as i32, y1 as i32)],
                RGBColor(150, 150, 150),
            ))
            .map_err(FigureError::draw)
        };

        label(title.into(), (width / 2, 24), text(22, HPos::Center))?;
        label(source.into(), (width / 2, 52), text(15, HPos::Center))?;

        // A picture fitted into its square panel, under its caption (the last line just above
        // the panel).
        let picture = |panel: Panel, caption: &[&str], size: u32, picture: &RgbImage| {
            let area = sheet_panel(panel);
            for (n, line) in caption.iter().rev().enumerate() {
                let y = ROW1 - 16 - n as u32 * (size + 2);
                label((*line).into(), (area[0], y), text(size, HPos::Left))?;
            }
            let (fitted, at) = fit(picture, PHOTO);
            bitmap(fitted, (area[0] + at.0, area[1] + at.1))?;
            frame(area)
        };
        picture(Panel::Original, &["as given"], 16, look.original)?;
        picture(
            Panel::Removed,
            &[
                "removed: lines red, light blue,",
                "ink not the digit orange",
            ],
            14,
            look.removed,
        )?;

        let seen = sheet_panel(Panel::Seen);
        label(
            "the model saw: 28x28".into(),
            (seen[0], ROW1 - 16),
            text(16, HPos::Left),
        )?;
        let grey = RgbImage::from_fn(28, 28, |x, y| {
            let v = look.seen[(y * 28 + x) as usize];
            Rgb([v, v, v])
        });
        bitmap(
            imageops::resize(&grey, 28 * SEEN_ZOOM, 28 * SEEN_ZOOM, FilterType::Nearest),
            (seen[0], seen[1]),
        )?;
        frame(seen)?;

        probabilities(root, look.probabilities)?;

        let rows = [
            ("C1", "convolution 5x5 and activation", look.c1, C1_ROW),
            ("S2", "pooling 2x2", look.s2, S2_ROW),
            ("C3", "convolution 5x5 and activation", look.c3, C3_ROW),
            ("S4", "pooling 2x2", look.s4, S4_ROW),
        ];
        for (index, (name, what, maps, row)) in rows.into_iter().enumerate() {
            let scale = largest(&maps.values);
            label(
                format!(
                    "{name}: {} maps {}x{}, {what}; colour from -{scale:.2} to +{scale:.2}",
                    maps.count, maps.height, maps.width
                ),
                (LEFT, row.0 - 16),
                text(16, HPos::Left),
            )?;
            for map in 0..maps.count {
                let tile = match index {
                    0 => Panel::C1(map),
                    1 => Panel::S2(map),
                    2 => Panel::C3(map),
                    _ => Panel::S4(map),
                };
                let [x0, y0, ..] = sheet_panel(tile);
                let zoom = (row.1 / maps.height.max(maps.width).max(1) as u32).max(1);
                let small = RgbImage::from_fn(maps.width as u32, maps.height as u32, |x, y| {
                    let v = maps.map(map)[y as usize * maps.width + x as usize];
                    colour(v, scale)
                });
                let (w, h) = (maps.width as u32 * zoom, maps.height as u32 * zoom);
                let at = (
                    x0 + (row.1 - w.min(row.1)) / 2,
                    y0 + (row.1 - h.min(row.1)) / 2,
                );
                bitmap(imageops::resize(&small, w, h, FilterType::Nearest), at)?;
            }
        }

        legend(root)?;

        for (name, units, top) in [("C5", look.c5, C5_TOP), ("F6", look.f6, F6_TOP)] {
            let scale = largest(units);
            label(
                format!(
                    "{name}: {} units; colour from -{scale:.2} to +{scale:.2}",
                    units.len()
                ),
                (LEFT, top - 16),
                text(16, HPos::Left),
            )?;
            let cell = ((width - 2 * LEFT) / units.len().max(1) as u32).max(1);
            let strip = RgbImage::from_fn(units.len() as u32, 1, |x, _| {
                colour(units[x as usize], scale)
            });
            let (w, h) = (units.len() as u32 * cell, STRIP_HEIGHT);
            bitmap(
                imageops::resize(&strip, w, h, FilterType::Nearest),
                (LEFT, top),
            )?;
            frame([LEFT, top, LEFT + w, top + h])?;
        }
        Ok(())
    })
}

/// The colour scale of the layers, beside C1's maps.
fn legend(
    root: &DrawingArea<crate::canvas::Canvas<'_>, plotters::coord::Shift>,
) -> Result<(), FigureError> {
    let [_, top, right, _] = sheet_panel(Panel::C1(5));
    let (left, width, bar) = (right + 50, SHEET_SIZE.0 - right - 90, 24);
    let text = |s: &str, x: u32, y: u32, h: HPos| {
        let style = ("sans-serif", 15)
            .into_text_style(root)
            .pos(Pos::new(h, VPos::Center));
        root.draw(&Text::new(s.to_string(), (x as i32, y as i32), style))
            .map_err(FigureError::draw)
    };
    text(
        "colour scale (each layer its own):",
        left,
        top + 10,
        HPos::Left,
    )?;
    let ramp = RgbImage::from_fn(width, 1, |x, _| {
        let RGBColor(r, g, b) = diverging(f64::from(x) / f64::from(width - 1));
        Rgb([r, g, b])
    });
    let ramp = imageops::resize(&ramp, width, bar, FilterType::Nearest);
    let element = BitMapElement::with_owned_buffer(
        (left as i32, top as i32 + 30),
        (width, bar),
        ramp.into_raw(),
    )
    .ok_or_else(|| FigureError::Draw("the legend's buffer".into()))?;
    root.draw(&element).map_err(FigureError::draw)?;
    let below = top + 30 + bar + 14;
    text("-largest", left, below, HPos::Left)?;
    text("0", left + width / 2, below, HPos::Center)?;
    text("+largest", left + width, below, HPos::Right)?;
    text(
        "value of a unit",
        left + width / 2,
        below + 24,
        HPos::Center,
    )
}

/// The ten probabilities as bars, the predicted digit's in colour.
fn probabilities(
    root: &DrawingArea<crate::canvas::Canvas<'_>, plotters::coord::Shift>,
    probabilities: &[f32; 10],
) -> Result<(), FigureError> {
    let [x0, y0, x1, y1] = sheet_panel(Panel::Probabilities);
    let area = root.clone().shrink((x0, y0), (x1 - x0, y1 - y0));
    let predicted = (0..10)
        .max_by(|&a, &b| {
            probabilities[a]
                .total_cmp(&probabilities[b])
                .then(b.cmp(&a))
        })
        .unwrap_or(0);
    let mut chart = ChartBuilder::on(&area)
        .caption(
            format!(
                "prediction: {predicted} ({:.1}%)",
                probabilities[predicted] * 100.0
            ),
            ("sans-serif", 20),
        )
        .margin(6)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(-0.5f64..9.5f64, 0f64..1f64)
        .map_err(FigureError::draw)?;
    chart
        .configure_mesh()
        .x_desc("digit")
        .y_desc("probability")
        .x_labels(10)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_labels(6)
        .y_label_formatter(&|y| format!("{y:.1}"))
        .disable_x_mesh()
        .light_line_style(WHITE)
        .label_style(("sans-serif", 15))
        .axis_desc_style(("sans-serif", 16))
        .draw()
        .map_err(FigureError::draw)?;
    chart
        .draw_series((0..10).map(|digit| {
            let colour = if digit == predicted {
                RGBColor(33, 145, 140)
            } else {
                RGBColor(170, 170, 170)
            };
            let x = digit as f64;
            Rectangle::new(
                [(x - 0.35, 0.0), (x + 0.35, f64::from(probabilities[digit]))],
                colour.filled(),
            )
        }))
        .map_err(FigureError::draw)?;
    Ok(())
}

/// `picture` scaled to fit a `side` x `side` box (smooth when shrinking, sharp when growing),
/// and where it goes in the box to be centred.
fn fit(picture: &RgbImage, side: u32) -> (RgbImage, (u32, u32)) {
    let (w, h) = picture.dimensions();
    let longest = w.max(h).max(1);
    let (sw, sh) = ((w * side / longest).max(1), (h * side / longest).max(1));
    let filter = if longest > side {
        FilterType::Triangle
    } else {
        FilterType::Nearest
    };
    let scaled = imageops::resize(picture, sw, sh, filter);
    (scaled, ((side - sw) / 2, (side - sh) / 2))
}

fn colour(value: f32, scale: f32) -> Rgb<u8> {
    let RGBColor(r, g, b) = signed(value, scale);
    Rgb([r, g, b])
}
