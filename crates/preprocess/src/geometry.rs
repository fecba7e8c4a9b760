//! Geometry of row-major images: where the ink lies, its centre of mass, rows and columns
//! exchanged.

/// `[left, top, right, bottom]` (inclusive) of the non-zero pixels of a row-major image.
pub(super) fn bounding_box(pixels: &[u8], width: usize) -> Option<[usize; 4]> {
    let mut found: Option<[usize; 4]> = None;
    for (index, _) in pixels.iter().enumerate().filter(|(_, p)| **p > 0) {
        let (x, y) = (index % width, index / width);
        found = Some(match found {
            None => [x, y, x, y],
            Some([l, t, r, b]) => [l.min(x), t.min(y), r.max(x), b.max(y)],
        });
    }
    found
}

/// The intensity-weighted mean (x, y) of a row-major image, pixel (row r, column c) at (c, r).
pub(super) fn centre_of_mass(pixels: &[u8], width: usize) -> Option<(f64, f64)> {
    let (mut total, mut sx, mut sy) = (0.0, 0.0, 0.0);
    for (index, &p) in pixels.iter().enumerate() {
        let p = f64::from(p);
        total += p;
        sx += p * (index % width) as f64;
        sy += p * (index / width) as f64;
    }
    (total > 0.0).then(|| (sx / total, sy / total))
}

/// A row-major `width` x `height` array transposed (its columns become rows).
pub(super) fn transposed<T: Copy + Default>(values: &[T], width: usize, height: usize) -> Vec<T> {
    let mut out = vec![T::default(); values.len()];
    for y in 0..height {
        for x in 0..width {
            out[x * height + y] = values[y * width + x];
        }
    }
    out
}
