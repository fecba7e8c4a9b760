//! The Burn backends this project runs on, by the names configurations use
//! ([`BackendKind`]): flex and ndarray on the CPU, wgpu on a GPU (or Mesa's lavapipe).
//!
//! `train` and `infer` both turn a name into a backend here, so neither depends on the
//! other. wgpu is tried before it is used ([`wgpu_device`]): without a usable adapter, CubeCL
//! panics deep inside its runtime, and a user should get a sentence instead.
//!
//! # Example
//! ```
//! use backends::kernel_route;
//! use experiment::BackendKind;
//!
//! // The fused CPU kernels run on flex and ndarray, Burn's own operations on wgpu.
//! assert!(kernel_route(BackendKind::Flex).is_fused());
//! assert!(!kernel_route(BackendKind::Wgpu).is_fused());
//! println!("flex runs {}", kernel_route(BackendKind::Flex));
//! ```

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use burn::backend::{Autodiff, Flex, NdArray, wgpu::WgpuDevice};
use burn::prelude::*;
use burn_dispatch::{Dispatch, DispatchDevice};
pub use experiment::BackendKind;
use lenet::KernelRoute;

/// The Burn backend type behind [`BackendKind::Wgpu`]: Burn's `Dispatch` on a wgpu device.
/// Through it, wgpu's generic code is compiled once, in burn-dispatch, instead of in every
/// crate that trains or classifies on it. The fused kernels are CPU-only, so wgpu loses
/// nothing; flex and ndarray keep their concrete types, which the kernels need.
pub type WgpuBackend = Dispatch;

/// What can go wrong in choosing a backend.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// wgpu found no adapter, or the one it found could not compute.
    #[error(
        "the wgpu backend found no usable GPU adapter ({reason}); install a Vulkan, Metal or DirectX 12 driver (on Linux without a GPU, Mesa's lavapipe: apt install mesa-vulkan-drivers), or run on the CPU: --backend flex or --backend ndarray"
    )]
    NoAdapter {
        /// What wgpu or the test computation reported.
        reason: String,
    },
}

/// Which path LeNet-5's layers take on `kind`'s backend, for people: the fused CPU kernels or
/// Burn's own operations. Training and inference print it.
pub fn kernel_route(kind: BackendKind) -> KernelRoute {
    match kind {
        BackendKind::Flex => lenet::kernel_route::<Autodiff<Flex>>(),
        BackendKind::Ndarray => lenet::kernel_route::<Autodiff<NdArray>>(),
        BackendKind::Wgpu => lenet::kernel_route::<WgpuBackend>(),
    }
}

/// The default wgpu device, once wgpu has an adapter for it and it computes `1 + 2`.
///
/// The adapter is asked for as CubeCL asks (the platform's primary API, high performance)
/// before CubeCL starts, so a machine without one gets [`BackendError::NoAdapter`] without a
/// panic. Should CubeCL still panic, the panic is caught on this thread; the panic hook, which
/// belongs to the application, is left alone.
pub fn wgpu_device() -> Result<DispatchDevice, BackendError> {
    let no_adapter = |reason: String| BackendError::NoAdapter { reason };
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends: primary_api(),
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    });
    let adapter = block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
        power_preference: wgpu::PowerPreference::HighPerformance,
        force_fallback_adapter: false,
        compatible_surface: None,
    }))
    .map_err(|error| no_adapter(error.to_string()))?;
    drop((adapter, instance));

    let sum = catch_unwind(AssertUnwindSafe(|| {
        let device = DispatchDevice::from(WgpuDevice::default());
        let sum: f32 = Tensor::<WgpuBackend, 1>::from_floats([1.0, 2.0], &device)
            .sum()
            .into_data()
            .iter::<f32>()
            .sum();
        (device, sum)
    }));
    match sum {
        Ok((device, 3.0)) => Ok(device),
        Ok((_, sum)) => Err(no_adapter(format!("the device computed 1 + 2 = {sum}"))),
        Err(panic) => Err(no_adapter(
            panic
                .downcast_ref::<&str>()
                .map(|text| text.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "wgpu failed to start".into()),
        )),
    }
}

/// The graphics API CubeCL's wgpu runtime uses by default on this platform.
fn primary_api() -> wgpu::Backends {
    if cfg!(target_os = "macos") {
        wgpu::Backends::METAL
    } else {
        wgpu::Backends::VULKAN
    }
}

/// Runs a future that native wgpu completes without waiting (its adapter request does).
fn block_on<T>(future: impl Future<Output = T>) -> T {
    let mut future = pin!(future);
    let mut context = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(value) = future.as_mut().poll(&mut context) {
            return value;
        }
        std::thread::yield_now();
    }
}
