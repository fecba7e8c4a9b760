//! Stage 4, continued: printed lines at any angle. A hand-held photo of ruled or squared paper
//! shows its lines a few degrees off the picture's axes, converging under perspective and
//! slightly curved where the paper bends, which the axis-aligned runs of `lines.rs` miss.
//! Candidates come from a Hough transform (imageproc's), every angle at one degree; each is
//! then followed across the picture, a step at a time, along the ink nearest to it (so that a
//! bend is followed too). A candidate is a printed line when ink lies along most of the way
//! across; its pixels are removed where the ink across it is no thicker than the line, so that
//! strokes crossing it stay whole, as in `lines.rs`.

use image::{GrayImage, Luma};
use imageproc::hough::{LineDetectionOptions, PolarLine, detect_lines};

use crate::grey::Grey;
use crate::lines::thickest;

/// The longer side, in pixels, of the reduced copy candidates are looked for on.
const COARSE_SIDE: usize = 320;
/// Hough votes a candidate needs, as a fraction of the picture's shorter side (the followed
/// ink decides, so this only bounds the work).
const VOTES: f32 = 0.25;
/// A line is printed when ink lies along this fraction of its way across the picture.
const SPAN: f32 = 0.85;
/// Pictures with a shorter side below this many pixels (thumbnails) are left as they are: in
/// them a digit's stroke spans the picture as a line does.
const MIN_SIDE: usize = 48;
/// How far, in thicknesses of the thickest printed line, the way may bend from the straight
/// line it started as.
const BEND: f32 = 2.5;

/// The step, in pixels, along a followed line and across it: half a pixel, so that every
/// pixel of a tilted line is visited.
const STEP: f32 = 0.5;

/// One step along a followed line: the run of ink across it.
struct Run {
    pixels: Vec<usize>,
    length: usize,
}

impl Grey {
    /// The ink without printed lines at any angle (see the module's documentation); unchanged
    /// where there are none, or where removing them would leave almost nothing.
    pub(super) fn without_slanted_lines(self) -> Grey {
        let (w, h) = (self.width, self.height);
        if w.min(h) < MIN_SIDE {
            return self;
        }
        let ink: Vec<bool> = self.pixels.iter().map(|&v| v > 0.0).collect();
        // Candidates are looked for on a copy reduced to about [`COARSE_SIDE`] (a block is ink
        // where any of its pixels is), which bounds the transform's work; they are followed at
        // full resolution.
        let factor = w.max(h).div_ceil(COARSE_SIDE).max(1);
        let (cw, ch) = (w.div_ceil(factor), h.div_ceil(factor));
        let mut mask = GrayImage::new(cw as u32, ch as u32);
        for (i, _) in ink.iter().enumerate().filter(|(_, ink)| **ink) {
            mask.put_pixel(
                ((i % w) / factor) as u32,
                ((i / w) / factor) as u32,
                Luma([1]),
            );
        }
        let options = LineDetectionOptions {
            vote_threshold: ((VOTES * cw.min(ch) as f32) as u32).max(8),
            suppression_radius: 4,
        };
        let scale = |line: PolarLine| {
            let angle = (line.angle_in_degrees as f32).to_radians();
            // A block's centre is `factor * x + (factor - 1) / 2` at full resolution.
            let centre = (factor as f32 - 1.0) / 2.0 * (angle.cos() + angle.sin());
            PolarLine {
                r: line.r * factor as f32 + centre,
                ..line
            }
        };
        let thick = thickest(w, h) as usize;
        let mut kept = ink.clone();
        let mut removed_any = false;
        for line in detect_lines(&mask, options).into_iter().map(scale) {
            let Some(runs) = follow(&ink, w, h, line, thick) else {
                continue;
            };
            // The line's own thickness: a lower quartile of the runs across it (strokes that
            // cross it make some runs longer).
            let mut lengths: Vec<usize> = runs.iter().map(|r| r.length).collect();
            let quartile = lengths.len() / 4;
            let thickness = *lengths.select_nth_unstable(quartile).1;
            if thickness > thick {
                continue;
            }
            let limit = thickness + (thickness / 2).max(1);
            for run in runs.iter().filter(|r| r.length <= limit) {
                run.pixels.iter().for_each(|&i| kept[i] = false);
                removed_any = true;
            }
        }
        if removed_any {
            self.keeping(&kept)
        } else {
            self
        }
    }
}

/// Follows `line` across the `w` x `h` picture along the ink nearest to it: the runs of ink
/// across it at each step, or `None` where ink lies along less than [`SPAN`] of the way.
fn follow(ink: &[bool], w: usize, h: usize, line: PolarLine, thick: usize) -> Option<Vec<Run>> {
    let angle = (line.angle_in_degrees as f32).to_radians();
    let normal = (angle.cos(), angle.sin());
    let along = (-normal.1, normal.0);
    let reach = (w as f32).hypot(h as f32);
    // The window across the way, in steps.
    let search = ((2 * thick + 2) as f32 / STEP) as i64;
    let max_offset = BEND * thick as f32 + 2.0;
    let pixel = |x: f32, y: f32| {
        let (x, y) = (x.round(), y.round());
        (x >= 0.0 && y >= 0.0 && (x as usize) < w && (y as usize) < h)
            .then(|| y as usize * w + x as usize)
    };
    // The steps the straight line takes inside the picture, so that a candidate is given up as
    // soon as it has missed more ink than a printed line may (most candidates in a photo).
    let inside = {
        let mut count = 0usize;
        let mut t = -reach;
        while t <= reach {
            let point = (
                line.r * normal.0 + t * along.0,
                line.r * normal.1 + t * along.1,
            );
            count += usize::from(pixel(point.0, point.1).is_some());
            t += STEP;
        }
        count
    };
    let allowed_misses = ((1.0 - SPAN) * inside as f32).ceil() as usize;
    let (mut steps, mut covered, mut offset) = (0usize, 0usize, 0.0f32);
    let mut runs = Vec::new();
    let mut t = -reach;
    while t <= reach {
        let centre = (
            line.r * normal.0 + t * along.0 + offset * normal.0,
            line.r * normal.1 + t * along.1 + offset * normal.1,
        );
        t += STEP;
        if pixel(centre.0, centre.1).is_none() {
            continue;
        }
        steps += 1;
        let at = |s: i64| {
            let s = s as f32 * STEP;
            pixel(centre.0 + s * normal.0, centre.1 + s * normal.1)
        };
        let is_ink = |s: i64| at(s).is_some_and(|i| ink[i]);
        // The ink nearest the way, then its run across.
        let Some(found) = (0..=search).flat_map(|d| [d, -d]).find(|&s| is_ink(s)) else {
            if steps - covered > allowed_misses {
                return None;
            }
            continue;
        };
        covered += 1;
        let (mut a, mut b) = (found, found);
        while a > -search && is_ink(a - 1) {
            a -= 1;
        }
        while b < search && is_ink(b + 1) {
            b += 1;
        }
        let length = ((b - a) as f32 * STEP).round() as usize + 1;
        if a == -search || b == search {
            // Ink across the whole window: a stroke crossing, or a blot; never the line's.
            runs.push(Run {
                pixels: Vec::new(),
                length: usize::MAX,
            });
            continue;
        }
        let mut pixels: Vec<usize> = (a..=b).filter_map(at).collect();
        pixels.dedup();
        runs.push(Run { pixels, length });
        if length <= thick {
            let middle = (a + b) as f32 / 2.0 * STEP;
            offset = (offset + 0.5 * middle).clamp(-max_offset, max_offset);
        }
    }
    (steps > 0 && covered as f32 >= SPAN * steps as f32).then_some(runs)
}

#[cfg(test)]
mod tests {
    use crate::grey::tests::grey;

    /// A vertical bar (a stroke) 8 pixels wide, rows 30..130 of a 160x160 picture.
    fn bar(x: usize, y: usize) -> bool {
        (76..84).contains(&x) && (30..130).contains(&y)
    }

    #[test]
    fn rules_tilted_by_ten_degrees_go_and_the_stroke_crossing_them_stays() {
        let slope = 10f32.to_radians().tan();
        let rule = |x: usize, y: usize| {
            let v = y as f32 - slope * x as f32;
            (v.rem_euclid(40.0) - 20.0).abs() < 1.2
        };
        let image = grey(
            160,
            160,
            |x, y| if bar(x, y) || rule(x, y) { 1.0 } else { 0.0 },
        );
        let out = image.without_slanted_lines();
        let stray = (0..160 * 160)
            .filter(|&i| out.pixels[i] > 0.0 && !bar(i % 160, i / 160))
            .count();
        assert!(stray < 40, "{stray} pixels of the rules are left");
        let bar_kept = (0..160 * 160)
            .filter(|&i| bar(i % 160, i / 160) && out.pixels[i] > 0.0)
            .count();
        assert_eq!(bar_kept, 8 * 100, "the stroke stays whole");
    }

    #[test]
    fn a_digits_long_stroke_is_no_printed_line() {
        let image = grey(160, 160, |x, y| if bar(x, y) { 1.0 } else { 0.0 });
        let out = image.clone().without_slanted_lines();
        assert_eq!(out.pixels, image.pixels);
    }
}
