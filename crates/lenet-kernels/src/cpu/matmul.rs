//! Matrix products with gemm over strided views of slices.

/// A matrix inside a slice, with any strides (so a transpose costs nothing).
#[derive(Clone, Copy)]
pub(super) struct View<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl<'a> View<'a> {
    pub(super) fn row_major(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self {
            data,
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// The first `rows` rows.
    pub(super) fn first_rows(self, rows: usize) -> Self {
        assert!(
            rows <= self.rows,
            "matmul: a view of {rows} rows of {}",
            self.rows
        );
        Self { rows, ..self }
    }

    pub(super) fn t(self) -> Self {
        Self {
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
            ..self
        }
    }
}

/// `dst = a · b` (or `dst += a · b` when `accumulate`), `dst` row-major; one thread, since
/// the callers already run one image per thread.
pub(super) fn matmul(a: View, b: View, dst: &mut [f32], accumulate: bool) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert_eq!(b.rows, k, "matmul: inner dimensions differ");
    assert_eq!(dst.len(), m * n, "matmul: destination size");
    for view in [a, b] {
        let last = (view.rows - 1) * view.row_stride + (view.cols - 1) * view.col_stride;
        assert!(view.rows > 0 && view.cols > 0 && last < view.data.len());
    }
    // gemm's microkernels want a column-major destination: as the `gemm` crate's own entry
    // point does before it calls the f32 kernels, a row-major `dst = a · b` is computed as
    // `dst^T = b^T · a^T` (the same products, summed in the same order as through `gemm`).
    let (m, n, dst_cs, dst_rs, lhs, rhs) = if 1 < n {
        (n, m, n, 1, b.t(), a.t())
    } else {
        (m, n, 1, n, a, b)
    };
    // SAFETY: the asserts above keep every index gemm computes from these sizes and strides
    // inside `a.data`, `b.data` and `dst`; `dst` is borrowed mutably, so it aliases neither.
    unsafe {
        gemm_f32::gemm::f32::get_gemm_fn()(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            dst_cs as isize,
            dst_rs as isize,
            accumulate,
            lhs.data.as_ptr(),
            lhs.col_stride as isize,
            lhs.row_stride as isize,
            rhs.data.as_ptr(),
            rhs.col_stride as isize,
            rhs.row_stride as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm_common::Parallelism::None,
        );
    }
}
