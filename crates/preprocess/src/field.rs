//! Stages 7 and 8, scale and centre: the ink scaled to fit MNIST's 20x20 box and placed in the
//! 28x28 field by its centre of mass; and the test that an image is already in that form.

use image::imageops::{self, FilterType};
use image::{ImageBuffer, Luma};
use mnist::{IMAGE_PIXELS, IMAGE_SIDE};

use crate::geometry::{bounding_box, centre_of_mass};
use crate::grey::Grey;

/// The box MNIST fits its digits into.
pub const BOX_SIDE: usize = 20;
/// Where a digit's centre of mass goes, in both coordinates.
const CENTRE: f64 = 14.0;

impl Grey {
    /// The longer side scaled to [`BOX_SIDE`], the aspect ratio kept, the maximum made 255.
    pub(super) fn fitted_to_box(&self) -> Patch {
        let longer = self.width.max(self.height) as f64;
        let side = |length: usize| {
            ((length as f64 * BOX_SIDE as f64 / longer).round() as usize).clamp(1, BOX_SIDE)
        };
        let (width, height) = (side(self.width), side(self.height));
        let source = ImageBuffer::from_fn(self.width as u32, self.height as u32, |x, y| {
            Luma([self.at(x as usize, y as usize)])
        });
        let scaled =
            imageops::resize(&source, width as u32, height as u32, FilterType::Lanczos3).into_raw();
        let peak = scaled.iter().copied().fold(0.0, f32::max).max(f32::EPSILON);
        Patch {
            width,
            height,
            pixels: scaled
                .iter()
                .map(|&value| (value.max(0.0) / peak * 255.0).round() as u8)
                .collect(),
        }
    }

    /// The pixels as they are, if the image is already in MNIST's form.
    pub(super) fn mnist_form(&self) -> Option<[u8; IMAGE_PIXELS]> {
        if (self.width, self.height) != (IMAGE_SIDE, IMAGE_SIDE) {
            return None;
        }
        let mut pixels = [0u8; IMAGE_PIXELS];
        for (out, &value) in pixels.iter_mut().zip(&self.pixels) {
            *out = (value * 255.0).round() as u8;
        }
        let background = pixels.iter().filter(|&&p| p == 0).count();
        let [left, top, right, bottom] = bounding_box(&pixels, IMAGE_SIDE)?;
        let (x, y) = centre_of_mass(&pixels, IMAGE_SIDE)?;
        let centred = |c: f64| (CENTRE - 0.5..=CENTRE + 0.5).contains(&c);
        (background * 2 >= IMAGE_PIXELS
            && right - left < BOX_SIDE
            && bottom - top < BOX_SIDE
            && centred(x)
            && centred(y))
        .then_some(pixels)
    }
}

/// The digit scaled to fit the 20x20 box.
pub(super) struct Patch {
    width: usize,
    height: usize,
    pixels: Vec<u8>,
}

/// The patch in a 28x28 field, shifted by whole pixels to put its centre of mass at (14, 14),
/// except where that would cut off ink.
pub(super) fn centred(patch: &Patch) -> [u8; IMAGE_PIXELS] {
    let (x, y) = centre_of_mass(&patch.pixels, patch.width).unwrap_or((0.0, 0.0));
    let offset = |com: f64, length: usize| {
        ((CENTRE - com).round().max(0.0) as usize).min(IMAGE_SIDE - length)
    };
    let (dx, dy) = (offset(x, patch.width), offset(y, patch.height));
    let mut field = [0u8; IMAGE_PIXELS];
    for (row, line) in patch.pixels.chunks_exact(patch.width).enumerate() {
        let start = (row + dy) * IMAGE_SIDE + dx;
        field[start..start + patch.width].copy_from_slice(line);
    }
    field
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn centring_puts_the_centre_of_mass_within_half_a_pixel_of_14() {
        let patch = Patch {
            width: 4,
            height: 20,
            pixels: (0..80).map(|i| if i / 4 < 5 { 255 } else { 60 }).collect(),
        };
        let field = centred(&patch);
        let (x, y) = centre_of_mass(&field, IMAGE_SIDE).expect("ink");
        assert!(
            (x - 14.0).abs() <= 0.5 && (y - 14.0).abs() <= 0.5,
            "({x}, {y})"
        );
        let [left, top, right, bottom] = bounding_box(&field, IMAGE_SIDE).expect("ink");
        assert_eq!((right - left + 1, bottom - top + 1), (4, 20));
    }

    #[test]
    fn centring_never_cuts_off_ink() {
        // All the mass in the top row: a full shift would push the patch off the field.
        let patch = Patch {
            width: 20,
            height: 20,
            pixels: (0..400).map(|i| if i < 20 { 255 } else { 1 }).collect(),
        };
        let field = centred(&patch);
        let [_, top, _, bottom] = bounding_box(&field, IMAGE_SIDE).expect("ink");
        assert_eq!((top, bottom), (8, 27));
    }
}
