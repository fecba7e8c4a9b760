//! The convolutions' geometry, and the wide unfolding (im2col) of an image and its adjoint.

/// A convolution with stride 1, no dilation, one group and the same zero padding on every
/// side, as both of LeNet-5's variants use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ConvShape {
    pub batch: usize,
    pub channels: usize,
    pub maps: usize,
    pub height: usize,
    pub width: usize,
    pub kernel: usize,
    pub padding: usize,
}

/// How far past the padded image a direct kernel across output rows reads: its last 8-lane
/// vector of a row may run up to 7 values past the row's end (those lanes are dropped), and
/// past the image for the last row. Reading zeros there instead of masking the load keeps the
/// loop to plain loads, which AMD's cores issue at twice a masked load's rate.
pub(super) const ROW_OVERRUN: usize = 7;

/// The convolutions unfold each image "wide": output rows are computed at the padded input's
/// full width, so that every row of the unfolded matrix is one contiguous run of the input
/// (one copy per kernel tap instead of one per tap and output row). The columns past the
/// real output width are computed and dropped; they cost 14% more multiply-adds in C1 and
/// 40% in C3, less than the short copies they save.
impl ConvShape {
    fn padded_height(&self) -> usize {
        self.height + 2 * self.padding
    }

    pub(super) fn padded_width(&self) -> usize {
        self.width + 2 * self.padding
    }

    pub(crate) fn out_height(&self) -> usize {
        self.padded_height() + 1 - self.kernel
    }

    pub(crate) fn out_width(&self) -> usize {
        self.padded_width() + 1 - self.kernel
    }

    /// Output positions per map.
    pub(super) fn positions(&self) -> usize {
        self.out_height() * self.out_width()
    }

    /// Output positions per map in the wide layout: out_height rows of padded_width.
    pub(super) fn wide(&self) -> usize {
        self.out_height() * self.padded_width()
    }

    /// Weights per output map: one patch.
    pub(super) fn patch(&self) -> usize {
        self.channels * self.kernel * self.kernel
    }

    pub(super) fn image_len(&self) -> usize {
        self.channels * self.height * self.width
    }

    pub(super) fn padded_len(&self) -> usize {
        self.channels * self.padded_height() * self.padded_width()
    }

    pub(super) fn output_len(&self) -> usize {
        self.maps * self.positions()
    }

    /// Where row `tap` (`(c, ky, kx)` in row-major order) of the wide unfolded matrix starts in
    /// the padded image, and how many of its `wide()` entries lie inside the buffer (the rest
    /// are dropped columns).
    #[inline(always)]
    pub(super) fn tap_run(&self, tap: usize) -> (usize, usize) {
        let (kernel, width) = (self.kernel, self.padded_width());
        let (c, ky, kx) = (tap / (kernel * kernel), tap / kernel % kernel, tap % kernel);
        let start = c * self.padded_height() * width + ky * width + kx;
        (start, self.wide().min(self.padded_len() - start))
    }

    /// [`Self::tap_run`] of every row in order.
    fn taps(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        (0..self.patch()).map(|tap| self.tap_run(tap))
    }

    /// The image with its zero border, or the image itself when there is none.
    #[inline(always)]
    pub(super) fn pad<'a>(&self, image: &'a [f32], buffer: &'a mut Vec<f32>) -> &'a [f32] {
        if self.padding == 0 {
            return image;
        }
        let (p, width) = (self.padding, self.padded_width());
        buffer.clear();
        buffer.resize(self.padded_len(), 0.0);
        for (plane, rows) in buffer
            .chunks_mut(self.padded_height() * width)
            .zip(image.chunks(self.height * self.width))
        {
            for (y, row) in rows.chunks(self.width).enumerate() {
                copy_row(&mut plane[(y + p) * width + p..][..self.width], row);
            }
        }
        buffer
    }

    /// Zeros after the padded image in [`Self::pad_with_slack`]: `kernel - 1`, so that every
    /// row of the wide unfolding lies inside, and at least [`ROW_OVERRUN`].
    pub(super) fn slack(&self) -> usize {
        (self.kernel - 1).max(ROW_OVERRUN)
    }

    /// The image with its zero border, copied into `buffer`, and [`Self::slack`] zeros after
    /// it: every row of the wide unfolding then lies inside (past the image it reads zeros, as
    /// [`Self::unfold`] writes them), and so does every vector of a kernel across output rows.
    #[inline(always)]
    pub(super) fn pad_with_slack<'a>(&self, image: &[f32], buffer: &'a mut Vec<f32>) -> &'a [f32] {
        if self.padding == 0 {
            buffer.clear();
            buffer.extend_from_slice(image);
        } else {
            self.pad(image, buffer);
        }
        buffer.resize(self.padded_len() + self.slack(), 0.0);
        buffer
    }

    /// Unfolds a padded image into `col`, `[patch, wide]`: row `(c, ky, kx)` holds, for every
    /// wide output position, the input pixel under that kernel tap.
    #[inline(always)]
    pub(super) fn unfold(&self, padded: &[f32], col: &mut [f32]) {
        for (row, (start, len)) in col.chunks_mut(self.wide()).zip(self.taps()) {
            row[..len].copy_from_slice(&padded[start..start + len]);
            row[len..].fill(0.0);
        }
    }

    /// The adjoint of [`Self::unfold`], added into the gradient of the padded image.
    #[inline(always)]
    pub(super) fn fold(&self, col: &[f32], padded: &mut [f32]) {
        for (row, (start, len)) in col.chunks(self.wide()).zip(self.taps()) {
            for (d, s) in padded[start..start + len].iter_mut().zip(row) {
                *d += s;
            }
        }
    }

    /// Each map of `wide`, `[maps, wide]`, copied into `compact`, `[maps, positions]`, without
    /// the columns past the output's width.
    #[inline(always)]
    pub(super) fn compact(&self, wide: &[f32], compact: &mut [f32]) {
        let (width, out_width) = (self.padded_width(), self.out_width());
        let rows = compact
            .chunks_exact_mut(out_width)
            .take(self.maps * self.out_height());
        for (to, from) in rows.zip(wide.chunks(width)) {
            copy_row(to, &from[..out_width]);
        }
    }

    /// The interior of a padded image's gradient, copied into `image`.
    #[inline(always)]
    pub(super) fn unpad_into(&self, padded: &[f32], image: &mut [f32]) {
        let (p, width) = (self.padding, self.padded_width());
        for (plane, rows) in padded
            .chunks(self.padded_height() * width)
            .zip(image.chunks_mut(self.height * self.width))
        {
            for (y, row) in rows.chunks_mut(self.width).enumerate() {
                row.copy_from_slice(&plane[(y + p) * width + p..][..self.width]);
            }
        }
    }
}

/// `to.copy_from_slice(from)` for a row of a few values: copies of 8 values each (the last one
/// overlapping the one before where the length is no multiple of 8), which compile to a vector
/// load and store, where a copy whose length is known only when running calls `memcpy`, whose
/// call costs more than copying a row this short.
#[inline(always)]
fn copy_row(to: &mut [f32], from: &[f32]) {
    const EIGHT: usize = 8;
    let len = to.len();
    assert_eq!(from.len(), len);
    if len < EIGHT {
        to.copy_from_slice(from);
        return;
    }
    for at in (0..len - EIGHT).step_by(EIGHT).chain([len - EIGHT]) {
        let to: &mut [f32; EIGHT] = (&mut to[at..at + EIGHT]).try_into().expect("eight values");
        *to = from[at..at + EIGHT].try_into().expect("eight values");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rows_copy_copies_every_value_and_nothing_past_it() {
        for len in 0..=33 {
            let from: Vec<f32> = (0..len).map(|v| v as f32).collect();
            let mut to = vec![f32::NAN; len + 1];
            copy_row(&mut to[..len], &from);
            assert_eq!(&to[..len], &from[..], "{len} values");
            assert!(to[len].is_nan(), "{len} values: the copy ran past the row");
        }
    }
}
