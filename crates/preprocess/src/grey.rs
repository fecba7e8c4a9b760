//! The image every stage works on: one channel, values in 0..=1 (the ink, once found, light on
//! 0), and what several stages do with it: reduce it, blur it, negate it, estimate its noise.

/// A single-channel image with values in 0..=1.
#[derive(Clone, Debug)]
pub(super) struct Grey {
    pub(super) width: usize,
    pub(super) height: usize,
    pub(super) pixels: Vec<f32>,
}

impl Grey {
    pub(super) fn new(width: usize, height: usize) -> Self {
        Self {
            width,
            height,
            pixels: vec![0.0; width * height],
        }
    }

    pub(super) fn at(&self, x: usize, y: usize) -> f32 {
        self.pixels[y * self.width + x]
    }

    /// Means of `factor` x `factor` blocks (smaller at the right and bottom edges), each
    /// summed row by row, left to right.
    pub(super) fn block_mean(&self, factor: usize) -> Grey {
        let mut out = Grey::new(self.width.div_ceil(factor), self.height.div_ceil(factor));
        let bands = self.pixels.chunks(self.width * factor);
        for (band, sums) in bands.zip(out.pixels.chunks_exact_mut(out.width)) {
            for row in band.chunks_exact(self.width) {
                for (sum, block) in sums.iter_mut().zip(row.chunks(factor)) {
                    for value in block {
                        *sum += value;
                    }
                }
            }
            let rows = band.len() / self.width;
            for (x, sum) in sums.iter_mut().enumerate() {
                *sum /= (rows * factor.min(self.width - x * factor)) as f32;
            }
        }
        out
    }

    /// The noise's standard deviation from differences of horizontal neighbours (robustly:
    /// edges are few), which neither the paper's level nor uneven light affects.
    pub(super) fn difference_noise(&self) -> f32 {
        let stride = (self.pixels.len() / 50_000).max(1);
        let differences = self
            .pixels
            .chunks_exact(self.width)
            .flat_map(|row| row.windows(2).map(|pair| (pair[1] - pair[0]).abs()))
            .step_by(stride)
            .collect();
        1.4826 * median(differences) / std::f32::consts::SQRT_2
    }

    /// A copy negated where `negate`.
    pub(super) fn signed(&self, negate: bool) -> Grey {
        let sign = if negate { -1.0 } else { 1.0 };
        Grey {
            width: self.width,
            height: self.height,
            pixels: self.pixels.iter().map(|v| sign * v).collect(),
        }
    }

    /// The mean over each pixel's 3x3 neighbourhood (clipped at the edges).
    pub(super) fn box_blurred(&self) -> Grey {
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
}

/// The median of `values`, the upper of the two middle ones for an even count; 0 for none.
pub(super) fn median(mut values: Vec<f32>) -> f32 {
    if values.is_empty() {
        return 0.0;
    }
    let middle = values.len() / 2;
    *values.select_nth_unstable_by(middle, f32::total_cmp).1
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A `width` x `height` image with `f(x, y)` at each pixel.
    pub(crate) fn grey(width: usize, height: usize, f: impl Fn(usize, usize) -> f32) -> Grey {
        let mut image = Grey::new(width, height);
        for y in 0..height {
            for x in 0..width {
                image.pixels[y * width + x] = f(x, y);
            }
        }
        image
    }
}
