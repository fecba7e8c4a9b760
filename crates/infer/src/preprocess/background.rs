//! The background under the ink: a quadratic surface fitted robustly, so that the paper's
//! level, a lighting gradient and vignetting are subtracted before the ink is judged.

use super::{Grey, median};

/// A background level `c0 + c1 x + c2 y + c3 x^2 + c4 x y + c5 y^2`, with x and y scaled to
/// -1..1 over the image so that the fit is well conditioned at any size.
pub(super) struct Surface {
    coefficients: [f64; 6],
    width: usize,
    height: usize,
}

impl Surface {
    /// Samples on a grid of at most this many points: ample for six coefficients.
    const SAMPLES: usize = 20_000;

    fn terms(width: usize, height: usize, x: usize, y: usize) -> [f64; 6] {
        let scale = |v: usize, n: usize| 2.0 * v as f64 / (n.max(2) - 1) as f64 - 1.0;
        let (u, v) = (scale(x, width), scale(y, height));
        [1.0, u, v, u * u, u * v, v * v]
    }

    pub(super) fn at(&self, x: usize, y: usize) -> f64 {
        Self::terms(self.width, self.height, x, y)
            .iter()
            .zip(&self.coefficients)
            .map(|(t, c)| t * c)
            .sum()
    }

    /// Fits the background, excluding the ink (light or dark, a minority of the pixels) by
    /// iterative clipping: start from the middle half of the values, fit, keep the pixels
    /// within 2.5 robust deviations of the fit, repeat. Returns the surface and the
    /// background's noise (a robust standard deviation).
    pub(super) fn fit_background(image: &Grey) -> (Surface, f32) {
        let stride = ((image.pixels.len() / Self::SAMPLES) as f64)
            .sqrt()
            .ceil()
            .max(1.0) as usize;
        let samples: Vec<(usize, usize, f64)> = (0..image.height)
            .step_by(stride)
            .flat_map(|y| {
                (0..image.width)
                    .step_by(stride)
                    .map(move |x| (x, y, f64::from(image.at(x, y))))
            })
            .collect();
        let mut sorted: Vec<f64> = samples.iter().map(|s| s.2).collect();
        sorted.sort_by(f64::total_cmp);
        let quartile = |q: usize| sorted[(sorted.len() - 1) * q / 4];
        let (low, level, high) = (quartile(1), quartile(2), quartile(3));
        let mut keep: Vec<bool> = samples
            .iter()
            .map(|s| (low..=high).contains(&s.2))
            .collect();
        let mut surface = Surface {
            coefficients: [level, 0.0, 0.0, 0.0, 0.0, 0.0],
            width: image.width,
            height: image.height,
        };
        let mut noise = 0.0;
        for _ in 0..4 {
            let kept = keep.iter().filter(|&&k| k).count();
            // A quadratic needs background all around the ink; with little of it, a plane
            // extrapolates more safely.
            let terms = if kept * 2 >= samples.len() { 6 } else { 3 };
            if let Some(fitted) = Surface::least_squares(image, &samples, &keep, terms) {
                surface = fitted;
            }
            let residuals: Vec<f64> = samples
                .iter()
                .map(|&(x, y, v)| v - surface.at(x, y))
                .collect();
            let deviations = residuals
                .iter()
                .zip(&keep)
                .filter(|(_, k)| **k)
                .map(|(r, _)| r.abs() as f32)
                .collect();
            noise = 1.4826 * median(deviations);
            let limit = 2.5 * f64::from(noise) + 1e-4;
            keep = residuals.iter().map(|&r| r.abs() <= limit).collect();
        }
        (surface, noise)
    }

    /// Least squares over the kept samples with the first `terms` terms, by the normal
    /// equations; `None` if they are singular (too few or collinear samples).
    fn least_squares(
        image: &Grey,
        samples: &[(usize, usize, f64)],
        keep: &[bool],
        terms: usize,
    ) -> Option<Surface> {
        let mut matrix = [[0.0f64; 7]; 6];
        for (&(x, y, v), _) in samples.iter().zip(keep).filter(|(_, k)| **k) {
            let t = Self::terms(image.width, image.height, x, y);
            for i in 0..terms {
                for j in 0..terms {
                    matrix[i][j] += t[i] * t[j];
                }
                matrix[i][6] += t[i] * v;
            }
        }
        // Gaussian elimination with partial pivoting on the augmented matrix.
        for column in 0..terms {
            let pivot = (column..terms)
                .max_by(|&a, &b| matrix[a][column].abs().total_cmp(&matrix[b][column].abs()))?;
            if matrix[pivot][column].abs() < 1e-9 {
                return None;
            }
            matrix.swap(column, pivot);
            let (done, below) = matrix.split_at_mut(column + 1);
            let pivot_row = &done[column];
            for row in &mut below[..terms - column - 1] {
                let factor = row[column] / pivot_row[column];
                for (value, above) in row[column..].iter_mut().zip(&pivot_row[column..]) {
                    *value -= factor * above;
                }
            }
        }
        let mut coefficients = [0.0; 6];
        for row in (0..terms).rev() {
            let known: f64 = (row + 1..terms)
                .map(|k| matrix[row][k] * coefficients[k])
                .sum();
            coefficients[row] = (matrix[row][6] - known) / matrix[row][row];
        }
        Some(Surface {
            coefficients,
            width: image.width,
            height: image.height,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preprocess::tests::grey;

    #[test]
    fn surface_fit_recovers_a_quadratic_background_under_ink() {
        let background = |x: usize, y: usize| {
            let (u, v) = (x as f32 / 99.0, y as f32 / 79.0);
            0.2 + 0.1 * u - 0.05 * v + 0.08 * u * u
        };
        let image = grey(100, 80, |x, y| {
            let ink = if (40..50).contains(&x) && (20..60).contains(&y) {
                0.6
            } else {
                0.0
            };
            background(x, y) + ink
        });
        let (surface, noise) = Surface::fit_background(&image);
        assert!(noise < 1e-3, "noise {noise}");
        for (x, y) in [(0, 0), (99, 79), (45, 40), (10, 70)] {
            let fitted = surface.at(x, y) as f32;
            assert!((fitted - background(x, y)).abs() < 1e-3, "({x}, {y})");
        }
    }
}
