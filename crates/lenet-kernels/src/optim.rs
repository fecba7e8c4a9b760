//! Adam with each parameter's update in one pass over its values.

use burn::{
    optim::{Adam, AdamConfig, AdamState, LearningRate, SimpleOptimizer, decay::WeightDecayConfig},
    prelude::*,
};

#[cfg(any(feature = "flex", feature = "ndarray"))]
use crate::{cpu::AdamConstants, host::Fused};

/// Burn's Adam ([`AdamConfig`]), its update of an `f32` parameter on `Flex` or `NdArray` (with
/// the `flex` or `ndarray` feature) one pass over the values, split over the threads, where
/// Burn's Adam runs some ten element-wise operations, each a pass of its own on one thread
/// (on two cores, a tenth of a LeNet-5 training step with the other core idle). The values are
/// Burn's to the bit: the same operations in the same order. Its state is Burn's
/// [`AdamState`], so checkpoints move freely between the two. On any other backend, and with
/// weight decay, Burn's Adam runs.
///
/// Use it through Burn's adaptor, as [`AdamConfig::init`] does (gradient clipping aside):
///
/// ```
/// use burn::backend::{Autodiff, NdArray};
/// use burn::nn::{Linear, LinearConfig};
/// use burn::optim::adaptor::OptimizerAdaptor;
/// use lenet_kernels::FusedAdam;
///
/// type B = Autodiff<NdArray>;
/// let adam = FusedAdam::new(0.9, 0.999, 1e-8, None);
/// let _optimizer: OptimizerAdaptor<FusedAdam, Linear<B>, B> = adam.into();
/// ```
#[derive(Clone)]
pub struct FusedAdam {
    adam: Adam,
    #[cfg(any(feature = "flex", feature = "ndarray"))]
    constants: Option<AdamConstants>,
}

impl FusedAdam {
    /// Adam with the moments' decay rates `beta_1` and `beta_2` and `epsilon` (as
    /// [`AdamConfig`] names them), and `weight_decay` if any, with which Burn's Adam runs.
    pub fn new(
        beta_1: f32,
        beta_2: f32,
        epsilon: f32,
        weight_decay: Option<WeightDecayConfig>,
    ) -> Self {
        #[cfg(any(feature = "flex", feature = "ndarray"))]
        let constants = weight_decay.is_none().then_some(AdamConstants {
            beta_1,
            beta_2,
            epsilon,
        });
        let config = AdamConfig::new()
            .with_beta_1(beta_1)
            .with_beta_2(beta_2)
            .with_epsilon(epsilon)
            .with_weight_decay(weight_decay);
        FusedAdam {
            adam: config.build(),
            #[cfg(any(feature = "flex", feature = "ndarray"))]
            constants,
        }
    }
}

impl<B: Backend> SimpleOptimizer<B> for FusedAdam {
    type State<const D: usize> = AdamState<B, D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<B, D>,
        grad: Tensor<B, D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<B, D>, Option<Self::State<D>>) {
        #[cfg(any(feature = "flex", feature = "ndarray"))]
        if let (Some(constants), Some(fused)) = (
            self.constants,
            Fused::of::<B>(&[tensor.dtype(), grad.dtype()]).filter(|fused| fused.is_host()),
        ) {
            let (tensor, state) = fused.adam(constants, lr, tensor, grad, state);
            return (tensor, Some(state));
        }
        self.adam.step(lr, tensor, grad, state)
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &B::Device) -> Self::State<D> {
        <Adam as SimpleOptimizer<B>>::to_device(state, device)
    }
}

#[cfg(all(test, feature = "flex", feature = "ndarray"))]
mod tests {
    use burn::backend::{Flex, NdArray};
    use burn::tensor::DType;

    use super::*;
    use crate::cpu::testing::pattern;

    fn bits<B: Backend, const D: usize>(tensor: &Tensor<B, D>) -> Vec<u32> {
        let values = tensor.to_data().to_vec::<f32>().expect("f32 values");
        values.iter().map(|v| v.to_bits()).collect()
    }

    /// Four steps of each, from the same parameters and gradients, at a changing learning
    /// rate: a parameter of several tasks' values and one of a few.
    fn same_bits_as_burns_adam<B: Backend>() {
        assert!(
            Fused::of::<B>(&[DType::F32]).is_some_and(Fused::is_host),
            "the fused update runs on this backend"
        );
        let (beta_1, beta_2, epsilon) = (0.9, 0.999, 1e-7);
        let fused = FusedAdam::new(beta_1, beta_2, epsilon, None);
        let burns = AdamConfig::new()
            .with_beta_1(beta_1)
            .with_beta_2(beta_2)
            .with_epsilon(epsilon)
            .build();
        let device = Default::default();
        for len in [20_011, 7] {
            let start = Tensor::<B, 1>::from_floats(pattern(len, 0.5).as_slice(), &device);
            let (mut ours, mut theirs) = ((start.clone(), None), (start, None));
            for step in 0..4 {
                let grad = pattern(len, 1.0 + step as f32);
                let grad = Tensor::<B, 1>::from_floats(grad.as_slice(), &device);
                let lr = 1e-3 / (step + 1) as f64;
                ours = SimpleOptimizer::<B>::step(&fused, lr, ours.0, grad.clone(), ours.1);
                theirs = burns.step(lr, theirs.0, grad, theirs.1);
                assert_eq!(bits(&ours.0), bits(&theirs.0), "{len} values, step {step}");
                let (ours, theirs) = (
                    &ours.1.as_ref().expect("a state").momentum,
                    &theirs.1.as_ref().expect("a state").momentum,
                );
                assert_eq!(ours.time, theirs.time);
                assert_eq!(bits(&ours.moment_1), bits(&theirs.moment_1));
                assert_eq!(bits(&ours.moment_2), bits(&theirs.moment_2));
            }
        }
    }

    #[test]
    fn fused_adam_has_burns_bits_on_flex() {
        same_bits_as_burns_adam::<Flex>();
    }

    #[test]
    fn fused_adam_has_burns_bits_on_ndarray() {
        same_bits_as_burns_adam::<NdArray>();
    }
}
