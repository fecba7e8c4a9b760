//! Stages 2 and 3, background and polarity: the fitted background subtracted, the ink made
//! light on dark whichever way it was drawn (in a photo, light too broad to be a stroke
//! removed as well), what stays within the noise set to exactly 0, and the strokes' cores
//! made full ink.

use crate::background::{self, Surface};
use crate::grey::{Grey, median};

/// An image without a pixel this much (on a 0..1 scale) above its background holds no digit.
const MIN_CONTRAST: f32 = 0.1;
/// Differences from the background this small (0..1 scale) never count when judging the
/// polarity, so that paper grain and JPEG noise cannot decide it.
const POLARITY_NOISE: f32 = 0.02;
/// The polarity is judged on the middle of the picture, this fraction of each side cut away
/// at every edge: the digit is what a picture is taken of, while a desk around a sticky note or
/// a bar along an edge would otherwise count as dark or light ink.
const POLARITY_EDGE: usize = 5;
/// Glare is measured on the paper around each pixel, in a square of this fraction of the
/// picture's shorter side: broader than a digit's strokes (MNIST's are about an eighth of the
/// digit), narrower than a glare spot.
const GLARE_SIDE: usize = 6;

impl Grey {
    /// The ink alone, light on a background of exactly 0; `None` if nothing stands out.
    /// Also returns which pixels were ink until broad light was removed (a shadow's edge), or
    /// lay in a glare spot that was taken off; empty where there was neither.
    pub(super) fn ink(mut self, photo: bool) -> Option<(Grey, Vec<bool>)> {
        let side = self.width.min(self.height) / GLARE_SIDE;
        let glare = background::lift_glare(&mut self, side);
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
        let light = match lit {
            Some(lit) => lit
                .pixels
                .iter()
                .zip(&self.pixels)
                .zip(glare.iter().chain(std::iter::repeat(&false)))
                .map(|((&l, &v), &glare)| glare || (l > threshold && v <= threshold))
                .collect(),
            None => glare,
        };
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
    /// contrast than the lighter in the middle of the picture (all but a fifth of each side at
    /// the edges); differences within the noise do not count.
    fn darker_has_more_contrast(&self, noise: f32) -> bool {
        let margin = (4.0 * noise).max(POLARITY_NOISE);
        let (mx, my) = (self.width / POLARITY_EDGE, self.height / POLARITY_EDGE);
        let (mut lighter, mut darker) = (0.0f64, 0.0f64);
        for row in self
            .pixels
            .chunks_exact(self.width)
            .skip(my)
            .take(self.height - 2 * my)
        {
            for &value in &row[mx..self.width - mx] {
                lighter += f64::from((value - margin).max(0.0));
                darker += f64::from((-value - margin).max(0.0));
            }
        }
        darker > lighter
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
}
