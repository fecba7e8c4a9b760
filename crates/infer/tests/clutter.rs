//! Digits among things that are not the digit (`common/clutter.rs`): rules, grids, form boxes,
//! shadows in a large photo, thick marker. The digits are the MNIST samples shipped in
//! `examples/digits/`, so these run without MNIST; the scored set is in `examples/clutter.rs`.

mod common;

use burn::backend::NdArray;
use common::clutter::{Condition, Draw, Rng, render, typefaces};
use common::samples_dir;
use image::DynamicImage;
use infer::preprocess::{read_image, to_mnist};
use infer::{Classifier, ModelSource};

/// The MNIST samples on disk, with their true digits.
fn digits() -> Vec<([u8; 784], u8)> {
    [
        "7-mnist.png",
        "2-mnist.png",
        "1-mnist.png",
        "0-mnist.png",
        "4-mnist.png",
    ]
    .iter()
    .map(|name| {
        let image = read_image(&samples_dir().join(name)).expect("sample decodes");
        let pixels: [u8; 784] = image.to_luma8().into_raw().try_into().expect("28x28");
        (pixels, name[..1].parse().expect("a digit"))
    })
    .collect()
}

/// JPEG-compresses where the condition asks for it, as the scored set does.
fn rendered(condition: Condition, digit: &[u8; 784], seed: u64) -> DynamicImage {
    let rendered = render(condition, digit, seed);
    match rendered.jpeg {
        Some(quality) => {
            let mut bytes = Vec::new();
            rendered
                .image
                .to_rgb8()
                .write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(
                    &mut bytes, quality,
                ))
                .expect("encodes");
            image::load_from_memory(&bytes).expect("decodes")
        }
        None => rendered.image,
    }
}

/// The longest run of ink along a row of a 28x28 image.
fn longest_row_run(pixels: &[u8; 784]) -> usize {
    pixels
        .chunks(28)
        .map(|row| row.split(|&p| p == 0).map(<[u8]>::len).max().unwrap_or(0))
        .max()
        .unwrap_or(0)
}

/// Renders every sample digit under `condition` with `seeds` seeds and checks that the
/// built-in model reads each right; `check` sees each preprocessed image with its original.
fn read_right(condition: Condition, seeds: u64, check: impl Fn(&[u8; 784], &[u8; 784], &str)) {
    let classifier = Classifier::<NdArray>::load(&ModelSource::Embedded, &Default::default())
        .expect("the built-in model loads");
    for (digit, label) in digits() {
        for seed in 0..seeds {
            let what = format!("{} {label}, seed {seed}", condition.name());
            let out = to_mnist(&rendered(condition, &digit, seed))
                .unwrap_or_else(|| panic!("{what}: no digit found"));
            let answer = classifier.classify(&[out])[0].digit;
            assert_eq!(answer, label, "{what}: read as {answer}");
            check(&out, &digit, &what);
        }
    }
}

/// A rule or a grid line kept as ink would cross the whole 20-pixel box: no row of `out` runs
/// much longer than the digit's own longest.
fn no_line_kept(out: &[u8; 784], digit: &[u8; 784], what: &str) {
    let (run, original) = (longest_row_run(out), longest_row_run(digit));
    assert!(
        run <= original + 3,
        "{what}: a run of {run} (original {original})"
    );
}

#[test]
fn digits_on_ruled_paper_are_read_without_their_rules() {
    read_right(Condition::Ruled, 3, no_line_kept);
}

#[test]
fn digits_on_squared_paper_are_read() {
    read_right(Condition::Squared, 3, no_line_kept);
}

#[test]
fn digits_in_form_boxes_are_read_without_the_box() {
    read_right(Condition::FormBox, 3, |out, _, what| {
        // A box kept as ink is a frame around the field's 20x20: ink on all four of its edges.
        let ink = |x: usize, y: usize| out[y * 28 + x] > 0;
        let framed = (0..28).any(|y| (0..28).filter(|&x| ink(x, y)).count() >= 19)
            && (0..28).any(|x| (0..28).filter(|&y| ink(x, y)).count() >= 19);
        assert!(!framed, "{what}: framed");
    });
}

#[test]
fn small_digits_in_shadowed_photos_are_found_and_read() {
    read_right(Condition::Photo, 2, |_, _, _| {});
}

#[test]
fn thick_marker_covering_a_third_of_the_picture_is_found_and_read() {
    for (digit, _) in digits() {
        let image = rendered(Condition::Marker, &digit, 0).to_luma8();
        let dark = image.pixels().filter(|p| p.0[0] < 128).count();
        assert!(
            dark * 100 >= 34 * image.pixels().len(),
            "the marker condition covers {dark} of {} pixels",
            image.pixels().len()
        );
    }
    read_right(Condition::Marker, 3, |_, _, _| {});
}

#[test]
#[ignore = "needs MNIST: set MNIST_DIR"]
fn the_first_conditions_score_at_least_85_percent_on_mnist_test_digits() {
    const DIGITS: usize = 40;
    let test = common::test_set();
    let classifier = Classifier::<NdArray>::load(&ModelSource::Embedded, &Default::default())
        .expect("the built-in model loads");
    // Issue #30's conditions (Condition::ALL's others) are scored by examples/clutter.rs.
    for &condition in Condition::FIRST {
        let right = (0..DIGITS)
            .filter(|&n| {
                let index = 9_000 + n;
                let digit = test.image(index).expect("in range");
                to_mnist(&rendered(condition, digit, index as u64))
                    .is_some_and(|out| classifier.classify(&[out])[0].digit == test.labels()[index])
            })
            .count();
        println!("{}: {right}/{DIGITS}", condition.name());
        assert!(
            right * 100 >= 85 * DIGITS,
            "{}: {right}/{DIGITS} right",
            condition.name()
        );
    }
}

/// A typeface's digits come out in MNIST's form, turned and slanted: the ink's box 20 pixels on
/// its longer side, its centre of mass within a pixel of the middle. The repository's DejaVu
/// Sans stands in for the handwriting typefaces, which a test cannot expect to be installed.
#[test]
fn typeface_digits_are_brought_into_mnist_form() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../figures/fonts/DejaVuSans.ttf"
    );
    let font = ab_glyph::FontVec::try_from_vec(std::fs::read(path).expect("the font reads"))
        .expect("a font");
    for digit in 0..10 {
        let mut rng = Rng::of(u64::from(digit), Draw::HeldOut);
        let pixels = typefaces::mnist_form(&font, digit, &mut rng).expect("DejaVu has digits");
        let inked = || (0..784).filter(|&i| pixels[i] > 0);
        let (xs, ys) = (inked().map(|i| i % 28), inked().map(|i| i / 28));
        let width = xs.clone().max().unwrap() - xs.min().unwrap() + 1;
        let height = ys.clone().max().unwrap() - ys.min().unwrap() + 1;
        assert!(
            width.max(height) == 20,
            "digit {digit}: its box is {width}x{height}"
        );
        let mass: f32 = inked().map(|i| f32::from(pixels[i])).sum();
        let centre = |axis: fn(usize) -> usize| {
            inked()
                .map(|i| axis(i) as f32 * f32::from(pixels[i]))
                .sum::<f32>()
                / mass
        };
        let (cx, cy) = (centre(|i| i % 28), centre(|i| i / 28));
        assert!(
            (cx - 14.0).abs() <= 1.0 && (cy - 14.0).abs() <= 1.0,
            "digit {digit}: centre of mass at ({cx:.1}, {cy:.1})"
        );
    }
}
