//! Printed lines among the ink: the rules of notebook paper, the grid of squared paper, the
//! box of a form. They are found by their structure, long straight runs of ink, and removed
//! where they are not crossed by a stroke.
//!
//! A line is a connected set of pixels on long horizontal (or vertical) runs, thin across. It is
//! printed, not written, when it spans the picture (rules, grids, a row of form boxes; a faint
//! one in pieces along the same row), when
//! both its ends lie on printed lines across it (the walls of boxes in a row), or when it is a
//! side of a rectangle of such sets (a single box). A digit's straight stroke is neither: even a
//! long bar of a 7 or a 4 has at most one end on another stroke. A line's pixel is removed
//! where the ink across it is no thicker than the line: a stroke crossing the line keeps its
//! pixels, so the digit is not cut.

use crate::geometry::transposed;
use crate::grey::Grey;

/// A run counts as long from this fraction of the picture's shorter side.
const LONG_RUN: f64 = 0.25;
/// A line spans the picture when it covers this fraction of its length.
const SPAN: f64 = 0.9;
/// The thickest printed line, as a fraction of the picture's shorter side (and at least
/// [`MIN_THICKNESS`] pixels): thick marker strokes are not lines.
const THICKNESS: f64 = 0.04;
const MIN_THICKNESS: f64 = 3.0;

/// The thickest printed line in a `width` x `height` picture, in pixels.
pub(super) fn thickest(width: usize, height: usize) -> u32 {
    (THICKNESS * width.min(height) as f64).max(MIN_THICKNESS) as u32
}

/// The longest run across a printed line `thickness` thick that is still the line's: where a
/// stroke crosses it, the runs are longer.
pub(super) fn widest_run(thickness: u32) -> u32 {
    thickness + (thickness / 2).max(1)
}

/// How many pixels of ink each pixel's run along rows has (0 off the ink). Sixteen bits hold
/// any run of a working image (at most [`crate::WORKING_SIDE`] a side) at half the memory.
fn runs(ink: &[bool], width: usize) -> Vec<u16> {
    let mut lengths = vec![0u16; ink.len()];
    for (row, out) in ink.chunks_exact(width).zip(lengths.chunks_exact_mut(width)) {
        let mut start = 0;
        while start < width {
            let end = (start..width)
                .find(|&x| row[x] != row[start])
                .unwrap_or(width);
            if row[start] {
                out[start..end].fill(u16::try_from(end - start).unwrap_or(u16::MAX));
            }
            start = end;
        }
    }
    lengths
}

/// A candidate line: its bounding box (along, across: inclusive) and
/// thickness (a lower quartile of the ink's extent across it), in the orientation it was
/// found in.
struct Line {
    along: (usize, usize),
    across: (usize, usize),
    thickness: u32,
}

impl Line {
    /// The indices (in the orientation it was found in, `length` along and `breadth` across)
    /// of the band the line runs in: its rows, along its own extent, or along the whole picture
    /// where it spans most of it, so that a faint line's pieces too short to be runs (where
    /// noise broke it) go with it, even where they touch the digit.
    fn band(&self, length: usize, breadth: usize) -> impl Iterator<Item = usize> {
        let reach = 2 * self.thickness as usize + 2;
        let (start, end) = if (self.along.1 - self.along.0 + 1) * 2 >= length {
            (0, length - 1)
        } else {
            (
                self.along.0.saturating_sub(reach),
                (self.along.1 + reach).min(length - 1),
            )
        };
        let rows = self.across.0..=self.across.1.min(breadth - 1);
        rows.flat_map(move |y| (start..=end).map(move |x| y * length + x))
    }

    fn middle(&self) -> usize {
        (self.across.0 + self.across.1) / 2
    }

    /// Whether `end` (a position along this line) is near `other` line, which runs the other
    /// way, and this line's middle is within `other`'s extent.
    fn meets(&self, end: usize, other: &Line, slack: usize) -> bool {
        end + slack >= other.across.0
            && end <= other.across.1 + slack
            && self.middle() + slack >= other.along.0
            && self.middle() <= other.along.1 + slack
    }
}

/// Candidate lines along rows of `ink` (`width` wide): 8-connected sets of pixels on runs of
/// at least `long`, with the thickness across them measured by `across` (run lengths down
/// the columns, in row-major order).
fn candidates(ink: &[bool], width: usize, long: u32, across: &[u16], thick: u32) -> Vec<Line> {
    // Pixels thicker across than a printed line can be are no part of one: where a line runs
    // through a digit, the strokes it crosses do not join it to the digit's own long runs.
    let along = runs(ink, width);
    let on_line = |i: usize| u32::from(along[i]) >= long && u32::from(across[i]) <= thick;
    let height = ink.len() / width;
    let mut seen = vec![false; ink.len()];
    let mut lines = Vec::new();
    for start in 0..ink.len() {
        if !on_line(start) || seen[start] {
            continue;
        }
        seen[start] = true;
        let mut stack = vec![start];
        let mut pixels = Vec::new();
        while let Some(index) = stack.pop() {
            pixels.push(index);
            let (x, y) = (index % width, index / width);
            for ny in y.saturating_sub(1)..(y + 2).min(height) {
                for nx in x.saturating_sub(1)..(x + 2).min(width) {
                    let neighbour = ny * width + nx;
                    if on_line(neighbour) && !seen[neighbour] {
                        seen[neighbour] = true;
                        stack.push(neighbour);
                    }
                }
            }
        }
        let xs = pixels.iter().map(|i| i % width);
        let ys = pixels.iter().map(|i| i / width);
        // A lower quartile: where a thick stroke runs along the line, its pixels are fewer
        // than the line's own.
        let mut thickness: Vec<u32> = pixels.iter().map(|&i| u32::from(across[i])).collect();
        let quartile = thickness.len() / 4;
        let thickness = *thickness.select_nth_unstable(quartile).1;
        lines.push(Line {
            along: (xs.clone().min().unwrap_or(0), xs.max().unwrap_or(0)),
            across: (ys.clone().min().unwrap_or(0), ys.max().unwrap_or(0)),
            thickness,
        });
    }
    joined(lines, ink, width)
}

/// The pieces of one line made whole: pieces along the same rows, where ink (the strokes
/// that cross the line and broke it) fills every column between them, become one line.
fn joined(mut pieces: Vec<Line>, ink: &[bool], width: usize) -> Vec<Line> {
    let height = ink.len() / width;
    pieces.sort_by_key(|line| (line.middle(), line.along.0));
    let mut lines: Vec<Line> = Vec::new();
    for piece in pieces {
        let bridged = |line: &Line| {
            let reach = 2 * line.thickness.max(piece.thickness) as usize + 2;
            let rows = line.across.0.min(piece.across.0).saturating_sub(reach)
                ..(line.across.1.max(piece.across.1) + reach + 1).min(height);
            line.middle().abs_diff(piece.middle()) <= reach
                && line.along.1 < piece.along.0
                && (line.along.1 + 1..piece.along.0)
                    .all(|x| rows.clone().any(|y| ink[y * width + x]))
        };
        match lines.iter_mut().rev().find(|line| bridged(line)) {
            Some(line) => {
                line.along.1 = piece.along.1;
                line.across = (
                    line.across.0.min(piece.across.0),
                    line.across.1.max(piece.across.1),
                );
                line.thickness = line.thickness.min(piece.thickness);
            }
            None => lines.push(piece),
        }
    }
    lines
}

/// Which of the horizontal and vertical candidates are printed (see the module documentation).
fn printed(
    horizontal: &[Line],
    vertical: &[Line],
    [ink, ink_t]: [&[bool]; 2],
    width: usize,
    height: usize,
) -> [Vec<bool>; 2] {
    let thin = |line: &Line| line.thickness <= thickest(width, height);
    let slack = |a: &Line, b: &Line| (2 * a.thickness.max(b.thickness) as usize + 2).max(4);
    // A line spans the picture if ink runs along its rows across most of it: a faint line's
    // pieces count together, and so do the strokes that cross it and break it into pieces.
    let spans = |ink: &[bool], line: &Line, length: usize| {
        let reach = slack(line, line);
        let breadth = ink.len() / length;
        let rows = line.across.0.saturating_sub(reach)..(line.across.1 + reach + 1).min(breadth);
        let covered = (0..length)
            .filter(|&x| rows.clone().any(|y| ink[y * length + x]))
            .count();
        thin(line) && covered as f64 >= SPAN * length as f64
    };
    let mut h: Vec<bool> = horizontal.iter().map(|l| spans(ink, l, width)).collect();
    let mut v: Vec<bool> = vertical.iter().map(|l| spans(ink_t, l, height)).collect();
    // Both ends on printed lines across: the walls between boxes in a row.
    let between = |lines: &[Line], others: &[Line], printed: &[bool]| -> Vec<bool> {
        lines
            .iter()
            .map(|line| {
                let on = |end: usize| {
                    others
                        .iter()
                        .zip(printed)
                        .any(|(o, &p)| p && line.meets(end, o, slack(line, o)))
                };
                thin(line) && on(line.along.0) && on(line.along.1)
            })
            .collect()
    };
    let walls_v = between(vertical, horizontal, &h);
    let walls_h = between(horizontal, vertical, &v);
    v.iter_mut().zip(walls_v).for_each(|(p, w)| *p |= w);
    h.iter_mut().zip(walls_h).for_each(|(p, w)| *p |= w);
    // A rectangle: top and bottom meet left and right at their ends, and the other way round.
    for (t, top) in horizontal.iter().enumerate() {
        for (b, bottom) in horizontal.iter().enumerate() {
            if bottom.middle() <= top.middle() || !thin(top) || !thin(bottom) {
                continue;
            }
            let sides: Vec<usize> = (0..vertical.len())
                .filter(|&s| thin(&vertical[s]))
                .collect();
            let corner = |hl: &Line, hend: usize, vl: &Line, vend: usize| {
                let s = slack(hl, vl);
                hl.meets(hend, vl, s) && vl.meets(vend, hl, s)
            };
            for &l in &sides {
                for &r in &sides {
                    let (left, right) = (&vertical[l], &vertical[r]);
                    if right.middle() <= left.middle() {
                        continue;
                    }
                    if corner(top, top.along.0, left, left.along.0)
                        && corner(top, top.along.1, right, right.along.0)
                        && corner(bottom, bottom.along.0, left, left.along.1)
                        && corner(bottom, bottom.along.1, right, right.along.1)
                    {
                        (h[t], h[b], v[l], v[r]) = (true, true, true, true);
                    }
                }
            }
        }
    }
    [h, v]
}

impl Grey {
    /// The ink without printed lines; unchanged where there are none, or where removing them
    /// would leave almost nothing (a lone straight stroke spanning a tight crop).
    pub(super) fn without_lines(self) -> Grey {
        let (w, h) = (self.width, self.height);
        let long = ((LONG_RUN * w.min(h) as f64) as u32).max(8);
        let ink: Vec<bool> = self.pixels.iter().map(|&v| v > 0.0).collect();
        let rows = runs(&ink, w);
        let ink_t = transposed(&ink, w, h);
        let columns_t = runs(&ink_t, h);
        let thick = thickest(w, h);
        // The two orientations are independent: one on another core.
        let ((horizontal, columns), vertical) = rayon::join(
            || {
                let columns = transposed(&columns_t, h, w);
                (candidates(&ink, w, long, &columns, thick), columns)
            },
            || {
                let rows_t = transposed(&rows, w, h);
                candidates(&ink_t, h, long, &rows_t, thick)
            },
        );
        let [printed_h, printed_v] = printed(&horizontal, &vertical, [&ink, &ink_t], w, h);
        if !printed_h.iter().chain(&printed_v).any(|&p| p) {
            return self;
        }
        let mut kept = ink.clone();
        for (line, _) in horizontal.iter().zip(&printed_h).filter(|(_, p)| **p) {
            for i in line.band(w, h) {
                if ink[i] && u32::from(columns[i]) <= widest_run(line.thickness) {
                    kept[i] = false;
                }
            }
        }
        // Across a vertical line, what is left after the horizontal ones: their crossings
        // with it go with it.
        let rows_left = transposed(&runs(&kept, w), w, h);
        let mut kept_t = transposed(&kept, w, h);
        for (line, _) in vertical.iter().zip(&printed_v).filter(|(_, p)| **p) {
            for i in line.band(h, w) {
                if kept_t[i] && u32::from(rows_left[i]) <= widest_run(line.thickness) {
                    kept_t[i] = false;
                }
            }
        }
        let kept = transposed(&kept_t, h, w);
        self.keeping(&kept)
    }

    /// The ink where `kept`, the rest set to 0; unchanged where that would leave almost
    /// nothing (under 5% of the ink: a lone straight stroke spanning a tight crop).
    pub(super) fn keeping(mut self, kept: &[bool]) -> Grey {
        let before: f32 = self.pixels.iter().sum();
        let mut out = self.pixels.clone();
        for (value, keep) in out.iter_mut().zip(kept) {
            if !keep {
                *value = 0.0;
            }
        }
        if out.iter().sum::<f32>() >= 0.05 * before {
            self.pixels = out;
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use crate::grey::tests::grey;

    /// A vertical bar (a stroke) 6 pixels wide, rows 20..96 of a 120x120 picture.
    fn bar(x: usize, y: usize) -> bool {
        (57..63).contains(&x) && (20..96).contains(&y)
    }

    #[test]
    fn rules_across_the_picture_go_and_the_stroke_crossing_them_stays_whole() {
        let image = grey(120, 120, |x, y| {
            let rule = y % 30 == 10 || y % 30 == 11;
            if bar(x, y) || rule { 1.0 } else { 0.0 }
        });
        let out = image.without_lines();
        for y in 0..120 {
            for x in 0..120 {
                assert_eq!(out.at(x, y) > 0.0, bar(x, y), "({x}, {y})");
            }
        }
    }

    #[test]
    fn a_box_around_the_stroke_goes_and_a_lone_bar_stays() {
        let frame = |x: usize, y: usize| {
            let (on_x, on_y) = ((10..111).contains(&x), (10..111).contains(&y));
            (on_x && (y == 10 || y == 110)) || (on_y && (x == 10 || x == 110))
        };
        let boxed = grey(
            120,
            120,
            |x, y| {
                if bar(x, y) || frame(x, y) { 1.0 } else { 0.0 }
            },
        );
        let out = boxed.without_lines();
        assert!((0..120 * 120).all(|i| (out.pixels[i] > 0.0) == bar(i % 120, i / 120)));
        // The top of a 7 in thin pen: long and straight, but spanning nothing and no side of
        // a box.
        let seven = |x: usize, y: usize| (y < 2 && (20..100).contains(&x)) || bar(x, y);
        let image = grey(120, 120, |x, y| if seven(x, y) { 1.0 } else { 0.0 });
        let kept = image.without_lines();
        assert_eq!(
            kept.pixels.iter().filter(|&&v| v > 0.0).count(),
            80 * 2 + 76 * 6
        );
    }
}
