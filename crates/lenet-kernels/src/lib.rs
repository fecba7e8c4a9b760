//! LeNet-5's layer operations for Burn, with fused kernels on Burn's two CPU backends.
//!
//! The [`lenet`](https://docs.rs/lenet) model calls [`conv2d`], [`subsample`], [`activate`],
//! [`full_conv2d`] and [`dense`] for its layers (and [`convolve`], [`subsample_trainable`] and
//! [`rbf`] for the paper's), and [`features`] for C1 to S4 at once. On
//! every backend they compute what Burn's own operations compute. With the `flex` feature on
//! `Flex` and `Autodiff<Flex>`, and with the `ndarray` feature on `NdArray` and
//! `Autodiff<NdArray>` (f32 tensors, Burn's default element types), they run fused kernels
//! instead:
//! - a convolution is one matrix product per image over an unfolded copy of it (im2col, with
//!   gemm), with the bias and the activation fused in;
//! - tanh is a vectorised rational function (`rational_tanh`, within 5e-7 of `f32::tanh`)
//!   whose derivative comes from its output, so the backward pass recomputes nothing;
//! - a dense layer's product and gradients are split over the batch's rows (Burn computes
//!   products this small on one thread);
//! - a subsampling layer is one pass each way, and so are the paper's trainable subsampling
//!   ([`subsample_trainable`]) and its Euclidean RBF output units ([`rbf`]);
//! - for inference, [`features`] takes each image through C1, S2, C3 and S4 in one pass, in
//!   registers where the CPU has AVX-512F or AVX2 with FMA; for training, it makes each
//!   convolution with its pooling one operation.
//!
//! [`FusedAdam`], for Burn's optimizer adaptor, is Burn's Adam with each parameter's update one
//! pass over its values on those backends, the same bits.
//!
//! On the autodiff backends each kernel is one autodiff operation with a hand-written backward
//! step. The kernels are deterministic whatever the thread count. Where Burn's generic
//! operations spend most of a training step in tanh (a scalar libm call per element) and in
//! the convolutions' backward passes, the kernels make training on the CPU several times
//! faster: see `bench/README.md` in the repository for the figures, and `docs/kernels.md` for
//! the kernels' design.
//!
//! # When the fused path engages
//! [`route`] says for a backend type which operations run its layers, in words a program can
//! print ([`Route`]); [`is_fused`] answers yes or no. The kernels take a layer only when every
//! operand is an `f32` tensor of one of the four types above, so they stay out of the way:
//! - on any other backend (wgpu, `NdArray<f64>`, ...);
//! - on `Autodiff<_, C>` with a gradient-checkpointing strategy `C` (Burn's default is none):
//!   the kernels keep what their backward step needs and cannot be recomputed on demand;
//! - for a convolution that is not square, unit-stride, undilated and ungrouped, or whose
//!   padding differs between its sides ([`covers`] tells).
//!
//! In those cases Burn's operations run: the same values to rounding, at Burn's speed.
//!
//! # Why `TypeId` routing and not a backend extension trait
//! Burn's usual way to add an operation is a trait (`trait LeNetOps: Backend`) implemented for
//! each backend that should have it, with the model generic over `B: LeNetOps`. That would
//! make the model unusable on any backend the trait is not implemented for, or force an
//! implementation for every backend, including downstream ones this crate cannot know. Here
//! the model stays generic over plain `B: Backend`: each operation asks which kernels, if any,
//! take `B` and its operands (a comparison of `TypeId`s and of the operands' element types)
//! and whether they cover the shapes, and otherwise runs Burn's operation, there in its body.
//! The type comparisons are constants for each `B`, so they compile away.
//!
//! # Example
//! ```
//! use burn::backend::NdArray;
//! use burn::nn::conv::Conv2dConfig;
//! use burn::tensor::Tensor;
//! use lenet_kernels::{Activation, conv2d};
//!
//! let device = Default::default();
//! let c1 = Conv2dConfig::new([1, 6], [5, 5]).init::<NdArray>(&device);
//! let images = Tensor::<NdArray, 4>::ones([2, 1, 32, 32], &device);
//! let maps = conv2d(&c1, images, Activation::Tanh);
//! assert_eq!(maps.dims(), [2, 6, 28, 28]);
//! // Fused with the `ndarray` feature, Burn's operations without it.
//! assert_eq!(lenet_kernels::is_fused::<NdArray>(), cfg!(feature = "ndarray"));
//! ```

#[cfg(any(feature = "flex", feature = "ndarray"))]
mod cpu;
#[cfg(any(feature = "flex", feature = "ndarray"))]
mod host;
mod optim;
mod routing;

use burn::{
    nn::{Linear, PaddingConfig2d, conv::Conv2d},
    prelude::*,
    tensor::{
        activation::{relu, tanh},
        module::{avg_pool2d, conv2d as conv2d_op, linear as linear_op, max_pool2d},
        ops::ConvOptions,
    },
};

#[cfg(any(feature = "flex", feature = "ndarray"))]
pub use cpu::tanh as rational_tanh;
pub use optim::FusedAdam;
pub use routing::{Route, covers, is_fused, route};

#[cfg(any(feature = "flex", feature = "ndarray"))]
use host::Fused;
use routing::conv_padding;

/// The amplitude `A` of the paper's squashing function `f(a) = A tanh(S a)` (LeCun et al.,
/// 1998, Appendix A): with `S` = 2/3, `f(1) = 1` and `f(-1) = -1`, and f's second derivative is
/// largest at 1 and -1.
pub const SCALED_TANH_AMPLITUDE: f32 = 1.7159;
/// The slope `S` of the paper's squashing function: see [`SCALED_TANH_AMPLITUDE`].
pub const SCALED_TANH_SLOPE: f32 = 2.0 / 3.0;

/// A hidden layer's non-linearity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    /// Hyperbolic tangent.
    Tanh,
    /// The paper's squashing function `A tanh(S a)` ([`SCALED_TANH_AMPLITUDE`],
    /// [`SCALED_TANH_SLOPE`]).
    ScaledTanh,
    /// Rectified linear unit.
    Relu,
}

impl Activation {
    /// The activation's name, as a summary shows it.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Tanh => "tanh",
            Activation::ScaledTanh => "A tanh(Sa)",
            Activation::Relu => "relu",
        }
    }
}

/// A subsampling layer's pooling, over 2x2 windows with stride 2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pooling {
    /// The window's mean, squashed by tanh: the paper's S2 and S4 as the lecture tabulates
    /// them, without their trainable coefficient and bias (for those, [`subsample_trainable`]).
    Average,
    /// The window's maximum (the lecture's Keras code).
    Max,
}

/// Side and stride of the subsampling windows.
pub const POOL: usize = 2;

/// `activation(conv(x))`: through [`convolve`] when `conv` is a convolution it computes (which
/// the fused kernels may then take), otherwise with Burn's `Conv2d`.
pub fn conv2d<B: Backend>(
    conv: &Conv2d<B>,
    x: Tensor<B, 4>,
    activation: Activation,
) -> Tensor<B, 4> {
    match (conv_padding(conv), &conv.bias) {
        (Some(padding), Some(bias)) => {
            convolve(x, conv.weight.val(), bias.val(), padding, activation)
        }
        _ => activate(conv.forward(x), activation),
    }
}

/// `activation(conv(x, weight) + bias)`: a square, unit-stride convolution with `padding`
/// zeros on every side, of a weight `[maps, channels, k, k]` that need not be a parameter
/// (the paper's C3 builds its weight from the kernels its connection table keeps).
pub fn convolve<B: Backend>(
    x: Tensor<B, 4>,
    weight: Tensor<B, 4>,
    bias: Tensor<B, 1>,
    padding: usize,
    activation: Activation,
) -> Tensor<B, 4> {
    #[cfg(any(feature = "flex", feature = "ndarray"))]
    if let Some(fused) = Fused::of::<B>(&[x.dtype(), weight.dtype(), bias.dtype()])
        && let Some(shape) = host::conv_shape(weight.dims(), bias.dims(), padding, x.dims())
    {
        return fused.convolve(shape, activation, x, weight, bias);
    }
    let options = ConvOptions::new([1, 1], [padding, padding], [1, 1], 1);
    activate(conv2d_op(x, weight, Some(bias), options), activation)
}

/// `x · weight + bias` for `x` `[batch, inputs]` and `weight` `[inputs, outputs]`: Burn's
/// [`linear`](burn::tensor::module::linear) on two dimensions. The fused kernels (for a layer
/// with a bias) split the product and its gradients over the batch's rows and the weight's,
/// where Burn's CPU backends compute products of LeNet-5's sizes on one thread; every value
/// is summed in the same order as by Burn's `flex`.
pub fn linear<B: Backend>(
    x: Tensor<B, 2>,
    weight: Tensor<B, 2>,
    bias: Option<Tensor<B, 1>>,
) -> Tensor<B, 2> {
    #[cfg(any(feature = "flex", feature = "ndarray"))]
    if let Some(bias) = &bias
        && let Some(fused) = Fused::of::<B>(&[x.dtype(), weight.dtype(), bias.dtype()])
        && let Some(shape) = host::dense_shape(x.dims(), weight.dims(), bias.dims(), false)
    {
        return fused.dense(shape, x, weight, bias.clone());
    }
    linear_op(x, weight, bias)
}

/// A convolution whose kernel covers its whole unpadded input (C5's 5x5 kernels on S4's 5x5
/// maps), so one output position per map: `x` `[batch, channels, k, k]` flattened, times the
/// flattened kernels, `[batch, maps]`. One matrix product, where a convolution layer would
/// unfold an input of one position; the fused kernels read the kernels in place and give
/// their gradient in the convolution's own layout. Elsewhere [`linear`] on the flattened
/// kernels, transposed.
///
/// # Panics
/// When `conv` is padded, strided, dilated or grouped, or `x`'s channels or size are not the
/// kernels' (the kernels would not cover it exactly once).
pub fn full_conv2d<B: Backend>(conv: &Conv2d<B>, x: Tensor<B, 4>) -> Tensor<B, 2> {
    let [maps, channels, height, width] = conv.weight.dims();
    let [batch, x_channels, x_height, x_width] = x.dims();
    let unpadded = matches!(
        conv.padding,
        PaddingConfig2d::Valid | PaddingConfig2d::Explicit(0, 0, 0, 0)
    );
    let plain = conv.stride == [1, 1] && conv.dilation == [1, 1] && conv.groups == 1;
    assert!(
        unpadded && plain && [x_channels, x_height, x_width] == [channels, height, width],
        "full_conv2d: an unpadded, unit-stride convolution on an input of its kernels' size"
    );
    let x = x.reshape([batch, channels * height * width]);
    let bias = conv.bias.as_ref().map(|bias| bias.val());
    #[cfg(any(feature = "flex", feature = "ndarray"))]
    if let (Some(0), Some(bias)) = (conv_padding(conv), &bias)
        && let Some(fused) = Fused::of::<B>(&[x.dtype(), conv.weight.val().dtype(), bias.dtype()])
        && let Some(shape) = host::dense_shape(
            x.dims(),
            [maps, channels * height * width],
            bias.dims(),
            true,
        )
    {
        return fused.dense(shape, x, conv.weight.val(), bias.clone());
    }
    let kernels = conv.weight.val().reshape([maps, channels * height * width]);
    linear(x, kernels.transpose(), bias)
}

/// A [`Linear`] layer on `x` `[batch, inputs]`, through [`linear`].
pub fn dense<B: Backend>(layer: &Linear<B>, x: Tensor<B, 2>) -> Tensor<B, 2> {
    linear(
        x,
        layer.weight.val(),
        layer.bias.as_ref().map(|bias| bias.val()),
    )
}

/// A 2x2, stride-2 subsampling layer: average pooling then tanh, or max pooling.
pub fn subsample<B: Backend>(x: Tensor<B, 4>, pooling: Pooling) -> Tensor<B, 4> {
    #[cfg(any(feature = "flex", feature = "ndarray"))]
    if let Some(fused) = Fused::of::<B>(&[x.dtype()])
        && host::pool_fits(x.dims())
    {
        return fused.pool(pooling, x);
    }
    let window = [POOL, POOL];
    match pooling {
        Pooling::Average => activate(
            avg_pool2d(x, window, window, [0, 0], true, false),
            Activation::Tanh,
        ),
        Pooling::Max => max_pool2d(x, window, window, [0, 0], [1, 1], false),
    }
}

/// C1, S2, C3 and S4 of a network whose subsampling layers have no parameters:
/// `subsample(conv2d(c3, subsample(conv2d(c1, x, activation), pooling), activation),
/// pooling)`.
///
/// On `Flex` and `NdArray` (the backends themselves) the fused kernels take all four layers in
/// one pass per image, whose maps stay in cache from layer to layer, without writing the whole
/// batch's maps to memory between them. On their autodiff wrappers, which keep each
/// convolution's maps for the backward pass, each convolution with its pooling is one
/// operation, whose backward step finds each image's maps' gradient from the pooling's as it
/// goes. Either way the same values to the bit as the layers one after the other, gradients
/// included. Elsewhere, and for convolutions the kernels do not cover, it is that composition.
///
/// # Example
/// ```
/// use burn::backend::NdArray;
/// use burn::nn::conv::Conv2dConfig;
/// use burn::tensor::Tensor;
/// use lenet_kernels::{Activation, Pooling, conv2d, features, subsample};
///
/// let device = Default::default();
/// let c1 = Conv2dConfig::new([1, 6], [5, 5]).init::<NdArray>(&device);
/// let c3 = Conv2dConfig::new([6, 16], [5, 5]).init::<NdArray>(&device);
/// let images = Tensor::<NdArray, 4>::random([3, 1, 32, 32], burn::tensor::Distribution::Default, &device);
/// let s4 = features(images.clone(), &c1, &c3, Activation::Tanh, Pooling::Average);
/// assert_eq!(s4.dims(), [3, 16, 5, 5]);
/// let s2 = subsample(conv2d(&c1, images, Activation::Tanh), Pooling::Average);
/// let layers = subsample(conv2d(&c3, s2, Activation::Tanh), Pooling::Average);
/// assert_eq!(s4.into_data(), layers.into_data());
/// ```
pub fn features<B: Backend>(
    x: Tensor<B, 4>,
    c1: &Conv2d<B>,
    c3: &Conv2d<B>,
    activation: Activation,
    pooling: Pooling,
) -> Tensor<B, 4> {
    #[cfg(any(feature = "flex", feature = "ndarray"))]
    if let Some(convs) = host::feature_convs(c1, c3, x.dims())
        && let Some(fused) = Fused::of::<B>(&[
            x.dtype(),
            convs[0].weight.dtype(),
            convs[0].bias.dtype(),
            convs[1].weight.dtype(),
            convs[1].bias.dtype(),
        ])
    {
        return fused.features(convs, activation, pooling, x);
    }
    let s2 = subsample(conv2d(c1, x, activation), pooling);
    subsample(conv2d(c3, s2, activation), pooling)
}

/// The paper's subsampling layer (S2, S4): each unit adds its 2x2 inputs, multiplies the sum
/// by its map's trainable `coefficient`, adds its map's trainable `bias` (both `[maps]`), and
/// applies `activation`. Windows do not overlap (stride 2).
pub fn subsample_trainable<B: Backend>(
    x: Tensor<B, 4>,
    coefficient: Tensor<B, 1>,
    bias: Tensor<B, 1>,
    activation: Activation,
) -> Tensor<B, 4> {
    #[cfg(any(feature = "flex", feature = "ndarray"))]
    if let Some(fused) = Fused::of::<B>(&[x.dtype(), coefficient.dtype(), bias.dtype()])
        && host::subsample_fits(x.dims(), coefficient.dims(), bias.dims())
    {
        return fused.subsample(activation, x, coefficient, bias);
    }
    let window = [POOL, POOL];
    let sums = avg_pool2d(x, window, window, [0, 0], true, false) * (POOL * POOL) as f32;
    let per_map = |t: Tensor<B, 1>| t.unsqueeze_dims::<4>(&[0, 2, 3]);
    activate(sums * per_map(coefficient) + per_map(bias), activation)
}

/// The paper's output layer: the squared Euclidean distances `[batch, units]` from each row of
/// `x` `[batch, inputs]` to each row of `centres` `[units, inputs]`,
/// `y[n][i] = sum_j (x[n][j] - centres[i][j])^2`. One pass each way on the CPU backends,
/// where Burn's operations would build the `[batch, units, inputs]` differences.
pub fn rbf<B: Backend>(x: Tensor<B, 2>, centres: Tensor<B, 2>) -> Tensor<B, 2> {
    #[cfg(any(feature = "flex", feature = "ndarray"))]
    if let Some(fused) = Fused::of::<B>(&[x.dtype(), centres.dtype()])
        && host::rbf_fits(x.dims(), centres.dims())
    {
        return fused.rbf(x, centres);
    }
    let difference = x.unsqueeze_dim::<3>(1) - centres.unsqueeze_dim(0);
    difference.powi_scalar(2).sum_dim(2).squeeze_dim(2)
}

/// The non-linearity, elementwise.
pub fn activate<B: Backend, const D: usize>(
    x: Tensor<B, D>,
    activation: Activation,
) -> Tensor<B, D> {
    // ReLU has no kernel of its own: Burn's is already one comparison per element (the
    // convolutions' kernels apply it in their own pass).
    #[cfg(any(feature = "flex", feature = "ndarray"))]
    if activation != Activation::Relu
        && let Some(fused) = Fused::of::<B>(&[x.dtype()])
    {
        return fused.activate(activation, x);
    }
    match activation {
        Activation::Tanh => tanh(x),
        Activation::ScaledTanh => tanh(x * SCALED_TANH_SLOPE) * SCALED_TANH_AMPLITUDE,
        Activation::Relu => relu(x),
    }
}

#[cfg(all(test, feature = "flex", feature = "ndarray"))]
mod tests {
    use burn::backend::{Autodiff, Flex, NdArray};
    use burn::tensor::Distribution;

    use super::*;

    /// Inputs on which the kernels' rational tanh and `f32::tanh` differ in the last bits,
    /// so the result tells which one ran.
    fn telltale() -> Vec<f32> {
        let inputs: Vec<f32> = (1..2000)
            .map(|i| i as f32 * 3.7e-3)
            .filter(|&x| cpu::tanh(x) != x.tanh())
            .collect();
        assert!(inputs.len() > 100);
        inputs
    }

    /// Whether `activate` ran the fused tanh on `B`. (`tests/not_fused.rs` checks the types
    /// that must not: in a process of its own, because `NdArray<f64>` would make every
    /// `NdArray` tensor of this one f64, Burn keeping one default float type per device.)
    fn fused_tanh_runs_on<B: Backend>() -> bool {
        let inputs = telltale();
        let x = Tensor::<B, 1>::from_floats(inputs.as_slice(), &Default::default());
        let y = activate(x, Activation::Tanh)
            .into_data()
            .convert::<f32>()
            .to_vec::<f32>()
            .unwrap();
        let fused: Vec<f32> = inputs.iter().map(|&x| cpu::tanh(x)).collect();
        y == fused
    }

    #[test]
    fn the_cpu_backends_and_their_autodiff_run_the_kernels_and_say_so() {
        assert!(is_fused::<Flex>() && fused_tanh_runs_on::<Flex>());
        assert!(is_fused::<NdArray>() && fused_tanh_runs_on::<NdArray>());
        assert!(is_fused::<Autodiff<Flex>>() && fused_tanh_runs_on::<Autodiff<Flex>>());
        assert!(is_fused::<Autodiff<NdArray>>() && fused_tanh_runs_on::<Autodiff<NdArray>>());
    }

    #[test]
    fn the_route_names_the_kernels_in_words() {
        assert_eq!(route::<Flex>(), Route::FusedFlex);
        assert_eq!(route::<Autodiff<NdArray>>(), Route::FusedNdArray);
        assert_eq!(
            route::<Autodiff<Flex>>().to_string(),
            "fused kernels (flex)"
        );
        assert_eq!(route::<NdArray>().to_string(), "fused kernels (ndarray)");
        assert_eq!(Route::Burn.to_string(), "Burn's operations");
    }

    /// `features` against the layers one after another on `B`, for each variant's shapes:
    /// the classic network, and the Keras code's with C1 valid and "same".
    fn features_match_the_layers_on<B: Backend>() {
        use burn::nn::{
            PaddingConfig2d::{Explicit, Valid},
            conv::Conv2dConfig,
        };
        let device = Default::default();
        let networks = [
            (32, Valid, Activation::Tanh, Pooling::Average),
            (28, Valid, Activation::Relu, Pooling::Max),
            (
                28,
                Explicit(2, 2, 2, 2),
                Activation::ScaledTanh,
                Pooling::Max,
            ),
        ];
        for (side, padding, activation, pooling) in networks {
            let c1 = Conv2dConfig::new([1, 6], [5, 5])
                .with_padding(padding.clone())
                .init::<B>(&device);
            let c3 = Conv2dConfig::new([6, 16], [5, 5]).init::<B>(&device);
            let shape = [5, 1, side, side];
            // The one-pass kernels cover these layers (so they, not the composition, ran).
            assert!(host::feature_convs(&c1, &c3, shape).is_some());
            let images = Tensor::<B, 4>::random(shape, Distribution::Default, &device);
            let s2 = subsample(conv2d(&c1, images.clone(), activation), pooling);
            let layers = subsample(conv2d(&c3, s2, activation), pooling);
            let fused = features(images, &c1, &c3, activation, pooling);
            assert_eq!(fused.dims(), layers.dims());
            assert_eq!(fused.into_data(), layers.into_data(), "{side} {padding:?}");
        }
    }

    #[test]
    fn features_give_the_layers_bits_on_both_hosts() {
        features_match_the_layers_on::<Flex>();
        features_match_the_layers_on::<NdArray>();
    }

    /// The same in training on `B`: the output and every gradient (the weights', the biases'
    /// and the images') to the bit, through C1 with S2 and C3 with S4 as one operation each
    /// against the four layers' operations. 19 images: the backward step's chunks of 8 and a
    /// partial one.
    fn features_train_like_the_layers_on<B: burn::tensor::backend::AutodiffBackend>() {
        use burn::nn::{PaddingConfig2d::Explicit, conv::Conv2dConfig};
        let device = Default::default();
        let networks = [
            (32, Activation::Tanh, Pooling::Average),
            (28, Activation::Relu, Pooling::Max),
        ];
        for (side, activation, pooling) in networks {
            let padding = Explicit(0, 0, 0, 0);
            let c1 = Conv2dConfig::new([1, 6], [5, 5])
                .with_padding(padding)
                .init::<B>(&device);
            let c3 = Conv2dConfig::new([6, 16], [5, 5]).init::<B>(&device);
            let shape = [19, 1, side, side];
            let images = Tensor::<B, 4>::random(shape, Distribution::Default, &device);
            let out = [19, 16, (side - 12) / 4, (side - 12) / 4];
            let r = Tensor::<B, 4>::random(out, Distribution::Default, &device);
            let run = |fused: bool| {
                let images = images.clone().require_grad();
                let s4 = if fused {
                    features(images.clone(), &c1, &c3, activation, pooling)
                } else {
                    let s2 = subsample(conv2d(&c1, images.clone(), activation), pooling);
                    subsample(conv2d(&c3, s2, activation), pooling)
                };
                let grads = (s4.clone() * r.clone()).sum().backward();
                let grad = |param: &Tensor<B, 4>| param.grad(&grads).map(|g| g.into_data());
                let grad1 = |param: &Tensor<B, 1>| param.grad(&grads).map(|g| g.into_data());
                let bias = |conv: &burn::nn::conv::Conv2d<B>| conv.bias.as_ref().map(|b| b.val());
                (
                    s4.into_data(),
                    [
                        grad(&images),
                        grad(&c1.weight.val()),
                        grad(&c3.weight.val()),
                    ],
                    [grad1(&bias(&c1).unwrap()), grad1(&bias(&c3).unwrap())],
                )
            };
            let (fused, layers) = (run(true), run(false));
            assert!(fused.1.iter().chain(&fused.2).all(Option::is_some));
            assert_eq!(fused, layers, "{side} {activation:?} {pooling:?}");
        }
    }

    #[test]
    fn features_train_like_the_layers_on_both_hosts() {
        features_train_like_the_layers_on::<Autodiff<Flex>>();
        features_train_like_the_layers_on::<Autodiff<NdArray>>();
    }

    #[test]
    fn lenet_convolutions_are_covered_and_strided_ones_are_not() {
        let device = Default::default();
        let conv = |channels, padding| {
            burn::nn::conv::Conv2dConfig::new(channels, [5, 5])
                .with_padding(padding)
                .init::<Flex>(&device)
        };
        use burn::nn::PaddingConfig2d::{Explicit, Valid};
        assert!(covers(&conv([1, 6], Valid), [2, 1, 32, 32]));
        assert!(covers(&conv([1, 6], Explicit(2, 2, 2, 2)), [2, 1, 28, 28]));
        assert!(covers(&conv([6, 16], Valid), [2, 6, 14, 14]));
        assert!(!covers(&conv([1, 6], Explicit(1, 2, 1, 2)), [2, 1, 28, 28]));
        let strided = burn::nn::conv::Conv2dConfig::new([1, 6], [5, 5])
            .with_stride([2, 2])
            .init::<Flex>(&device);
        assert!(!covers(&strided, [2, 1, 32, 32]));
    }
}
