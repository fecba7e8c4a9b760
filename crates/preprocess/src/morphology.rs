//! Grey openings by squares (a minimum filter, then a maximum filter), at a few comparisons a
//! pixel whatever the square's side, in buffers reused from one opening to the next.

use crate::geometry::transpose_into;
use crate::grey::Grey;

/// Buffers for grey openings, reused from one opening to the next: a fresh buffer is fresh
/// pages from the operating system, which in a photo's analysis cost more than the filtering.
pub(super) struct Openings {
    padded: Vec<f32>,
    transposed: Vec<f32>,
    /// Two blocks of running extremes from each block's end (see [`Self::filter_columns`]).
    from_end: Vec<f32>,
    /// One row of running extremes from the current block's start.
    from_start: Vec<f32>,
    opening: Grey,
}

impl Openings {
    /// Buffers for openings of a `width` x `height` image by squares up to `side`, allocated
    /// once.
    pub(super) fn for_image(width: usize, height: usize, side: usize) -> Self {
        let pad = side / 2 + 1;
        let (w, h) = (width + 2 * pad, height + 2 * pad);
        Self {
            padded: Vec::with_capacity(w * h),
            transposed: Vec::with_capacity(w * h),
            from_end: Vec::with_capacity(2 * side * w.max(h)),
            from_start: Vec::with_capacity(w.max(h)),
            opening: Grey::new(width, height),
        }
    }

    /// Grey opening by a `side` x `side` square, the image continued beyond its edges by its
    /// edge values: paper along the border is as broad as the paper it continues, not a thin
    /// strip.
    pub(super) fn opened(&mut self, image: &Grey, side: usize) -> &Grey {
        let pad = side / 2 + 1;
        let (w, h) = (image.width + 2 * pad, image.height + 2 * pad);
        let mut padded = std::mem::take(&mut self.padded);
        padded.clear();
        for y in 0..h {
            let source = y.saturating_sub(pad).min(image.height - 1);
            let row = &image.pixels[source * image.width..][..image.width];
            padded.extend(std::iter::repeat_n(row[0], pad));
            padded.extend_from_slice(row);
            padded.extend(std::iter::repeat_n(row[image.width - 1], pad));
        }
        // A square's extreme is the extreme down columns of the extremes along rows, in either
        // order; rows are filtered as the columns of the transposed image.
        let mut transposed = std::mem::take(&mut self.transposed);
        self.filter_columns::<true>(&mut padded, w, side);
        transpose_into(&padded, w, h, &mut transposed);
        self.filter_columns::<true>(&mut transposed, h, side);
        self.filter_columns::<false>(&mut transposed, h, side);
        transpose_into(&transposed, h, w, &mut padded);
        self.filter_columns::<false>(&mut padded, w, side);
        let opening = &mut self.opening;
        (opening.width, opening.height) = (image.width, image.height);
        opening.pixels.clear();
        for y in 0..image.height {
            opening
                .pixels
                .extend_from_slice(&padded[(y + pad) * w + pad..][..image.width]);
        }
        (self.padded, self.transposed) = (padded, transposed);
        &self.opening
    }

    /// A minimum (`MIN`) or maximum filter down columns over `side` rows, `side / 2` above
    /// and the rest below (clipped at the edges), in place on `values` (rows of `width`), by
    /// van Herk and Gil-Werman's method: the rows continued by `side / 2` rows of the identity
    /// either side fall into blocks of `side`; every window spans the end of one block and the
    /// start of the next, so its extreme is that of the running extremes from the first
    /// block's end and from the second block's start: a few comparisons a pixel whatever the
    /// side. Each step is an element-wise pass over a row in memory order, and only two blocks
    /// of running extremes are kept, so that the work stays in cache.
    fn filter_columns<const MIN: bool>(&mut self, values: &mut [f32], width: usize, side: usize) {
        let (w, h, half) = (width, values.len() / width, side / 2);
        // Row `r` of the continued rows: row `r - half` of the image, or the identity.
        let row = |r: usize| (half..half + h).contains(&r).then(|| (r - half) * w);
        reset(&mut self.from_end, 2 * side * w, identity::<MIN>());
        reset(&mut self.from_start, w, identity::<MIN>());
        let (from_end, from_start) = (&mut self.from_end, &mut self.from_start);
        // The running extremes from each row of block `block` to the block's end, into the
        // block's half of `from_end`.
        let ends = |from_end: &mut [f32], values: &[f32], block: usize| {
            let ends = &mut from_end[(block % 2) * side * w..][..side * w];
            for j in (0..side).rev() {
                let (current, after) = ends.split_at_mut((j + 1) * w);
                let current = &mut current[j * w..];
                if j + 1 < side {
                    current.copy_from_slice(&after[..w]);
                } else {
                    current.fill(identity::<MIN>());
                }
                if let Some(at) = row(block * side + j) {
                    running::<MIN>(current, &values[at..at + w]);
                }
            }
        };
        ends(from_end, values, 0);
        for block in 0..h.div_ceil(side) {
            if (block + 1) * side < h {
                ends(from_end, values, block + 1);
            }
            let ends = &from_end[(block % 2) * side * w..][..side * w];
            // Output row `block * side + j` ends its window at row `j - 1` of the next block;
            // rows read from there on lie below every row written so far.
            let first = block * side;
            values[first * w..][..w].copy_from_slice(&ends[..w]);
            from_start.fill(identity::<MIN>());
            for j in 1..side.min(h - first) {
                if let Some(at) = row(first + side + j - 1) {
                    running::<MIN>(from_start, &values[at..at + w]);
                }
                let out = &mut values[(first + j) * w..][..w];
                for ((out, &end), &start) in
                    out.iter_mut().zip(&ends[j * w..][..w]).zip(&*from_start)
                {
                    *out = pick::<MIN>(end, start);
                }
            }
        }
    }
}

/// `buffer` as `length` copies of `value`, in the memory it already has where that suffices.
fn reset(buffer: &mut Vec<f32>, length: usize, value: f32) {
    buffer.clear();
    buffer.resize(length, value);
}

/// The minimum (`MIN`) or maximum of two values (never NaN here), as one instruction.
#[inline]
fn pick<const MIN: bool>(a: f32, b: f32) -> f32 {
    if (a < b) == MIN { a } else { b }
}

/// `running[i]` becomes the extreme (by `MIN`) of itself and `values[i]`.
fn running<const MIN: bool>(running: &mut [f32], values: &[f32]) {
    for (running, &value) in running.iter_mut().zip(values) {
        *running = pick::<MIN>(*running, value);
    }
}

/// The value that never wins: +inf for a minimum, -inf for a maximum.
fn identity<const MIN: bool>() -> f32 {
    if MIN {
        f32::INFINITY
    } else {
        f32::NEG_INFINITY
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grey::tests::noisy;

    #[test]
    fn the_fast_minimum_and_maximum_filters_down_columns_equal_the_direct_ones() {
        let image = noisy(37, 23);
        let mut openings = Openings::for_image(37, 23, 12);
        for side in 1..=30 {
            let (mut min, mut max) = (image.clone(), image.clone());
            openings.filter_columns::<true>(&mut min.pixels, 37, side);
            openings.filter_columns::<false>(&mut max.pixels, 37, side);
            for y in 0..23usize {
                for x in 0..37usize {
                    // The window the filter covers: `side / 2` before, the rest after.
                    let ys = y.saturating_sub(side / 2)..(y + side - side / 2).min(23);
                    let values: Vec<f32> = ys.map(|j| image.at(x, j)).collect();
                    let low = values.iter().copied().fold(f32::INFINITY, f32::min);
                    let high = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                    assert_eq!(min.at(x, y), low, "side {side} at ({x}, {y})");
                    assert_eq!(max.at(x, y), high, "side {side} at ({x}, {y})");
                }
            }
        }
    }

    #[test]
    fn openings_equal_the_direct_ones_on_the_image_continued_by_its_edges() {
        let (width, height) = (37, 23);
        let image = noisy(width, height);
        let mut openings = Openings::for_image(width, height, 16);
        for side in 1..=16 {
            let (before, after) = ((side / 2) as isize, (side - 1 - side / 2) as isize);
            let window = |x: isize, y: isize| {
                (y - before..=y + after)
                    .flat_map(move |j| (x - before..=x + after).map(move |i| (i, j)))
            };
            // The minimum around every point the maximum then looks at, the image continued
            // beyond its edges by its edge values.
            let continued = |i: isize, j: isize| {
                image.at(
                    i.clamp(0, width as isize - 1) as usize,
                    j.clamp(0, height as isize - 1) as usize,
                )
            };
            let eroded = |x: isize, y: isize| {
                window(x, y)
                    .map(|(i, j)| continued(i, j))
                    .fold(f32::INFINITY, f32::min)
            };
            let opening = openings.opened(&image, side);
            for y in 0..height as isize {
                for x in 0..width as isize {
                    let direct = window(x, y)
                        .map(|(i, j)| eroded(i, j))
                        .fold(f32::NEG_INFINITY, f32::max);
                    assert_eq!(
                        opening.at(x as usize, y as usize),
                        direct,
                        "side {side} at ({x}, {y})"
                    );
                }
            }
        }
    }
}
