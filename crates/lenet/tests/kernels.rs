//! The fused kernels of the `flex` and `ndarray` features against Burn's own operations: the
//! same weights give the same logits on `Flex` and `NdArray` as Burn's operations compute in
//! f64 (`NdArray<f64>`, which the kernels leave alone), and the same gradients of every
//! parameter and of the input on `Autodiff<Flex>` and `Autodiff<NdArray>`.

mod common;

use burn::{
    backend::{Autodiff, Flex, NdArray},
    prelude::*,
    tensor::backend::AutodiffBackend,
};
use common::{fixed_images, fixed_model, pattern, values};
use lenet::{C5, LeNet5, Variant};

/// Burn's generic operations, in f64.
type Reference = NdArray<f64>;

/// `got` equals `want` up to `tolerance` times the largest magnitude in `want`.
fn assert_close(what: &str, got: &[f32], want: &[f32], tolerance: f32) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    let scale = want.iter().fold(1e-3_f32, |m, v| m.max(v.abs()));
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tolerance * scale,
            "{what}[{i}]: fused {g}, Burn's operations {w} (scale {scale})"
        );
    }
}

fn logits<B: Backend>(variant: Variant, bytes: &[u8], batch: usize) -> Vec<f32> {
    let device = Default::default();
    let model = lenet::load_bytes::<B>(bytes, Some(variant), &device).unwrap();
    values(model.forward(fixed_images(variant, batch, &device)))
}

#[test]
fn fused_logits_match_burns_operations() {
    for variant in Variant::ALL {
        let bytes = fixed_model::<Reference>(variant, &Default::default()).to_bytes();
        for batch in [1, 11] {
            let want = logits::<Reference>(variant, &bytes, batch);
            let what = format!("{variant} logits, batch {batch}");
            assert_close(
                &format!("flex {what}"),
                &logits::<Flex>(variant, &bytes, batch),
                &want,
                1e-5,
            );
            assert_close(
                &format!("ndarray {what}"),
                &logits::<NdArray>(variant, &bytes, batch),
                &want,
                1e-5,
            );
        }
    }
}

/// Every parameter's gradient and the input's, named, for the loss `sum(logits * r)`.
fn gradients<B: AutodiffBackend>(
    variant: Variant,
    bytes: &[u8],
    batch: usize,
) -> Vec<(&'static str, Vec<f32>)> {
    let device = Default::default();
    let model: LeNet5<B> = lenet::load_bytes(bytes, Some(variant), &device).unwrap();
    let images = fixed_images::<B>(variant, batch, &device).require_grad();
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
        grad("c3.weight", model.c3.weight.grad(&grads)),
        grad1("c3.bias", bias(&model.c3)),
    ];
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
    all.push(grad1("f6.bias", model.f6.bias.as_ref().unwrap().grad(&grads)));
    all.push(grad2("output.weight", model.output.weight.grad(&grads)));
    all.push(grad1("output.bias", model.output.bias.as_ref().unwrap().grad(&grads)));
    all
}

#[test]
fn fused_gradients_match_burns_operations() {
    for variant in Variant::ALL {
        let bytes = fixed_model::<Reference>(variant, &Default::default()).to_bytes();
        for batch in [1, 11] {
            let want = gradients::<Autodiff<Reference>>(variant, &bytes, batch);
            let flex = gradients::<Autodiff<Flex>>(variant, &bytes, batch);
            let ndarray = gradients::<Autodiff<NdArray>>(variant, &bytes, batch);
            for (((name, want), (_, flex)), (_, ndarray)) in want.iter().zip(&flex).zip(&ndarray) {
                assert!(
                    want.iter().any(|&v| v.abs() > 1e-5),
                    "{variant} {name}: gradient too small to test anything: {:?}",
                    &want[..4]
                );
                let what = format!("{variant} {name}, batch {batch}");
                assert_close(&format!("flex {what}"), flex, want, 1e-4);
                assert_close(&format!("ndarray {what}"), ndarray, want, 1e-4);
            }
        }
    }
}
