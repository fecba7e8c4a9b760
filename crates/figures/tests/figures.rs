//! What each picture shows, read back from its pixels.

use figures::{
    CONFUSION_SIZE, CURVES_SIZE, EpochPoint, MAX_MISTAKES, Maps, Mistake, Panel, SHEET_SIZE, Sheet,
    confusion, confusion_cell, curves, mistake_tile, mistakes, sheet, sheet_panel,
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

fn maps(count: usize, side: usize, value: impl Fn(usize, usize) -> f32) -> Maps {
    Maps {
        count,
        height: side,
        width: side,
        values: (0..count * side * side)
            .map(|i| value(i / (side * side), i % (side * side)))
            .collect(),
    }
}

fn crop(picture: &RgbImage, panel: Panel) -> RgbImage {
    let [x0, y0, x1, y1] = sheet_panel(panel);
    image::imageops::crop_imm(picture, x0, y0, x1 - x0, y1 - y0).to_image()
}

#[test]
fn the_sheet_draws_each_map_in_its_panel_on_the_diverging_scale() {
    let original = RgbImage::from_pixel(300, 120, image::Rgb([200, 10, 10]));
    let removed = RgbImage::from_pixel(60, 90, image::Rgb([40, 90, 220]));
    let seen = [0u8; 784];
    // C1 map m is uniform at (m - 2.5) / 2.5: negative maps darker, positive lighter.
    let c1 = maps(6, 28, |m, _| (m as f32 - 2.5) / 2.5);
    // C3's maps differ only in the one pixel that is set.
    let c3 = maps(16, 10, |m, i| if i == m { 1.0 } else { 0.0 });
    let (s2, s4) = (maps(6, 14, |_, _| 0.0), maps(16, 5, |_, _| 0.0));
    let probabilities = [0.0, 0.0, 0.0, 0.9, 0.0, 0.0, 0.0, 0.0, 0.1, 0.0];
    let look = Sheet {
        original: &original,
        removed: &removed,
        seen: &seen,
        c1: &c1,
        s2: &s2,
        c3: &c3,
        s4: &s4,
        c5: &[0.5; 120],
        f6: &[-0.5; 84],
        probabilities: &probabilities,
    };
    let picture = sheet("test", "file.png", &look).unwrap();
    assert_eq!(picture.dimensions(), SHEET_SIZE);

    let middle = |panel: Panel| {
        let [x0, y0, x1, y1] = sheet_panel(panel);
        luma(&picture, (x0 + x1) / 2, (y0 + y1) / 2)
    };
    let c1_lumas: Vec<f64> = (0..6).map(|m| middle(Panel::C1(m))).collect();
    assert!(c1_lumas.windows(2).all(|w| w[1] > w[0]), "{c1_lumas:?}");
    // Zero everywhere in S2: the neutral grey.
    assert_eq!(
        picture
            .get_pixel(
                sheet_panel(Panel::S2(3))[0] + 5,
                sheet_panel(Panel::S2(3))[1] + 5
            )
            .0,
        [128; 3]
    );
    let c3: Vec<RgbImage> = (0..16).map(|m| crop(&picture, Panel::C3(m))).collect();
    for a in 0..16 {
        for b in a + 1..16 {
            assert_ne!(c3[a], c3[b], "C3 maps {a} and {b}");
        }
    }
    // The photo, fitted and centred: red in the middle of its panel.
    let [x0, y0, x1, y1] = sheet_panel(Panel::Original);
    assert_eq!(
        picture.get_pixel((x0 + x1) / 2, (y0 + y1) / 2).0,
        [200, 10, 10]
    );
    // What was removed, beside it.
    let [x0, y0, x1, y1] = sheet_panel(Panel::Removed);
    assert_eq!(
        picture.get_pixel((x0 + x1) / 2, (y0 + y1) / 2).0,
        [40, 90, 220]
    );

    let wrong = maps(6, 28, |_, _| 0.0);
    let wrong = Maps { count: 7, ..wrong };
    let error = sheet("test", "file.png", &Sheet { c1: &wrong, ..look }).unwrap_err();
    assert!(error.to_string().contains("wrong length"), "{error}");
}
