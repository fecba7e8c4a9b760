//! The same weights give the same logits on wgpu as on ndarray. Here and in CI wgpu runs on
//! Mesa's lavapipe (Vulkan on the CPU, Debian package `mesa-vulkan-drivers`), through Burn's
//! `Dispatch` backend as `train` and `infer` run it.

use crate::common::{fixed_images, fixed_model, networks, values};
use burn::backend::{NdArray, wgpu::WgpuDevice};
use burn_dispatch::{Dispatch, DispatchDevice};

#[test]
#[ignore = "needs a wgpu adapter (a GPU driver; on Linux without a GPU, mesa-vulkan-drivers)"]
fn wgpu_logits_match_ndarray() {
    let cpu = Default::default();
    let gpu = DispatchDevice::from(WgpuDevice::default());
    for config in networks() {
        let variant = config.variant;
        let reference = fixed_model::<NdArray>(&config, &cpu);
        let bytes = reference.to_bytes();
        let on_wgpu = lenet::load_bytes::<Dispatch>(&bytes, Some(&config), &gpu).unwrap();

        let expected = values(reference.forward(fixed_images(variant, 5, &cpu)));
        let got = values(on_wgpu.forward(fixed_images(variant, 5, &gpu)));
        assert_eq!(expected.len(), got.len());
        for (k, (want, got)) in expected.iter().zip(&got).enumerate() {
            assert!(
                (want - got).abs() < 1e-4,
                "{variant} logit {k}: ndarray {want}, wgpu {got}"
            );
        }
    }
}
