//! Stage 5, the digit a person means, cropped: of the groups of ink left (connected
//! components), specks of noise go, and so do the groups that are not the digit when a digit
//! stands apart from them: pieces cut by the picture's border beside it (a neighbour in a
//! number, a whiteboard's frame, an app's toolbar), a frame around it (a canvas border), and
//! small marks far from it (buttons, stray dots). Then the picture is cropped to the rest.

use image::{GrayImage, Luma};
use imageproc::contrast::otsu_level;
use imageproc::distance_transform::{Norm, distance_transform};
use imageproc::region_labelling::{Connectivity, connected_components};

use crate::grey::Grey;

/// Ink components with less than this fraction of the largest component's ink are noise.
const SPECK_FRACTION: f32 = 0.1;
/// A component with less than this fraction of the digit's ink, further from it than
/// [`FAR`] times the digit's size, is a mark beside it, not part of it.
const MARK_FRACTION: f32 = 0.35;
const FAR: f32 = 0.3;
/// A group within this fraction of the picture's side from an edge, running along at least
/// [`ALONG`] of it, hugs the edge as a frame or a bar does, as if cut by the border.
const EDGE: f32 = 0.08;
const ALONG: f32 = 0.6;

/// A group lighter at its brightest than this fraction of the digit's brightest is faint: a
/// ghost of erased writing, not ink.
const FAINT: f32 = 0.45;
/// A group filling this much of its box, at least [`SHEET_SIDE`] of the picture each way, is
/// a sheet (a sticky note lighter than the desk around it), not ink.
const SHEET_FILL: f32 = 0.75;
const SHEET_SIDE: f32 = 0.4;
/// The side, in pixels, of the reduced copy a sheet is looked for on.
const SHEET_WORK: usize = 160;
/// How much darker than a sheet, on the whole, the desk around it is (0..1 scale).
const DESK_CONTRAST: f64 = 0.15;
/// The fraction of a sheet's box's edges its ink covers.
const SHEET_EDGE: f32 = 0.9;

/// One connected group of ink.
#[derive(Clone, Copy, Debug)]
struct Group {
    mass: f32,
    /// Its brightest value.
    peak: f32,
    /// How many pixels it has.
    count: usize,
    /// `[left, top, right, bottom]`, inclusive.
    bounds: [usize; 4],
    /// Whether it reaches the picture's border, or hugs an edge.
    cut: bool,
    /// Whether it hugs an edge (see [`Group::hugs_edge`]).
    hugs: bool,
}

impl Group {
    fn union(self, other: Group) -> Group {
        let [a, b] = [self.bounds, other.bounds];
        Group {
            mass: self.mass + other.mass,
            peak: self.peak.max(other.peak),
            count: self.count + other.count,
            bounds: [
                a[0].min(b[0]),
                a[1].min(b[1]),
                a[2].max(b[2]),
                a[3].max(b[3]),
            ],
            cut: self.cut || other.cut,
            hugs: self.hugs || other.hugs,
        }
    }

    /// The gap between the two boxes (0 where they overlap), along the wider of the axes.
    fn gap(&self, other: &Group) -> usize {
        let [a, b] = [self.bounds, other.bounds];
        let dx = b[0].saturating_sub(a[2]).max(a[0].saturating_sub(b[2]));
        let dy = b[1].saturating_sub(a[3]).max(a[1].saturating_sub(b[3]));
        dx.max(dy)
    }

    /// Whether this group lies wholly beside `core` (left, right, above or below it).
    fn beside(&self, core: &Group) -> bool {
        let [a, c] = [self.bounds, core.bounds];
        a[2] < c[0] || a[0] > c[2] || a[3] < c[1] || a[1] > c[3]
    }

    /// Whether this group's box holds `core`'s with room to spare: a frame around it.
    fn around(&self, core: &Group) -> bool {
        let [a, c] = [self.bounds, core.bounds];
        a[0] < c[0] && a[1] < c[1] && a[2] > c[2] && a[3] > c[3]
    }

    /// Whether the group lies near an edge of a `w` x `h` picture and runs along most of it.
    fn hugs_edge(&self, w: usize, h: usize) -> bool {
        let [l, t, r, b] = self.bounds.map(|v| v as f32);
        let (w, h) = (w as f32, h as f32);
        let (near_x, near_y) = (EDGE * w, EDGE * h);
        let (long_x, long_y) = (r - l + 1.0 >= ALONG * w, b - t + 1.0 >= ALONG * h);
        (long_x && (b < near_y || t > h - 1.0 - near_y))
            || (long_y && (r < near_x || l > w - 1.0 - near_x))
    }

    /// Whether the group is a speck of noise beside the heaviest group, of `largest` ink.
    fn speck(&self, largest: f32) -> bool {
        self.mass < SPECK_FRACTION * largest
    }

    fn size(&self) -> usize {
        (self.bounds[2] - self.bounds[0]).max(self.bounds[3] - self.bounds[1]) + 1
    }
}

impl Grey {
    /// The box `[left, top, right, bottom]` (inclusive) of a sheet the digit is written on,
    /// where the ink found is one: a solid group, lighter than what surrounds it, that fills
    /// most of its box and is no smaller than [`SHEET_SIDE`] of the picture either way. The
    /// digit is then a hole in it, and the sheet is where to look again.
    pub(super) fn sheet(&self) -> Option<[usize; 4]> {
        let (_, groups) = components(self);
        let largest = groups.into_iter().max_by_key(|g| g.count)?;
        let [l, t, r, b] = largest.bounds;
        let (bw, bh) = (r + 1 - l, b + 1 - t);
        let whole = bw == self.width && bh == self.height;
        let large = bw as f32 >= SHEET_SIDE * self.width as f32
            && bh as f32 >= SHEET_SIDE * self.height as f32;
        let solid = largest.count as f32 >= SHEET_FILL * (bw * bh) as f32;
        // A sheet's outline is its box: ink all along the box's edges (a blot of marker's is
        // rounder).
        let edge: Vec<usize> = (l..=r)
            .flat_map(|x| [t * self.width + x, b * self.width + x])
            .chain((t..=b).flat_map(|y| [y * self.width + l, y * self.width + r]))
            .collect();
        let outlined = edge.iter().filter(|&&i| self.pixels[i] > 0.0).count() as f32
            >= SHEET_EDGE * edge.len() as f32;
        (large && solid && outlined && !whole).then_some(largest.bounds)
    }

    /// The box `[left, top, right, bottom]` (inclusive) of a lighter sheet with a darker desk
    /// showing along some of the picture's edges: Otsu's split of the picture's levels, and
    /// the largest lighter group, where it is no smaller than [`SHEET_SIDE`] of the picture
    /// either way, fills most of its box (the digit is a hole in it), holds the picture's
    /// centre, and leaves the desk showing beyond at least one edge. Where such a desk bends
    /// the fitted background so far that no ink stands out, the sheet is where to look again.
    pub(super) fn lighter_sheet(&self) -> Option<[usize; 4]> {
        // Judged on a copy reduced to about SHEET_WORK pixels a side: a sheet is large, and
        // its box need not be exact (it is looked into a little inside its edges).
        let factor = (self.width.max(self.height) / SHEET_WORK).max(1);
        if factor > 1 {
            let [l, t, r, b] = self.block_mean(factor).lighter_sheet()?;
            let (right, bottom) = ((r + 1) * factor - 1, (b + 1) * factor - 1);
            return Some([
                l * factor,
                t * factor,
                right.min(self.width - 1),
                bottom.min(self.height - 1),
            ]);
        }
        let (w, h) = (self.width, self.height);
        let levels = GrayImage::from_fn(w as u32, h as u32, |x, y| {
            Luma([(self.at(x as usize, y as usize).clamp(0.0, 1.0) * 255.0).round() as u8])
        });
        let split = otsu_level(&levels);
        let lighter = GrayImage::from_fn(w as u32, h as u32, |x, y| {
            Luma([u8::from(levels.get_pixel(x, y).0[0] > split)])
        });
        let labels = connected_components(&lighter, Connectivity::Eight, Luma([0u8])).into_raw();
        let mut counts = vec![0usize; labels.iter().copied().max()? as usize + 1];
        labels.iter().for_each(|&label| counts[label as usize] += 1);
        let largest = (1..counts.len()).max_by_key(|&label| counts[label])? as u32;
        let (mut l, mut t, mut r, mut b) = (usize::MAX, usize::MAX, 0, 0);
        for (index, _) in labels
            .iter()
            .enumerate()
            .filter(|&(_, &label)| label == largest)
        {
            let (x, y) = (index % w, index / w);
            (l, t, r, b) = (l.min(x), t.min(y), r.max(x), b.max(y));
        }
        let (bw, bh) = (r + 1 - l, b + 1 - t);
        let large = bw as f32 >= SHEET_SIDE * w as f32 && bh as f32 >= SHEET_SIDE * h as f32;
        let solid = counts[largest as usize] as f32 >= SHEET_FILL * (bw * bh) as f32;
        let central = (l..=r).contains(&(w / 2)) && (t..=b).contains(&(h / 2));
        // The desk: what lies outside the box, clearly darker on the whole than the sheet.
        let (mut inside, mut outside) = ((0.0f64, 0usize), (0.0f64, 0usize));
        for (index, &value) in self.pixels.iter().enumerate() {
            let (x, y) = (index % w, index / w);
            let sum = if (l..=r).contains(&x) && (t..=b).contains(&y) {
                &mut inside
            } else {
                &mut outside
            };
            *sum = (sum.0 + f64::from(value), sum.1 + 1);
        }
        let mean = |(sum, count): (f64, usize)| sum / count.max(1) as f64;
        let desk = outside.1 > 0 && mean(outside) < mean(inside) - DESK_CONTRAST;
        (large && solid && central && desk).then_some([l, t, r, b])
    }

    /// The part of the picture a little inside `sheet`'s box (a twenty-fifth of its shorter
    /// side, at least a pixel), clear of the sheet's edge.
    pub(super) fn inside(&self, sheet: [usize; 4]) -> Grey {
        let [l, t, r, b] = sheet;
        let inset = ((r - l).min(b - t) / 25).max(1);
        let (l, t) = (l + inset, t + inset);
        let (w, h) = (
            (r.saturating_sub(inset) + 1).saturating_sub(l).max(1),
            (b.saturating_sub(inset) + 1).saturating_sub(t).max(1),
        );
        self.cropped(l.min(self.width - 1), t.min(self.height - 1), w, h)
    }

    /// The digit a person means (see the module's documentation), cropped to its bounding
    /// box, and where that box's top left corner lies in `self`; `None` if no ink is left.
    pub(super) fn the_digit(mut self) -> Option<(Grey, [usize; 2])> {
        // A ghost can join the digit to what is not the digit (a frame it touches, the border
        // beside a piece of the digit), and the digit would go with it: ghosts go first. Once
        // the groups are judged, the stroke width is the digit's own: where that finds more
        // ghost, the groups left are judged again.
        self.without_ghosts_touching();
        self.keep_the_meant_groups()?;
        if self.without_ghosts_touching() {
            self.keep_the_meant_groups()?;
        }
        let [left, top, right, bottom] = self.ink_box()?;
        let digit = self.cropped(left, top, right + 1 - left, bottom + 1 - top);
        Some((digit, [left, top]))
    }

    /// The box `[left, top, right, bottom]` (inclusive) of the ink; `None` if there is none.
    fn ink_box(&self) -> Option<[usize; 4]> {
        let (mut left, mut top, mut right, mut bottom) = (usize::MAX, usize::MAX, 0, 0);
        for (y, row) in self.pixels.chunks_exact(self.width).enumerate() {
            let Some(first) = row.iter().position(|&v| v > 0.0) else {
                continue;
            };
            let last = row.iter().rposition(|&v| v > 0.0).unwrap_or(first);
            (left, right) = (left.min(first), right.max(last));
            (top, bottom) = (top.min(y), y);
        }
        (left <= right).then_some([left, top, right, bottom])
    }

    /// Zeroes the groups of ink that are not the digit ([`meant`]); `None` if there is no ink.
    fn keep_the_meant_groups(&mut self) -> Option<()> {
        let (labels, groups) = components(self);
        let largest = groups.iter().map(|g| g.mass).fold(0.0, f32::max);
        if largest <= 0.0 {
            return None;
        }
        let keep = meant(&groups, largest);
        for (value, &label) in self.pixels.iter_mut().zip(&labels) {
            if label > 0 && !keep[label as usize - 1] {
                *value = 0.0;
            }
        }
        Some(())
    }

    /// Removes faint ink (below [`FAINT`] of the brightest) further than half a stroke's
    /// width from strong ink: a ghost of erased writing that touches the digit, which the
    /// faint-group rule cannot tell apart because the two are one group. A stroke's own soft
    /// edge lies within half its width of its core and stays. Returns whether any went.
    fn without_ghosts_touching(&mut self) -> bool {
        let Some([l, t, r, b]) = self.ink_box() else {
            return false;
        };
        let strong_level = FAINT * brightest_ink(&components(self).1);
        // Half the strong ink's mean width.
        let reach = (self.mean_width(strong_level) / 2.0).round().max(1.0) as u8;
        // Within the ink's box, which holds all the strong ink, each distance to the nearest
        // of it is the whole picture's.
        let (bw, bh) = (r + 1 - l, b + 1 - t);
        let strong = |x: u32, y: u32| self.at(l + x as usize, t + y as usize) >= strong_level;
        let mask = GrayImage::from_fn(bw as u32, bh as u32, |x, y| Luma([u8::from(strong(x, y))]));
        let distance = distance_transform(&mask, Norm::LInf).into_raw();
        let mut removed = false;
        for (y, far_row) in distance.chunks_exact(bw).enumerate() {
            let row = &mut self.pixels[(t + y) * self.width + l..][..bw];
            for (value, &far) in row.iter_mut().zip(far_row) {
                if *value > 0.0 && *value < strong_level && far > reach {
                    *value = 0.0;
                    removed = true;
                }
            }
        }
        removed
    }

    /// The `width` x `height` rectangle whose top left pixel is (`left`, `top`).
    pub(super) fn cropped(&self, left: usize, top: usize, width: usize, height: usize) -> Grey {
        let mut out = Grey::new(width, height);
        for y in 0..height {
            let row = (top + y) * self.width + left;
            out.pixels[y * width..(y + 1) * width].copy_from_slice(&self.pixels[row..row + width]);
        }
        out
    }
}

/// Which groups are the digit: not specks; and where some groups stay clear of the border,
/// without the cut groups beside them or around them, and without small marks far from them.
fn meant(groups: &[Group], largest: f32) -> Vec<bool> {
    let mut keep: Vec<bool> = groups.iter().map(|g| !g.speck(largest)).collect();
    // Ghosts: far fainter than the strongest ink.
    let brightest = brightest_ink(groups);
    for (group, kept) in groups.iter().zip(&mut keep) {
        if group.peak < FAINT * brightest {
            *kept = false;
        }
    }
    let inner = groups
        .iter()
        .zip(&keep)
        .filter(|(g, kept)| **kept && !g.cut)
        .map(|(g, _)| *g)
        .reduce(Group::union);
    // Where every group reaches the border (the digit too, joined to a ghost or cut by the
    // frame of the picture), only frames and bars along an edge go, beside or around the
    // heaviest group.
    let (inner, only_edges) = match inner {
        Some(inner) => (inner, false),
        None => {
            let heaviest = groups
                .iter()
                .zip(&keep)
                .filter(|(_, kept)| **kept)
                .map(|(g, _)| *g)
                .max_by(|a, b| a.mass.total_cmp(&b.mass));
            match heaviest {
                Some(heaviest) => (heaviest, true),
                None => return keep,
            }
        }
    };
    for (group, kept) in groups.iter().zip(&mut keep) {
        let edge_like = if only_edges { group.hugs } else { group.cut };
        if *kept && edge_like && (group.beside(&inner) || group.around(&inner)) {
            *kept = false;
        }
    }
    // The digit: the heaviest group left, with what lies close to it.
    let Some(main) = groups
        .iter()
        .zip(&keep)
        .filter(|(_, kept)| **kept)
        .map(|(g, _)| *g)
        .max_by(|a, b| a.mass.total_cmp(&b.mass))
    else {
        return keep;
    };
    let reach = (FAR * main.size() as f32) as usize;
    for (group, kept) in groups.iter().zip(&mut keep) {
        if *kept && group.mass < MARK_FRACTION * main.mass && group.gap(&main) > reach {
            *kept = false;
        }
    }
    keep
}

/// The brightest value of the groups that are not specks (a speck's peak is noise, not ink).
fn brightest_ink(groups: &[Group]) -> f32 {
    let largest = groups.iter().map(|g| g.mass).fold(0.0, f32::max);
    groups
        .iter()
        .filter(|g| !g.speck(largest))
        .map(|g| g.peak)
        .fold(0.0, f32::max)
}

/// 8-connected components of the non-zero pixels (imageproc's labelling): each pixel's label
/// (0 for none, else 1 + the index of its group) and the groups.
fn components(image: &Grey) -> (Vec<u32>, Vec<Group>) {
    let (w, h) = (image.width, image.height);
    let mut labels = vec![0; w * h];
    let Some([l, t, r, b]) = image.ink_box() else {
        return (labels, Vec::new());
    };
    // Labelled within the ink's box: a photo's digit is a small part of it, and the labelling's
    // work and memory go with the pixels labelled. Labels are numbered in the order the scan
    // meets their groups, which the box does not change.
    let (bw, bh) = (r + 1 - l, b + 1 - t);
    let mask: Vec<u8> = (t..=b)
        .flat_map(|y| &image.pixels[y * w + l..][..bw])
        .map(|&value| u8::from(value > 0.0))
        .collect();
    let mask = GrayImage::from_raw(bw as u32, bh as u32, mask).expect("the box's pixels");
    let boxed = connected_components(&mask, Connectivity::Eight, Luma([0u8])).into_raw();
    for (y, row) in boxed.chunks_exact(bw).enumerate() {
        labels[(t + y) * w + l..][..bw].copy_from_slice(row);
    }
    let count = boxed.iter().copied().max().unwrap_or(0) as usize;
    let mut groups = vec![
        Group {
            mass: 0.0,
            peak: 0.0,
            count: 0,
            bounds: [usize::MAX, usize::MAX, 0, 0],
            cut: false,
            hugs: false,
        };
        count
    ];
    for (y, row) in (t..).zip(boxed.chunks_exact(bw)) {
        let values = &image.pixels[y * w + l..][..bw];
        for ((x, &label), &value) in (l..).zip(row).zip(values) {
            if label == 0 {
                continue;
            }
            let group = &mut groups[label as usize - 1];
            group.mass += value;
            group.peak = group.peak.max(value);
            group.count += 1;
            let g = &mut group.bounds;
            (g[0], g[1], g[2], g[3]) = (g[0].min(x), g[1].min(y), g[2].max(x), g[3].max(y));
            group.cut |= x == 0 || y == 0 || x + 1 == w || y + 1 == h;
        }
    }
    for group in &mut groups {
        group.hugs = group.hugs_edge(w, h);
        group.cut |= group.hugs;
    }
    (labels, groups)
}

#[cfg(test)]
mod tests;
