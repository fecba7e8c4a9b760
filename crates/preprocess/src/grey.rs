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
        // The whole blocks of a row, then its partial one at the right edge.
        let whole = self.width / factor;
        let bands = self.pixels.chunks(self.width * factor);
        for (band, sums) in bands.zip(out.pixels.chunks_exact_mut(out.width)) {
            for row in band.chunks_exact(self.width) {
                // Offset by offset across all blocks at once (a loop the compiler vectorises),
                // which adds each block's values in the same order as one block at a time.
                for offset in 0..factor {
                    let values = row.iter().skip(offset).step_by(factor);
                    for (sum, value) in sums[..whole].iter_mut().zip(values) {
                        *sum += value;
                    }
                }
                if let Some(sum) = sums.get_mut(whole) {
                    for value in &row[whole * factor..] {
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
        // Every `stride`th of the differences taken row by row, picked out by index.
        let per_row = self.width.saturating_sub(1);
        let differences = (0..self.height * per_row)
            .step_by(stride)
            .map(|k| {
                let at = k / per_row * self.width + k % per_row;
                (self.pixels[at + 1] - self.pixels[at]).abs()
            })
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

    /// The mean over each pixel's 3x3 neighbourhood (clipped at the edges): the mean across,
    /// then the mean of those down, each window's values added in order.
    pub(super) fn box_blurred(&self) -> Grey {
        let (w, h) = (self.width, self.height);
        let mut across = Grey::new(w, h);
        for (out, row) in across
            .pixels
            .chunks_exact_mut(w)
            .zip(self.pixels.chunks_exact(w))
        {
            if w < 3 {
                let mean = row.iter().sum::<f32>() / w as f32;
                out.fill(mean);
                continue;
            }
            out[0] = (row[0] + row[1]) / 2.0;
            for (out, window) in out[1..].iter_mut().zip(row.windows(3)) {
                *out = (window[0] + window[1] + window[2]) / 3.0;
            }
            out[w - 1] = (row[w - 2] + row[w - 1]) / 2.0;
        }
        let mut out = Grey::new(w, h);
        let row = |y: usize| &across.pixels[y * w..][..w];
        for (y, line) in out.pixels.chunks_exact_mut(w).enumerate() {
            let window = y.saturating_sub(1)..(y + 2).min(h);
            let n = window.len() as f32;
            line.copy_from_slice(row(window.start));
            for y in window.skip(1) {
                for (sum, value) in line.iter_mut().zip(row(y)) {
                    *sum += value;
                }
            }
            for value in line {
                *value /= n;
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

    /// Values in -0.7..1.3 from a fixed linear congruential sequence: noise with negatives.
    pub(crate) fn noisy(width: usize, height: usize) -> Grey {
        let mut state = 12_345u64;
        let mut image = Grey::new(width, height);
        for value in &mut image.pixels {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            *value = (state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 0.7;
        }
        image
    }

    const SIZES: [(usize, usize); 7] = [
        (1, 1),
        (1, 5),
        (2, 7),
        (3, 3),
        (17, 9),
        (300, 217),
        (577, 433),
    ];

    #[test]
    fn block_means_and_the_blur_equal_their_direct_definitions_to_the_bit() {
        let bits = |image: &Grey| image.pixels.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        for (width, height) in SIZES {
            let image = noisy(width, height);
            for factor in 1..9 {
                // Each block's values added row by row, left to right, then divided.
                let direct = grey(width.div_ceil(factor), height.div_ceil(factor), |bx, by| {
                    let (xs, ys) = (
                        bx * factor..((bx + 1) * factor).min(width),
                        by * factor..((by + 1) * factor).min(height),
                    );
                    let n = (xs.len() * ys.len()) as f32;
                    let mut sum = 0.0;
                    for y in ys {
                        for x in xs.clone() {
                            sum += image.at(x, y);
                        }
                    }
                    sum / n
                });
                assert_eq!(
                    bits(&image.block_mean(factor)),
                    bits(&direct),
                    "{width}x{height} by {factor}"
                );
            }
            // The 3x3 mean as the mean across, then the mean of those down, each in order.
            let mean = |values: &mut dyn Iterator<Item = f32>| {
                let values: Vec<f32> = values.collect();
                values.iter().sum::<f32>() / values.len() as f32
            };
            let window = |i: usize, length: usize| i.saturating_sub(1)..(i + 2).min(length);
            let across = grey(width, height, |x, y| {
                mean(&mut window(x, width).map(|i| image.at(i, y)))
            });
            let direct = grey(width, height, |x, y| {
                mean(&mut window(y, height).map(|j| across.at(x, j)))
            });
            assert_eq!(
                bits(&image.box_blurred()),
                bits(&direct),
                "{width}x{height}"
            );
        }
    }

    #[test]
    fn the_noise_is_measured_on_every_strideth_difference_of_neighbours() {
        // Noise, and rows of different slopes (any difference taken across a row's end, or
        // a row sampled more often than another, moves the median).
        let sloped = |width, height| grey(width, height, |x, y| (x * (y + 1)) as f32 * 1e-3);
        let images = SIZES
            .into_iter()
            .flat_map(|(width, height)| [noisy(width, height), sloped(width, height)]);
        for image in images {
            let (width, height) = (image.width, image.height);
            let stride = (image.pixels.len() / 50_000).max(1);
            let differences = image
                .pixels
                .chunks_exact(width)
                .flat_map(|row| row.windows(2).map(|pair| (pair[1] - pair[0]).abs()))
                .step_by(stride)
                .collect();
            let direct = 1.4826 * median(differences) / std::f32::consts::SQRT_2;
            assert_eq!(
                image.difference_noise().to_bits(),
                direct.to_bits(),
                "{width}x{height}"
            );
        }
    }
}
