use image::RgbImage;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::{FigureError, canvas::figure};

/// The most mistakes [`mistakes`] shows.
pub const MAX_MISTAKES: usize = 100;

const COLUMNS: usize = 10;
const ZOOM: usize = 3;
const SIDE: usize = 28 * ZOOM;
const TILE_W: usize = SIDE + 16;
const TILE_H: usize = SIDE + 34;
const TOP: usize = 80;
const LEFT: usize = 20;

/// A test digit the model got wrong.
#[derive(Clone, Debug, PartialEq)]
pub struct Mistake {
    /// The 28x28 image as MNIST stores it (light ink on black).
    pub image: [u8; 784],
    /// The true digit.
    pub truth: u8,
    /// The model's answer.
    pub predicted: u8,
    /// The probability the model gave its answer.
    pub probability: f32,
}

/// The rectangle `[left, top, right, bottom]` (pixels, right and bottom excluded) of the
/// `index`-th digit's image in [`mistakes`]' picture.
pub fn mistake_tile(index: usize) -> [u32; 4] {
    let (x, y) = (
        LEFT + (index % COLUMNS) * TILE_W,
        TOP + (index / COLUMNS) * TILE_H,
    );
    [x, y, x + SIDE, y + SIDE].map(|v| v as u32)
}

/// The picture's size for `count` mistakes (at most [`MAX_MISTAKES`]).
fn size(count: usize) -> (u32, u32) {
    let rows = count.min(MAX_MISTAKES).div_ceil(COLUMNS).max(1);
    (
        (2 * LEFT + COLUMNS * TILE_W) as u32,
        (TOP + rows * TILE_H + 10) as u32,
    )
}

/// The mistakes, most confident first, up to [`MAX_MISTAKES`], ten a row, each captioned
/// "true → predicted" and the probability the model gave its answer. `of` is how many
/// images were classified; `title` says which model and data.
pub fn mistakes(title: &str, mistakes: &[Mistake], of: usize) -> Result<RgbImage, FigureError> {
    let mut shown: Vec<&Mistake> = mistakes.iter().collect();
    shown.sort_by(|a, b| b.probability.total_cmp(&a.probability));
    shown.truncate(MAX_MISTAKES);
    let (width, height) = size(shown.len());
    figure(width, height, |root| {
        let text = |size: u32| {
            ("sans-serif", size)
                .into_text_style(root)
                .pos(Pos::new(HPos::Center, VPos::Center))
        };
        root.draw(&Text::new(
            title.to_string(),
            (width as i32 / 2, 24),
            text(22),
        ))
        .map_err(FigureError::draw)?;
        let subtitle = match mistakes.len() {
            0 => format!("no mistakes on {of} images"),
            n if n > MAX_MISTAKES => {
                format!("{n} mistakes on {of} images; the {MAX_MISTAKES} most confident")
            }
            n => format!("{n} mistakes on {of} images, most confident first"),
        };
        root.draw(&Text::new(subtitle, (width as i32 / 2, 54), text(16)))
            .map_err(FigureError::draw)?;
        for (index, mistake) in shown.iter().enumerate() {
            let [x0, y0, _, y1] = mistake_tile(index).map(|v| v as i32);
            let mut pixels = Vec::with_capacity(SIDE * SIDE * 3);
            for y in 0..SIDE {
                for x in 0..SIDE {
                    let v = mistake.image[(y / ZOOM) * 28 + x / ZOOM];
                    pixels.extend([v, v, v]);
                }
            }
            root.draw(
                &BitMapElement::with_owned_buffer((x0, y0), (SIDE as u32, SIDE as u32), pixels)
                    .ok_or_else(|| FigureError::Draw("a digit's buffer".into()))?,
            )
            .map_err(FigureError::draw)?;
            let caption = format!(
                "{} → {}  {:.0}%",
                mistake.truth,
                mistake.predicted,
                mistake.probability * 100.0
            );
            root.draw(&Text::new(
                caption,
                (x0 + SIDE as i32 / 2, y1 + 14),
                text(15),
            ))
            .map_err(FigureError::draw)?;
        }
        Ok(())
    })
}
