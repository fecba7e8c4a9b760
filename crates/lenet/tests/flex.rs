//! The `flex` feature's fused kernels against Burn's own operations: the same weights give the
//! same logits on `Flex` as on ndarray, and the same gradients (of every parameter and of the
//! input) on `Autodiff<Flex>` as on `Autodiff<NdArray>`.

mod common;

use burn::{
    backend::{Autodiff, Flex, NdArray},
    prelude::*,
};
use common::{fixed_images, fixed_model, pattern, values};
use lenet::{C5, LeNet5, Variant};

/// `got` equals `want` up to `tolerance` times the largest magnitude in `want`.
fn assert_close(what: &str, got: &[f32], want: &[f32], tolerance: f32) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    let scale = want.iter().fold(1e-3_f32, |m, v| m.max(v.abs()));
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tolerance * scale,
            "{what}[{i}]: flex {g}, ndarray {w} (scale {scale})"
        );
    }
}

#[test]
fn flex_logits_match_ndarray() {
    for variant in Variant::ALL {
        for batch in [1, 11] {
            let reference = fixed_model::<NdArray>(variant, &Default::default());
            let fused = lenet::load_bytes::<Flex>(
                &reference.to_bytes(),
                Some(variant),
                &Default::default(),
            )
            .unwrap();
            let want = values(reference.forward(fixed_images(variant, batch, &Default::default())));
            let got = values(fused.forward(fixed_images(variant, batch, &Default::default())));
            assert_close(
                &format!("{variant} logits, batch {batch}"),
                &got,
                &want,
                1e-5,
            );
        }
    }
}

/// Every parameter's gradient and the input's, named, for the loss `sum(logits * r)`.
fn gradients<B: burn::tensor::backend::AutodiffBackend>(
    model: &LeNet5<B>,
    variant: Variant,
    batch: usize,
) -> Vec<(&'static str, Vec<f32>)> {
    let device = Default::default();
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
    all.push(grad2("output.weight", model.output.weight.grad(&grads)));
    all
}

#[test]
fn flex_gradients_match_ndarray() {
    for variant in Variant::ALL {
        for batch in [1, 11] {
            let reference = fixed_model::<Autodiff<NdArray>>(variant, &Default::default());
            let bytes = reference.to_bytes();
            let fused =
                lenet::load_bytes::<Autodiff<Flex>>(&bytes, Some(variant), &Default::default())
                    .unwrap();
            let want = gradients(&reference, variant, batch);
            let got = gradients(&fused, variant, batch);
            for ((name, got), (_, want)) in got.iter().zip(&want) {
                assert!(
                    want.iter().any(|&v| v.abs() > 1e-5),
                    "{variant} {name}: gradient too small to test anything: {:?}",
                    &want[..4]
                );
                assert_close(&format!("{variant} {name}, batch {batch}"), got, want, 1e-4);
            }
        }
    }
}
