//! A dense layer, `x · weight + bias`, and its gradients, split over tasks. Burn's CPU
//! backends run a product this small (C5, F6 and the output layer at the training batch) on
//! the calling thread alone.

use super::matmul::{View, matmul};
use super::{add, filled_in_parallel};

/// Rows of a result per task: of the output (images), of the input's gradient (images) and of
/// the weight's gradient. Fixed, and each value's sum runs over the whole of its products in
/// every task, so the results have the same bits whatever the thread count, and the same as
/// the product computed at once. Each task packs the whole of the other operand for gemm (C5's
/// weight, 48,000 values), so two tasks at the training batch of 128, not four.
const ROWS: usize = 64;

/// A dense layer's sizes, and its weight's layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DenseShape {
    pub batch: usize,
    pub inputs: usize,
    pub outputs: usize,
    /// The weight is `[outputs, inputs]` (a convolution's kernels, flattened) rather than
    /// Burn's `[inputs, outputs]`: read transposed in place, its gradient in the same layout.
    pub outputs_first: bool,
}

impl DenseShape {
    /// `weight` as the `[inputs, outputs]` matrix of the product.
    fn weight<'a>(&self, weight: &'a [f32]) -> View<'a> {
        if self.outputs_first {
            View::row_major(weight, self.outputs, self.inputs).t()
        } else {
            View::row_major(weight, self.inputs, self.outputs)
        }
    }
}

/// `x · weight + bias` for `x` `[batch, inputs]`, `weight` `[inputs, outputs]` (or
/// `[outputs, inputs]`, see [`DenseShape`]) and `bias` `[outputs]`, row-major: Burn's
/// `linear`, the bias added after the product.
pub(crate) fn dense_forward(
    shape: DenseShape,
    x: &[f32],
    weight: &[f32],
    bias: &[f32],
) -> Vec<f32> {
    let DenseShape {
        batch,
        inputs,
        outputs,
        ..
    } = shape;
    let weight = shape.weight(weight);
    filled_in_parallel(
        batch * outputs,
        ROWS * outputs,
        || (),
        |_, task, y| {
            let rows = y.len() / outputs;
            let x = View::row_major(&x[task * ROWS * inputs..][..rows * inputs], rows, inputs);
            matmul(x, weight, y, false);
            for row in y.chunks_exact_mut(outputs) {
                add(row, bias);
            }
        },
    )
}

/// Gradients of [`dense_forward`].
pub(crate) struct DenseGrads {
    /// `None` when not asked for.
    pub input: Option<Vec<f32>>,
    /// In the weight's layout.
    pub weight: Vec<f32>,
    pub bias: Vec<f32>,
}

/// The gradients of [`dense_forward`] from its input, weight and output gradient `grad`
/// `[batch, outputs]`: `grad · weight^T`, `x^T · grad` and `grad`'s column sums.
pub(crate) fn dense_backward(
    shape: DenseShape,
    x: &[f32],
    weight: &[f32],
    grad: &[f32],
    input_grad: bool,
) -> DenseGrads {
    let DenseShape {
        batch,
        inputs,
        outputs,
        ..
    } = shape;
    let input = input_grad.then(|| {
        let weight_t = shape.weight(weight).t();
        filled_in_parallel(
            batch * inputs,
            ROWS * inputs,
            || (),
            |_, task, input| {
                let rows = input.len() / inputs;
                let grad = &grad[task * ROWS * outputs..][..rows * outputs];
                matmul(View::row_major(grad, rows, outputs), weight_t, input, false);
            },
        )
    });
    // `x^T · grad`, or for a weight `[outputs, inputs]` its transpose `grad^T · x`, in tasks of
    // the result's rows: each value the same sum over the batch either way.
    let ((a, a_width), (b, b_width)) = match shape.outputs_first {
        false => ((x, inputs), (grad, outputs)),
        true => ((grad, outputs), (x, inputs)),
    };
    let weight = filled_in_parallel(
        inputs * outputs,
        ROWS * b_width,
        || (),
        |_, task, part| {
            let rows = part.len() / b_width;
            let a_t = View::row_major(&a[task * ROWS..], batch, a_width)
                .t()
                .first_rows(rows);
            matmul(a_t, View::row_major(b, batch, b_width), part, false);
        },
    );
    let mut bias = vec![0.0; outputs];
    for row in grad.chunks_exact(outputs) {
        add(&mut bias, row);
    }
    DenseGrads {
        input,
        weight,
        bias,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::testing::{assert_gradients_match, on_threads, pattern};

    /// 140 rows: two full tasks of [`ROWS`] and a partial one; 150 inputs likewise for the
    /// weight's gradient.
    const SHAPE: DenseShape = DenseShape {
        batch: 140,
        inputs: 150,
        outputs: 7,
        outputs_first: false,
    };

    /// The layer written out as its definition, in f64.
    fn definition(s: DenseShape, x: &[f32], w: &[f32], b: &[f32]) -> Vec<f64> {
        let mut y = vec![0.0; s.batch * s.outputs];
        for n in 0..s.batch {
            for o in 0..s.outputs {
                y[n * s.outputs + o] = b[o] as f64
                    + (0..s.inputs)
                        .map(|i| x[n * s.inputs + i] as f64 * w[i * s.outputs + o] as f64)
                        .sum::<f64>();
            }
        }
        y
    }

    fn operands() -> [Vec<f32>; 3] {
        let s = SHAPE;
        [
            pattern(s.batch * s.inputs, 0.3),
            pattern(s.inputs * s.outputs, 1.1),
            pattern(s.outputs, 2.0),
        ]
    }

    #[test]
    fn the_layer_matches_its_definition() {
        let [x, w, b] = operands();
        let y = dense_forward(SHAPE, &x, &w, &b);
        let expected = definition(SHAPE, &x, &w, &b);
        assert_eq!(y.len(), expected.len());
        for (got, want) in y.iter().zip(&expected) {
            assert!((*got as f64 - want).abs() < 1e-4, "{got} vs {want}");
        }
    }

    /// Every gradient against central differences of `sum(y * r)` for a fixed `r`.
    #[test]
    fn the_gradients_match_finite_differences() {
        let [x, w, b] = operands();
        let r = pattern(SHAPE.batch * SHAPE.outputs, 3.7);
        let loss = |x: &[f32], w: &[f32], b: &[f32]| -> f64 {
            let y = definition(SHAPE, x, w, b);
            y.iter().zip(&r).map(|(y, r)| y * *r as f64).sum()
        };
        let grads = dense_backward(SHAPE, &x, &w, &r, true);
        let input = grads.input.expect("asked for");
        assert_gradients_match(loss, [&x, &w, &b], [&input, &grads.weight, &grads.bias], 13);
        assert!(dense_backward(SHAPE, &x, &w, &r, false).input.is_none());
    }

    /// The weight `[outputs, inputs]`: the same results, the weight's gradient transposed. (To
    /// rounding: for products of at most 256 values gemm sums across vector lanes when both
    /// operands are contiguous along the sum, which one layout makes them and not the other.)
    #[test]
    fn a_weight_with_its_outputs_first_gives_the_same_results() {
        let [x, w, b] = operands();
        let r = pattern(SHAPE.batch * SHAPE.outputs, 3.7);
        let (inputs, outputs) = (SHAPE.inputs, SHAPE.outputs);
        // `m` `[rows, cols]` transposed.
        let transpose = |m: &[f32], rows: usize, cols: usize| -> Vec<f32> {
            (0..cols * rows)
                .map(|i| m[(i % rows) * cols + i / rows])
                .collect()
        };
        let t = DenseShape {
            outputs_first: true,
            ..SHAPE
        };
        let close = |a: &[f32], b: &[f32]| {
            assert_eq!(a.len(), b.len());
            for (a, b) in a.iter().zip(b) {
                assert!((a - b).abs() < 1e-5 * (1.0 + b.abs()), "{a} vs {b}");
            }
        };
        let w_t = transpose(&w, inputs, outputs);
        close(
            &dense_forward(t, &x, &w_t, &b),
            &dense_forward(SHAPE, &x, &w, &b),
        );
        let (grads, grads_t) = (
            dense_backward(SHAPE, &x, &w, &r, true),
            dense_backward(t, &x, &w_t, &r, true),
        );
        close(&grads_t.input.unwrap(), &grads.input.unwrap());
        close(&grads_t.weight, &transpose(&grads.weight, inputs, outputs));
        assert_eq!(grads_t.bias, grads.bias);
    }

    #[test]
    fn the_results_do_not_depend_on_the_thread_count() {
        let [x, w, b] = operands();
        let r = pattern(SHAPE.batch * SHAPE.outputs, 3.7);
        let run = |threads: usize| {
            on_threads(threads, || {
                let y = dense_forward(SHAPE, &x, &w, &b);
                let g = dense_backward(SHAPE, &x, &w, &r, true);
                (y, g.input, g.weight, g.bias)
            })
        };
        assert_eq!(run(1), run(3));
    }
}
