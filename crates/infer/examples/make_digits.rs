//! Writes the sample images in `examples/digits/` from MNIST's test set:
//! `MNIST_DIR=/path/to/mnist cargo run --example make_digits`.
//!
//! Each file is named by its true digit and its form (see `tests/common/render.rs`): MNIST
//! digits as they are, and the same kind of digits as users hand them over (ink on paper in
//! colour, a phone photo, strokes on a transparent canvas, chalk on a board).

#[path = "../tests/common/render.rs"]
mod render;

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use anyhow::{Context, Result};
use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, GrayImage};
use mnist::{Download, MnistSplits};
use render::{Form, SAMPLES, paint, paint_transparent, sample_scene};

fn main() -> Result<()> {
    let data = mnist::locate(None, &Download::disabled())
        .context("MNIST not found: set MNIST_DIR to a directory holding the four MNIST files")?;
    let test = MnistSplits::load(&data, 0)?.test;
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/digits");
    std::fs::create_dir_all(&out)?;
    let out = out.canonicalize()?;
    for sample in &SAMPLES {
        let digit = test
            .image(sample.index)
            .with_context(|| format!("no test image {}", sample.index))?;
        let label = test.labels()[sample.index];
        anyhow::ensure!(
            sample.name.starts_with(&label.to_string()),
            "{} shows a {label}",
            sample.name
        );
        let path = out.join(sample.name);
        let scene = sample_scene(sample.form);
        match sample.form {
            Form::Mnist => GrayImage::from_raw(28, 28, digit.to_vec())
                .context("28x28")?
                .save(&path)?,
            Form::Transparent => paint_transparent(digit, &scene).save(&path)?,
            Form::Chalkboard => paint(digit, &scene).save(&path)?,
            Form::Paper | Form::Photo => {
                save_jpeg(&DynamicImage::from(paint(digit, &scene)), &path)?
            }
        }
        println!("{}", path.display());
    }
    Ok(())
}

fn save_jpeg(image: &DynamicImage, path: &Path) -> Result<()> {
    let file = BufWriter::new(File::create(path)?);
    image.write_with_encoder(JpegEncoder::new_with_quality(file, 88))?;
    Ok(())
}
