//! Adam's update of one parameter in one pass over its values.

use super::{filled_together, with_avx2};

/// Values per task: enough to outweigh rayon's per-task cost; a smaller parameter (a bias, C1's
/// kernels) is updated on the calling thread.
const CHUNK: usize = 1 << 13;

/// Adam's hyperparameters, as `burn::optim::AdamConfig` holds them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AdamConstants {
    pub beta_1: f32,
    pub beta_2: f32,
    pub epsilon: f32,
}

/// The parameter `x`, its first and second moments after step `time` (counted from 1) with
/// gradient `grad` and learning rate `lr`, from the moments before it (none at step 1).
/// Each value is computed by the operations of Burn's `Adam` in their order (multiplies,
/// additions, a square root and a division, each rounded to `f32`, never fused), so the bits
/// are theirs.
pub(crate) fn adam_step(
    constants: AdamConstants,
    lr: f64,
    time: usize,
    x: &[f32],
    grad: &[f32],
    moments: Option<[&[f32]; 2]>,
) -> [Vec<f32>; 3] {
    let AdamConstants {
        beta_1,
        beta_2,
        epsilon,
    } = constants;
    let len = x.len();
    assert!(grad.len() == len && moments.is_none_or(|[m, v]| m.len() == len && v.len() == len));
    let time = i32::try_from(time).expect("fewer steps than i32::MAX");
    let correction_2 = (1.0 - beta_2.powi(time)).sqrt();
    let combined = correction_2 / (1.0 - beta_1.powi(time));
    let epsilon = epsilon * correction_2;
    let (factor_1, factor_2) = (1.0 - beta_1, 1.0 - beta_2);
    let lr = lr as f32;
    filled_together(
        [len; 3],
        [CHUNK; 3],
        || (),
        |_, piece, [x_out, m_out, v_out]| {
            let at = piece * CHUNK;
            let end = at + x_out.len();
            let (x, grad) = (&x[at..end], &grad[at..end]);
            with_avx2(
                #[inline(always)]
                || {
                    match moments {
                        Some([m, v]) => {
                            let moments = m[at..end].iter().zip(&v[at..end]);
                            for (((m_out, v_out), g), (m, v)) in m_out
                                .iter_mut()
                                .zip(v_out.iter_mut())
                                .zip(grad)
                                .zip(moments)
                            {
                                *m_out = m * beta_1 + g * factor_1;
                                *v_out = v * beta_2 + g * g * factor_2;
                            }
                        }
                        None => {
                            for ((m_out, v_out), g) in
                                m_out.iter_mut().zip(v_out.iter_mut()).zip(grad)
                            {
                                *m_out = g * factor_1;
                                *v_out = g * g * factor_2;
                            }
                        }
                    }
                    let moments = m_out.iter().zip(v_out.iter());
                    for ((out, x), (m, v)) in x_out.iter_mut().zip(x).zip(moments) {
                        *out = x - m * combined / (v.sqrt() + epsilon) * lr;
                    }
                },
            )
        },
    )
}
