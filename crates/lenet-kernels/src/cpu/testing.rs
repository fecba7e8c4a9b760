//! What the kernels' tests share: test patterns and a finite-difference check of gradients.

/// Checks the `analytic` gradients of `loss` in each of its three arguments against
/// central differences of it (computed in f64), at about `samples` elements of each.
pub(super) fn assert_gradients_match(
    loss: impl Fn(&[f32], &[f32], &[f32]) -> f64,
    args: [&[f32]; 3],
    analytic: [&[f32]; 3],
    samples: usize,
) {
    let eps = 1e-3;
    let numeric = |which: usize, i: usize| {
        let mut args = args.map(<[f32]>::to_vec);
        args[which][i] += eps;
        let up = loss(&args[0], &args[1], &args[2]);
        args[which][i] -= 2.0 * eps;
        let down = loss(&args[0], &args[1], &args[2]);
        (up - down) / (2.0 * eps as f64)
    };
    for (which, analytic) in analytic.into_iter().enumerate() {
        for i in (0..analytic.len()).step_by(analytic.len() / samples + 1) {
            let (a, n) = (analytic[i] as f64, numeric(which, i));
            assert!(
                (a - n).abs() < 1e-3 * (1.0 + n.abs()),
                "arg {which}[{i}]: {a} vs {n}"
            );
        }
    }
}

pub(crate) fn pattern(len: usize, seed: f32) -> Vec<f32> {
    (0..len)
        .map(|i| (i as f32 * 0.37 + seed).sin() * 1.3)
        .collect()
}

/// `run`'s result with `threads` rayon threads, for the tests that the kernels' sums do not
/// depend on the thread count.
pub(super) fn on_threads<R: Send>(threads: usize, run: impl FnOnce() -> R + Send) -> R {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a thread pool")
        .install(run)
}
