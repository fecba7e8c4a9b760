use super::*;
use crate::grey::tests::grey;

#[test]
fn specks_are_removed_and_the_crop_is_the_digit() {
    let image = grey(60, 60, |x, y| {
        let bar = (20..25).contains(&x) && (10..50).contains(&y);
        let speck = (x, y) == (55, 3);
        if bar || speck { 1.0 } else { 0.0 }
    });
    let cropped = image.the_digit().expect("ink").0;
    assert_eq!((cropped.width, cropped.height), (5, 40));
    assert!(cropped.pixels.iter().all(|&v| v == 1.0));
}

#[test]
fn a_bright_speck_does_not_make_the_digit_a_ghost() {
    // A stroke at a third of a single bright pixel's level (amplified noise, say): the
    // pixel is a speck, and the stroke is the strongest ink there is.
    let image = grey(60, 60, |x, y| {
        let bar = (20..25).contains(&x) && (10..50).contains(&y);
        match (bar, (x, y) == (50, 30)) {
            (true, _) => 0.3,
            (_, true) => 1.0,
            _ => 0.0,
        }
    });
    let cropped = image.the_digit().expect("the stroke").0;
    assert_eq!((cropped.width, cropped.height), (5, 40));
}

#[test]
fn a_lighter_sheet_with_the_desk_at_two_edges_is_found_and_plain_paper_is_no_sheet() {
    // A light note (0.9) on a dark desk (0.3) showing at the right and the bottom, a dark
    // stroke on the note.
    let note = |x: usize, y: usize| x < 80 && y < 85;
    let stroke = |x: usize, y: usize| (38..44).contains(&x) && (20..70).contains(&y);
    let image = grey(100, 100, |x, y| match (note(x, y), stroke(x, y)) {
        (true, true) => 0.1,
        (true, false) => 0.9,
        (false, _) => 0.3,
    });
    assert_eq!(image.lighter_sheet(), Some([0, 0, 79, 84]));
    let inside = image.inside([0, 0, 79, 84]);
    assert_eq!(
        (inside.width, inside.height),
        (74, 79),
        "3 pixels in at every edge"
    );
    // The same note filling the picture, and a dark digit alone: no desk, no sheet.
    let paper = grey(100, 100, |x, y| if stroke(x, y) { 0.1 } else { 0.9 });
    assert_eq!(paper.lighter_sheet(), None);
    // Paper whose margin line cuts off a strip: the strip is paper, not a darker desk.
    let margin = grey(100, 100, |x, y| match (x, stroke(x, y)) {
        (10, _) => 0.5,
        (_, true) => 0.1,
        _ => 0.9,
    });
    assert_eq!(margin.lighter_sheet(), None);
    // A light digit on a dark background is no sheet either: it fills little of its box.
    let screen = grey(
        100,
        100,
        |x, y| if stroke(x, y) || y == 20 { 0.9 } else { 0.1 },
    );
    assert_eq!(screen.lighter_sheet(), None);
}

#[test]
fn a_ghost_touching_the_digit_goes_and_with_it_the_frame_it_joined() {
    // A strong bar (a 1), a faint ghost's stroke from its middle to the right border, and
    // the board's frame along that border: one group until the ghost goes.
    let image = grey(100, 100, |x, y| {
        let bar = (40..46).contains(&x) && (20..80).contains(&y);
        let ghost = (46..96).contains(&x) && (48..53).contains(&y);
        let frame = x >= 96;
        match (bar || frame, ghost) {
            (true, _) => 1.0,
            (false, true) => 0.3,
            _ => 0.0,
        }
    });
    let (digit, origin) = image.the_digit().expect("ink");
    assert_eq!(origin, [40, 20]);
    // The bar, and the ghost's first two pixels: within half a stroke of the bar, where a
    // soft edge would be.
    assert_eq!((digit.width, digit.height), (8, 60), "the bar alone");
}

#[test]
fn a_digit_joined_by_a_ghost_to_the_border_is_not_taken_for_a_neighbour() {
    // A broken 7: its top bar apart from its stem, the stem joined by a faint ghost's
    // stroke to the bottom border. Judged with the ghost, the stem's group is cut by the
    // border beside the bar, which stays clear of it: a neighbour's piece.
    let image = grey(100, 100, |x, y| {
        let bar = (30..70).contains(&x) && (15..21).contains(&y);
        let stem = (60..66).contains(&x) && (25..75).contains(&y);
        let ghost = (60..65).contains(&x) && y >= 75;
        match (bar || stem, ghost) {
            (true, _) => 1.0,
            (false, true) => 0.3,
            _ => 0.0,
        }
    });
    let (digit, origin) = image.the_digit().expect("ink");
    assert_eq!(origin, [30, 15]);
    // The bar, the stem, and the ghost's first three pixels: within half a stroke of the
    // stem, where a soft edge would be.
    assert_eq!(
        (digit.width, digit.height),
        (40, 63),
        "the bar and the stem"
    );
}

#[test]
fn a_strokes_soft_edge_is_not_a_ghost() {
    // A bar whose edges fade over two pixels, as a photographed pen stroke does.
    let image = grey(100, 100, |x, y| match (x, (20..80).contains(&y)) {
        (40..46, true) => 1.0,
        (38 | 47, true) => 0.2,
        (39 | 46, true) => 0.4,
        _ => 0.0,
    });
    let (digit, _) = image.the_digit().expect("ink");
    assert_eq!(digit.width, 10, "the soft edges stay");
}

/// A stroke 6 wide, rows 20..80, in the middle of a 100x100 picture.
fn stroke(x: usize, y: usize) -> bool {
    (47..53).contains(&x) && (20..80).contains(&y)
}

/// The crop of `image` is the stroke alone.
fn only_the_stroke(image: crate::grey::Grey, what: &str) {
    let cropped = image.the_digit().expect("ink").0;
    assert_eq!((cropped.width, cropped.height), (6, 60), "{what}");
}

#[test]
fn a_neighbours_piece_cut_by_the_border_goes() {
    let image = grey(100, 100, |x, y| {
        let piece = x < 12 && (30..70).contains(&y) && (x + y) % 7 < 4;
        if stroke(x, y) || piece { 1.0 } else { 0.0 }
    });
    only_the_stroke(image, "a piece at the left border");
}

#[test]
fn a_frame_around_the_digit_and_a_bar_along_an_edge_go() {
    let image = grey(100, 100, |x, y| {
        let frame = x < 2 || y < 2 || x > 97 || y > 97;
        if stroke(x, y) || frame { 1.0 } else { 0.0 }
    });
    only_the_stroke(image, "a canvas border");
    // A frame's line near the right edge, not touching it, beside a digit that touches
    // the top of the picture.
    let image = grey(100, 100, |x, y| {
        let digit = (47..53).contains(&x) && y < 80;
        let bar = (93..95).contains(&x) && (5..95).contains(&y);
        if digit || bar { 1.0 } else { 0.0 }
    });
    let cropped = image.the_digit().expect("ink").0;
    assert_eq!(
        (cropped.width, cropped.height),
        (6, 80),
        "a whiteboard's frame"
    );
}

#[test]
fn far_off_marks_and_faint_ghosts_go_and_a_digits_parts_stay() {
    let image = grey(100, 100, |x, y| {
        let dot = (85..90).contains(&x) && (10..15).contains(&y);
        let ghost = (15..30).contains(&x) && (40..60).contains(&y);
        match () {
            _ if stroke(x, y) || dot => 1.0,
            _ if ghost => 0.2,
            _ => 0.0,
        }
    });
    only_the_stroke(image, "a button and a ghost");
    // A 5's bar apart from its body, close to it, is part of the digit.
    let five = grey(100, 100, |x, y| {
        let bar = (47..70).contains(&x) && (14..18).contains(&y);
        if stroke(x, y) || bar { 1.0 } else { 0.0 }
    });
    let cropped = five.the_digit().expect("ink").0;
    assert_eq!((cropped.width, cropped.height), (23, 66));
}

#[test]
fn a_lighter_sheet_on_a_darker_desk_is_found() {
    let note = |x: usize, y: usize| (20..90).contains(&x) && (10..95).contains(&y);
    let image = grey(100, 100, |x, y| {
        if note(x, y) && !stroke(x, y) {
            1.0
        } else {
            0.0
        }
    });
    assert_eq!(image.sheet(), Some([20, 10, 89, 94]));
    // A blot of marker is no sheet.
    let blot = grey(100, 100, |x, y| {
        let (dx, dy) = (x as f32 - 50.0, y as f32 - 50.0);
        if dx.hypot(dy) < 40.0 { 1.0 } else { 0.0 }
    });
    assert_eq!(blot.sheet(), None);
}

#[test]
fn groups_labelled_within_the_ink_box_are_those_of_the_whole_picture() {
    // Groups of several shapes away from the picture's edges, one touching another diagonally.
    let image = grey(90, 70, |x, y| {
        let bar = (30..34).contains(&x) && (20..50).contains(&y);
        let ring = (50..60).contains(&x)
            && (25..35).contains(&y)
            && !((52..58).contains(&x) && (27..33).contains(&y));
        let diagonal = (x, y) == (34, 50) || (x, y) == (60, 35);
        let dot = (x, y) == (70, 55);
        if bar || ring || diagonal || dot {
            0.5
        } else {
            0.0
        }
    });
    let whole = GrayImage::from_fn(90, 70, |x, y| {
        Luma([u8::from(image.at(x as usize, y as usize) > 0.0)])
    });
    let expected = connected_components(&whole, Connectivity::Eight, Luma([0u8])).into_raw();
    let (labels, groups) = components(&image);
    assert_eq!(labels, expected);
    assert_eq!(groups.len(), 3, "the bar, the ring and the dot");
    assert_eq!(groups[0].bounds, [30, 20, 34, 50]);
}
