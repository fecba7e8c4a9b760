//! Grey openings by squares (a minimum filter, then a maximum filter), at a few comparisons a
//! pixel whatever the square's side, in buffers reused from one opening to the next.

use crate::grey::Grey;

/// Buffers for grey openings, reused from one opening to the next: a fresh buffer is fresh
/// pages from the operating system, which in a photo's analysis cost more than the filtering.
pub(super) struct Openings {
    padded: Vec<f32>,
    line: Vec<f32>,
    from_start: Vec<f32>,
    from_end: Vec<f32>,
    opening: Grey,
}

impl Openings {
    /// Buffers for openings of a `width` x `height` image by squares up to `side`, allocated
    /// once.
    pub(super) fn for_image(width: usize, height: usize, side: usize) -> Self {
        let pad = side / 2 + 1;
        let (w, h) = (width + 2 * pad, height + 2 * pad);
        // The column pass runs over the padded rows and `side / 2` identity rows either side.
        let runs = w * (h + 2 * (side / 2));
        Self {
            padded: Vec::with_capacity(w * h),
            line: Vec::with_capacity(w + 2 * (side / 2)),
            from_start: Vec::with_capacity(runs),
            from_end: Vec::with_capacity(runs),
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
        self.filter::<true>(&mut padded, w, side);
        self.filter::<false>(&mut padded, w, side);
        let opening = &mut self.opening;
        (opening.width, opening.height) = (image.width, image.height);
        opening.pixels.clear();
        for y in 0..image.height {
            opening
                .pixels
                .extend_from_slice(&padded[(y + pad) * w + pad..][..image.width]);
        }
        self.padded = padded;
        &self.opening
    }

    /// A separable minimum (`MIN`) or maximum filter over a `side` x `side` square, in place
    /// on `values` (rows of `width`), clipped at the edges, by van Herk and Gil-Werman's
    /// method: within blocks of `side` values, running extremes from each block's start and
    /// from its end give any window's extreme from two of them, so the cost is a few
    /// comparisons a pixel whatever the side.
    fn filter<const MIN: bool>(&mut self, values: &mut [f32], width: usize, side: usize) {
        self.filter_rows::<MIN>(values, width, side);
        self.filter_columns::<MIN>(values, width, side);
    }

    /// [`Self::filter`] along rows only.
    fn filter_rows<const MIN: bool>(&mut self, values: &mut [f32], width: usize, side: usize) {
        let half = side / 2;
        let length = width + 2 * half;
        reset(&mut self.line, length, identity::<MIN>());
        reset(&mut self.from_start, length, 0.0);
        reset(&mut self.from_end, length, 0.0);
        for row in values.chunks_exact_mut(width) {
            self.line[half..half + width].copy_from_slice(row);
            block_extremes::<MIN>(&self.line, side, &mut self.from_start, &mut self.from_end);
            let starts = &self.from_start[side - 1..];
            for ((out, &end), &start) in row.iter_mut().zip(&self.from_end).zip(starts) {
                *out = pick::<MIN>(end, start);
            }
        }
    }

    /// [`Self::filter`] down columns only: the same blocks, of rows, with whole rows as the
    /// values, so that every step is an element-wise pass over a row in memory order.
    fn filter_columns<const MIN: bool>(&mut self, values: &mut [f32], width: usize, side: usize) {
        let (w, h, half) = (width, values.len() / width, side / 2);
        let length = h + 2 * half;
        reset(&mut self.from_start, length * w, identity::<MIN>());
        reset(&mut self.from_end, length * w, identity::<MIN>());
        // Row `r` of the image continued by the identity above and below.
        let row = |r: usize| (half..half + h).contains(&r).then(|| (r - half) * w);
        for block in (0..length).step_by(side) {
            let rows = block..(block + side).min(length);
            for r in rows.clone() {
                let (before, current) = self.from_start.split_at_mut(r * w);
                let current = &mut current[..w];
                if r > block {
                    current.copy_from_slice(&before[(r - 1) * w..]);
                }
                if let Some(at) = row(r) {
                    running::<MIN>(current, &values[at..at + w]);
                }
            }
            for r in rows.rev() {
                let (current, after) = self.from_end.split_at_mut((r + 1) * w);
                let current = &mut current[r * w..];
                if r + 1 < (block + side).min(length) {
                    current.copy_from_slice(&after[..w]);
                }
                if let Some(at) = row(r) {
                    running::<MIN>(current, &values[at..at + w]);
                }
            }
        }
        for (y, out) in values.chunks_exact_mut(w).enumerate() {
            let end = &self.from_end[y * w..][..w];
            let start = &self.from_start[(y + side - 1) * w..][..w];
            for ((out, &end), &start) in out.iter_mut().zip(end).zip(start) {
                *out = pick::<MIN>(end, start);
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

/// Running extremes (by `MIN`) of `values` within blocks of `side`: from each block's start
/// into `from_start`, from each block's end into `from_end`.
fn block_extremes<const MIN: bool>(
    values: &[f32],
    side: usize,
    from_start: &mut [f32],
    from_end: &mut [f32],
) {
    for ((block, start), end) in values
        .chunks(side)
        .zip(from_start.chunks_mut(side))
        .zip(from_end.chunks_mut(side))
    {
        let mut running = block[0];
        for (out, &v) in start.iter_mut().zip(block) {
            running = pick::<MIN>(running, v);
            *out = running;
        }
        let mut running = block[block.len() - 1];
        for (out, &v) in end.iter_mut().zip(block).rev() {
            running = pick::<MIN>(running, v);
            *out = running;
        }
    }
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
    use crate::grey::tests::grey;

    #[test]
    fn the_fast_minimum_and_maximum_filters_equal_the_direct_ones() {
        let image = grey(37, 23, |x, y| {
            ((x * 7919 + y * 104_729) % 101) as f32 / 100.0
        });
        let mut openings = Openings::for_image(37, 23, 12);
        for side in 1..=12 {
            let (mut min, mut max) = (image.clone(), image.clone());
            openings.filter::<true>(&mut min.pixels, 37, side);
            openings.filter::<false>(&mut max.pixels, 37, side);
            for y in 0..23usize {
                for x in 0..37usize {
                    // The window the filter covers: `side / 2` before, the rest after.
                    let xs = x.saturating_sub(side / 2)..(x + side - side / 2).min(37);
                    let ys = y.saturating_sub(side / 2)..(y + side - side / 2).min(23);
                    let values: Vec<f32> = ys
                        .flat_map(|j| xs.clone().map(move |i| (i, j)))
                        .map(|(i, j)| image.at(i, j))
                        .collect();
                    let low = values.iter().copied().fold(f32::INFINITY, f32::min);
                    let high = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                    assert_eq!(min.at(x, y), low, "side {side} at ({x}, {y})");
                    assert_eq!(max.at(x, y), high, "side {side} at ({x}, {y})");
                }
            }
        }
    }
}
