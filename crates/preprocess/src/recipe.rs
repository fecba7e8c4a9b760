//! The recipe: the eight stages in order (see the crate documentation), the picture of what
//! was removed on the way, and the result written as a PNG.

use std::path::Path;

use image::{DynamicImage, ImageError, Rgb, RgbImage};
use mnist::{IMAGE_PIXELS, IMAGE_SIDE};

use crate::field::centred;
use crate::grey::Grey;

/// Pictures of at least this many pixels are photos: their light may be uneven beyond what a
/// quadratic follows, and their digit is small in them. Smaller ones are scans, crops and
/// drawings, lit evenly enough, whose ink may be as thick as their holes are wide.
pub const PHOTO_PIXELS: u64 = 700_000;

/// Turns an image into MNIST's form (see the crate documentation); `None` when no digit
/// stands out from the background.
pub fn to_mnist(image: &DynamicImage) -> Option<[u8; IMAGE_PIXELS]> {
    preprocessed(image, false).map(|(pixels, _)| pixels)
}

/// [`to_mnist`], and a picture of what was removed on the way, at the working resolution
/// (see [`WORKING_SIDE`](crate::WORKING_SIDE)): the ink kept in grey, printed lines removed
/// in red, ink that is not the digit (a neighbour's piece, a frame, a ghost, a speck) in
/// orange, light too broad to be a stroke (a shadow's edge) and glare in blue. An image already in
/// MNIST's form is its own picture.
pub fn to_mnist_showing_removed(image: &DynamicImage) -> Option<([u8; IMAGE_PIXELS], RgbImage)> {
    let (pixels, removed) = preprocessed(image, true)?;
    Some((pixels, removed?))
}

/// The work of both: the 28x28 digit and, where `show`, the picture of what was removed.
fn preprocessed(
    image: &DynamicImage,
    show: bool,
) -> Option<([u8; IMAGE_PIXELS], Option<RgbImage>)> {
    if image.width() == 0 || image.height() == 0 {
        return None;
    }
    let grey = Grey::composited(image);
    if let Some(pixels) = grey.mnist_form() {
        let picture = show.then(|| removal_picture(&grey, &grey, (&grey, [0, 0]), &[]));
        return Some((pixels, picture));
    }
    let photo = u64::from(image.width()) * u64::from(image.height()) >= PHOTO_PIXELS;
    let grey = grey.enlarged();
    // A sheet on a desk (a sticky note) can hide the digit: a desk darker than the sheet is
    // taken for ink, or bends the fitted background until nothing stands out; a sheet lighter
    // than the desk around it is taken for ink. So look within the sheet: at once where the
    // picture is no photo (in a photo, a shadow's band would pass for a desk), and in a photo
    // where no ink stood out.
    let sheet = if photo { None } else { grey.lighter_sheet() };
    let grey = match sheet {
        Some(sheet) => grey.inside(sheet),
        None => grey,
    };
    let (ink, light) = match grey.clone().ink(photo) {
        Some(found) => found,
        None => grey.inside(grey.lighter_sheet()?).ink(photo)?,
    };
    let (ink, light) = match ink.sheet() {
        Some(sheet) => grey.inside(sheet).ink(photo)?,
        None => (ink, light),
    };
    let before = show.then(|| ink.clone());
    let ink = ink.without_lines().without_slanted_lines();
    let lines_gone = show.then(|| ink.clone());
    let (ink, origin) = ink.the_digit()?;
    let picture = before
        .zip(lines_gone)
        .map(|(before, lines_gone)| removal_picture(&before, &lines_gone, (&ink, origin), &light));
    let radius = ink.thickening_radius();
    let ink = ink.thickened(radius);
    Some((centred(&ink.fitted_to_box()), picture))
}

/// The ink `kept` in grey (a crop of the picture whose top left corner lies at the given
/// point) over what was ink `before` the printed lines went (red), the groups of ink left after
/// them that are not the digit (in `lines_gone` but not kept: a neighbour's piece, a frame, a
/// ghost, a speck; orange), and what was removed as `light` (a shadow's edge, glare; blue).
fn removal_picture(
    before: &Grey,
    lines_gone: &Grey,
    (kept, [left, top]): (&Grey, [usize; 2]),
    light: &[bool],
) -> RgbImage {
    RgbImage::from_fn(before.width as u32, before.height as u32, |x, y| {
        let (x, y) = (x as usize, y as usize);
        let index = y * before.width + x;
        let inside =
            (left..left + kept.width).contains(&x) && (top..top + kept.height).contains(&y);
        let value = if inside {
            kept.at(x - left, y - top)
        } else {
            0.0
        };
        if value > 0.0 {
            let level = (value.min(1.0) * 255.0).round() as u8;
            Rgb([level; 3])
        } else if lines_gone.pixels[index] > 0.0 {
            Rgb(NOT_THE_DIGIT)
        } else if before.pixels[index] > 0.0 {
            Rgb(LINE)
        } else if light.get(index).copied().unwrap_or(false) {
            Rgb([40, 90, 220])
        } else {
            Rgb([0; 3])
        }
    })
}

/// The colours of the picture of what was removed: printed lines, and ink that is not the digit.
const LINE: [u8; 3] = [220, 40, 40];
const NOT_THE_DIGIT: [u8; 3] = [240, 160, 20];

/// Writes a 28x28 image as a greyscale PNG.
pub fn save_png(pixels: &[u8; IMAGE_PIXELS], path: &Path) -> Result<(), ImageError> {
    let side = IMAGE_SIDE as u32;
    image::save_buffer(path, pixels, side, side, image::ExtendedColorType::L8)
}

#[cfg(test)]
mod tests {
    use image::Luma;

    use super::*;
    use crate::grey::tests::grey;

    #[test]
    fn the_picture_of_what_was_removed_shows_the_rules_apart_from_the_digit() {
        // Dark rules on white paper, crossed by a dark bar (a 1).
        let bar = |x: u32, y: u32| (57..63).contains(&x) && (20..96).contains(&y);
        let rule = |y: u32| y % 30 == 10 || y % 30 == 11;
        let image = DynamicImage::ImageLuma8(image::GrayImage::from_fn(120, 120, |x, y| {
            Luma([if bar(x, y) || rule(y) { 30 } else { 245 }])
        }));
        let (pixels, removed) = to_mnist_showing_removed(&image).expect("a digit");
        assert_eq!(Some(pixels), to_mnist(&image));
        assert_eq!(removed.dimensions(), (120, 120));
        let red = Rgb([220, 40, 40]);
        assert_eq!(*removed.get_pixel(5, 40), red, "a rule, removed");
        assert_eq!(*removed.get_pixel(100, 71), red, "a rule, removed");
        assert_eq!(*removed.get_pixel(5, 50), Rgb([0; 3]), "paper");
        let kept = removed.get_pixel(60, 50);
        assert!(
            kept.0[0] > 200 && kept.0 == [kept.0[0]; 3],
            "the bar, kept: {kept:?}"
        );
        let crossing = removed.get_pixel(60, 40);
        assert!(
            crossing.0[0] > 200 && crossing.0 == [crossing.0[0]; 3],
            "where the bar crosses a rule: {crossing:?}"
        );
    }

    #[test]
    fn the_picture_of_what_was_removed_shows_a_neighbours_piece_apart_from_the_digit() {
        // A dark bar (a 1) in the middle, and a neighbour's stroke cut by the left border.
        let bar = |x: u32, y: u32| (57..63).contains(&x) && (20..96).contains(&y);
        let piece = |x: u32, y: u32| x < 6 && (40..80).contains(&y);
        let image = DynamicImage::ImageLuma8(image::GrayImage::from_fn(120, 120, |x, y| {
            Luma([if bar(x, y) || piece(x, y) { 30 } else { 245 }])
        }));
        let (pixels, removed) = to_mnist_showing_removed(&image).expect("a digit");
        assert_eq!(*removed.get_pixel(2, 60), Rgb(NOT_THE_DIGIT), "the piece");
        assert!(removed.get_pixel(60, 60).0[0] > 200, "the bar, kept");
        assert_eq!(*removed.get_pixel(30, 60), Rgb([0; 3]), "paper");
        // The piece is not in what the model sees: the bar alone is centred.
        let column_ink = |x: usize| (0..28).map(|y| u32::from(pixels[y * 28 + x])).sum::<u32>();
        assert_eq!((0..8).map(column_ink).sum::<u32>(), 0);
    }

    #[test]
    fn uniform_and_empty_images_hold_no_digit() {
        for level in [0.0, 0.5, 1.0] {
            assert!(grey(50, 50, |_, _| level).ink(false).is_none());
        }
        assert!(to_mnist(&DynamicImage::new_luma8(0, 10)).is_none());
    }
}
