//! Stage 6, strokes: strokes far thinner, relative to the digit, than MNIST's (a pen's, a thin
//! brush's) are thickened by a grey dilation, so that once scaled they are as wide as MNIST's
//! thinner strokes.

use crate::field::BOX_SIDE;
use crate::grey::Grey;

/// The thinnest mean stroke width, in pixels of the 20x20 box, left as it is.
pub const MIN_STROKE: f64 = 1.5;

impl Grey {
    /// How many pixels to dilate by so that the mean stroke width reaches [`MIN_STROKE`] once
    /// the longer side is [`BOX_SIDE`] pixels.
    pub(super) fn thickening_radius(&self) -> usize {
        let peak = self.pixels.iter().copied().fold(0.0, f32::max);
        let scale = self.width.max(self.height) as f64 / BOX_SIDE as f64;
        let width_in_box = self.mean_width(0.5 * peak) / scale;
        if width_in_box >= MIN_STROKE {
            return 0;
        }
        ((MIN_STROKE - width_in_box) / 2.0 * scale).round() as usize
    }

    /// The mean width, in pixels, of the region at least `level` bright: twice its area over
    /// its perimeter (the picture's edge counts as outside).
    pub(super) fn mean_width(&self, level: f32) -> f64 {
        let inside = |x: isize, y: isize| {
            x >= 0
                && y >= 0
                && (x as usize) < self.width
                && (y as usize) < self.height
                && self.at(x as usize, y as usize) >= level
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
        2.0 * area as f64 / perimeter.max(1) as f64
    }

    /// Grey dilation by a square of side `2 * radius + 1`, on a canvas grown by `radius`.
    pub(super) fn thickened(self, radius: usize) -> Grey {
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
}

#[cfg(test)]
mod tests {
    use crate::grey::tests::grey;

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
}
