//! The one place where a backend name becomes a Burn backend type.

use burn::backend::{Autodiff, Flex, NdArray, Wgpu, wgpu::WgpuDevice};
use burn::prelude::*;

use crate::{
    TrainError,
    config::{BackendKind, ExperimentConfig},
    report::Report,
    training::{RunOptions, train},
};

/// Runs [`train`] on the backend named by `config.training.backend`.
pub fn train_on_configured_backend(
    config: &ExperimentConfig,
    options: &RunOptions,
) -> Result<Report, TrainError> {
    match config.training.backend {
        BackendKind::Flex => train::<Autodiff<Flex>>(config, options, Default::default()),
        BackendKind::Ndarray => train::<Autodiff<NdArray>>(config, options, Default::default()),
        BackendKind::Wgpu => {
            let device = WgpuDevice::default();
            probe_wgpu(&device)?;
            train::<Autodiff<Wgpu>>(config, options, device)
        }
    }
}

/// wgpu panics deep inside its first operation when no adapter exists; one tiny operation
/// here turns that into an error the user can act on.
pub fn probe_wgpu(device: &WgpuDevice) -> Result<(), TrainError> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let outcome = std::panic::catch_unwind(|| {
        Tensor::<Wgpu, 1>::from_floats([1.0, 2.0], device)
            .sum()
            .into_scalar()
    });
    std::panic::set_hook(hook);
    match outcome {
        Ok(_) => Ok(()),
        Err(payload) => {
            let reason = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("no reason given")
                .lines()
                .next()
                .unwrap_or_default()
                .to_string();
            Err(TrainError::NoAdapter { reason })
        }
    }
}
