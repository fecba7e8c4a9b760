use burn::prelude::*;
use serde::{Deserialize, Serialize};

use lenet_kernels::{Activation, Pooling};

/// Which LeNet-5 to build: the lecture's table of the 1998 network, the lecture's Keras
/// version, or the paper's network exactly.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Variant {
    /// LeCun et al. (1998) as in the lecture's table: 32x32 input, tanh, average pooling
    /// followed by tanh, C5 a 5x5 convolution.
    #[default]
    Classic,
    /// The lecture's Keras code as it runs: 28x28 input, C1 without padding (24x24 maps),
    /// ReLU, max pooling, then flatten (16x4x4) and dense layers 120-84-10. Its comments'
    /// form, with C1 "same" padded, is [`C1Padding::Same`].
    Keras,
    /// LeCun et al. (1998), Section II-B, exactly: 32x32 input; the squashing function
    /// `1.7159 tanh(2a/3)` everywhere; S2 and S4 with a trainable coefficient and bias per
    /// map; C3 connected to S2 by the paper's Table I; C5 a 5x5 convolution; F6 84 units;
    /// 10 Euclidean RBF output units with fixed stylised digit bitmaps. 60,000 trainable
    /// parameters and 340,908 connections.
    #[serde(rename = "lecun1998")]
    LeCun1998,
}

/// C1's padding. The lecture's Keras code pads nothing (`Conv2D`'s default, "valid"), while
/// its comments count parameters as if C1 kept 28x28 ("same"): then S4 is 16x5x5 as in the
/// paper and the first dense layer has 48,120 parameters instead of 30,840.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum C1Padding {
    /// No padding: the code as it runs, and the paper (whose input is already 32x32).
    #[default]
    Valid,
    /// 2 pixels on each side, so that C1's maps are as large as the input. Keras only.
    Same,
}

impl C1Padding {
    /// The name as written in configuration files.
    pub fn name(self) -> &'static str {
        match self {
            C1Padding::Valid => "valid",
            C1Padding::Same => "same",
        }
    }
}

impl Variant {
    /// Every variant, in a fixed order.
    pub const ALL: [Variant; 3] = [Variant::Classic, Variant::Keras, Variant::LeCun1998];

    /// Height and width of the images the variant expects (32 or 28).
    pub fn input_size(self) -> usize {
        match self {
            Variant::Classic | Variant::LeCun1998 => 32,
            Variant::Keras => 28,
        }
    }

    /// The variant's name as written in configuration files.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Classic => "classic",
            Variant::Keras => "keras",
            Variant::LeCun1998 => "lecun1998",
        }
    }

    /// The non-linearity applied after C1, S2, C3, S4, C5 and F6.
    pub fn activation(self) -> Activation {
        match self {
            Variant::Classic => Activation::Tanh,
            Variant::Keras => Activation::Relu,
            Variant::LeCun1998 => Activation::ScaledTanh,
        }
    }

    /// The subsampling layers' pooling. The paper's network adds a trainable coefficient
    /// and bias per map to the average (a sum, scaled): [`crate::Subsampling`].
    pub fn pooling(self) -> Pooling {
        match self {
            Variant::Classic | Variant::LeCun1998 => Pooling::Average,
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

/// Configuration of a [`LeNet5`](crate::LeNet5) network. Build the network with
/// [`LeNet5Config::init`].
///
/// Initialisation is chosen by the variant, because a tanh network starts badly from the
/// ReLU-oriented default that Burn uses:
/// - `classic`: LeCun's fan-in scaled uniform, `U(-sqrt(3/fan_in), sqrt(3/fan_in))`, which gives
///   each pre-activation unit variance for unit-variance inputs (LeCun et al., "Efficient
///   BackProp", 1998), keeping tanh in its linear range at the start;
/// - `keras`: Glorot (Xavier) uniform, Keras' default for `Conv2D` and `Dense`;
/// - `lecun1998`: the paper's, uniform in `(-2.4/F, 2.4/F)` with `F` the unit's fan-in, for
///   weights and biases alike.
///
/// Biases start at zero in `classic` and `keras`, as in Keras.
#[derive(Config, Debug, PartialEq)]
pub struct LeNet5Config {
    /// Which network to build.
    #[config(default = "Variant::Classic")]
    pub variant: Variant,
    /// C1's padding: "same" only with the Keras variant (see [`LeNet5Config::check`]).
    #[config(default = "C1Padding::Valid")]
    pub c1_padding: C1Padding,
}

/// Side of the square kernels of C1, C3 and C5.
pub(crate) const KERNEL: usize = 5;
/// Feature maps of C1, C3, C5 and units of F6 and the output layer.
pub(crate) const WIDTHS: [usize; 5] = [6, 16, 120, 84, 10];

impl LeNet5Config {
    /// Refuses what cannot be built: the classic network's 32x32 input already is the padded
    /// image, and padding it again would leave C5's kernel smaller than S4's maps.
    pub fn check(&self) -> Result<(), crate::LeNetError> {
        if self.variant != Variant::Keras && self.c1_padding == C1Padding::Same {
            return Err(crate::LeNetError::Unbuildable(format!(
                "c1_padding \"same\" is the Keras variant's option; the {} variant pads its input to 32x32 instead",
                self.variant
            )));
        }
        Ok(())
    }
}

impl LeNet5Config {
    /// The side of S4's maps: 5, or 4 for the Keras code as it runs (28 -> 24 -> 12 -> 8 -> 4).
    pub(crate) fn s4_side(&self) -> usize {
        let padding = match self.c1_padding {
            C1Padding::Valid => 0,
            C1Padding::Same => KERNEL - 1,
        };
        let s2 = (self.variant.input_size() + padding - (KERNEL - 1)) / 2;
        (s2 - (KERNEL - 1)) / 2
    }
}
