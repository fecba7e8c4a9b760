//! The one place where a backend name becomes a Burn backend type.

use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Mutex};

use burn::backend::{Autodiff, Flex, NdArray, wgpu::WgpuDevice};
use burn::prelude::*;
use burn_dispatch::{Dispatch, DispatchDevice};
use experiment::{BackendKind, ExperimentConfig};

use crate::{
    TrainError,
    report::Report,
    training::{RunOptions, train},
};

/// The Burn backend type behind `BackendKind::Wgpu`: Burn's `Dispatch` on a wgpu device.
/// Through it, wgpu's generic code is compiled once, in burn-dispatch, instead of in every
/// crate that trains or classifies on it. The fused kernels are CPU-only, so wgpu loses
/// nothing; flex and ndarray keep their concrete types, which the kernels need.
pub type WgpuBackend = Dispatch;

/// Runs [`train`] on the backend named by `config.training.backend`.
pub fn train_on_configured_backend(
    config: &ExperimentConfig,
    options: &RunOptions,
) -> Result<Report, TrainError> {
    match config.training.backend {
        BackendKind::Flex => train::<Autodiff<Flex>>(config, options, Default::default()),
        BackendKind::Ndarray => train::<Autodiff<NdArray>>(config, options, Default::default()),
        BackendKind::Wgpu => {
            let device = DispatchDevice::autodiff(probe_wgpu()?);
            train::<WgpuBackend>(config, options, device)
        }
    }
}

/// The default wgpu device (for [`WgpuBackend`]), if it can compute `1 + 2`.
///
/// wgpu and CubeCL report a missing adapter by panicking, possibly on a thread of their own.
/// The panic is caught here, with a panic hook that keeps the messages instead of printing
/// them, so that the user gets the first (the cause) in an error instead of a backtrace.
pub fn probe_wgpu() -> Result<DispatchDevice, TrainError> {
    let messages = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = Arc::clone(&messages);
    let hook = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        let message = info.payload_as_str().unwrap_or("unknown panic").trim();
        if let Ok(mut messages) = sink.lock() {
            messages.push(message.lines().next().unwrap_or_default().to_string());
        }
    }));
    let result = panic::catch_unwind(AssertUnwindSafe(|| {
        let device = DispatchDevice::from(WgpuDevice::default());
        let sum: f32 = Tensor::<WgpuBackend, 1>::from_floats([1.0, 2.0], &device)
            .sum()
            .into_data()
            .iter::<f32>()
            .sum();
        (device, sum)
    }));
    panic::set_hook(hook);
    match result {
        Ok((device, 3.0)) => Ok(device),
        Ok((_, sum)) => Err(TrainError::NoAdapter {
            reason: format!("the device computed 1 + 2 = {sum}"),
        }),
        Err(_) => {
            let first = messages.lock().ok().and_then(|m| m.first().cloned());
            Err(TrainError::NoAdapter {
                reason: first.unwrap_or_else(|| "no usable GPU adapter".into()),
            })
        }
    }
}
