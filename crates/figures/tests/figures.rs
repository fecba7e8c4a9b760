//! What each picture shows, read back from its pixels.

use figures::{
    CONFUSION_SIZE, CURVES_SIZE, EpochPoint, MAX_MISTAKES, Mistake, confusion, confusion_cell,
    curves, mistake_tile, mistakes,
};
use image::RgbImage;

fn luma(picture: &RgbImage, x: u32, y: u32) -> f64 {
    let [r, g, b] = picture.get_pixel(x, y).0.map(f64::from);
    0.2126 * r + 0.7152 * g + 0.0722 * b
}

/// A cell's colour, read in its corner, away from the count written in its middle.
fn cell_luma(picture: &RgbImage, row: usize, column: usize) -> f64 {
    let [left, top, ..] = confusion_cell(row, column);
    luma(picture, left + 3, top + 3)
}

#[test]
fn the_brightest_cell_of_each_row_holds_its_largest_count() {
    // A different largest cell in each row, off the diagonal in some.
    let mut matrix = [[0u64; 10]; 10];
    for (row, counts) in matrix.iter_mut().enumerate() {
        for (column, count) in counts.iter_mut().enumerate() {
            *count = ((row * 7 + column * 3) % 11) as u64;
        }
        counts[(row * 3) % 10] = 900 + row as u64;
    }
    let picture = confusion("test", &matrix).unwrap();
    assert_eq!(picture.dimensions(), CONFUSION_SIZE);
    for (row, counts) in matrix.iter().enumerate() {
        let brightest = (0..10)
            .max_by(|&a, &b| cell_luma(&picture, row, a).total_cmp(&cell_luma(&picture, row, b)))
            .unwrap();
        let largest = (0..10).max_by_key(|&column| counts[column]).unwrap();
        assert_eq!(brightest, largest, "row {row}");
        // More is lighter, all along the row.
        for a in 0..10 {
            for b in 0..10 {
                if counts[a] > counts[b] {
                    assert!(cell_luma(&picture, row, a) > cell_luma(&picture, row, b));
                }
            }
        }
    }
}

fn mistake(ink: u8, probability: f32) -> Mistake {
    let mut image = [0u8; 784];
    image[14 * 28 + 14] = ink;
    image[15 * 28 + 14] = ink;
    Mistake {
        image,
        truth: 3,
        predicted: 8,
        probability,
    }
}

/// How many tiles of `picture` hold a digit: a tile is drawn black with its digit's ink.
fn tiles_drawn(picture: &RgbImage) -> usize {
    (0..MAX_MISTAKES + 1)
        .take_while(|&index| {
            let [left, top, right, bottom] = mistake_tile(index);
            right <= picture.width()
                && bottom <= picture.height()
                && luma(picture, left + 1, top + 1) < 1.0
        })
        .count()
}

#[test]
fn the_mistakes_picture_shows_each_mistake_up_to_its_cap() {
    for count in [0, 1, 9, 10, 11, 100, 250] {
        let wrong: Vec<Mistake> = (0..count).map(|i| mistake(255, i as f32 / 300.0)).collect();
        let picture = mistakes("test", &wrong, 10_000).unwrap();
        assert_eq!(
            tiles_drawn(&picture),
            count.min(MAX_MISTAKES),
            "{count} mistakes"
        );
    }
}

#[test]
fn the_most_confident_mistake_comes_first() {
    // Ink levels tell the tiles apart: the confident mistake's digit is the bright one.
    let wrong = [mistake(60, 0.3), mistake(250, 0.9), mistake(120, 0.6)];
    let picture = mistakes("test", &wrong, 100).unwrap();
    let ink = |index: usize| {
        let [left, top, ..] = mistake_tile(index);
        // Pixel (14, 14) of the digit, drawn three times larger.
        luma(&picture, left + 14 * 3 + 1, top + 14 * 3 + 1)
    };
    assert!(
        ink(0) > ink(1) && ink(1) > ink(2),
        "{} {} {}",
        ink(0),
        ink(1),
        ink(2)
    );
}

#[test]
fn curves_are_drawn_for_one_epoch_and_without_validation() {
    let point = EpochPoint {
        epoch: 1,
        train_loss: 0.3,
        valid_loss: None,
        train_accuracy: 0.9,
        valid_accuracy: None,
        learning_rate: None,
    };
    for points in [&[][..], &[point][..]] {
        let picture = curves("test", points).unwrap();
        assert_eq!(picture.dimensions(), CURVES_SIZE);
    }
    // The training series is drawn in its colour; an empty run has none.
    let blue = |picture: &RgbImage| picture.pixels().filter(|p| p.0 == [31, 119, 180]).count();
    assert!(blue(&curves("test", &[point]).unwrap()) > 20);
    assert_eq!(blue(&curves("test", &[]).unwrap()), 0);
}

#[test]
fn kernels_are_drawn_lighter_for_larger_weights_and_checked_for_length() {
    let ramp = |outputs: usize, inputs: usize| figures::Kernels {
        outputs,
        inputs,
        side: 5,
        weights: (0..outputs * inputs * 25)
            .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 })
            .collect(),
    };
    let picture = figures::kernels("test", &ramp(6, 1), &ramp(16, 6)).unwrap();
    // Both signs appear, as squares of the diverging map's two ends, 10x10 pixels each.
    let squares = |colour: [u8; 3]| picture.pixels().filter(|p| p.0 == colour).count() / 100;
    let weights = 6 * 25 + 16 * 6 * 25;
    assert_eq!(
        squares([255, 230, 120]),
        weights / 2,
        "positive weights light yellow"
    );
    assert_eq!(
        squares([0, 32, 96]),
        weights / 2,
        "negative weights dark blue"
    );
    let short = figures::Kernels {
        weights: vec![0.0; 10],
        ..ramp(6, 1)
    };
    assert!(figures::kernels("test", &short, &ramp(16, 6)).is_err());
}
