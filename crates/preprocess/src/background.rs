//! The background under the ink: a quadratic surface fitted robustly, so that the paper's
//! level, a lighting gradient and vignetting are subtracted before the ink is judged; then, in
//! photos, what light a quadratic cannot follow (a shadow's edge, a bright corner), found as what
//! is too broad to be a stroke.

use crate::grey::{Grey, median};
use crate::morphology::Openings;

/// Thin features are measured on a copy reduced to at most this many pixels on its longer
/// side: strokes stay a few pixels wide, and it bounds the work.
const COARSE_SIDE: usize = 320;
/// Structuring-element sides tried (in pixels of the reduced copy), each about twice the last.
const SIDES: [usize; 6] = [3, 5, 9, 17, 33, 65];
/// Thin ink that grows by more than this factor at every doubling of the square never settles
/// on strokes.
const SETTLED: f64 = 1.5;
/// Where no thin ink settles, it is counted only above this share of the picture's largest
/// difference from the background (see [`strokes`]).
const STRONG_SHARE: f32 = 0.3;
/// Steps growing the thin ink within this of the least growth settle as well.
const LEVEL: f64 = 0.05;
/// Thin ink of one polarity with less than this fraction of the other's is no ink.
const SIGNIFICANT: f64 = 0.1;
/// Differences from the opening this small (0..1 scale) are never thin ink, whatever the noise:
/// a clean canvas has none, and JPEG's ringing is no stroke.
const MIN_CONTRAST: f32 = 0.02;

/// How the ink stands out from light that a quadratic cannot follow (a shadow's edge, a bright
/// corner): its polarity, and the side of a square broader than its strokes.
pub(super) struct Strokes {
    /// Whether the ink is darker than the paper.
    pub dark: bool,
    /// The side, in pixels of the image, of a square broader than any stroke.
    pub side: usize,
}

/// Finds the strokes among broad light by their thinness. A grey top-hat (the image less its
/// opening by a square) keeps exactly what is narrower than the square, of one polarity, and
/// follows a shadow's edge however sharp (an opening leaves a step as it is). As the square
/// widens, the ink it finds grows while the square is narrower than the strokes, then settles
/// until the square reaches the digit's holes, broad light or the noise's texture. So the ink
/// is the polarity whose thin features settle (of two that do, the one with more where the
/// first settles), and the square is taken at the end of the step where they settle, twice as
/// wide as the strokes first fit, so that strokes of uneven width stay whole.
///
/// Where neither settles on the reduced copy, finer copies are tried (a digit small in the
/// photo can vanish in the reduction), and then the same again counting only ink above
/// [`STRONG_SHARE`] of the largest difference from the background: the light a quadratic left
/// behind (a hard-edged shadow on curved light) has a top-hat that grows with the square's
/// area and outweighs a small digit, but it is shallow. `None` where nothing settles (ink as
/// thick as the picture allows) or the picture is too small to tell.
pub(super) fn strokes(image: &Grey) -> Option<Strokes> {
    let coarsest = image.width.max(image.height).div_ceil(COARSE_SIDE).max(1);
    for relative in [0.0, STRONG_SHARE] {
        let mut factor = coarsest;
        loop {
            if let Some(found) = strokes_at(image, factor, relative) {
                return Some(found);
            }
            if factor == 1 {
                break;
            }
            factor = factor.div_ceil(2);
        }
    }
    None
}

/// [`strokes`] on a copy reduced by `factor`, counting thin ink only above `relative` of the
/// copy's largest difference from the background.
fn strokes_at(image: &Grey, factor: usize, relative: f32) -> Option<Strokes> {
    let coarse = image.block_mean(factor);
    // The blur's noise is correlated, so it is measured before; the top-hat of the blurred
    // noise stays within about three of its deviations, a third of this.
    let peak = coarse.pixels.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let margin = (3.0 * coarse.difference_noise())
        .max(MIN_CONTRAST)
        .max(relative * peak);
    let coarse = coarse.box_blurred();
    let shorter = coarse.width.min(coarse.height);
    let sides: Vec<usize> = SIDES.into_iter().filter(|&s| s <= shorter / 3).collect();
    if sides.len() < 3 {
        return None;
    }
    let thin = |dark: bool| -> Vec<f64> {
        let signed = coarse.signed(dark);
        let mut openings = Openings::for_image(coarse.width, coarse.height, sides[sides.len() - 1]);
        sides
            .iter()
            .map(|&side| {
                let opening = openings.opened(&signed, side);
                signed
                    .pixels
                    .iter()
                    .zip(&opening.pixels)
                    .map(|(v, o)| f64::from((v - o - margin).max(0.0)))
                    .sum()
            })
            .collect()
    };
    // The two polarities are independent: one on another core.
    let (dark, light) = rayon::join(|| thin(true), || thin(false));
    // The step that grows the thin ink least, and by how much, among the steps where it is not
    // negligible beside the other polarity's. Of two polarities that settle, the ink is the
    // one with more at the square where the first settles (the other: a digit's holes and
    // the paper between its strokes, which need wider squares; JPEG's ringing).
    let settling = |mass: &[f64], other: &[f64]| {
        let steps: Vec<(usize, f64)> = (0..mass.len() - 1)
            .filter(|&i| mass[i] > 0.0 && mass[i] >= SIGNIFICANT * other[i])
            .map(|i| (i, mass[i + 1] / mass[i]))
            .filter(|&(_, growth)| growth <= SETTLED)
            .collect();
        // The narrowest of the steps that grow it about the least: the square nearest the
        // strokes follows the light best.
        let least = steps.iter().map(|s| s.1).fold(f64::INFINITY, f64::min);
        steps.into_iter().find(|s| s.1 <= least + LEVEL)
    };
    let (settled, dark) = match (settling(&dark, &light), settling(&light, &dark)) {
        (Some(d), Some(l)) => {
            let square = d.0.min(l.0) + 1;
            if light[square] > dark[square] {
                (l.0, false)
            } else {
                (d.0, true)
            }
        }
        (Some(d), None) => (d.0, true),
        (None, Some(l)) => (l.0, false),
        (None, None) => return None,
    };
    Some(Strokes {
        dark,
        side: sides[settled + 1] * factor,
    })
}

/// What is narrower than a `side` square, light on dark: the image less its grey opening.
/// Broad light needs no full resolution, so the opening is taken at half, whose block means
/// smooth the noise (its extremes would lift the background), and read back bilinearly; the
/// strokes keep their full sharpness. A shadow's edge, soft as shadows are (a penumbra several
/// pixels wide), is a ramp the opening leaves as it is but for about a pixel of the half
/// resolution at its ends.
pub(super) fn top_hat(image: &Grey, side: usize) -> Grey {
    let half = image.block_mean(2);
    let mut openings = Openings::for_image(half.width, half.height, side.div_ceil(2));
    let opening = openings.opened(&half, side.div_ceil(2));
    let mut out = Grey::new(image.width, image.height);
    read_back(opening, 2, image.width, image.height, |i, opened| {
        out.pixels[i] = image.pixels[i] - opened;
    });
    out
}

/// Light that washes over dark ink on light paper (a glare spot on a whiteboard, a reflection
/// on glossy paper) is taken off again. Such light adds a share `g` of the way to white to ink
/// and paper alike, so the ink keeps `1 - g` of its contrast. Around each pixel the paper
/// (the image's grey closing by a `side` square, broader than the strokes) is compared with
/// the paper's usual level (the median: paper is most of a picture): its rise over the usual
/// level's headroom to white is `g`, and `(value - g) / (1 - g)` restores the pixel. A pixel
/// lit by `g` is no darker than `g`, so `g` is held at the pixel's value (ink that is dark was
/// not washed), and at [`MAX_GLARE`]. The rise counts only beyond 4 noise deviations, so
/// evenly lit paper is left exactly as it is; unevenly lit paper is levelled towards the
/// usual. Only where the paper somewhere reaches white ([`GLARE_CORE`]): without a spot's
/// core, lighter paper is light that a shadow beside it did not take.
///
/// Glare is broad: the paper is found on block means a sixth of `side` wide, read back
/// bilinearly. Returns which pixels lie in a glare spot (more than [`GLARE_SHOWN`] of the way
/// to white), to show what was taken off; empty where none was.
pub(super) fn lift_glare(image: &mut Grey, side: usize) -> Vec<bool> {
    if side < MIN_GLARE_SQUARE {
        return Vec::new();
    }
    let factor = (side / 6).max(1);
    let coarse = image.block_mean(factor);
    let usual = median(coarse.pixels.clone());
    let headroom = 1.0 - usual;
    if usual < 0.5 || headroom <= 0.0 {
        return Vec::new();
    }
    let margin = 4.0 * image.difference_noise();
    let side = side.div_ceil(factor);
    let mut openings = Openings::for_image(coarse.width, coarse.height, side);
    let paper = openings.opened(&coarse.signed(true), side);
    // Glare is light towards white, and its core reaches it; paper in the sun beside a shadow
    // is only lighter than the shadowed paper.
    let whitest = -paper.pixels.iter().copied().fold(f32::INFINITY, f32::min);
    if whitest < GLARE_CORE {
        return Vec::new();
    }
    let (width, height) = (image.width, image.height);
    let mut spot = vec![false; width * height];
    read_back(paper, factor, width, height, |i, paper| {
        let rise = -paper - usual - margin;
        if rise > 0.0 {
            let value = &mut image.pixels[i];
            let glare = rise / headroom;
            spot[i] = glare > GLARE_SHOWN;
            let glare = glare.min(*value).min(MAX_GLARE);
            *value = (*value - glare) / (1.0 - glare);
        }
    });
    spot
}

/// Reads `coarse`, block means of `factor` of a `width` x `height` image, back at each of its
/// pixels bilinearly: `each(index, value)`.
fn read_back(
    coarse: &Grey,
    factor: usize,
    width: usize,
    height: usize,
    mut each: impl FnMut(usize, f32),
) {
    let columns: Vec<_> = (0..width)
        .map(|x| bilinear(x, coarse.width, factor))
        .collect();
    // A coarse row read back across, once for all the rows between it and the next.
    let across = |v: usize, out: &mut Vec<f32>| {
        let row = &coarse.pixels[v * coarse.width..][..coarse.width];
        out.clear();
        out.extend(
            columns
                .iter()
                .map(|&(u0, u1, fx)| row[u0] * (1.0 - fx) + row[u1] * fx),
        );
    };
    let (mut above, mut below) = (Vec::with_capacity(width), Vec::with_capacity(width));
    let mut rows = None;
    for y in 0..height {
        let (v0, v1, fy) = bilinear(y, coarse.height, factor);
        if rows != Some((v0, v1)) {
            across(v0, &mut above);
            across(v1, &mut below);
            rows = Some((v0, v1));
        }
        for (x, (&top, &bottom)) in above.iter().zip(&below).enumerate() {
            each(y * width + x, top * (1.0 - fy) + bottom * fy);
        }
    }
}

/// The share of the way to white beyond which paper counts as in a glare spot, to show.
const GLARE_SHOWN: f32 = 0.5;
/// The level (white is 1) that paper lit by glare reaches in the spot's core.
const GLARE_CORE: f32 = 0.97;
/// The narrowest square [`lift_glare`] finds the paper with: in a smaller picture (a
/// thumbnail) a square a sixth of the picture wide is no broader than the strokes.
const MIN_GLARE_SQUARE: usize = 9;

/// The largest share of the way to white that [`lift_glare`] takes off: beyond it the ink's
/// contrast left is too little beside the noise that dividing would amplify.
const MAX_GLARE: f32 = 0.85;

/// Where full-resolution pixel `i` falls between the pixels of block means of `factor` (of
/// `length`) on either side of it, and the weight of the second.
fn bilinear(i: usize, length: usize, factor: usize) -> (usize, usize, f32) {
    let position = ((i as f32 + 0.5) / factor as f32 - 0.5).clamp(0.0, (length - 1) as f32);
    let first = position as usize;
    (first, (first + 1).min(length - 1), position - first as f32)
}

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

    /// Position `i` of `n` scaled to -1..1.
    fn scale(i: usize, n: usize) -> f64 {
        2.0 * i as f64 / (n.max(2) - 1) as f64 - 1.0
    }

    fn terms(u: f64, v: f64) -> [f64; 6] {
        [1.0, u, v, u * u, u * v, v * v]
    }

    fn level(&self, u: f64, v: f64) -> f64 {
        Self::terms(u, v)
            .iter()
            .zip(&self.coefficients)
            .map(|(t, c)| t * c)
            .sum()
    }

    pub(super) fn at(&self, x: usize, y: usize) -> f64 {
        self.level(Self::scale(x, self.width), Self::scale(y, self.height))
    }

    /// Subtracts the surface from `image` (of the size it was fitted to), each column's
    /// position scaled once rather than at every pixel.
    pub(super) fn subtract_from(&self, image: &mut Grey) {
        let columns: Vec<f64> = (0..self.width)
            .map(|x| Self::scale(x, self.width))
            .collect();
        for (y, row) in image.pixels.chunks_exact_mut(self.width).enumerate() {
            let v = Self::scale(y, self.height);
            for (value, &u) in row.iter_mut().zip(&columns) {
                *value -= self.level(u, v) as f32;
            }
        }
    }

    /// Fits the background, excluding the ink (light or dark, a minority of the pixels) by
    /// iterative clipping: start from the middle half of the values on the image's border, fit,
    /// keep the pixels within 2.5 robust deviations of the fit, repeat. Returns the surface and
    /// the background's noise (a robust standard deviation).
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
        // The image's border is paper even where the ink covers most of the picture (thick
        // marker, a tight crop): its middle half of values starts the fit.
        let band = (image.width.min(image.height) / 16).max(1);
        let on_border = |&&(x, y, _): &&(usize, usize, f64)| {
            x < band || y < band || x + band >= image.width || y + band >= image.height
        };
        let mut sorted: Vec<f64> = samples.iter().filter(on_border).map(|s| s.2).collect();
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
            let t = Self::terms(Self::scale(x, image.width), Self::scale(y, image.height));
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
    use crate::grey::tests::grey;

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

    #[test]
    fn in_a_shadow_over_most_of_the_picture_the_ink_is_still_the_dark_strokes() {
        // Paper 0.8, shadowed to 0.48 right of x = 300 (most of the picture) behind a penumbra
        // 12 pixels wide; strokes of ink 8 pixels wide, 0.65 below the paper (less in the
        // shadow): a 7 in the light, a 1 in the shadow.
        let stroke = |x: usize, y: usize| {
            let top = (100..240).contains(&x) && (200..208).contains(&y);
            let slant = (y as f32 - 200.0) * 0.2 + 232.0 - x as f32;
            let down = (0.0..8.0).contains(&slant) && (200..400).contains(&y);
            top || down || ((500..508).contains(&x) && (200..400).contains(&y))
        };
        let light = |x: usize| 1.0 - 0.4 * ((x as f32 - 294.0) / 12.0).clamp(0.0, 1.0);
        let image = grey(800, 600, |x, y| {
            light(x) * if stroke(x, y) { 0.15 } else { 0.8 }
        });
        let strokes = strokes(&image).expect("photo-sized");
        assert!(strokes.dark);
        assert!((9..=100).contains(&strokes.side), "side {}", strokes.side);
        let ink = top_hat(&image.signed(true), strokes.side);
        for (x, y) in [(50, 100), (700, 500), (150, 300)] {
            let paper = ink.at(x, y);
            assert!(paper.abs() < 0.02, "paper at ({x}, {y}): {paper}");
        }
        // In the penumbra, what the half-resolution opening misses at its ends: at most the
        // ramp's rise over two pixels (one of the half-resolution copy).
        let rise = 0.8 * 0.4 / 12.0;
        for x in 290..=310 {
            let paper = ink.at(x, 300);
            assert!(
                paper.abs() <= 2.0 * rise + 1e-3,
                "penumbra at ({x}, 300): {paper}"
            );
        }
        for (x, y) in [(110, 204), (230, 204), (249, 300), (504, 300)] {
            let expected = light(x) * 0.65;
            let found = ink.at(x, y);
            assert!(
                (found - expected).abs() < 0.02,
                "ink at ({x}, {y}): {found}"
            );
        }
    }

    #[test]
    fn glare_over_a_stroke_is_taken_off_and_evenly_lit_paper_is_left_alone() {
        // Paper 0.9 with a dark bar (ink 0.1, 6 pixels wide) across; a glare spot centred just
        // above the bar's right half lifts both towards white by up to 80% of the way.
        let glare = |x: usize, y: usize| {
            let (dx, dy) = ((x as f32 - 150.0) / 45.0, (y as f32 - 65.0) / 45.0);
            0.8 * (-(dx * dx + dy * dy)).exp()
        };
        let bar = |y: usize| (72..78).contains(&y);
        let lit = |x: usize, y: usize| {
            let level = if bar(y) { 0.1 } else { 0.9 };
            level + (1.0 - level) * glare(x, y)
        };
        let mut image = grey(240, 150, lit);
        let spot = lift_glare(&mut image, 15);
        assert!(spot[65 * 240 + 150], "the spot's centre");
        assert!(!spot[140 * 240 + 10], "paper far from it");
        for x in [110, 130, 150, 170, 190] {
            let washed = lit(x, 75);
            let restored = image.at(x, 75);
            assert!(
                restored < 0.1 + 0.5 * (washed - 0.1),
                "bar at x = {x}: {washed} became {restored}"
            );
        }
        // Without the spot the light is even: the picture is left as it was.
        let even = grey(240, 150, |_, y| if bar(y) { 0.1 } else { 0.9 });
        let mut unchanged = even.clone();
        assert!(lift_glare(&mut unchanged, 15).is_empty());
        assert_eq!(unchanged.pixels, even.pixels);
        // Paper in the light beside a shadow over most of the picture (0.6) is lighter than the
        // usual paper, but reaches no white: no glare.
        let shadowed = grey(240, 150, |x, y| {
            even.at(x, y) * if x < 160 { 0.6 } else { 1.0 }
        });
        let mut unchanged = shadowed.clone();
        assert!(lift_glare(&mut unchanged, 15).is_empty());
        assert_eq!(unchanged.pixels, shadowed.pixels);
    }

    #[test]
    fn strokes_as_thick_as_the_picture_allows_tell_nothing() {
        // A bar across a third of the picture: no square narrower than a third of it fits.
        let image = grey(
            900,
            900,
            |x, _| if (300..600).contains(&x) { 0.1 } else { 0.9 },
        );
        assert!(strokes(&image).is_none());
    }
}
