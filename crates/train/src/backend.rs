//! The backend named by the configuration, as a Burn backend type.

use backends::{BackendKind, WgpuBackend, wgpu_device};
use burn::backend::{Autodiff, Flex, NdArray};
use burn_dispatch::DispatchDevice;
use experiment::{ExperimentConfig, Report};

use crate::{RunOptions, TrainError, training::train};

/// Runs [`train`] on the backend named by `config.training.backend`; wgpu is tried first
/// ([`backends::wgpu_device`]), so that a machine without a usable adapter gets an error.
pub fn train_on_configured_backend(
    config: &ExperimentConfig,
    options: &RunOptions,
) -> Result<Report, TrainError> {
    match config.training.backend {
        BackendKind::Flex => train::<Autodiff<Flex>>(config, options, Default::default()),
        BackendKind::Ndarray => train::<Autodiff<NdArray>>(config, options, Default::default()),
        BackendKind::Wgpu => {
            let device = DispatchDevice::autodiff(wgpu_device()?);
            train::<WgpuBackend>(config, options, device)
        }
    }
}
