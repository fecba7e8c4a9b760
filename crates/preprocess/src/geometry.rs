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
    let mut out = Vec::new();
    transpose_into(values, width, height, &mut out);
    out
}

/// [`transposed`], into `out` (resized, its memory reused), 16x16 tile by tile: a tile is read
/// a row at a time and written a column at a time, one bounds check each, while its rows and
/// columns stay in cache.
pub(super) fn transpose_into<T: Copy + Default>(
    values: &[T],
    width: usize,
    height: usize,
    out: &mut Vec<T>,
) {
    const TILE: usize = 16;
    out.clear();
    out.resize(values.len(), T::default());
    for top in (0..height).step_by(TILE) {
        let rows = TILE.min(height - top);
        for left in (0..width).step_by(TILE) {
            let columns = TILE.min(width - left);
            let tile = &values[top * width + left..];
            if rows == TILE && columns == TILE {
                let block: [[T; TILE]; TILE] = std::array::from_fn(|y| {
                    let row: &[T; TILE] = tile[y * width..][..TILE].try_into().expect("a tile row");
                    *row
                });
                for x in 0..TILE {
                    let out: &mut [T; TILE] = (&mut out[(left + x) * height + top..][..TILE])
                        .try_into()
                        .expect("a tile column");
                    *out = std::array::from_fn(|y| block[y][x]);
                }
                continue;
            }
            for y in 0..rows {
                for x in 0..columns {
                    out[(left + x) * height + top + y] = tile[y * width + x];
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transposing_moves_every_value_from_row_to_column_whatever_the_tiles() {
        for (width, height) in [(1, 1), (1, 40), (37, 1), (16, 16), (37, 23), (64, 33)] {
            let values: Vec<u32> = (0..(width * height) as u32).collect();
            let out = transposed(&values, width, height);
            for y in 0..height {
                for x in 0..width {
                    assert_eq!(
                        out[x * height + y],
                        values[y * width + x],
                        "{width}x{height} at ({x}, {y})"
                    );
                }
            }
            assert_eq!(transposed(&out, height, width), values);
        }
    }
}
