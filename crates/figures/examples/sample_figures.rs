//! Draws the three figures from made-up numbers into a directory:
//! `cargo run --example sample_figures -- OUT_DIR`.

use std::path::PathBuf;

use figures::{EpochPoint, Mistake, confusion, curves, mistakes, save_png};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .ok_or("usage: sample_figures OUT_DIR")?,
    );
    std::fs::create_dir_all(&dir)?;

    let points: Vec<EpochPoint> = (1..=8)
        .map(|epoch| {
            let e = epoch as f64;
            EpochPoint {
                epoch,
                train_loss: 0.5 / e,
                valid_loss: Some(0.08 / e.sqrt()),
                train_accuracy: 1.0 - 0.1 / e,
                valid_accuracy: Some(1.0 - 0.03 / e.sqrt()),
                learning_rate: Some(1e-3 * 0.7f64.powi(epoch as i32 - 1)),
            }
        })
        .collect();
    save_png(
        &curves("lenet5 (made-up numbers)", &points)?,
        &dir.join("curves.png"),
    )?;

    let mut matrix = [[0u64; 10]; 10];
    for (digit, row) in matrix.iter_mut().enumerate() {
        row[digit] = 980 + digit as u64 * 3;
        row[(digit + 3) % 10] = digit as u64;
    }
    matrix[4][9] = 14;
    save_png(
        &confusion("lenet5 (made-up numbers)", &matrix)?,
        &dir.join("confusion.png"),
    )?;

    // A "7" drawn as two strokes, read as other digits with various confidences.
    let mut seven = [0u8; 784];
    for x in 8..20 {
        seven[6 * 28 + x] = 255;
    }
    for y in 7..22 {
        seven[y * 28 + 19 - (y - 7) / 2] = 255;
    }
    let wrong: Vec<Mistake> = (0..23)
        .map(|i| Mistake {
            image: seven,
            truth: 7,
            predicted: (i % 7) as u8,
            probability: 0.4 + 0.025 * i as f32,
        })
        .collect();
    save_png(
        &mistakes("lenet5 (made-up numbers)", &wrong, 10_000)?,
        &dir.join("mistakes.png"),
    )?;
    println!(
        "wrote curves.png, confusion.png and mistakes.png in {}",
        dir.display()
    );
    Ok(())
}
