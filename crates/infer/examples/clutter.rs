//! A test set of digits among things that are not the digit, and its score with the built-in
//! model or another (see `tests/common/clutter/` for the conditions):
//!
//! ```text
//! MNIST_DIR=/path/to/mnist cargo run --example clutter -- generate target/clutter
//! cargo run --example clutter -- score target/clutter --limit 10 --floor 80
//! cargo run --example clutter -- score target/clutter --model artifacts/lenet5-augmented
//! MNIST_DIR=/path/to/mnist cargo run --example clutter -- generate target/held-out --held-out
//! cargo run --example clutter -- typefaces target/writers     # other writers: Debian's fonts
//! cargo run --example clutter -- score target/writers --conditions typefaces
//! ```
//!
//! `generate` renders MNIST test digits (a different digit for every image, seeded) into
//! `DIR/<condition>/<number>-<label>.png|jpg`; `--held-out` draws the set nobody tunes on
//! (other seeds, wider ranges: `tests/common/clutter/mod.rs`). `score` classifies them through the crate's
//! public API as `infer` does (read, preprocess, classify), prints a markdown table of the
//! accuracy per condition, and exits non-zero if any condition is below `--floor` percent, or
//! all of them together below `--floor-all`. `typefaces` writes digits from handwriting
//! typefaces instead of MNIST's (`tests/common/clutter/typefaces.rs`) as clean scans, into
//! `DIR/typefaces/`.

// Shared with the tests, which also render single digits (`render`).
#[allow(dead_code)]
#[path = "../tests/common/clutter/mod.rs"]
mod clutter;

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use burn::backend::NdArray;
use clap::{Parser, Subcommand};
use clutter::{Condition, Draw, Rendered, render_with};
use image::codecs::jpeg::JpegEncoder;
use image::{Rgb, RgbImage};
use infer::preprocess::{read_image, save_png, to_mnist};
use infer::{Classifier, ModelSource};
use mnist::{Download, MnistSplits};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Render the test set into DIR (needs MNIST: MNIST_DIR).
    Generate {
        dir: PathBuf,
        /// Images per condition.
        #[arg(long, default_value_t = 60)]
        per: usize,
        /// Seeds the choice of digits and every rendering.
        #[arg(long, default_value_t = 16)]
        seed: u64,
        /// Render the held-out draw: its own seeds and wider ranges.
        #[arg(long)]
        held_out: bool,
    },
    /// Render digits in other people's handwriting (typefaces; needs Debian's fonts) into DIR.
    Typefaces {
        dir: PathBuf,
        /// Images of each digit in each typeface.
        #[arg(long, default_value_t = 2)]
        per: usize,
        /// Seeds every turn, slant and rendering.
        #[arg(long, default_value_t = 16)]
        seed: u64,
        /// Render the held-out draw: its own seeds and wider ranges.
        #[arg(long)]
        held_out: bool,
    },
    /// Classify the set in DIR and print the accuracy per condition.
    Score {
        dir: PathBuf,
        /// Score at most this many images per condition (the first by name).
        #[arg(long)]
        limit: Option<usize>,
        /// Exit with status 1 if any condition scores below this percentage.
        #[arg(long, default_value_t = 0.0)]
        floor: f64,
        /// Exit with status 1 if all the conditions together score below this percentage.
        #[arg(long, default_value_t = 0.0)]
        floor_all: f64,
        /// Save what the model saw for each image, and list the misread ones.
        #[arg(long, value_name = "DIR")]
        save_preprocessed: Option<PathBuf>,
        /// Score only these conditions (comma-separated names); default: every one.
        #[arg(long, value_delimiter = ',', value_parser = condition)]
        conditions: Vec<Condition>,
        /// The model: an artifacts directory or a model.mpk; default: the built-in one.
        #[arg(long, value_name = "DIR")]
        model: Option<PathBuf>,
    },
}

fn main() -> Result<ExitCode> {
    match Cli::parse().command {
        Command::Generate {
            dir,
            per,
            seed,
            held_out,
        } => generate(&dir, per, seed, draw(held_out)).map(|()| ExitCode::SUCCESS),
        Command::Typefaces {
            dir,
            per,
            seed,
            held_out,
        } => typefaces(&dir, per, seed, draw(held_out)).map(|()| ExitCode::SUCCESS),
        Command::Score {
            dir,
            limit,
            floor,
            floor_all,
            save_preprocessed,
            conditions,
            model,
        } => {
            let conditions = if conditions.is_empty() {
                Condition::ALL.to_vec()
            } else {
                conditions
            };
            let model = model.map_or(ModelSource::Embedded, ModelSource::Path);
            score(
                &dir,
                &model,
                &conditions,
                limit,
                [floor, floor_all],
                save_preprocessed.as_deref(),
            )
        }
    }
}

fn draw(held_out: bool) -> Draw {
    if held_out {
        Draw::HeldOut
    } else {
        Draw::Tuning
    }
}

fn generate(dir: &Path, per: usize, seed: u64, draw: Draw) -> Result<()> {
    let data = mnist::locate(None, &Download::disabled())
        .context("MNIST not found: set MNIST_DIR to a directory holding the four MNIST files")?;
    let test = MnistSplits::load(&data, 0)?.test;
    // Each image's digit, and two others for the writing around it.
    let needed = 3 * per * Condition::ALL.len();
    anyhow::ensure!(needed <= test.len(), "at most {} images in all", test.len());
    // A seeded permutation of the test set: every image shows a different digit.
    let mut order: Vec<usize> = (0..test.len()).collect();
    let mut rng = clutter::Rng::new(seed);
    for i in (1..order.len()).rev() {
        order.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
    }
    for (c, condition) in Condition::ALL.into_iter().enumerate() {
        let out = dir.join(condition.name());
        std::fs::create_dir_all(&out)?;
        for n in 0..per {
            let index = order[c * per + n];
            let digit = test.image(index).context("in range")?;
            let label = test.labels()[index];
            // The writing around it: two other digits, from the far end of the permutation.
            let other = |k: usize| test.image(order[order.len() - 1 - 2 * (c * per + n) - k]);
            let others = [other(0).context("in range")?, other(1).context("in range")?];
            let rendered = render_with(condition, digit, others, seed ^ (index as u64) << 8, draw);
            save(&rendered, &out.join(format!("{n:03}-{label}")))?;
        }
        println!("{}: {per} images", out.display());
    }
    Ok(())
}

/// Every digit in every typeface `per` times, each turned, slanted and scanned its own way:
/// `DIR/typefaces/<number>-<label>.png|jpg`, the typefaces taking turns.
fn typefaces(dir: &Path, per: usize, seed: u64, draw: Draw) -> Result<()> {
    let fonts = clutter::typefaces::load_all().map_err(anyhow::Error::msg)?;
    let out = dir.join(Condition::Typefaces.name());
    std::fs::create_dir_all(&out)?;
    let count = per * 10 * fonts.len();
    for n in 0..count {
        let (face, label) = (n % fonts.len(), (n / fonts.len() % 10) as u8);
        let image_seed = seed ^ (n as u64) << 8;
        let mut rng = clutter::Rng::of(image_seed, draw);
        let digit =
            clutter::typefaces::mnist_form(&fonts[face], label, &mut rng).with_context(|| {
                let path = clutter::typefaces::TYPEFACES[face].path;
                format!("{}{path} has no digit {label}", clutter::typefaces::FONTS)
            })?;
        let rendered = render_with(
            Condition::Typefaces,
            &digit,
            [&digit, &digit],
            image_seed,
            draw,
        );
        save(&rendered, &out.join(format!("{n:03}-{label}")))?;
    }
    println!("{}: {count} images", out.display());
    Ok(())
}

/// Writes `rendered` as `<stem>.jpg` at its JPEG quality, or as `<stem>.png`.
fn save(rendered: &Rendered, stem: &Path) -> Result<()> {
    match rendered.jpeg {
        Some(quality) => {
            let file = BufWriter::new(File::create(stem.with_extension("jpg"))?);
            rendered
                .image
                .to_rgb8()
                .write_with_encoder(JpegEncoder::new_with_quality(file, quality))?;
        }
        None => rendered.image.save(stem.with_extension("png"))?,
    }
    Ok(())
}

fn condition(name: &str) -> Result<Condition, String> {
    Condition::ALL
        .into_iter()
        .chain([Condition::Typefaces])
        .find(|c| c.name() == name)
        .ok_or_else(|| format!("no condition {name:?}"))
}

fn score(
    dir: &Path,
    model: &ModelSource,
    conditions: &[Condition],
    limit: Option<usize>,
    [floor, floor_all]: [f64; 2],
    saves: Option<&Path>,
) -> Result<ExitCode> {
    let classifier = Classifier::<NdArray>::load(model, &Default::default())?;
    println!("| condition | right | no digit found | accuracy |");
    println!("|---|---:|---:|---:|");
    let (mut right_all, mut total_all, mut below) = (0, 0, Vec::new());
    let mut misread = Vec::new();
    for &condition in conditions {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join(condition.name()))
            .with_context(|| format!("{}: run `generate` first", dir.display()))?
            .map(|entry| entry.map(|e| e.path()))
            .collect::<Result<_, _>>()?;
        files.sort();
        files.truncate(limit.unwrap_or(usize::MAX));
        let (mut right, mut missing) = (0, 0);
        let mut seen = Vec::new();
        for file in &files {
            let label = label_of(file)?;
            let image = read_image(file)?;
            let Some(pixels) = to_mnist(&image) else {
                missing += 1;
                misread.push(format!("{}: no digit found", file.display()));
                continue;
            };
            let digit = classifier.classify(&[pixels])[0].digit;
            if digit == label {
                right += 1;
            } else {
                misread.push(format!("{}: read as {digit}", file.display()));
            }
            if let Some(saves) = saves {
                let out = saves.join(condition.name());
                std::fs::create_dir_all(&out)?;
                let name = file.file_stem().context("a name")?.to_string_lossy();
                save_png(&pixels, &out.join(format!("{name}-as-{digit}.png")))?;
            }
            seen.push((pixels, digit == label));
        }
        if let Some(saves) = saves {
            sheet(&seen).save(saves.join(format!("{}.png", condition.name())))?;
        }
        let accuracy = 100.0 * right as f64 / files.len().max(1) as f64;
        println!(
            "| {} | {right}/{} | {missing} | {accuracy:.1}% |",
            condition.name(),
            files.len()
        );
        if accuracy < floor {
            below.push(condition.name());
        }
        right_all += right;
        total_all += files.len();
    }
    let overall = 100.0 * right_all as f64 / total_all.max(1) as f64;
    println!("| **all** | {right_all}/{total_all} | | **{overall:.1}%** |");
    if saves.is_some() {
        misread.iter().for_each(|line| eprintln!("{line}"));
    }
    if overall < floor_all {
        eprintln!("all conditions together: {overall:.1}%, below the floor of {floor_all}%");
    }
    if !below.is_empty() {
        eprintln!("below the floor of {floor}%: {}", below.join(", "));
    }
    if below.is_empty() && overall >= floor_all {
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::FAILURE)
    }
}

/// What the model saw, enlarged three times, ten to a row, each framed green where it was
/// read right and red where not.
fn sheet(seen: &[([u8; 784], bool)]) -> RgbImage {
    const CELL: u32 = 28 * 3 + 4;
    let rows = seen.len().div_ceil(10).max(1) as u32;
    let mut sheet = RgbImage::new(10 * CELL, rows * CELL);
    for (n, (pixels, right)) in seen.iter().enumerate() {
        let (left, top) = ((n % 10) as u32 * CELL, (n / 10) as u32 * CELL);
        let frame = if *right { [0, 160, 0] } else { [220, 0, 0] };
        for y in 0..CELL - 2 {
            for x in 0..CELL - 2 {
                let (u, v) = (x.wrapping_sub(1) / 3, y.wrapping_sub(1) / 3);
                let colour = if u < 28 && v < 28 {
                    [pixels[(v * 28 + u) as usize]; 3]
                } else {
                    frame
                };
                sheet.put_pixel(left + x, top + y, Rgb(colour));
            }
        }
    }
    sheet
}

/// The true digit, from a name `<number>-<label>.<ext>`.
fn label_of(file: &Path) -> Result<u8> {
    file.file_stem()
        .and_then(|stem| stem.to_str()?.rsplit('-').next()?.parse().ok())
        .with_context(|| format!("{}: not named <number>-<label>", file.display()))
}
