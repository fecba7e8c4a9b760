//! Stage 5, crop: specks of noise (small connected components of ink) removed, and the
//! picture cropped to the bounding box of the rest.

use std::collections::VecDeque;

use crate::grey::Grey;

/// Ink components with less than this fraction of the largest component's ink are noise.
const SPECK_FRACTION: f32 = 0.1;

impl Grey {
    /// The bounding box of the ink without specks of noise; `None` if no ink is left.
    pub(super) fn without_specks(mut self) -> Option<Grey> {
        let (labels, masses) = components(&self);
        let largest = masses.iter().copied().fold(0.0, f32::max);
        if largest <= 0.0 {
            return None;
        }
        let (mut left, mut top, mut right, mut bottom) = (usize::MAX, usize::MAX, 0, 0);
        for y in 0..self.height {
            for x in 0..self.width {
                let index = y * self.width + x;
                match labels[index] as usize {
                    label if masses[label] >= SPECK_FRACTION * largest => {
                        (left, top) = (left.min(x), top.min(y));
                        (right, bottom) = (right.max(x), bottom.max(y));
                    }
                    _ => self.pixels[index] = 0.0,
                }
            }
        }
        Some(self.cropped(left, top, right + 1 - left, bottom + 1 - top))
    }

    /// The `width` x `height` rectangle whose top left pixel is (`left`, `top`).
    fn cropped(&self, left: usize, top: usize, width: usize, height: usize) -> Grey {
        let mut out = Grey::new(width, height);
        for y in 0..height {
            let row = (top + y) * self.width + left;
            out.pixels[y * width..(y + 1) * width].copy_from_slice(&self.pixels[row..row + width]);
        }
        out
    }
}

/// The label of the pixels in no component.
const BACKGROUND: u32 = 0;

/// 8-connected components of the non-zero pixels: each pixel's label (from 1; 32 bits, a
/// quarter of the memory of a `usize` option) and each label's ink (0 for [`BACKGROUND`]).
fn components(image: &Grey) -> (Vec<u32>, Vec<f32>) {
    let (w, h) = (image.width, image.height);
    let mut labels = vec![BACKGROUND; image.pixels.len()];
    let mut masses = vec![0.0];
    let mut queue = VecDeque::new();
    for start in 0..image.pixels.len() {
        if image.pixels[start] <= 0.0 || labels[start] != BACKGROUND {
            continue;
        }
        let label = masses.len() as u32;
        let mut mass = 0.0;
        labels[start] = label;
        queue.push_back(start);
        while let Some(index) = queue.pop_front() {
            mass += image.pixels[index];
            let (x, y) = (index % w, index / w);
            for ny in y.saturating_sub(1)..(y + 2).min(h) {
                for nx in x.saturating_sub(1)..(x + 2).min(w) {
                    let neighbour = ny * w + nx;
                    if image.pixels[neighbour] > 0.0 && labels[neighbour] == BACKGROUND {
                        labels[neighbour] = label;
                        queue.push_back(neighbour);
                    }
                }
            }
        }
        masses.push(mass);
    }
    (labels, masses)
}

#[cfg(test)]
mod tests {
    use crate::grey::tests::grey;

    #[test]
    fn specks_are_removed_and_the_crop_is_the_digit() {
        let image = grey(60, 60, |x, y| {
            let bar = (20..25).contains(&x) && (10..50).contains(&y);
            let speck = (x, y) == (55, 3);
            if bar || speck { 1.0 } else { 0.0 }
        });
        let cropped = image.without_specks().expect("ink");
        assert_eq!((cropped.width, cropped.height), (5, 40));
        assert!(cropped.pixels.iter().all(|&v| v == 1.0));
    }
}
