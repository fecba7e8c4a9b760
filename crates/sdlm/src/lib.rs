//! Stochastic diagonal Levenberg-Marquardt (SDLM), the optimizer of LeCun, Bottou, Bengio and
//! Haffner, "Gradient-based learning applied to document recognition" (1998), Appendix C, as a
//! Burn [`Optimizer`].
//!
//! Each parameter `w_k` has its own step size, from an estimate `h_kk` of the loss's second
//! derivative in it (the diagonal of the Hessian, in practice its Gauss-Newton approximation):
//!
//! ```text
//! w_k <- w_k - eta / (mu + h_kk) * dE/dw_k
//! ```
//!
//! `mu` keeps the step bounded where the curvature is near zero. The estimate is not updated at
//! every step: the paper computes it on a few hundred samples before each pass over the
//! training set and keeps it for the pass. Here a [`Curvature`] source, which knows the model
//! and the data, computes it every `steps_per_estimate` steps (one pass of mini-batches, for
//! the paper's schedule), starting with the first.
//!
//! The learning rate `eta` is the one Burn's learner passes to [`Optimizer::step`], so any
//! learning-rate scheduler sets the paper's schedule.
//!
//! # Example
//! Least squares with a known curvature: for `E = 1/2 sum_k c_k (w_k - t_k)^2`, `h_kk = c_k`
//! and one step with `eta = 1`, `mu = 0` lands on the minimum, whatever the scales `c_k`.
//! ```
//! use burn::backend::{Autodiff, NdArray};
//! use burn::module::Param;
//! use burn::optim::{GradientsParams, Optimizer};
//! use burn::prelude::*;
//! use sdlm::{Curvature, SdlmConfig};
//!
//! type B = Autodiff<NdArray>;
//!
//! #[derive(Module, Debug)]
//! struct Point<B: Backend> {
//!     w: Param<Tensor<B, 1>>,
//! }
//!
//! let device = Default::default();
//! let scales = Tensor::<B, 1>::from_floats([1.0, 100.0, 0.01], &device);
//! let target = Tensor::<B, 1>::from_floats([3.0, -2.0, 5.0], &device);
//! let loss = |point: &Point<B>| {
//!     let d = point.w.val() - target.clone();
//!     (d.clone() * d * scales.clone()).sum() * 0.5
//! };
//!
//! // The exact curvature, as gradients are: one tensor per parameter.
//! #[derive(Clone)]
//! struct Exact(Tensor<B, 1>);
//! impl Curvature<Point<B>, B> for Exact {
//!     fn estimate(&mut self, point: &Point<B>, _estimate: usize) -> GradientsParams {
//!         let mut curvature = GradientsParams::new();
//!         curvature.register(point.w.id, self.0.clone().inner());
//!         curvature
//!     }
//! }
//!
//! let point = Point { w: Param::from_tensor(Tensor::zeros([3], &device)) };
//! let mut optimizer = SdlmConfig::new(1).with_mu(0.0).init(Exact(scales.clone()));
//! let grads = GradientsParams::from_grads(loss(&point).backward(), &point);
//! let point = optimizer.step(1.0, point, grads);
//!
//! let w: Vec<f32> = point.w.val().into_data().to_vec().unwrap();
//! assert!(w.iter().zip([3.0, -2.0, 5.0]).all(|(w, t)| (w - t).abs() < 1e-4), "{w:?}");
//! ```

use std::{
    marker::PhantomData,
    sync::{Arc, Mutex},
};

use burn::{
    config::Config,
    module::{AutodiffModule, ModuleMapper, Param},
    optim::LearningRate,
    optim::{GradientsParams, MultiGradientsParams, Optimizer, adaptor::GradAdaptor},
    prelude::*,
    tensor::backend::AutodiffBackend,
};

/// Where the optimizer's curvature comes from: an estimate of the loss's second derivative
/// in every parameter, for the model as it is now.
pub trait Curvature<M, B: AutodiffBackend>: Send + Clone {
    /// The estimated diagonal second derivatives `h_kk` for `module`, registered by parameter id
    /// on the inner backend, as [`GradientsParams`] holds gradients. `estimate` counts the
    /// estimates made so far (0 for the first), for sources that draw a new sample each time.
    /// A parameter without an entry takes `h_kk = 0`, its step `eta / mu`.
    fn estimate(&mut self, module: &M, estimate: usize) -> GradientsParams;
}

/// Configuration of [`Sdlm`].
#[derive(Config, Debug)]
pub struct SdlmConfig {
    /// Optimizer steps between two curvature estimates (one pass over the training set in the
    /// paper).
    pub steps_per_estimate: usize,
    /// The damping `mu` added to each curvature (the paper: 0.02).
    #[config(default = 0.02)]
    pub mu: f64,
}

impl SdlmConfig {
    /// The optimizer, with its curvature from `curvature`.
    pub fn init<M, B, C>(&self, curvature: C) -> Sdlm<M, B, C>
    where
        B: AutodiffBackend,
        M: AutodiffModule<B>,
        C: Curvature<M, B>,
    {
        Sdlm {
            steps_per_estimate: self.steps_per_estimate.max(1),
            mu: self.mu,
            source: curvature,
            curvature: None,
            step: 0,
            _types: PhantomData,
        }
    }
}

/// The SDLM optimizer: see the crate documentation. Build it with [`SdlmConfig::init`].
pub struct Sdlm<M, B, C> {
    steps_per_estimate: usize,
    mu: f64,
    source: C,
    /// The current estimate; shared by clones, which never change it (a step makes a new one).
    curvature: Option<Arc<Mutex<GradientsParams>>>,
    /// Steps taken so far: the record, from which a resumed run re-estimates at the same steps.
    step: usize,
    _types: PhantomData<fn() -> (M, B)>,
}

impl<M, B, C: Clone> Clone for Sdlm<M, B, C> {
    fn clone(&self) -> Self {
        Self {
            steps_per_estimate: self.steps_per_estimate,
            mu: self.mu,
            source: self.source.clone(),
            curvature: self.curvature.clone(),
            step: self.step,
            _types: PhantomData,
        }
    }
}

impl<M, B, C> Sdlm<M, B, C>
where
    B: AutodiffBackend,
    M: AutodiffModule<B>,
    C: Curvature<M, B>,
{
    fn step_common(&mut self, lr: LearningRate, module: M, mut grads: GradAdaptor) -> M {
        let due = self.step.is_multiple_of(self.steps_per_estimate);
        if due || self.curvature.is_none() {
            let estimate = self
                .source
                .estimate(&module, self.step / self.steps_per_estimate);
            self.curvature = Some(Arc::new(Mutex::new(estimate)));
        }
        self.step += 1;
        let curvature = self.curvature.clone().expect("estimated above");
        let curvature = curvature
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        module.map(&mut SdlmMapper::<B> {
            grads: &mut grads,
            curvature: &curvature,
            lr,
            mu: self.mu,
            _backend: PhantomData,
        })
    }
}

impl<M, B, C> Optimizer<M, B> for Sdlm<M, B, C>
where
    B: AutodiffBackend,
    M: AutodiffModule<B>,
    C: Curvature<M, B>,
{
    /// The number of steps taken.
    type Record = usize;

    fn step(&mut self, lr: LearningRate, module: M, grads: GradientsParams) -> M {
        self.step_common(lr, module, grads.into())
    }

    fn step_multi(&mut self, lr: LearningRate, module: M, grads: MultiGradientsParams) -> M {
        self.step_common(lr, module, grads.into())
    }

    fn to_record(&self) -> usize {
        self.step
    }

    fn load_record(mut self, step: usize) -> Self {
        self.step = step;
        self.curvature = None;
        self
    }
}

struct SdlmMapper<'a, B: AutodiffBackend> {
    grads: &'a mut GradAdaptor,
    curvature: &'a GradientsParams,
    lr: LearningRate,
    mu: f64,
    _backend: PhantomData<B>,
}

impl<B: AutodiffBackend> ModuleMapper<B> for SdlmMapper<'_, B> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let (id, tensor, mapper) = param.consume();
        let Some((grad, device)) = self.grads.remove::<B::InnerBackend, D>(id) else {
            return Param::from_mapped_value(id, tensor, mapper);
        };
        let require_grad = tensor.is_require_grad();
        let inner = tensor.inner().to_device(&device);
        let step = match self.curvature.get::<B::InnerBackend, D>(id) {
            Some(h) => grad / (h.to_device(&device) + self.mu) * self.lr,
            None => grad * (self.lr / self.mu),
        };
        let mut tensor = Tensor::from_inner(inner - step);
        if require_grad {
            tensor = tensor.require_grad();
        }
        Param::from_mapped_value(id, tensor, mapper)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use burn::backend::{Autodiff, NdArray};

    use super::*;

    type B = Autodiff<NdArray>;

    #[derive(Module, Debug)]
    struct Point<B: Backend> {
        w: Param<Tensor<B, 1>>,
    }

    /// Records which estimates were asked for; curvature 3 everywhere.
    #[derive(Clone)]
    struct Counting(Arc<Mutex<Vec<usize>>>, Arc<AtomicUsize>);

    impl Curvature<Point<B>, B> for Counting {
        fn estimate(&mut self, point: &Point<B>, estimate: usize) -> GradientsParams {
            self.0.lock().unwrap().push(estimate);
            self.1.fetch_add(1, Ordering::SeqCst);
            let mut curvature = GradientsParams::new();
            curvature.register(
                point.w.id,
                Tensor::<NdArray, 1>::full([2], 3.0, &Default::default()),
            );
            curvature
        }
    }

    fn gradient(point: &Point<B>) -> GradientsParams {
        GradientsParams::from_grads((point.w.val() * 2.0).sum().backward(), point)
    }

    #[test]
    fn steps_are_eta_over_mu_plus_h_and_the_curvature_is_estimated_once_per_pass() {
        let device = Default::default();
        let asked = Counting(Arc::default(), Arc::default());
        let mut optimizer = SdlmConfig::new(3).with_mu(1.0).init(asked.clone());
        let mut point = Point {
            w: Param::from_tensor(Tensor::<B, 1>::zeros([2], &device)),
        };
        for _ in 0..7 {
            let grads = gradient(&point);
            point = optimizer.step(0.5, point, grads);
        }
        // 7 steps of 0.5 * 2 / (1 + 3).
        let w: Vec<f32> = point.w.val().into_data().to_vec().unwrap();
        assert!(w.iter().all(|&w| (w + 7.0 * 0.25).abs() < 1e-6), "{w:?}");
        assert_eq!(*asked.0.lock().unwrap(), [0, 1, 2]);

        // A resumed optimizer estimates again before its first step, for the pass it is in.
        let record = optimizer.to_record();
        assert_eq!(record, 7);
        let mut resumed = SdlmConfig::new(3)
            .with_mu(1.0)
            .init(asked.clone())
            .load_record(record);
        let grads = gradient(&point);
        let _ = resumed.step(0.5, point, grads);
        assert_eq!(*asked.0.lock().unwrap(), [0, 1, 2, 2]);
        assert_eq!(asked.1.load(Ordering::SeqCst), 4);
    }
}
