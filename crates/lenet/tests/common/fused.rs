//! Comparisons of the fused kernels with a reference backend, shared by `kernels.rs` and
//! `model/kernels_ndarray.rs`.
#![allow(dead_code)]

use burn::{prelude::*, tensor::backend::AutodiffBackend};
use lenet::{C3, C5, LeNet5, LeNet5Config, Output};

use super::{fixed_images, fixed_model, networks, pattern, values};

/// `got` equals `want` up to `tolerance` times the largest magnitude in `want`.
pub fn assert_close(what: &str, got: &[f32], want: &[f32], tolerance: f32) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    let scale = want.iter().fold(1e-3_f32, |m, v| m.max(v.abs()));
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tolerance * scale,
            "{what}[{i}]: fused {g}, Burn's operations {w} (scale {scale})"
        );
    }
}

pub fn logits<B: Backend>(config: &LeNet5Config, bytes: &[u8], batch: usize) -> Vec<f32> {
    let device = Default::default();
    let model = lenet::load_bytes::<B>(bytes, Some(config), &device).unwrap();
    values(model.forward(fixed_images(config.variant, batch, &device)))
}

/// Every parameter's gradient and the input's, named, for the loss `sum(logits * r)`.
pub fn gradients<B: AutodiffBackend>(
    config: &LeNet5Config,
    bytes: &[u8],
    batch: usize,
) -> Vec<(&'static str, Vec<f32>)> {
    let device = Default::default();
    let model: LeNet5<B> = lenet::load_bytes(bytes, Some(config), &device).unwrap();
    let images = fixed_images::<B>(config.variant, batch, &device).require_grad();
    let r = Tensor::<B, 2>::from_data(
        TensorData::new(pattern(batch * 10, 7.0, 1.0), [batch, 10]),
        &device,
    );
    let grads = (model.forward(images.clone()) * r).sum().backward();
    let grad =
        |name, tensor: Option<Tensor<B::InnerBackend, 4>>| (name, values(tensor.expect("tracked")));
    let grad1 =
        |name, tensor: Option<Tensor<B::InnerBackend, 1>>| (name, values(tensor.expect("tracked")));
    let grad2 =
        |name, tensor: Option<Tensor<B::InnerBackend, 2>>| (name, values(tensor.expect("tracked")));
    let bias = |conv: &burn::nn::conv::Conv2d<B>| conv.bias.as_ref().unwrap().grad(&grads);
    let mut all = vec![
        grad("input", images.grad(&grads)),
        grad("c1.weight", model.c1.weight.grad(&grads)),
        grad1("c1.bias", bias(&model.c1)),
    ];
    match &model.c3 {
        C3::Full(conv) => {
            all.push(grad("c3.weight", conv.weight.grad(&grads)));
            all.push(grad1("c3.bias", bias(conv)));
        }
        C3::Table(table) => {
            let kernels = table.kernels.grad(&grads).expect("tracked");
            all.push(("c3.kernels", values(kernels)));
            all.push(grad1("c3.bias", table.bias.grad(&grads)));
        }
    }
    let subsampling = [
        ("s2.coefficient", "s2.bias", &model.s2),
        ("s4.coefficient", "s4.bias", &model.s4),
    ];
    for (coefficient, bias, layer) in subsampling {
        if let Some(layer) = layer {
            all.push(grad1(coefficient, layer.coefficient.grad(&grads)));
            all.push(grad1(bias, layer.bias.grad(&grads)));
        }
    }
    match &model.c5 {
        C5::Conv(conv) => {
            all.push(grad("c5.weight", conv.weight.grad(&grads)));
            all.push(grad1("c5.bias", bias(conv)));
        }
        C5::Dense(dense) => {
            all.push(grad2("c5.weight", dense.weight.grad(&grads)));
            all.push(grad1("c5.bias", dense.bias.as_ref().unwrap().grad(&grads)));
        }
    }
    all.push(grad2("f6.weight", model.f6.weight.grad(&grads)));
    all.push(grad1(
        "f6.bias",
        model.f6.bias.as_ref().unwrap().grad(&grads),
    ));
    if let Output::Dense(output) = &model.output {
        all.push(grad2("output.weight", output.weight.grad(&grads)));
        all.push(grad1(
            "output.bias",
            output.bias.as_ref().unwrap().grad(&grads),
        ));
    }
    all
}

/// `B`'s logits equal `R`'s on the same weights, for every network, batches of 1 and 11.
pub fn assert_logits_match<B: Backend, R: Backend>(what: &str, tolerance: f32) {
    for config in networks() {
        let variant = format!("{} ({:?})", config.variant, config.c1_padding);
        let bytes = fixed_model::<R>(&config, &Default::default()).to_bytes();
        for batch in [1, 11] {
            assert_close(
                &format!("{what}: {variant} logits, batch {batch}"),
                &logits::<B>(&config, &bytes, batch),
                &logits::<R>(&config, &bytes, batch),
                tolerance,
            );
        }
    }
}

/// `B`'s gradients of every parameter and of the input equal `R`'s.
pub fn assert_gradients_match<B: AutodiffBackend, R: AutodiffBackend>(what: &str, tolerance: f32) {
    for config in networks() {
        let variant = format!("{} ({:?})", config.variant, config.c1_padding);
        let bytes = fixed_model::<R>(&config, &Default::default()).to_bytes();
        for batch in [1, 11] {
            let want = gradients::<R>(&config, &bytes, batch);
            let got = gradients::<B>(&config, &bytes, batch);
            assert_eq!(want.len(), got.len());
            for ((name, want), (_, got)) in want.iter().zip(&got) {
                assert!(
                    want.iter().any(|&v| v.abs() > 1e-5),
                    "{variant} {name}: gradient too small to test anything: {:?}",
                    &want[..4]
                );
                assert_close(
                    &format!("{what}: {variant} {name}, batch {batch}"),
                    got,
                    want,
                    tolerance,
                );
            }
        }
    }
}

/// Burn keeps one default float type per device, set by the first tensor made on it: a
/// process that touched `NdArray<f64>` gets f64 tensors on `NdArray` too, which the kernels
/// rightly leave alone. Each comparison checks that `B` really makes f32 tensors here.
pub fn assert_f32_tensors<B: Backend>() {
    let tensor = Tensor::<B, 1>::zeros([1], &Default::default());
    assert_eq!(tensor.dtype(), burn::tensor::DType::F32);
    assert!(lenet_kernels::is_fused::<B>());
}
