//! Fixed, non-trivial weights and inputs shared by the model tests.

pub mod fused;

use burn::{module::Param, prelude::*};
use lenet::{C1Padding, C3, C5, LeNet5, LeNet5Config, Output, Variant};

/// A deterministic, irregular sequence in about [-scale, scale].
pub fn pattern(len: usize, seed: f64, scale: f64) -> Vec<f32> {
    (0..len)
        .map(|i| {
            (scale
                * ((i as f64 * 0.731 + seed).sin() + 0.5 * (i as f64 * 0.173 + 2.0 * seed).cos())
                / 1.5) as f32
        })
        .collect()
}

fn param<B: Backend, const D: usize>(
    shape: [usize; D],
    seed: f64,
    scale: f64,
    device: &B::Device,
) -> Param<Tensor<B, D>> {
    let len = shape.iter().product();
    Param::from_tensor(Tensor::from_data(
        TensorData::new(pattern(len, seed, scale), shape),
        device,
    ))
}

/// Every network the crate builds: the classic one, the Keras code as it runs, the Keras
/// code's comments' form (C1 padded) and the paper's.
pub fn networks() -> [LeNet5Config; 4] {
    [
        LeNet5Config::new(),
        LeNet5Config::new().with_variant(Variant::Keras),
        LeNet5Config::new()
            .with_variant(Variant::Keras)
            .with_c1_padding(C1Padding::Same),
        LeNet5Config::new().with_variant(Variant::LeCun1998),
    ]
}

/// A network as `config` builds it, with every weight and bias from [`pattern`].
pub fn fixed_model<B: Backend>(config: &LeNet5Config, device: &B::Device) -> LeNet5<B> {
    let mut model = config.init::<B>(device);
    let mut seed = 0.0;
    let mut next = || {
        seed += 1.0;
        seed
    };
    model.c1.weight = param([6, 1, 5, 5], next(), 0.4, device);
    model.c1.bias = Some(param([6], next(), 0.1, device));
    match &mut model.c3 {
        C3::Full(conv) => {
            conv.weight = param([16, 6, 5, 5], next(), 0.16, device);
            conv.bias = Some(param([16], next(), 0.1, device));
        }
        C3::Table(table) => {
            table.kernels = param([60, 5, 5], next(), 0.2, device);
            table.bias = param([16], next(), 0.1, device);
        }
    }
    for (layer, maps) in [(&mut model.s2, 6), (&mut model.s4, 16)] {
        if let Some(layer) = layer {
            layer.coefficient = param([maps], next(), 0.5, device);
            layer.bias = param([maps], next(), 0.2, device);
        }
    }
    match &mut model.c5 {
        C5::Conv(conv) => {
            conv.weight = param([120, 16, 5, 5], next(), 0.1, device);
            conv.bias = Some(param([120], next(), 0.1, device));
        }
        C5::Dense(dense) => {
            dense.weight = param(dense.weight.dims(), next(), 0.1, device);
            dense.bias = Some(param([120], next(), 0.1, device));
        }
    }
    model.f6.weight = param([120, 84], next(), 0.18, device);
    model.f6.bias = Some(param([84], next(), 0.1, device));
    if let Output::Dense(output) = &mut model.output {
        output.weight = param([84, 10], next(), 0.2, device);
        output.bias = Some(param([10], next(), 0.1, device));
    }
    model
}

/// `batch` images of the variant's size with values in about [-1, 1].
pub fn fixed_images<B: Backend>(
    variant: Variant,
    batch: usize,
    device: &B::Device,
) -> Tensor<B, 4> {
    let side = variant.input_size();
    let shape = [batch, 1, side, side];
    Tensor::from_data(
        TensorData::new(pattern(shape.iter().product(), 0.5, 1.0), shape),
        device,
    )
}

/// The tensor's values as f32 (whatever the backend's float type).
pub fn values<B: Backend, const D: usize>(tensor: Tensor<B, D>) -> Vec<f32> {
    tensor
        .into_data()
        .convert::<f32>()
        .to_vec::<f32>()
        .expect("float tensor")
}
