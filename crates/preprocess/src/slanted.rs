//! Stage 4, continued: printed lines at any angle. A hand-held photo of ruled or squared paper
//! shows its lines a few degrees off the picture's axes, converging under perspective and
//! slightly curved where the paper bends, which the axis-aligned runs of `lines.rs` miss.
//! Candidates come from a Hough transform (imageproc's), every angle at one degree; each is
//! then followed across the picture, a step at a time, along the ink nearest to it (so that a
//! bend is followed too). A candidate is a printed line when ink lies along most of the way
//! across; its pixels are removed where the ink across it is no thicker than the line, so that
//! strokes crossing it stay whole, as in `lines.rs`.

use std::ops::Range;

use image::{GrayImage, Luma};
use imageproc::definitions::Image;
use imageproc::hough::{LineDetectionOptions, PolarLine, detect_lines};
use imageproc::integral_image::{integral_image, sum_image_pixels};
use rayon::prelude::*;

use crate::grey::Grey;
use crate::lines::{thickest, widest_run};

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

/// One step along a followed line: the run of ink across it, its pixels a range of those of
/// all the line's runs.
struct Run {
    pixels: Range<usize>,
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
        let candidates = detect_lines(&mask, options);
        if candidates.is_empty() {
            return self;
        }
        let ink = Ink::new(ink, w, h);
        let thick = thickest(w, h) as usize;
        // Each candidate is followed on the original ink, apart from the others: several at
        // once, on rayon's pool.
        let printed: Vec<Vec<usize>> = candidates
            .into_par_iter()
            .filter_map(|line| printed_line(&ink, scale(line), thick))
            .collect();
        let removed_any = !printed.is_empty();
        let mut kept = ink.pixels;
        for &i in printed.iter().flatten() {
            kept[i] = false;
        }
        if removed_any {
            self.keeping(&kept)
        } else {
            self
        }
    }
}

/// The ink a line is followed along, with its integral image: most steps of most candidates
/// find no ink across the way (a candidate from a digit's thick stroke leaves the digit at
/// once), and the integral image tells that from four sums instead of a visit to every point
/// of the window.
struct Ink {
    pixels: Vec<bool>,
    width: usize,
    height: usize,
    sums: Image<Luma<u32>>,
}

impl Ink {
    fn new(pixels: Vec<bool>, width: usize, height: usize) -> Self {
        let mask = GrayImage::from_fn(width as u32, height as u32, |x, y| {
            Luma([u8::from(pixels[y as usize * width + x as usize])])
        });
        let sums = integral_image(&mask);
        Self {
            pixels,
            width,
            height,
            sums,
        }
    }

    /// The index of the pixel nearest `(x, y)`, `None` outside the picture.
    fn pixel(&self, x: f32, y: f32) -> Option<usize> {
        let (x, y) = (round(x), round(y));
        (x >= 0.0 && y >= 0.0 && (x as usize) < self.width && (y as usize) < self.height)
            .then(|| y as usize * self.width + x as usize)
    }

    /// Whether any ink lies in the box between `a` and `b`, rounded as [`Self::pixel`] rounds:
    /// the pixels of every point between them (rounding keeps their order) are in it.
    fn any_between(&self, a: (f32, f32), b: (f32, f32)) -> bool {
        let span = |p: f32, q: f32, size: usize| {
            let (p, q) = (round(p), round(q));
            let (low, high) = (p.min(q), p.max(q));
            let (low, high) = (low.max(0.0), high.min(size as f32 - 1.0));
            (low <= high).then_some((low as u32, high as u32))
        };
        let (Some((left, right)), Some((top, bottom))) =
            (span(a.0, b.0, self.width), span(a.1, b.1, self.height))
        else {
            return false;
        };
        sum_image_pixels(&self.sums, left, top, right, bottom)[0] > 0
    }
}

/// `value` rounded half away from zero, as [`f32::round`], which compiles to a library call
/// where the target has no rounding instruction (x86-64 before SSE4.1), at every point of
/// every followed line. Truncation and the fraction it leaves are exact for the points here,
/// within a few picture diagonals of it; the sign of a zero may differ, which no caller sees.
fn round(value: f32) -> f32 {
    let whole = value as i32 as f32;
    let fraction = value - whole;
    if fraction >= 0.5 {
        whole + 1.0
    } else if fraction <= -0.5 {
        whole - 1.0
    } else {
        whole
    }
}

/// The pixels of `line` where it is a printed line, followed along the ink (see [`follow`]):
/// those of its runs no thicker than the line (a stroke crossing it stays); `None` where it
/// is none, or thicker than `thick`.
fn printed_line(ink: &Ink, line: PolarLine, thick: usize) -> Option<Vec<usize>> {
    let (runs, pixels) = follow(ink, line, thick)?;
    // The line's own thickness: a lower quartile of the runs across it (strokes that cross it
    // make some runs longer).
    let mut lengths: Vec<usize> = runs.iter().map(|r| r.length).collect();
    let quartile = lengths.len() / 4;
    let thickness = *lengths.select_nth_unstable(quartile).1;
    if thickness > thick {
        return None;
    }
    let limit = widest_run(thickness as u32) as usize;
    let line = runs
        .into_iter()
        .filter(|r| r.length <= limit)
        .flat_map(|r| pixels[r.pixels].iter().copied())
        .collect();
    Some(line)
}

/// Follows `line` across the picture along the ink nearest to it: the runs of ink across it at
/// each step and all their pixels, or `None` where ink lies along less than [`SPAN`] of the
/// way.
fn follow(ink: &Ink, line: PolarLine, thick: usize) -> Option<(Vec<Run>, Vec<usize>)> {
    let (w, h) = (ink.width, ink.height);
    let angle = (line.angle_in_degrees as f32).to_radians();
    let normal = (angle.cos(), angle.sin());
    let along = (-normal.1, normal.0);
    let reach = (w as f32).hypot(h as f32);
    // The window across the way, in steps.
    let search = ((2 * thick + 2) as f32 / STEP) as i64;
    let max_offset = BEND * thick as f32 + 2.0;
    // A run that spans this many steps is longer than any printed line's (as
    // [`printed_line`] judges them): it is not followed further.
    let too_long = 2 * i64::from(widest_run(thick as u32)) - 1;
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
            count += usize::from(ink.pixel(point.0, point.1).is_some());
            t += STEP;
        }
        count
    };
    let allowed_misses = ((1.0 - SPAN) * inside as f32).ceil() as usize;
    let (mut steps, mut covered, mut offset) = (0usize, 0usize, 0.0f32);
    let (mut runs, mut pixels) = (Vec::new(), Vec::new());
    let mut t = -reach;
    while t <= reach {
        let centre = (
            line.r * normal.0 + t * along.0 + offset * normal.0,
            line.r * normal.1 + t * along.1 + offset * normal.1,
        );
        t += STEP;
        if ink.pixel(centre.0, centre.1).is_none() {
            continue;
        }
        steps += 1;
        // The point `s` steps across the way, and its pixel.
        let point = |s: i64| {
            let s = s as f32 * STEP;
            (centre.0 + s * normal.0, centre.1 + s * normal.1)
        };
        let at = |s: i64| {
            let (x, y) = point(s);
            ink.pixel(x, y)
        };
        let is_ink = |s: i64| at(s).is_some_and(|i| ink.pixels[i]);
        // The ink nearest the way, then its run across.
        let nearest = ink
            .any_between(point(-search), point(search))
            .then(|| (0..=search).flat_map(|d| [d, -d]).find(|&s| is_ink(s)))
            .flatten();
        let Some(found) = nearest else {
            if steps - covered > allowed_misses {
                return None;
            }
            continue;
        };
        covered += 1;
        let (mut a, mut b) = (found, found);
        while a > -search && b - a < too_long && is_ink(a - 1) {
            a -= 1;
        }
        while b < search && b - a < too_long && is_ink(b + 1) {
            b += 1;
        }
        let length = round((b - a) as f32 * STEP) as usize + 1;
        if a == -search || b == search || b - a >= too_long {
            // Ink across the whole window or wider than a printed line: a stroke crossing, or
            // a blot; never the line's.
            runs.push(Run {
                pixels: 0..0,
                length: usize::MAX,
            });
            continue;
        }
        // The run's pixels, each once (steps of half a pixel meet most twice in a row).
        let start = pixels.len();
        for i in (a..=b).filter_map(at) {
            if pixels.len() == start || pixels.last() != Some(&i) {
                pixels.push(i);
            }
        }
        runs.push(Run {
            pixels: start..pixels.len(),
            length,
        });
        if length <= thick {
            let middle = (a + b) as f32 / 2.0 * STEP;
            offset = (offset + 0.5 * middle).clamp(-max_offset, max_offset);
        }
    }
    (steps > 0 && covered as f32 >= SPAN * steps as f32).then_some((runs, pixels))
}

#[cfg(test)]
mod tests {
    use super::{Ink, STEP};
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
    fn rounding_equals_the_standard_librarys() {
        let mut value = -3000.0f32;
        while value < 3000.0 {
            for v in [
                value,
                value + 0.5,
                f32::from_bits((value + 0.5).to_bits() + 1),
            ] {
                assert_eq!(super::round(v).abs(), v.round().abs(), "{v}");
            }
            value += 0.123;
        }
        for v in [0.5f32, -0.5, 1.5, -2.5, 0.49999997, -0.49999997, 8388607.5] {
            assert_eq!(super::round(v), v.round(), "{v}");
        }
    }

    #[test]
    fn a_digits_long_stroke_is_no_printed_line() {
        let image = grey(160, 160, |x, y| if bar(x, y) { 1.0 } else { 0.0 });
        let out = image.clone().without_slanted_lines();
        assert_eq!(out.pixels, image.pixels);
    }

    /// The integral image's answer is only a shortcut: wherever a point between the two ends
    /// falls on ink (as `follow` samples them, half a pixel apart), it says there is ink, at
    /// any angle and where the ends lie outside the picture.
    #[test]
    fn the_window_holds_ink_wherever_a_point_across_it_does() {
        let (w, h) = (40, 30);
        let pixels: Vec<bool> = (0..w * h).map(|i| (i * 7919) % 23 == 0).collect();
        let ink = Ink::new(pixels, w, h);
        let (mut checked, mut empty) = (0, 0);
        for step in 0..2000u32 {
            let angle = (step as f32 * 0.37).to_radians() * 7.0;
            let normal = (angle.cos(), angle.sin());
            let centre = (
                (step * 13 % 56) as f32 - 8.0 + 0.3,
                (step * 29 % 46) as f32 - 8.0 + 0.6,
            );
            let search = i64::from(step % 9);
            let at = |s: i64| {
                let s = s as f32 * STEP;
                (centre.0 + s * normal.0, centre.1 + s * normal.1)
            };
            let sampled = (-search..=search)
                .any(|s| ink.pixel(at(s).0, at(s).1).is_some_and(|i| ink.pixels[i]));
            let said = ink.any_between(at(-search), at(search));
            assert!(said || !sampled, "ink missed around {centre:?} at {angle}");
            checked += usize::from(sampled);
            empty += usize::from(!said);
        }
        assert!(
            checked > 100 && empty > 100,
            "{checked} windows with ink, {empty} empty"
        );
    }
}
