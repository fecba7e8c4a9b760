use burn::{
    module::{Initializer, Param},
    nn::{Linear, LinearConfig, PaddingConfig2d, conv::Conv2d, conv::Conv2dConfig},
    prelude::*,
};
use serde::{Deserialize, Serialize};

use lenet_kernels::{Activation, Pooling};

use crate::model::{C5, LeNet5};

/// Which LeNet-5 to build: the 1998 paper's network or the lecture's Keras version.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Variant {
    /// LeCun et al. (1998) as in the lecture's table: 32x32 input, tanh, average pooling
    /// followed by tanh, C5 a 5x5 convolution.
    #[default]
    Classic,
    /// The lecture's Keras code: 28x28 input, C1 with "same" padding, ReLU, max pooling,
    /// then flatten and dense layers 120-84-10.
    Keras,
}

impl Variant {
    /// Both variants, in a fixed order.
    pub const ALL: [Variant; 2] = [Variant::Classic, Variant::Keras];

    /// Height and width of the images the variant expects (32 or 28).
    pub fn input_size(self) -> usize {
        match self {
            Variant::Classic => 32,
            Variant::Keras => 28,
        }
    }

    /// The variant's name as written in configuration files.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Classic => "classic",
            Variant::Keras => "keras",
        }
    }

    /// The non-linearity applied after C1, S2, C3, S4, C5 and F6.
    pub fn activation(self) -> Activation {
        match self {
            Variant::Classic => Activation::Tanh,
            Variant::Keras => Activation::Relu,
        }
    }

    /// The subsampling layers' pooling.
    pub fn pooling(self) -> Pooling {
        match self {
            Variant::Classic => Pooling::Average,
            Variant::Keras => Pooling::Max,
        }
    }
}

impl std::fmt::Display for Variant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Variant {
    type Err = crate::LeNetError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Variant::ALL
            .into_iter()
            .find(|variant| variant.name() == s)
            .ok_or_else(|| crate::LeNetError::UnknownVariant(s.to_string()))
    }
}

/// Configuration of a [`LeNet5`] network. Build the network with [`LeNet5Config::init`].
///
/// Initialisation is chosen by the variant, because a tanh network starts badly from the
/// ReLU-oriented default that Burn uses:
/// - `classic`: LeCun's fan-in scaled uniform, `U(-sqrt(3/fan_in), sqrt(3/fan_in))`, which gives
///   each pre-activation unit variance for unit-variance inputs (LeCun et al., "Efficient
///   BackProp", 1998), keeping tanh in its linear range at the start;
/// - `keras`: Glorot (Xavier) uniform, Keras' default for `Conv2D` and `Dense`.
///
/// Biases start at zero in both, as in Keras.
#[derive(Config, Debug, PartialEq)]
pub struct LeNet5Config {
    /// Which network to build.
    #[config(default = "Variant::Classic")]
    pub variant: Variant,
}

/// Side of the square kernels of C1, C3 and C5.
pub(crate) const KERNEL: usize = 5;
/// Feature maps of C1, C3, C5 and units of F6 and the output layer.
pub(crate) const WIDTHS: [usize; 5] = [6, 16, 120, 84, 10];

impl LeNet5Config {
    /// Builds the network on `device` with freshly initialised weights.
    pub fn init<B: Backend>(&self, device: &B::Device) -> LeNet5<B> {
        let variant = self.variant;
        let initializer = match variant {
            Variant::Classic => Initializer::KaimingUniform {
                gain: 1.0,
                fan_out_only: false,
            },
            Variant::Keras => Initializer::XavierUniform { gain: 1.0 },
        };
        // Keras' "same" padding keeps C1 at 28x28, so both variants reach S4 at 16x5x5.
        let c1_padding = match variant {
            Variant::Classic => PaddingConfig2d::Valid,
            Variant::Keras => PaddingConfig2d::Explicit(2, 2, 2, 2),
        };
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
            Variant::Classic => C5::Conv(conv([c3_maps, c5_maps], PaddingConfig2d::Valid)),
            Variant::Keras => C5::Dense(linear(c3_maps * KERNEL * KERNEL, c5_maps)),
        };

        LeNet5 {
            c1: conv([1, c1_maps], c1_padding),
            c3: conv([c1_maps, c3_maps], PaddingConfig2d::Valid),
            c5,
            f6: linear(c5_maps, f6_units),
            output: linear(f6_units, classes),
            variant,
        }
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
