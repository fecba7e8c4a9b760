//! A fresh network: [`LeNet5Config::init`] builds the layers a configuration names, with each
//! variant's initialisation.

use burn::{
    module::{Initializer, Param},
    nn::{Linear, LinearConfig, PaddingConfig2d, conv::Conv2d, conv::Conv2dConfig},
    prelude::*,
};

use crate::config::{KERNEL, WIDTHS};
use crate::model::{C3, C5, LeNet5, Output};
use crate::paper::{C3_TABLE, Rbf, Subsampling, TableConv2d, uniform};
use crate::{C1Padding, LeNet5Config, Variant};

impl LeNet5Config {
    /// Builds the network on `device` with freshly initialised weights.
    ///
    /// # Panics
    /// When [`LeNet5Config::check`] refuses the configuration.
    pub fn init<B: Backend>(&self, device: &B::Device) -> LeNet5<B> {
        if let Err(error) = self.check() {
            panic!("{error}");
        }
        let variant = self.variant;
        if variant == Variant::LeCun1998 {
            return paper_network(device);
        }
        let initializer = match variant {
            Variant::Keras => Initializer::XavierUniform { gain: 1.0 },
            _ => Initializer::KaimingUniform {
                gain: 1.0,
                fan_out_only: false,
            },
        };
        let c1_padding = match self.c1_padding {
            C1Padding::Valid => PaddingConfig2d::Valid,
            C1Padding::Same => PaddingConfig2d::Explicit(2, 2, 2, 2),
        };
        let s4_side = self.s4_side();
        let [c1_maps, c3_maps, c5_maps, f6_units, classes] = WIDTHS;
        let conv = |channels: [usize; 2], padding: PaddingConfig2d| {
            zero_conv_bias(
                Conv2dConfig::new(channels, [KERNEL, KERNEL])
                    .with_padding(padding)
                    .with_initializer(initializer.clone())
                    .init(device),
            )
        };
        let linear = |d_input: usize, d_output: usize| {
            zero_linear_bias(
                LinearConfig::new(d_input, d_output)
                    .with_initializer(initializer.clone())
                    .init(device),
            )
        };
        let c5 = match variant {
            Variant::Keras => C5::Dense(linear(c3_maps * s4_side * s4_side, c5_maps)),
            _ => C5::Conv(conv([c3_maps, c5_maps], PaddingConfig2d::Valid)),
        };

        LeNet5 {
            c1: conv([1, c1_maps], c1_padding),
            s2: None,
            c3: C3::Full(conv([c1_maps, c3_maps], PaddingConfig2d::Valid)),
            s4: None,
            c5,
            f6: linear(c5_maps, f6_units),
            output: Output::Dense(linear(f6_units, classes)),
            variant,
        }
    }
}

/// The paper's network with the paper's initialisation.
fn paper_network<B: Backend>(device: &B::Device) -> LeNet5<B> {
    let [c1_maps, c3_maps, c5_maps, f6_units, _] = WIDTHS;
    let taps = KERNEL * KERNEL;
    let conv = |channels: [usize; 2]| {
        let mut conv = Conv2dConfig::new(channels, [KERNEL, KERNEL]).init(device);
        let fan_in = channels[0] * taps;
        conv.weight = Param::from_tensor(uniform(conv.weight.dims(), fan_in, device));
        conv.bias = Some(Param::from_tensor(uniform([channels[1]], fan_in, device)));
        conv
    };
    let mut f6 = LinearConfig::new(c5_maps, f6_units).init(device);
    f6.weight = Param::from_tensor(uniform([c5_maps, f6_units], c5_maps, device));
    f6.bias = Some(Param::from_tensor(uniform([f6_units], c5_maps, device)));
    LeNet5 {
        c1: conv([1, c1_maps]),
        s2: Some(Subsampling::new(c1_maps, device)),
        c3: C3::Table(TableConv2d::new(&C3_TABLE, c1_maps, KERNEL, device)),
        s4: Some(Subsampling::new(c3_maps, device)),
        c5: C5::Conv(conv([c3_maps, c5_maps])),
        f6,
        output: Output::Rbf(Rbf::new(device)),
        variant: Variant::LeCun1998,
    }
}

fn zero_conv_bias<B: Backend>(mut conv: Conv2d<B>) -> Conv2d<B> {
    conv.bias = conv.bias.map(zeroed);
    conv
}

fn zero_linear_bias<B: Backend>(mut linear: Linear<B>) -> Linear<B> {
    linear.bias = linear.bias.map(zeroed);
    linear
}

/// `Param::map` takes the new tensor's `require_grad` flag, which `zeros_like` clears: without
/// setting it again, the biases would never be trained.
fn zeroed<B: Backend>(param: Param<Tensor<B, 1>>) -> Param<Tensor<B, 1>> {
    param.map(|tensor| tensor.zeros_like().require_grad())
}
