//! Preprocessing on real MNIST digits, independently of any model: MNIST's own digits pass
//! through unchanged, and the same digits rendered as users' images (dark ink on paper, in
//! colour, with uneven light and noise, on transparent canvases) come back in MNIST's form and
//! close to the original.

mod common;

use common::render::{Scene, paint, paint_transparent};
use common::{assert_mnist_form, mean_abs_diff, test_set};
use image::{DynamicImage, GrayImage};
use infer::preprocess::to_mnist;

/// Digits rendered per scene: enough to catch a systematic error, few enough to stay quick.
const DIGITS: usize = 200;

fn as_image(digit: &[u8; 784]) -> DynamicImage {
    DynamicImage::ImageLuma8(GrayImage::from_raw(28, 28, digit.to_vec()).expect("28x28"))
}

#[test]
#[ignore = "needs MNIST: set MNIST_DIR"]
fn mnist_test_digits_pass_through_byte_identical() {
    let test = test_set();
    for index in 0..test.len() {
        let digit = test.image(index).expect("in range");
        let out = to_mnist(&as_image(digit)).expect("a digit");
        assert!(out == *digit, "test digit {index} changed");
    }
}

#[test]
#[ignore = "needs MNIST: set MNIST_DIR"]
fn preprocessing_is_idempotent() {
    let test = test_set();
    for index in 0..DIGITS {
        let image = DynamicImage::from(paint(
            test.image(index).expect("in range"),
            &Scene::photo(5),
        ));
        let once = to_mnist(&image).expect("a digit");
        let twice = to_mnist(&as_image(&once)).expect("a digit");
        assert!(once == twice, "digit {index}");
    }
}

/// The scenes users' images are rendered in, each with how many pixels of misplacement its
/// rendering costs: whole-pixel centring alone moves a digit by up to a pixel, and a digit
/// rendered at half resolution loses a pixel more.
fn scenes() -> Vec<(&'static str, Renderer, usize)> {
    vec![
        (
            "black ink on white paper",
            Box::new(|d| paint(d, &Scene::paper(4)).into()),
            1,
        ),
        (
            "pencil in a photo with uneven light, noise and specks",
            Box::new(|d| paint(d, &Scene::photo(9)).into()),
            1,
        ),
        (
            "blue strokes on a transparent canvas",
            Box::new(|d| {
                paint_transparent(
                    d,
                    &Scene {
                        ink: [20, 20, 120],
                        ..Scene::paper(3)
                    },
                )
                .into()
            }),
            1,
        ),
        (
            "light chalk on a dark green board",
            Box::new(|d| paint(d, &Scene::chalkboard(2)).into()),
            1,
        ),
        (
            // 28 pixels of digit in a 1600x1200 photo, halved to the working size first: 14.
            "a small digit in a large photo",
            Box::new(|d| {
                paint(
                    d,
                    &Scene {
                        canvas: (1600, 1200),
                        offset: (1100, 300),
                        ..Scene::photo(1)
                    },
                )
                .into()
            }),
            2,
        ),
    ]
}

type Renderer = Box<dyn Fn(&[u8; 784]) -> DynamicImage>;

#[test]
#[ignore = "needs MNIST: set MNIST_DIR"]
fn rendered_digits_come_back_in_mnist_form_close_to_the_original() {
    let test = test_set();
    for (scene, render, misplacement) in scenes() {
        // Each digit's shape is checked by the nearest-neighbour test below; here the scene's
        // average misplacement.
        let (mut total, mut allowed, mut worst) = (0.0, 0.0, 0.0f64);
        for index in 0..DIGITS {
            let digit = test.image(index).expect("in range");
            let out = to_mnist(&render(digit))
                .unwrap_or_else(|| panic!("{scene}: no digit found in test digit {index}"));
            assert_mnist_form(&out, &format!("{scene}, test digit {index}"));
            let difference = mean_abs_diff(&out, digit);
            total += difference;
            allowed += moved_difference(digit, misplacement);
            worst = worst.max(difference);
        }
        let (mean, allowed) = (total / DIGITS as f64, allowed / DIGITS as f64);
        println!(
            "{scene}: mean absolute difference {mean:.2} (allowed {allowed:.2}), worst {worst:.2}"
        );
        assert!(
            mean <= allowed,
            "{scene}: mean absolute difference {mean:.2}, more than the originals moved by \
             {misplacement} pixel(s) ({allowed:.2})"
        );
    }
}

/// How far (mean absolute difference) `digit` is from itself moved by `pixels` along one
/// axis, the nearest of the four directions: the difference a misplacement of that much costs.
fn moved_difference(digit: &[u8; 784], pixels: usize) -> f64 {
    let moved = |dx: isize, dy: isize| -> [u8; 784] {
        std::array::from_fn(|i| {
            let (x, y) = ((i % 28) as isize - dx, (i / 28) as isize - dy);
            if (0..28).contains(&x) && (0..28).contains(&y) {
                digit[(y * 28 + x) as usize]
            } else {
                0
            }
        })
    };
    let k = pixels as isize;
    [(k, 0), (-k, 0), (0, k), (0, -k)]
        .into_iter()
        .map(|(dx, dy)| mean_abs_diff(digit, &moved(dx, dy)))
        .fold(f64::INFINITY, f64::min)
}

/// The training image nearest to `image` (Euclidean distance) and its label.
fn nearest_label(train: &[[u8; 784]], labels: &[u8], image: &[u8; 784]) -> u8 {
    let distance = |other: &[u8; 784]| -> u32 {
        other
            .iter()
            .zip(image)
            .map(|(&a, &b)| u32::from(a.abs_diff(b)).pow(2))
            .sum()
    };
    let nearest = (0..train.len())
        .min_by_key(|&i| distance(&train[i]))
        .expect("training images");
    labels[nearest]
}

#[test]
#[ignore = "needs MNIST: set MNIST_DIR"]
fn nearest_neighbour_recognises_rendered_digits_as_well_as_the_originals() {
    // A model-free check that preprocessing keeps what makes each digit that digit: a 1-nearest
    // neighbour classifier over MNIST training images is right about as often on the
    // preprocessed renders as on the test digits themselves.
    const TRAIN: usize = 20_000;
    const DIGITS: usize = 150;
    let splits = common::splits();
    let train: Vec<[u8; 784]> = (0..TRAIN)
        .filter_map(|i| splits.train.image(i).copied())
        .collect();
    let train_labels = &splits.train.labels()[..TRAIN];
    let (test, test_labels) = (&splits.test, splits.test.labels());
    let correct = |images: &[[u8; 784]]| {
        images
            .iter()
            .enumerate()
            .filter(|(i, image)| nearest_label(&train, train_labels, image) == test_labels[*i])
            .count()
    };
    let originals: Vec<[u8; 784]> = (0..DIGITS).filter_map(|i| test.image(i).copied()).collect();
    let baseline = correct(&originals);
    for (scene, render, _) in scenes() {
        let preprocessed: Vec<[u8; 784]> = originals
            .iter()
            .map(|digit| to_mnist(&render(digit)).expect("a digit"))
            .collect();
        let recognised = correct(&preprocessed);
        println!("{scene}: {recognised}/{DIGITS} (originals {baseline}/{DIGITS})");
        // Preprocessing may cost at most 5% of what the originals get right.
        assert!(
            recognised as f64 >= 0.95 * baseline as f64,
            "{scene}: nearest neighbour right on {recognised}/{DIGITS}, originals {baseline}/{DIGITS}"
        );
    }
}
