//! The paper's Euclidean RBF output units.

/// The paper's Euclidean RBF units: `y[n][i] = sum_j (x[n][j] - centres[i][j])^2` for `x`
/// `[batch, inputs]` and `centres` `[units, inputs]`, row-major.
pub(crate) fn rbf_forward(inputs: usize, x: &[f32], centres: &[f32]) -> Vec<f32> {
    x.chunks_exact(inputs)
        .flat_map(|x| {
            centres
                .chunks_exact(inputs)
                .map(move |c| x.iter().zip(c).map(|(x, c)| (x - c) * (x - c)).sum::<f32>())
        })
        .collect()
}

/// Gradients of [`rbf_forward`].
pub(crate) struct RbfGrads {
    pub input: Vec<f32>,
    /// Only when asked for: the paper's centres are constants.
    pub centres: Option<Vec<f32>>,
}

/// The gradients of [`rbf_forward`] from its operands and output gradient `grad`
/// `[batch, units]`: `dx[n][j] = 2 sum_i grad[n][i] (x[n][j] - c[i][j])`, and the centres'
/// gradient, its negative summed over the batch.
pub(crate) fn rbf_backward(
    inputs: usize,
    x: &[f32],
    centres: &[f32],
    grad: &[f32],
    centres_grad: bool,
) -> RbfGrads {
    let units = centres.len() / inputs;
    let mut input = vec![0.0; x.len()];
    let mut centres_grad = centres_grad.then(|| vec![0.0; centres.len()]);
    let rows = input.chunks_exact_mut(inputs).zip(x.chunks_exact(inputs));
    for ((input, x), grad) in rows.zip(grad.chunks_exact(units)) {
        for (unit, (c, &g)) in centres.chunks_exact(inputs).zip(grad).enumerate() {
            for ((input, x), c) in input.iter_mut().zip(x).zip(c) {
                *input += 2.0 * g * (x - c);
            }
            if let Some(centres_grad) = &mut centres_grad {
                let row = &mut centres_grad[unit * inputs..(unit + 1) * inputs];
                for ((out, x), c) in row.iter_mut().zip(x).zip(c) {
                    *out -= 2.0 * g * (x - c);
                }
            }
        }
    }
    RbfGrads {
        input,
        centres: centres_grad,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::testing::{assert_gradients_match, pattern};

    /// The RBF units against their definition in f64, and both gradients against central
    /// differences of `sum(y * r)`.
    #[test]
    fn rbf_units_and_their_gradients() {
        let (batch, units, inputs) = (5, 10, 84);
        let x = pattern(batch * inputs, 0.6);
        let c: Vec<f32> = pattern(units * inputs, 1.9)
            .iter()
            .map(|v| v.signum())
            .collect();
        let r = pattern(batch * units, 2.7);
        let definition = |x: &[f32], c: &[f32]| -> Vec<f64> {
            let mut y = Vec::new();
            for n in 0..batch {
                for i in 0..units {
                    let d = (0..inputs)
                        .map(|j| (x[n * inputs + j] as f64 - c[i * inputs + j] as f64).powi(2));
                    y.push(d.sum());
                }
            }
            y
        };
        let y = rbf_forward(inputs, &x, &c);
        for (got, want) in y.iter().zip(definition(&x, &c)) {
            assert!((*got as f64 - want).abs() < 1e-4, "{got} vs {want}");
        }
        let grads = rbf_backward(inputs, &x, &c, &r, true);
        let loss = |x: &[f32], c: &[f32], _: &[f32]| -> f64 {
            definition(x, c)
                .iter()
                .zip(&r)
                .map(|(y, r)| y * *r as f64)
                .sum()
        };
        let centres = grads.centres.expect("asked for");
        assert_gradients_match(loss, [&x, &c, &[]], [&grads.input, &centres, &[]], 23);
        assert!(rbf_backward(inputs, &x, &c, &r, false).centres.is_none());
    }
}
