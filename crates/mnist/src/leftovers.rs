//! What preprocessing a photo can leave beside a digit, imitated on training images.
//!
//! `infer` brings photos, whiteboards and screenshots into MNIST's form, and what it cannot
//! tell from the digit comes along: a piece of a printed line, a neighbour's stroke at an edge
//! of a digit cut from a number, a stroke cut by glare, a marker's thick stroke or a hairline, a
//! thumbnail's blur. Training on images carrying such leftovers teaches the network to read
//! past them. Each kind is applied to an image with its own probability, drawn from the
//! augmentation's random stream after the affine distortion.

use burn::config::Config;
use rand::{Rng, RngExt};

use crate::{IMAGE_PIXELS, IMAGE_SIDE, MnistError};

/// The probability of each kind of leftover, per training image (each in `0..=1`; all 0 by
/// default, which draws nothing and leaves the augmentation exactly as without this section).
#[derive(Config, Debug, PartialEq)]
pub struct LeftoverConfig {
    /// A straight piece of a printed line at any angle (ruled paper, a form, a frame).
    #[config(default = 0.0)]
    pub line: f32,
    /// A curved piece of a neighbouring digit at the left or right edge.
    #[config(default = 0.0)]
    pub neighbour: f32,
    /// A gap cut into a stroke (glare on a whiteboard, a pen skipping).
    #[config(default = 0.0)]
    pub gap: f32,
    /// Strokes thickened, as a marker writes.
    #[config(default = 0.0)]
    pub thick: f32,
    /// Strokes thinned towards a hairline.
    #[config(default = 0.0)]
    pub thin: f32,
    /// A blur, as a small thumbnail enlarged.
    #[config(default = 0.0)]
    pub blur: f32,
}

impl LeftoverConfig {
    /// Checks that every probability lies in `0..=1`.
    pub fn validate(&self) -> Result<(), MnistError> {
        for (name, value) in self.probabilities() {
            if !(0.0..=1.0).contains(&value) {
                return Err(MnistError::InvalidAugmentation {
                    name,
                    value,
                    reason: "is a probability: must be between 0 and 1",
                });
            }
        }
        Ok(())
    }

    fn probabilities(&self) -> [(&'static str, f32); 6] {
        [
            ("leftovers.line", self.line),
            ("leftovers.neighbour", self.neighbour),
            ("leftovers.gap", self.gap),
            ("leftovers.thick", self.thick),
            ("leftovers.thin", self.thin),
            ("leftovers.blur", self.blur),
        ]
    }

    /// Whether any kind is ever applied.
    pub fn any(&self) -> bool {
        self.probabilities().iter().any(|&(_, p)| p > 0.0)
    }

    /// Adds leftovers to `image` in place. Draws from `rng` only when [`Self::any`] holds.
    pub fn apply<R: Rng + ?Sized>(&self, image: &mut [u8; IMAGE_PIXELS], rng: &mut R) {
        if !self.any() {
            return;
        }
        // Stroke width first (it changes the digit), then what lies beside or across it.
        let mut chance = |p: f32| rng.random::<f32>() < p;
        let (thick, thin, gap, line, neighbour, blur) = (
            chance(self.thick),
            chance(self.thin),
            chance(self.gap),
            chance(self.line),
            chance(self.neighbour),
            chance(self.blur),
        );
        if thick {
            *image = neighbourhood(image, u8::max);
        } else if thin {
            let eroded = neighbourhood(image, u8::min);
            for (pixel, thinner) in image.iter_mut().zip(eroded) {
                *pixel = ((u16::from(*pixel) + u16::from(thinner)) / 2) as u8;
            }
        }
        if gap {
            cut_gap(image, rng);
        }
        if line {
            draw_line(image, rng);
        }
        if neighbour {
            draw_neighbour(image, rng);
        }
        if blur {
            *image = blurred(image);
        }
    }
}

/// Each pixel combined with its four neighbours (outside the image counts as background).
fn neighbourhood(image: &[u8; IMAGE_PIXELS], combine: fn(u8, u8) -> u8) -> [u8; IMAGE_PIXELS] {
    let at = |x: isize, y: isize| -> u8 {
        let side = IMAGE_SIDE as isize;
        if (0..side).contains(&x) && (0..side).contains(&y) {
            image[(y * side + x) as usize]
        } else {
            0
        }
    };
    let mut out = [0u8; IMAGE_PIXELS];
    for (i, pixel) in out.iter_mut().enumerate() {
        let (x, y) = ((i % IMAGE_SIDE) as isize, (i / IMAGE_SIDE) as isize);
        *pixel = [at(x - 1, y), at(x + 1, y), at(x, y - 1), at(x, y + 1)]
            .into_iter()
            .fold(image[i], combine);
    }
    out
}

/// A 3x3 binomial blur.
fn blurred(image: &[u8; IMAGE_PIXELS]) -> [u8; IMAGE_PIXELS] {
    const WEIGHTS: [u32; 3] = [1, 2, 1];
    let mut out = [0u8; IMAGE_PIXELS];
    for (i, pixel) in out.iter_mut().enumerate() {
        let (x, y) = (i % IMAGE_SIDE, i / IMAGE_SIDE);
        let mut sum = 0u32;
        for (dy, wy) in WEIGHTS.iter().enumerate() {
            for (dx, wx) in WEIGHTS.iter().enumerate() {
                let (sx, sy) = ((x + dx).wrapping_sub(1), (y + dy).wrapping_sub(1));
                if sx < IMAGE_SIDE && sy < IMAGE_SIDE {
                    sum += wx * wy * u32::from(image[sy * IMAGE_SIDE + sx]);
                }
            }
        }
        *pixel = ((sum + 8) / 16) as u8;
    }
    out
}

/// Paints `value * coverage(x, y)` over the image wherever it is brighter (`coverage` in 0..=1).
fn paint(image: &mut [u8; IMAGE_PIXELS], value: f32, coverage: impl Fn(f32, f32) -> f32) {
    for (i, pixel) in image.iter_mut().enumerate() {
        let (x, y) = ((i % IMAGE_SIDE) as f32, (i / IMAGE_SIDE) as f32);
        let painted = (value * coverage(x, y).clamp(0.0, 1.0) + 0.5) as u8;
        *pixel = (*pixel).max(painted);
    }
}

/// A straight segment 10 to 40 pixels long at any angle, 1 to 2.5 pixels wide, somewhere in
/// the picture.
fn draw_line<R: Rng + ?Sized>(image: &mut [u8; IMAGE_PIXELS], rng: &mut R) {
    let side = IMAGE_SIDE as f32;
    let (cx, cy) = (rng.random::<f32>() * side, rng.random::<f32>() * side);
    let (sin, cos) = (rng.random::<f32>() * std::f32::consts::PI).sin_cos();
    let half_length = 5.0 + 15.0 * rng.random::<f32>();
    let half_width = 0.5 + 0.75 * rng.random::<f32>();
    let value = 110.0 + 145.0 * rng.random::<f32>();
    paint(image, value, |x, y| {
        let (dx, dy) = (x - cx, y - cy);
        let along = (dx * cos + dy * sin).abs();
        let across = (dx * sin - dy * cos).abs();
        (half_width + 0.5 - across).min(half_length - along + 0.5)
    });
}

/// Part of an ellipse whose centre lies just beyond the left or right edge: the nearest stroke
/// of the digit beside this one in a written number.
fn draw_neighbour<R: Rng + ?Sized>(image: &mut [u8; IMAGE_PIXELS], rng: &mut R) {
    let last = IMAGE_SIDE as f32 - 1.0;
    let beyond = -4.0 + 5.0 * rng.random::<f32>();
    let cx = if rng.random::<bool>() {
        beyond
    } else {
        last - beyond
    };
    let cy = 6.0 + 16.0 * rng.random::<f32>();
    let (rx, ry) = (
        3.0 + 4.0 * rng.random::<f32>(),
        4.0 + 6.0 * rng.random::<f32>(),
    );
    let half_width = 0.8 + 0.8 * rng.random::<f32>();
    let value = 160.0 + 95.0 * rng.random::<f32>();
    paint(image, value, |x, y| {
        let (u, v) = ((x - cx) / rx, (y - cy) / ry);
        // Distance to the ellipse, approximately: the radial error scaled to pixels.
        let across = ((u * u + v * v).sqrt() - 1.0).abs() * rx.min(ry);
        half_width + 0.5 - across
    });
}

/// A disc of radius 1 to 2.5 pixels erased around a random pixel of the digit's ink.
fn cut_gap<R: Rng + ?Sized>(image: &mut [u8; IMAGE_PIXELS], rng: &mut R) {
    let ink: Vec<usize> = (0..IMAGE_PIXELS).filter(|&i| image[i] > 128).collect();
    if ink.is_empty() {
        return;
    }
    let centre = ink[(rng.random::<f32>() * ink.len() as f32) as usize % ink.len()];
    let (cx, cy) = ((centre % IMAGE_SIDE) as f32, (centre / IMAGE_SIDE) as f32);
    let radius = 1.0 + 1.5 * rng.random::<f32>();
    for (i, pixel) in image.iter_mut().enumerate() {
        let (dx, dy) = ((i % IMAGE_SIDE) as f32 - cx, (i / IMAGE_SIDE) as f32 - cy);
        let keep = ((dx * dx + dy * dy).sqrt() - radius).clamp(0.0, 1.0);
        *pixel = (f32::from(*pixel) * keep + 0.5) as u8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    /// A vertical bar two pixels wide in the middle.
    fn bar() -> [u8; IMAGE_PIXELS] {
        let mut image = [0u8; IMAGE_PIXELS];
        for y in 6..22 {
            image[y * IMAGE_SIDE + 13] = 255;
            image[y * IMAGE_SIDE + 14] = 255;
        }
        image
    }

    fn ink(image: &[u8]) -> u32 {
        image.iter().map(|&p| u32::from(p)).sum()
    }

    fn applied(config: LeftoverConfig, seed: u64) -> [u8; IMAGE_PIXELS] {
        let mut image = bar();
        config.apply(&mut image, &mut StdRng::seed_from_u64(seed));
        image
    }

    #[test]
    fn all_zero_draws_nothing_and_changes_nothing() {
        let mut rng = StdRng::seed_from_u64(3);
        let mut image = bar();
        LeftoverConfig::new().apply(&mut image, &mut rng);
        assert_eq!(image, bar());
        // The stream is untouched: the next draw is the seed's first.
        assert_eq!(
            rng.random::<u64>(),
            StdRng::seed_from_u64(3).random::<u64>()
        );
    }

    #[test]
    fn thick_adds_ink_beside_the_stroke_and_thin_removes_some() {
        let thick = applied(LeftoverConfig::new().with_thick(1.0), 1);
        assert_eq!(thick[10 * IMAGE_SIDE + 12], 255, "left of the bar");
        assert_eq!(thick[10 * IMAGE_SIDE + 15], 255, "right of the bar");
        let thin = applied(LeftoverConfig::new().with_thin(1.0), 1);
        assert!(ink(&thin) < ink(&bar()) && ink(&thin) > ink(&bar()) / 4);
    }

    #[test]
    fn line_and_neighbour_add_ink_away_from_the_bar() {
        for seed in 0..20 {
            for config in [
                LeftoverConfig::new().with_line(1.0),
                LeftoverConfig::new().with_neighbour(1.0),
            ] {
                let image = applied(config.clone(), seed);
                let outside = |img: &[u8; IMAGE_PIXELS]| {
                    ink(img)
                        - (6..22)
                            .map(|y| ink(&img[y * 28 + 13..y * 28 + 15]))
                            .sum::<u32>()
                };
                assert!(outside(&image) > 0, "{config:?} seed {seed} drew nothing");
                // The digit itself is never dimmed.
                assert!((6..22).all(|y| image[y * 28 + 13] == 255));
            }
        }
    }

    #[test]
    fn neighbour_stays_near_an_edge() {
        for seed in 0..20 {
            let image = applied(LeftoverConfig::new().with_neighbour(1.0), seed);
            for y in 0..IMAGE_SIDE {
                for x in 11..17 {
                    if !(13..15).contains(&x) || !(6..22).contains(&y) {
                        assert_eq!(image[y * IMAGE_SIDE + x], 0, "seed {seed} at ({x}, {y})");
                    }
                }
            }
        }
    }

    #[test]
    fn gap_removes_ink_from_the_stroke() {
        let image = applied(LeftoverConfig::new().with_gap(1.0), 5);
        assert!(ink(&image) < ink(&bar()));
        assert!(ink(&image) > ink(&bar()) / 2);
    }

    #[test]
    fn blur_keeps_the_ink_and_spreads_it() {
        let image = applied(LeftoverConfig::new().with_blur(1.0), 5);
        let (before, after) = (ink(&bar()) as f32, ink(&image) as f32);
        assert!((after / before - 1.0).abs() < 0.02, "{before} -> {after}");
        assert!(image[10 * IMAGE_SIDE + 12] > 0 && image[10 * IMAGE_SIDE + 13] < 255);
    }

    #[test]
    fn probabilities_outside_zero_to_one_are_rejected() {
        for config in [
            LeftoverConfig::new().with_line(1.5),
            LeftoverConfig::new().with_blur(-0.1),
            LeftoverConfig::new().with_gap(f32::NAN),
        ] {
            let error = config.validate().unwrap_err();
            assert!(
                matches!(error, MnistError::InvalidAugmentation { .. }),
                "{error}"
            );
        }
        assert!(LeftoverConfig::new().with_thick(1.0).validate().is_ok());
    }
}
