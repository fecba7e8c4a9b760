use burn::{
    nn::{Linear, PaddingConfig2d, conv::Conv2d},
    prelude::*,
    tensor::activation::softmax,
};

use lenet_kernels::{Activation, activate, conv2d, dense, features, full_conv2d, subsample};

use crate::paper::{Rbf, Subsampling, TableConv2d};
use crate::{C1Padding, LeNet5Config, LeNetError, config::Variant};

/// LeNet-5, generic over the Burn backend `B`. Build it with [`crate::LeNet5Config::init`].
///
/// [`LeNet5::forward`] maps images `[batch, 1, side, side]` (side from
/// [`Variant::input_size`]) to logits `[batch, 10]`; [`LeNet5::predict`] adds the softmax and
/// the arg-max. The paper's network ends in RBF units, whose outputs are distances (the
/// smallest wins): its logits are the negated distances.
///
/// The layers are public so that their weights can be inspected (or set, in tests); the
/// variant is fixed at construction.
#[derive(Module, Debug)]
pub struct LeNet5<B: Backend> {
    /// C1: 1 -> 6 maps, 5x5.
    pub c1: Conv2d<B>,
    /// S2's trainable coefficient and bias per map, in the paper's network; `None` where S2
    /// has no parameters (average pooling then tanh, or max pooling).
    pub s2: Option<Subsampling<B>>,
    /// C3: 6 -> 16 maps, 5x5.
    pub c3: C3<B>,
    /// S4's trainable coefficient and bias per map, like `s2`.
    pub s4: Option<Subsampling<B>>,
    /// C5: S4 (16x5x5, or 16x4x4 in the Keras code) -> 120.
    pub c5: C5<B>,
    /// F6: 120 -> 84.
    pub f6: Linear<B>,
    /// Output: 84 -> 10.
    pub output: Output<B>,
    #[module(skip)]
    pub(crate) variant: Variant,
}

/// The C5 layer: a 5x5 convolution in the paper, a dense layer after a flatten in Keras.
/// Both connect every S4 unit to each of the 120 outputs.
#[derive(Module, Debug)]
pub enum C5<B: Backend> {
    /// 16 -> 120 maps, 5x5 kernel, output 120x1x1.
    Conv(Conv2d<B>),
    /// 256 (16x4x4) or, with C1 padded, 400 (16x5x5) -> 120 units.
    Dense(Linear<B>),
}

/// The C3 layer: every S2 map connected to every C3 map, or the paper's connection table.
#[derive(Module, Debug)]
pub enum C3<B: Backend> {
    /// 6 -> 16 maps, 5x5, all 96 kernels.
    Full(Conv2d<B>),
    /// 6 -> 16 maps, 5x5, the 60 kernels of the paper's Table I ([`crate::C3_TABLE`]).
    Table(TableConv2d<B>),
}

/// The output layer: dense logits, or the paper's Euclidean RBF units.
// A network holds one output layer, built once: boxing the larger variant would save nothing
// worth an indirection in the public type.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Output<B: Backend> {
    /// 84 -> 10 logits.
    Dense(Linear<B>),
    /// 84 -> 10 squared distances to fixed digit bitmaps.
    Rbf(Rbf<B>),
}

/// Every layer's output for a batch, as [`LeNet5::forward_layers`] returns it, in the order
/// of [`LeNet5::summary`]'s rows (after each layer's activation, where it has one). The shapes
/// are the classic variant's; the Keras code's are 24x24, 12x12, 8x8 and 4x4 (as the classic's
/// with C1's padding "same").
#[derive(Debug, Clone)]
pub struct LayerOutputs<B: Backend> {
    /// C1's maps, `[batch, 6, 28, 28]`.
    pub c1: Tensor<B, 4>,
    /// S2's maps, `[batch, 6, 14, 14]`.
    pub s2: Tensor<B, 4>,
    /// C3's maps, `[batch, 16, 10, 10]`.
    pub c3: Tensor<B, 4>,
    /// S4's maps, `[batch, 16, 5, 5]`.
    pub s4: Tensor<B, 4>,
    /// C5's units, `[batch, 120]`.
    pub c5: Tensor<B, 2>,
    /// F6's units, `[batch, 84]`.
    pub f6: Tensor<B, 2>,
    /// The output layer's logits, `[batch, 10]`: [`LeNet5::forward`]'s result. For the
    /// paper's network, the RBF units' distances negated.
    pub logits: Tensor<B, 2>,
}

/// Class probabilities and the most likely class, as returned by [`LeNet5::predict`].
#[derive(Debug, Clone)]
pub struct Prediction<B: Backend> {
    /// Softmax of the logits, `[batch, 10]`; each row sums to 1. For the paper's network,
    /// `softmax(-y)` of the RBF distances `y`: a convenient normalisation, not the paper's
    /// (which reports the distances and the nearest class).
    pub probabilities: Tensor<B, 2>,
    /// The arg-max digit of each row, `[batch]`.
    pub classes: Tensor<B, 1, Int>,
}

impl<B: Backend> LeNet5<B> {
    /// The variant this network was built as.
    pub fn variant(&self) -> Variant {
        self.variant
    }

    /// The configuration this network was built from.
    pub fn config(&self) -> LeNet5Config {
        let c1_padding = match self.c1.padding {
            PaddingConfig2d::Valid => C1Padding::Valid,
            _ => C1Padding::Same,
        };
        LeNet5Config::new()
            .with_variant(self.variant)
            .with_c1_padding(c1_padding)
    }

    /// Checks that `dims` is a batch of single-channel images of the variant's input size.
    pub fn check_input(&self, dims: [usize; 4]) -> Result<(), LeNetError> {
        let side = self.variant.input_size();
        let [batch, channels, height, width] = dims;
        if batch == 0 || channels != 1 || height != side || width != side {
            return Err(LeNetError::InputShape {
                variant: self.variant,
                expected: [1, side, side],
                actual: dims,
            });
        }
        Ok(())
    }

    /// [`LeNet5::check_input`], its error as the panic that [`LeNet5::forward`] documents.
    fn expect_input(&self, dims: [usize; 4]) {
        if let Err(error) = self.check_input(dims) {
            panic!("{error}");
        }
    }

    /// Logits `[batch, 10]` for images `[batch, 1, side, side]`.
    ///
    /// The classic and Keras networks run C1 to S4 through [`lenet_kernels::features`]: on
    /// `Flex` and `NdArray` one pass per image, and in training each convolution with its
    /// pooling as one operation; the same values as the layers of
    /// [`LeNet5::forward_layers`] to the bit, gradients included, in less time on a batch.
    ///
    /// # Panics
    /// When the images are not `[batch >= 1, 1, side, side]` with `side` the variant's
    /// [`Variant::input_size`]; the message names the expected and the actual shape. Call
    /// [`LeNet5::check_input`] first to get the error as a value instead.
    pub fn forward(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        // Without trainable subsampling, C1 to S4 can run fused: on the CPU backends one pass
        // keeps each image's maps in cache (`lenet_kernels::features`).
        if let (None, C3::Full(c3), None) = (&self.s2, &self.c3, &self.s4) {
            self.expect_input(images.dims());
            let activation = self.variant.activation();
            let s4 = features(images, &self.c1, c3, activation, self.variant.pooling());
            return self.dense_layers(s4, activation).2;
        }
        self.forward_layers(images).logits
    }

    /// Every layer's output for images `[batch, 1, side, side]`: the network's one forward
    /// pass, which [`LeNet5::forward`] runs too, keeping what each layer produced (to look
    /// inside the network: feature maps, activations).
    ///
    /// # Panics
    /// Like [`LeNet5::forward`], on a wrongly shaped input.
    pub fn forward_layers(&self, images: Tensor<B, 4>) -> LayerOutputs<B> {
        self.expect_input(images.dims());
        let activation = self.variant.activation();
        let pooling = self.variant.pooling();
        let subsampling = |layer: &Option<Subsampling<B>>, x| match layer {
            Some(layer) => layer.forward(x, activation),
            None => subsample(x, pooling),
        };
        let c1 = conv2d(&self.c1, images, activation);
        let s2 = subsampling(&self.s2, c1.clone());
        let c3 = match &self.c3 {
            C3::Full(conv) => conv2d(conv, s2.clone(), activation),
            C3::Table(table) => table.forward(s2.clone(), activation),
        };
        let s4 = subsampling(&self.s4, c3.clone());
        let (c5, f6, logits) = self.dense_layers(s4.clone(), activation);
        LayerOutputs {
            c1,
            s2,
            c3,
            s4,
            c5,
            f6,
            logits,
        }
    }

    /// C5, F6 and the output layer's outputs from S4's maps.
    fn dense_layers(
        &self,
        s4: Tensor<B, 4>,
        activation: Activation,
    ) -> (Tensor<B, 2>, Tensor<B, 2>, Tensor<B, 2>) {
        let c5 = match &self.c5 {
            C5::Conv(conv) => full_conv2d(conv, s4),
            C5::Dense(layer) => dense(layer, s4.flatten(1, 3)),
        };
        let c5 = activate(c5, activation);
        let f6 = activate(dense(&self.f6, c5.clone()), activation);
        let logits = match &self.output {
            Output::Dense(layer) => dense(layer, f6.clone()),
            Output::Rbf(rbf) => -rbf.forward(f6.clone()),
        };
        (c5, f6, logits)
    }

    /// Softmax probabilities and arg-max class for images `[batch, 1, side, side]`.
    ///
    /// # Panics
    /// Like [`LeNet5::forward`], on a wrongly shaped input.
    pub fn predict(&self, images: Tensor<B, 4>) -> Prediction<B> {
        Prediction::from_logits(self.forward(images))
    }
}

impl<B: Backend> Prediction<B> {
    /// The prediction for the output layer's `logits` `[batch, 10]`, as from
    /// [`LeNet5::forward`] or [`LayerOutputs::logits`].
    pub fn from_logits(logits: Tensor<B, 2>) -> Self {
        let probabilities = softmax(logits, 1);
        let classes = probabilities.clone().argmax(1).flatten(0, 1);
        Self {
            probabilities,
            classes,
        }
    }
}
