//! From a user's image to MNIST's form: a 28x28 u8 image, light ink on a background of exactly
//! 0, the digit scaled to fit a 20x20 box and centred by its centre of mass.
//!
//! [`read_image`] and [`decode_image`] decode a file or an upload safely: the format told by
//! content, the size checked before any pixel is decoded (a decompression bomb is refused),
//! a truncated JPEG refused rather than completed with grey.
//!
//! MNIST's digits were size-normalised to fit a 20x20 box keeping their aspect ratio
//! (anti-aliased), then placed in a 28x28 field so that their centre of mass sits at the centre.
//! [`to_mnist`] repeats that recipe on photos, scans, drawings and screenshots:
//!
//! 1. **Grey.** Colour becomes luma (Rec. 709 weights). Transparent pixels are composited onto
//!    the background their image implies: strokes on a mostly transparent canvas get the
//!    background that contrasts with them (dark strokes: white; light strokes: black); a mostly
//!    opaque image gets the median grey of its opaque pixels (its paper). Images larger than
//!    [`WORKING_SIDE`] are reduced by block averaging first, which anti-aliases and bounds the
//!    work.
//! 2. **Background.** A quadratic surface fitted robustly to the background (the ink excluded
//!    by iterative clipping, starting from the values on the image's border, which is paper
//!    even where thick marker covers a third of the picture or more) is subtracted, which
//!    removes the paper's level and a lighting gradient or vignetting.
//! 3. **Polarity.** The ink is on whichever side of the background holds more contrast: dark
//!    ink on light paper is inverted, because MNIST's ink is light on dark. In a photo (at least
//!    [`PHOTO_PIXELS`] pixels), where a shadow can cover most of the paper and outweigh the
//!    ink, the ink is instead the polarity of the thin features (the background module's grey
//!    top-hats at widening squares), and what light the quadratic could not follow (a shadow's
//!    edge, a bright corner) is removed as what is too broad to be a stroke: a top-hat by a
//!    square twice as wide as the strokes. What stays within 4 noise deviations (or 5% of the
//!    ink's peak) of the background is set to exactly 0, and the strokes' typical core level
//!    becomes full ink, as in MNIST's scans. The noise is the fit's deviation or that of
//!    neighbours' differences, whichever is smaller (a shadow inflates the first), or what is
//!    left beside the ink, if more.
//! 4. **Printed lines.** Rules, grids and form boxes are found by their structure: sets of long
//!    straight runs of thin ink that span the picture, end on such lines at both ends (the
//!    walls of boxes in a row) or make up a rectangle (a box). Their pixels are removed except
//!    where a stroke crosses them (where the ink across is thicker than the line), so that the
//!    digit is neither joined to them nor cut.
//! 5. **Crop.** Connected ink components (8-connected) with less than a tenth of the largest
//!    one's ink are specks of noise and are removed; the crop is the bounding box of the rest.
//! 6. **Strokes.** A pen or a thin brush draws strokes far thinner, relative to the digit, than
//!    MNIST's. The mean stroke width (twice the area over the perimeter of the half-peak
//!    region) is measured; where it would be thinner than [`MIN_STROKE`] pixels in the 20x20
//!    box (about MNIST's 10th percentile), the strokes are thickened (a grey dilation) to it.
//! 7. **Scale.** The longer side becomes 20 pixels, keeping the aspect ratio, with a Lanczos-3
//!    filter widened by the reduction ratio (true anti-aliasing); the ink's maximum becomes 255.
//! 8. **Centre.** The 20x20 patch is placed in the 28x28 field by a whole-pixel shift that puts
//!    its centre of mass at (14, 14) to within half a pixel, as MNIST did. Coordinates: pixel
//!    (row r, column c) is the point (c, r), so the field's geometric centre is (13.5, 13.5);
//!    on MNIST's test set every digit's centre of mass lies in [13.5, 14.5] on both axes. Only
//!    where that shift would push ink out of the field is it limited, keeping all the ink.
//!
//! An image already in that form (28x28, background exactly 0, ink within 20x20 and centred as
//! above), such as an MNIST digit, is returned unchanged, byte for byte.
//!
//! This crate is the image side alone (no model, no Burn), so that it is compiled fully
//! optimised while the crates that instantiate Burn's generic code are not (README, "Build");
//! `infer` re-exports it.
//!
//! # Example
//! A dark "1" drawn off centre on paper lit unevenly (lighter to the right):
//! ```
//! use image::{DynamicImage, Luma, GrayImage};
//!
//! let photo = GrayImage::from_fn(300, 200, |x, y| {
//!     let stroke = (200..212).contains(&x) && (30..170).contains(&y);
//!     Luma([if stroke { 40 } else { 150 + (x / 4) as u8 }])
//! });
//! let digit = preprocess::to_mnist(&DynamicImage::ImageLuma8(photo)).expect("a digit");
//!
//! // Light ink on a background of exactly 0, 20 pixels tall, its centre of mass on row 14.
//! assert_eq!(digit.iter().max(), Some(&255));
//! assert_eq!(digit[0], 0);
//! let rows: Vec<usize> = (0..28).filter(|r| digit[r * 28..][..28].iter().any(|&p| p > 0)).collect();
//! assert_eq!(rows, (5..25).collect::<Vec<_>>());
//! ```

mod background;
mod decode;
mod error;
mod lines;

use std::collections::VecDeque;
use std::path::Path;

use image::imageops::{self, FilterType};
use image::{DynamicImage, ImageBuffer, ImageError, Luma, Rgb, RgbImage};
use mnist::{IMAGE_PIXELS, IMAGE_SIDE};

use background::Surface;
pub use decode::{MAX_PIXELS, MAX_SIDE, decode_image, read_image};
pub use error::DecodeError;

/// Images with a longer side are reduced to about this many pixels before the rest of the
/// work: a digit needs far fewer, and it bounds the time and memory spent on a photo.
pub const WORKING_SIDE: usize = 1024;
/// The box MNIST fits its digits into.
pub const BOX_SIDE: usize = 20;
/// The thinnest mean stroke width, in pixels of the 20x20 box, left as it is.
pub const MIN_STROKE: f64 = 1.5;

/// Pictures of at least this many pixels are photos: their light may be uneven beyond what a
/// quadratic follows, and their digit is small in them. Smaller ones are scans, crops and
/// drawings, lit evenly enough, whose ink may be as thick as their holes are wide.
pub const PHOTO_PIXELS: u64 = 700_000;
/// Where a digit's centre of mass goes, in both coordinates.
const CENTRE: f64 = 14.0;
/// An image without a pixel this much (on a 0..1 scale) above its background holds no digit.
const MIN_CONTRAST: f32 = 0.1;
/// Differences from the background this small (0..1 scale) never count when judging the
/// polarity, so that paper grain and JPEG noise cannot decide it.
const POLARITY_NOISE: f32 = 0.02;
/// Ink components with less than this fraction of the largest component's ink are noise.
const SPECK_FRACTION: f32 = 0.1;

/// Turns an image into MNIST's form (see the module documentation); `None` when no digit
/// stands out from the background.
pub fn to_mnist(image: &DynamicImage) -> Option<[u8; IMAGE_PIXELS]> {
    preprocessed(image, false).map(|(pixels, _)| pixels)
}

/// [`to_mnist`], and a picture of what was removed on the way, at the working resolution
/// (see [`WORKING_SIDE`]): the ink kept in grey, printed lines removed in red, light too broad
/// to be a stroke (a shadow's edge) in blue. An image already in MNIST's form is its own
/// picture.
pub fn to_mnist_showing_removed(image: &DynamicImage) -> Option<([u8; IMAGE_PIXELS], RgbImage)> {
    let (pixels, removed) = preprocessed(image, true)?;
    Some((pixels, removed?))
}

fn preprocessed(
    image: &DynamicImage,
    show: bool,
) -> Option<([u8; IMAGE_PIXELS], Option<RgbImage>)> {
    if image.width() == 0 || image.height() == 0 {
        return None;
    }
    let grey = Grey::composited(image);
    if let Some(pixels) = grey.mnist_form() {
        let picture = show.then(|| removal_picture(&grey, &grey, &[]));
        return Some((pixels, picture));
    }
    let photo = u64::from(image.width()) * u64::from(image.height()) >= PHOTO_PIXELS;
    let (ink, light) = grey.ink(photo)?;
    let before = show.then(|| ink.clone());
    let ink = ink.without_lines();
    let picture = before.map(|before| removal_picture(&before, &ink, &light));
    let ink = ink.without_specks()?;
    let radius = ink.thickening_radius();
    let ink = ink.thickened(radius);
    Some((centred(&ink.fitted_to_box()), picture))
}

/// The ink `kept` in grey over what was ink `before` the printed lines went (red) and what was
/// removed as `light` (blue).
fn removal_picture(before: &Grey, kept: &Grey, light: &[bool]) -> RgbImage {
    RgbImage::from_fn(kept.width as u32, kept.height as u32, |x, y| {
        let index = y as usize * kept.width + x as usize;
        let value = kept.pixels[index];
        if value > 0.0 {
            let level = (value.min(1.0) * 255.0).round() as u8;
            Rgb([level; 3])
        } else if before.pixels[index] > 0.0 {
            Rgb([220, 40, 40])
        } else if light.get(index).copied().unwrap_or(false) {
            Rgb([40, 90, 220])
        } else {
            Rgb([0; 3])
        }
    })
}

/// Writes a 28x28 image as a greyscale PNG.
pub fn save_png(pixels: &[u8; IMAGE_PIXELS], path: &Path) -> Result<(), ImageError> {
    let side = IMAGE_SIDE as u32;
    image::save_buffer(path, pixels, side, side, image::ExtendedColorType::L8)
}

/// Reads one value (a luma, an alpha) on a 0..1 scale from a pixel's samples.
type Read<'a, S, const CHANNELS: usize> = dyn Fn(&[S; CHANNELS]) -> f32 + Sync + 'a;

/// A single-channel image with values in 0..=1.
#[derive(Clone, Debug)]
struct Grey {
    width: usize,
    height: usize,
    pixels: Vec<f32>,
}

impl Grey {
    fn new(width: usize, height: usize) -> Self {
        Self {
            width,
            height,
            pixels: vec![0.0; width * height],
        }
    }

    fn at(&self, x: usize, y: usize) -> f32 {
        self.pixels[y * self.width + x]
    }

    /// Means of `factor` x `factor` blocks (smaller at the right and bottom edges).
    fn block_mean(&self, factor: usize) -> Grey {
        let mut out = Grey::new(self.width.div_ceil(factor), self.height.div_ceil(factor));
        let mut counts = vec![0u32; out.pixels.len()];
        for y in 0..self.height {
            for x in 0..self.width {
                let index = (y / factor) * out.width + x / factor;
                out.pixels[index] += self.at(x, y);
                counts[index] += 1;
            }
        }
        for (value, count) in out.pixels.iter_mut().zip(counts) {
            *value /= count as f32;
        }
        out
    }

    /// A robust standard deviation of the values not clearly ink (below a quarter of `peak`).
    fn leftover_noise(&self, peak: f32) -> f32 {
        let stride = (self.pixels.len() / 50_000).max(1);
        let values = self
            .pixels
            .iter()
            .step_by(stride)
            .filter(|v| v.abs() < 0.25 * peak)
            .map(|v| v.abs())
            .collect();
        1.4826 * median(values)
    }

    /// The noise's standard deviation from differences of horizontal neighbours (robustly:
    /// edges are few), which neither the paper's level nor uneven light affects.
    fn difference_noise(&self) -> f32 {
        let stride = (self.pixels.len() / 50_000).max(1);
        let differences = self
            .pixels
            .chunks_exact(self.width)
            .flat_map(|row| row.windows(2).map(|pair| (pair[1] - pair[0]).abs()))
            .step_by(stride)
            .collect();
        1.4826 * median(differences) / std::f32::consts::SQRT_2
    }

    /// Luma with transparency composited, reduced by block averaging to at most about
    /// [`WORKING_SIDE`] on the longer side.
    fn composited(image: &DynamicImage) -> Self {
        let (width, height) = (image.width() as usize, image.height() as usize);
        let unit = |v: u8| f32::from(v) / 255.0;
        // Each channel's share of the luma for every 8-bit value, looked up rather than
        // divided and weighted at each of a photo's millions of pixels.
        let share = |weight: f32| -> [f32; 256] { std::array::from_fn(|v| weight * unit(v as u8)) };
        let (red, green, blue) = (share(0.2126), share(0.7152), share(0.0722));
        let rgb =
            |[r, g, b]: [u8; 3]| red[usize::from(r)] + green[usize::from(g)] + blue[usize::from(b)];
        // The common 8-bit layouts are read in place; others are converted first.
        match image {
            DynamicImage::ImageLuma8(buffer) => {
                Self::reduced::<_, 1>(width, height, buffer.as_raw(), None, |[v]| unit(*v))
            }
            DynamicImage::ImageLumaA8(buffer) => Self::reduced::<_, 2>(
                width,
                height,
                buffer.as_raw(),
                Some(&|[_, a]| unit(*a)),
                |[v, _]| unit(*v),
            ),
            DynamicImage::ImageRgb8(buffer) => {
                Self::reduced::<_, 3>(width, height, buffer.as_raw(), None, |[r, g, b]| {
                    rgb([*r, *g, *b])
                })
            }
            DynamicImage::ImageRgba8(buffer) => Self::reduced::<_, 4>(
                width,
                height,
                buffer.as_raw(),
                Some(&|[_, _, _, a]| unit(*a)),
                |[r, g, b, _]| rgb([*r, *g, *b]),
            ),
            other => {
                let unit = |v: u16| f32::from(v) / f32::from(u16::MAX);
                let buffer = other.to_luma_alpha16();
                Self::reduced::<_, 2>(
                    width,
                    height,
                    buffer.as_raw(),
                    Some(&|[_, a]| unit(*a)),
                    |[v, _]| unit(*v),
                )
            }
        }
    }

    /// Composites and block-averages pixels of `CHANNELS` interleaved samples; `luma` and
    /// `alpha` (absent: opaque) read a pixel's, on a 0..1 scale.
    fn reduced<S: Sync, const CHANNELS: usize>(
        width: usize,
        height: usize,
        samples: &[S],
        alpha: Option<&Read<'_, S, CHANNELS>>,
        luma: impl Fn(&[S; CHANNELS]) -> f32 + Sync,
    ) -> Self {
        let pixels = || samples.as_chunks::<CHANNELS>().0.iter();
        let alpha = alpha.filter(|alpha| pixels().any(|p| alpha(p) < 1.0));
        let factor = width.max(height).div_ceil(WORKING_SIDE).max(1);
        let mut grey = Grey::new(width.div_ceil(factor), height.div_ceil(factor));
        // Adds each pixel's value into its block: the top half of the blocks on another core.
        fn accumulate<S: Sync, const CHANNELS: usize>(
            grey: &mut Grey,
            samples: &[S],
            (width, factor): (usize, usize),
            value: impl Fn(&[S; CHANNELS]) -> f32 + Sync,
        ) {
            let rows = |out: &mut [f32], samples: &[S]| {
                let lines = out.chunks_exact_mut(grey.width);
                for (out, rows) in lines.zip(samples.chunks(width * CHANNELS * factor)) {
                    for row in rows.chunks_exact(width * CHANNELS) {
                        let row = row.as_chunks::<CHANNELS>().0;
                        for (out, block) in out.iter_mut().zip(row.chunks(factor)) {
                            *out += block.iter().map(&value).sum::<f32>();
                        }
                    }
                }
            };
            let top = grey.height.div_ceil(2);
            let (top_out, bottom_out) = grey.pixels.split_at_mut(top * grey.width);
            let (top_samples, bottom_samples) =
                samples.split_at((top * factor * width * CHANNELS).min(samples.len()));
            std::thread::scope(|scope| {
                scope.spawn(|| rows(top_out, top_samples));
                rows(bottom_out, bottom_samples);
            });
        }
        // Opaque images (nearly all) go without the compositing arithmetic.
        match alpha {
            None => accumulate(&mut grey, samples, (width, factor), luma),
            Some(alpha) => {
                let background = implied_background(pixels().map(|p| (luma(p), alpha(p))));
                accumulate(&mut grey, samples, (width, factor), |p| {
                    let a = alpha(p);
                    a * luma(p) + (1.0 - a) * background
                });
            }
        }
        let block = |i: usize, length: usize| (length - i * factor).min(factor);
        for y in 0..grey.height {
            for x in 0..grey.width {
                grey.pixels[y * grey.width + x] /= (block(x, width) * block(y, height)) as f32;
            }
        }
        grey
    }

    /// The pixels as they are, if the image is already in MNIST's form.
    fn mnist_form(&self) -> Option<[u8; IMAGE_PIXELS]> {
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

    /// The ink alone, light on a background of exactly 0; `None` if nothing stands out.
    /// Also returns which pixels were ink until broad light was removed (a shadow's edge);
    /// empty where none was.
    fn ink(mut self, photo: bool) -> Option<(Grey, Vec<bool>)> {
        let (surface, fit_noise) = Surface::fit_background(&self);
        surface.subtract_from(&mut self);
        let strokes = photo.then(|| background::strokes(&self)).flatten();
        let dark = match &strokes {
            Some(strokes) => strokes.dark,
            None => self.darker_has_more_contrast(fit_noise),
        };
        if dark {
            self.pixels.iter_mut().for_each(|value| *value = -*value);
        }
        let mut lit = None;
        if let Some(strokes) = strokes {
            let kept = background::top_hat(&self, strokes.side);
            lit = Some(std::mem::replace(&mut self, kept));
        }
        // A shadow's edge or a bright corner inflates the fit's deviation; neighbours'
        // differences are not affected by either.
        let noise = fit_noise.min(self.difference_noise());
        let peak = self.pixels.iter().copied().fold(0.0, f32::max);
        // What light is left beside the ink (JPEG's blocks, a shadow's fringe) is noise to the
        // threshold as much as the sensor's grain.
        let noise = noise.max(self.leftover_noise(peak));
        if peak < MIN_CONTRAST.max(8.0 * noise) {
            return None;
        }
        let threshold = (4.0 * noise).max(0.05 * peak);
        let light = lit.map_or_else(Vec::new, |lit| {
            lit.pixels
                .iter()
                .zip(&self.pixels)
                .map(|(&l, &v)| l > threshold && v <= threshold)
                .collect()
        });
        for value in &mut self.pixels {
            *value = (*value - threshold).max(0.0);
        }
        // MNIST's strokes come from bilevel scans: their cores are full ink. A pen's or a
        // pencil's are not, so the typical core level (the median of the pixels above half the
        // peak) becomes full ink.
        let cores = self
            .pixels
            .iter()
            .copied()
            .filter(|&value| value >= 0.5 * (peak - threshold))
            .collect();
        let level = median(cores);
        for value in &mut self.pixels {
            *value = (*value / level).min(1.0);
        }
        Some((self, light))
    }

    /// With the paper's level and gradient gone, whether the darker side of 0 holds more
    /// contrast than the lighter; differences within the noise do not count.
    fn darker_has_more_contrast(&self, noise: f32) -> bool {
        let margin = (4.0 * noise).max(POLARITY_NOISE);
        let (mut lighter, mut darker) = (0.0f64, 0.0f64);
        for &value in &self.pixels {
            lighter += f64::from((value - margin).max(0.0));
            darker += f64::from((-value - margin).max(0.0));
        }
        darker > lighter
    }

    /// A copy negated where `negate`.
    fn signed(&self, negate: bool) -> Grey {
        let sign = if negate { -1.0 } else { 1.0 };
        Grey {
            width: self.width,
            height: self.height,
            pixels: self.pixels.iter().map(|v| sign * v).collect(),
        }
    }

    /// The mean over each pixel's 3x3 neighbourhood (clipped at the edges).
    fn box_blurred(&self) -> Grey {
        let (w, h) = (self.width, self.height);
        let mut across = Grey::new(w, h);
        for y in 0..h {
            for x in 0..w {
                let window = x.saturating_sub(1)..(x + 2).min(w);
                let n = window.len() as f32;
                across.pixels[y * w + x] = window.map(|i| self.at(i, y)).sum::<f32>() / n;
            }
        }
        let mut out = Grey::new(w, h);
        for y in 0..h {
            for x in 0..w {
                let window = y.saturating_sub(1)..(y + 2).min(h);
                let n = window.len() as f32;
                out.pixels[y * w + x] = window.map(|j| across.at(x, j)).sum::<f32>() / n;
            }
        }
        out
    }

    /// The bounding box of the ink without specks of noise; `None` if no ink is left.
    fn without_specks(mut self) -> Option<Grey> {
        let (labels, masses) = components(&self);
        let largest = masses.iter().copied().fold(0.0, f32::max);
        if largest <= 0.0 {
            return None;
        }
        let (mut left, mut top, mut right, mut bottom) = (usize::MAX, usize::MAX, 0, 0);
        for y in 0..self.height {
            for x in 0..self.width {
                let index = y * self.width + x;
                match labels[index] as usize {
                    label if masses[label] >= SPECK_FRACTION * largest => {
                        (left, top) = (left.min(x), top.min(y));
                        (right, bottom) = (right.max(x), bottom.max(y));
                    }
                    _ => self.pixels[index] = 0.0,
                }
            }
        }
        Some(self.cropped(left, top, right + 1 - left, bottom + 1 - top))
    }

    fn cropped(&self, left: usize, top: usize, width: usize, height: usize) -> Grey {
        let mut out = Grey::new(width, height);
        for y in 0..height {
            let row = (top + y) * self.width + left;
            out.pixels[y * width..(y + 1) * width].copy_from_slice(&self.pixels[row..row + width]);
        }
        out
    }

    /// How many pixels to dilate by so that the mean stroke width reaches [`MIN_STROKE`] once
    /// the longer side is [`BOX_SIDE`] pixels.
    fn thickening_radius(&self) -> usize {
        let peak = self.pixels.iter().copied().fold(0.0, f32::max);
        let inside = |x: isize, y: isize| {
            x >= 0
                && y >= 0
                && (x as usize) < self.width
                && (y as usize) < self.height
                && self.at(x as usize, y as usize) >= 0.5 * peak
        };
        let (mut area, mut perimeter) = (0usize, 0usize);
        for y in 0..self.height as isize {
            for x in 0..self.width as isize {
                if inside(x, y) {
                    area += 1;
                    perimeter += [(1, 0), (-1, 0), (0, 1), (0, -1)]
                        .into_iter()
                        .filter(|(dx, dy)| !inside(x + dx, y + dy))
                        .count();
                }
            }
        }
        let scale = self.width.max(self.height) as f64 / BOX_SIDE as f64;
        let width_in_box = 2.0 * area as f64 / perimeter.max(1) as f64 / scale;
        if width_in_box >= MIN_STROKE {
            return 0;
        }
        ((MIN_STROKE - width_in_box) / 2.0 * scale).round() as usize
    }

    /// Grey dilation by a square of side `2 * radius + 1`, on a canvas grown by `radius`.
    fn thickened(self, radius: usize) -> Grey {
        if radius == 0 {
            return self;
        }
        let mut grown = Grey::new(self.width + 2 * radius, self.height + 2 * radius);
        for y in 0..self.height {
            let row = (y + radius) * grown.width + radius;
            grown.pixels[row..row + self.width]
                .copy_from_slice(&self.pixels[y * self.width..(y + 1) * self.width]);
        }
        let (w, h) = (grown.width, grown.height);
        let mut across = Grey::new(w, h);
        for y in 0..h {
            for x in 0..w {
                let window = x.saturating_sub(radius)..(x + radius + 1).min(w);
                across.pixels[y * w + x] = window.map(|i| grown.at(i, y)).fold(0.0, f32::max);
            }
        }
        for y in 0..h {
            for x in 0..w {
                let window = y.saturating_sub(radius)..(y + radius + 1).min(h);
                grown.pixels[y * w + x] = window.map(|j| across.at(x, j)).fold(0.0, f32::max);
            }
        }
        grown
    }

    /// The longer side scaled to [`BOX_SIDE`], the aspect ratio kept, the maximum made 255.
    fn fitted_to_box(&self) -> Patch {
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
}

/// The digit scaled to fit the 20x20 box.
struct Patch {
    width: usize,
    height: usize,
    pixels: Vec<u8>,
}

/// The patch in a 28x28 field, shifted by whole pixels to put its centre of mass at (14, 14),
/// except where that would cut off ink.
fn centred(patch: &Patch) -> [u8; IMAGE_PIXELS] {
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

/// The background to composite transparent pixels onto (0..1), as the image implies it, from
/// every pixel's luma and alpha.
fn implied_background(pixels: impl Iterator<Item = (f32, f32)>) -> f32 {
    let mut histogram = [0u64; 256];
    let (mut coverage, mut count) = (0.0f64, 0u64);
    for (luma, alpha) in pixels {
        coverage += f64::from(alpha);
        count += 1;
        if alpha >= 0.5 {
            histogram[(luma * 255.0).round().clamp(0.0, 255.0) as usize] += 1;
        }
    }
    let opaque: u64 = histogram.iter().sum();
    if opaque == 0 {
        return 1.0;
    }
    let mut seen = 0;
    let median = histogram
        .iter()
        .position(|&count| {
            seen += count;
            seen * 2 >= opaque
        })
        .unwrap_or(255) as f32
        / 255.0;
    if coverage * 2.0 > count as f64 {
        // Mostly opaque: the opaque part is the paper; transparency continues it.
        median
    } else if median < 0.5 {
        // Dark strokes on a transparent canvas: they are meant to be seen on light.
        1.0
    } else {
        0.0
    }
}

/// The label of the pixels in no component.
const BACKGROUND: u32 = 0;

/// 8-connected components of the non-zero pixels: each pixel's label (from 1; 32 bits, a
/// quarter of the memory of a `usize` option) and each label's ink (0 for [`BACKGROUND`]).
fn components(image: &Grey) -> (Vec<u32>, Vec<f32>) {
    let (w, h) = (image.width, image.height);
    let mut labels = vec![BACKGROUND; image.pixels.len()];
    let mut masses = vec![0.0];
    let mut queue = VecDeque::new();
    for start in 0..image.pixels.len() {
        if image.pixels[start] <= 0.0 || labels[start] != BACKGROUND {
            continue;
        }
        let label = masses.len() as u32;
        let mut mass = 0.0;
        labels[start] = label;
        queue.push_back(start);
        while let Some(index) = queue.pop_front() {
            mass += image.pixels[index];
            let (x, y) = (index % w, index / w);
            for ny in y.saturating_sub(1)..(y + 2).min(h) {
                for nx in x.saturating_sub(1)..(x + 2).min(w) {
                    let neighbour = ny * w + nx;
                    if image.pixels[neighbour] > 0.0 && labels[neighbour] == BACKGROUND {
                        labels[neighbour] = label;
                        queue.push_back(neighbour);
                    }
                }
            }
        }
        masses.push(mass);
    }
    (labels, masses)
}

/// `[left, top, right, bottom]` (inclusive) of the non-zero pixels of a row-major image.
fn bounding_box(pixels: &[u8], width: usize) -> Option<[usize; 4]> {
    let mut found: Option<[usize; 4]> = None;
    for (index, _) in pixels.iter().enumerate().filter(|(_, p)| **p > 0) {
        let (x, y) = (index % width, index / width);
        found = Some(match found {
            None => [x, y, x, y],
            Some([l, t, r, b]) => [l.min(x), t.min(y), r.max(x), b.max(y)],
        });
    }
    found
}

/// The intensity-weighted mean (x, y) of a row-major image, pixel (row r, column c) at (c, r).
fn centre_of_mass(pixels: &[u8], width: usize) -> Option<(f64, f64)> {
    let (mut total, mut sx, mut sy) = (0.0, 0.0, 0.0);
    for (index, &p) in pixels.iter().enumerate() {
        let p = f64::from(p);
        total += p;
        sx += p * (index % width) as f64;
        sy += p * (index / width) as f64;
    }
    (total > 0.0).then(|| (sx / total, sy / total))
}

/// A row-major `width` x `height` array transposed (its columns become rows).
fn transposed<T: Copy + Default>(values: &[T], width: usize, height: usize) -> Vec<T> {
    let mut out = vec![T::default(); values.len()];
    for y in 0..height {
        for x in 0..width {
            out[x * height + y] = values[y * width + x];
        }
    }
    out
}

fn median(mut values: Vec<f32>) -> f32 {
    if values.is_empty() {
        return 0.0;
    }
    let middle = values.len() / 2;
    *values.select_nth_unstable_by(middle, f32::total_cmp).1
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn grey(width: usize, height: usize, f: impl Fn(usize, usize) -> f32) -> Grey {
        let mut image = Grey::new(width, height);
        for y in 0..height {
            for x in 0..width {
                image.pixels[y * width + x] = f(x, y);
            }
        }
        image
    }

    #[test]
    fn specks_are_removed_and_the_crop_is_the_digit() {
        let image = grey(60, 60, |x, y| {
            let bar = (20..25).contains(&x) && (10..50).contains(&y);
            let speck = (x, y) == (55, 3);
            if bar || speck { 1.0 } else { 0.0 }
        });
        let cropped = image.without_specks().expect("ink");
        assert_eq!((cropped.width, cropped.height), (5, 40));
        assert!(cropped.pixels.iter().all(|&v| v == 1.0));
    }

    #[test]
    fn thin_strokes_are_thickened_and_thick_ones_left() {
        // A one-pixel line 200 pixels long is 0.1 pixels wide in the 20x20 box.
        let thin = grey(3, 200, |x, _| if x == 1 { 1.0 } else { 0.0 });
        let radius = thin.thickening_radius();
        assert!((6..=8).contains(&radius), "radius {radius}");
        let thick = grey(
            40,
            200,
            |x, _| if (10..30).contains(&x) { 1.0 } else { 0.0 },
        );
        assert_eq!(thick.thickening_radius(), 0);
        let grown = grey(3, 3, |x, y| if (x, y) == (1, 1) { 1.0 } else { 0.0 }).thickened(1);
        assert_eq!((grown.width, grown.height), (5, 5));
        assert_eq!(grown.pixels.iter().filter(|&&v| v == 1.0).count(), 9);
    }

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

    #[test]
    fn transparent_canvas_takes_the_background_contrasting_with_its_strokes() {
        // One stroke pixel in ten, opaque; the rest transparent.
        let strokes =
            |luma: f32| (0..100).map(move |i| if i % 10 == 5 { (luma, 1.0) } else { (0.0, 0.0) });
        assert_eq!(implied_background(strokes(0.0)), 1.0);
        assert_eq!(implied_background(strokes(1.0)), 0.0);
        let paper = (0..100).map(|i| (if i % 10 == 5 { 0.0 } else { 0.8 }, 1.0));
        assert!((implied_background(paper) - 0.8).abs() < 1e-6);
    }

    #[test]
    fn large_images_are_reduced_by_block_averaging() {
        let side = 3 * WORKING_SIDE;
        let image = DynamicImage::ImageLuma8(image::GrayImage::from_fn(side as u32, 10, |x, _| {
            image::Luma([if x % 3 == 0 { 255 } else { 0 }])
        }));
        let grey = Grey::composited(&image);
        assert_eq!((grey.width, grey.height), (WORKING_SIDE, 4));
        assert!(grey.pixels.iter().all(|&v| (v - 1.0 / 3.0).abs() < 1e-6));
    }

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
    fn uniform_and_empty_images_hold_no_digit() {
        for level in [0.0, 0.5, 1.0] {
            assert!(grey(50, 50, |_, _| level).ink(false).is_none());
        }
        assert!(to_mnist(&DynamicImage::new_luma8(0, 10)).is_none());
    }
}
