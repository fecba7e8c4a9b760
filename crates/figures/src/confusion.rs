use image::RgbImage;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::{FigureError, canvas::figure, colour_map};

/// The size of [`confusion`]'s picture, in pixels.
pub const CONFUSION_SIZE: (u32, u32) = (900, 820);

const CELL: i32 = 64;
const LEFT: i32 = 120;
const TOP: i32 = 130;

/// The rectangle `[left, top, right, bottom]` (pixels, right and bottom excluded) of the
/// cell for true digit `row` and predicted digit `column` in [`confusion`]'s picture.
pub fn confusion_cell(row: usize, column: usize) -> [u32; 4] {
    let (x, y) = (LEFT + column as i32 * CELL, TOP + row as i32 * CELL);
    [x, y, x + CELL, y + CELL].map(|v| v as u32)
}

/// The 10x10 confusion matrix (`matrix[true][predicted]`) as a heat map with the counts in
/// the cells and each digit's accuracy beside its row. Colour follows the count on a
/// logarithmic scale (so that single mistakes show beside a diagonal of a thousand), lighter
/// for more. `title` says which model and data.
pub fn confusion(title: &str, matrix: &[[u64; 10]; 10]) -> Result<RgbImage, FigureError> {
    let (width, height) = CONFUSION_SIZE;
    let largest = matrix.iter().flatten().copied().max().unwrap_or(0);
    let level = |count: u64| {
        if largest == 0 {
            0.0
        } else {
            (1.0 + count as f64).ln() / (1.0 + largest as f64).ln()
        }
    };
    figure(width, height, |root| {
        let text = |size: u32, h: HPos| {
            ("sans-serif", size)
                .into_text_style(root)
                .pos(Pos::new(h, VPos::Center))
        };
        let draw_text = |s: &str, (x, y): (i32, i32), style: &TextStyle| {
            root.draw(&Text::new(s.to_string(), (x, y), style.clone()))
                .map_err(FigureError::draw)
        };
        draw_text(title, (width as i32 / 2, 28), &text(24, HPos::Center))?;
        let grid_centre = LEFT + 5 * CELL;
        draw_text(
            "predicted digit",
            (grid_centre, TOP - 62),
            &text(18, HPos::Center),
        )?;
        draw_text(
            "true digit",
            (LEFT - 70, TOP + 5 * CELL),
            &text(18, HPos::Center).transform(FontTransform::Rotate270),
        )?;
        draw_text(
            "accuracy",
            (LEFT + 10 * CELL + 60, TOP - 28),
            &text(16, HPos::Center),
        )?;
        for digit in 0..10 {
            let centre = CELL / 2 + digit * CELL;
            draw_text(
                &digit.to_string(),
                (LEFT + centre, TOP - 28),
                &text(18, HPos::Center),
            )?;
            draw_text(
                &digit.to_string(),
                (LEFT - 22, TOP + centre),
                &text(18, HPos::Center),
            )?;
        }
        for (row, counts) in matrix.iter().enumerate() {
            for (column, &count) in counts.iter().enumerate() {
                let [x0, y0, x1, y1] = confusion_cell(row, column).map(|v| v as i32);
                let t = level(count);
                root.draw(&Rectangle::new(
                    [(x0, y0), (x1, y1)],
                    colour_map(t).filled(),
                ))
                .map_err(FigureError::draw)?;
                let ink = if t > 0.6 { BLACK } else { WHITE };
                draw_text(
                    &count.to_string(),
                    ((x0 + x1) / 2, (y0 + y1) / 2),
                    &text(if count >= 1000 { 15 } else { 17 }, HPos::Center).color(&ink),
                )?;
            }
            let total: u64 = counts.iter().sum();
            let accuracy = if total == 0 {
                "-".to_string()
            } else {
                format!("{:.2}%", 100.0 * counts[row] as f64 / total as f64)
            };
            let [_, y0, x1, y1] = confusion_cell(row, 9).map(|v| v as i32);
            draw_text(&accuracy, (x1 + 60, (y0 + y1) / 2), &text(16, HPos::Center))?;
        }
        let total: u64 = matrix.iter().flatten().sum();
        let correct: u64 = (0..10).map(|d| matrix[d][d]).sum();
        let summary = format!(
            "{correct} of {total} right ({:.2}%); colour: count on a log scale, lighter is more",
            100.0 * correct as f64 / total.max(1) as f64
        );
        draw_text(
            &summary,
            (grid_centre, TOP + 10 * CELL + 30),
            &text(16, HPos::Center),
        )
    })
}
