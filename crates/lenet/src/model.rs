use burn::{
    nn::{Linear, conv::Conv2d},
    prelude::*,
    tensor::{
        activation::{relu, softmax, tanh},
        module::{avg_pool2d, max_pool2d},
    },
};

use crate::{
    LeNetError,
    config::{Activation, POOL, Pooling, Variant},
};

/// LeNet-5, generic over the Burn backend `B`. Build it with [`crate::LeNet5Config::init`].
///
/// [`LeNet5::forward`] maps images `[batch, 1, side, side]` (side from
/// [`Variant::input_size`]) to logits `[batch, 10]`; [`LeNet5::predict`] adds the softmax and
/// the arg-max.
///
/// The layers are public so that their weights can be inspected (or set, in tests); the
/// variant is fixed at construction.
#[derive(Module, Debug)]
pub struct LeNet5<B: Backend> {
    /// C1: 1 -> 6 maps, 5x5.
    pub c1: Conv2d<B>,
    /// C3: 6 -> 16 maps, 5x5, every S2 map connected to every C3 map.
    pub c3: Conv2d<B>,
    /// C5: 16x5x5 -> 120.
    pub c5: C5<B>,
    /// F6: 120 -> 84.
    pub f6: Linear<B>,
    /// Output: 84 -> 10 logits.
    pub output: Linear<B>,
    #[module(skip)]
    pub(crate) variant: Variant,
}

/// The C5 layer: a 5x5 convolution in the paper, a dense layer after a flatten in Keras.
/// On a 5x5 input both connect every S4 unit to each of the 120 outputs.
#[derive(Module, Debug)]
pub enum C5<B: Backend> {
    /// 16 -> 120 maps, 5x5 kernel, output 120x1x1.
    Conv(Conv2d<B>),
    /// 400 -> 120 units.
    Dense(Linear<B>),
}

/// Class probabilities and the most likely class, as returned by [`LeNet5::predict`].
#[derive(Debug, Clone)]
pub struct Prediction<B: Backend> {
    /// Softmax of the logits, `[batch, 10]`; each row sums to 1.
    pub probabilities: Tensor<B, 2>,
    /// The arg-max digit of each row, `[batch]`.
    pub classes: Tensor<B, 1, Int>,
}

impl<B: Backend> LeNet5<B> {
    /// The variant this network was built as.
    pub fn variant(&self) -> Variant {
        self.variant
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

    /// Logits `[batch, 10]` for images `[batch, 1, side, side]`.
    ///
    /// # Panics
    /// When the images are not `[batch >= 1, 1, side, side]` with `side` the variant's
    /// [`Variant::input_size`]; the message names the expected and the actual shape. Call
    /// [`LeNet5::check_input`] first to get the error as a value instead.
    pub fn forward(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        if let Err(error) = self.check_input(images.dims()) {
            panic!("{error}");
        }
        let x = self.activate(self.c1.forward(images)); // [batch, 6, 28, 28]
        let x = self.subsample(x); // [batch, 6, 14, 14]
        let x = self.activate(self.c3.forward(x)); // [batch, 16, 10, 10]
        let x = self.subsample(x); // [batch, 16, 5, 5]
        let x = match &self.c5 {
            C5::Conv(conv) => conv.forward(x).flatten(1, 3),
            C5::Dense(dense) => dense.forward(x.flatten(1, 3)),
        };
        let x = self.activate(x); // [batch, 120]
        let x = self.activate(self.f6.forward(x)); // [batch, 84]
        self.output.forward(x) // [batch, 10]
    }

    /// Softmax probabilities and arg-max class for images `[batch, 1, side, side]`.
    ///
    /// # Panics
    /// Like [`LeNet5::forward`], on a wrongly shaped input.
    pub fn predict(&self, images: Tensor<B, 4>) -> Prediction<B> {
        let probabilities = softmax(self.forward(images), 1);
        let classes = probabilities.clone().argmax(1).flatten(0, 1);
        Prediction {
            probabilities,
            classes,
        }
    }

    fn activate<const D: usize>(&self, x: Tensor<B, D>) -> Tensor<B, D> {
        match self.variant.activation() {
            Activation::Tanh => tanh(x),
            Activation::Relu => relu(x),
        }
    }

    /// S2 and S4: 2x2 windows, stride 2. The paper squashes its subsampling output with the
    /// same sigmoid as every other layer, so the classic variant applies tanh here too.
    fn subsample(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let window = [POOL, POOL];
        match self.variant.pooling() {
            Pooling::Average => tanh(avg_pool2d(x, window, window, [0, 0], true, false)),
            Pooling::Max => max_pool2d(x, window, window, [0, 0], [1, 1], false),
        }
    }
}
