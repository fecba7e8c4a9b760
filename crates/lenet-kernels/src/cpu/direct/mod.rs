//! The convolutions' direct kernels, for CPUs with AVX-512F or AVX2 and FMA (detected at run
//! time): the products are computed directly on the padded image, without the unfolded copy
//! and gemm's packing of it, a block of outputs at a time in registers, and the bias, the
//! activation and, for the inference pass of [`super::features`], the 2x2 pooling are applied
//! there before anything is stored (without pooling, the forward kernel's activated maps are
//! stored, which training keeps). The arithmetic is the layer-by-layer kernels', in their
//! order: each output sums its taps' products in the unfolding's order `(c, ky, kx)` from zero,
//! one fused multiply-add at a time, as gemm's microkernels sum over `k` (one block: a patch has
//! at most 150 taps); the activation is [`super::activation`]'s rational tanh, operation for
//! operation, 16 or 8 lanes wide; a window is pooled as `pool_planes` pools it. So the results
//! are theirs to the bit.
//!
//! Two layouts, for the two convolutions' shapes:
//! - [`Kernel::Rows`], positions across the lanes (C1: one input channel, 6 maps, rows of 24
//!   or 28): two rows at a time, a window's columns gathered from the even and odd lanes;
//! - [`Kernel::Maps16`], the 16 maps across the lanes (C3: rows of 10 or 8 positions, too few
//!   to fill vectors): each tap one load of its 16 weights and one broadcast input per
//!   position.
//!
//! `avx512.rs` and `avx2.rs` block them for 32 and 16 registers.
//!
//! In the backward pass, with the CPU's widest vectors, [`add_input_gradient`] and
//! [`add_weight_gradient`] (`gradients.rs`) find C3's gradients, from the compact gradient
//! before the activation, and [`add_weight_gradient_horizontal`] (`horizontal.rs`) C1's
//! weight's, without the unfolded image and its products: to the bit what the unfolding, the
//! matrix products over the wide gradient and the fold compute.

use super::ConvShape;
use crate::{Activation, Pooling};

/// The kernel's width that the row kernels and the gradient kernels take: LeNet-5's 5x5,
/// known when compiled, so that their loops over the taps unroll without a branch.
pub(super) const KERNEL: usize = 5;

/// Maps across the lanes in [`Kernel::Maps16`]: one AVX-512 vector, two AVX2 vectors.
pub(super) const MAPS: usize = 16;

/// The instruction sets the direct kernels are written for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Isa {
    Avx512,
    Avx2,
}

impl Isa {
    /// The widest this CPU has, if any.
    pub(super) fn detect() -> Option<Self> {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                return Some(Isa::Avx512);
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                return Some(Isa::Avx2);
            }
        }
        None
    }

    /// Whether this CPU has it.
    fn runs_here(self) -> bool {
        let widest = Isa::detect();
        self == Isa::Avx2 && widest.is_some() || widest == Some(self)
    }
}

/// Whether [`Kernel::Rows`] takes `shape`: LeNet-5's 5x5 kernel, an even output whose rows
/// fit 32 lanes.
pub(super) fn rows_fit(shape: &ConvShape) -> bool {
    shape.kernel == KERNEL
        && shape.out_width() <= 32
        && shape.out_width().is_multiple_of(2)
        && shape.out_height().is_multiple_of(2)
}

/// Whether [`Kernel::Maps16`] takes `shape`: 16 maps, an even output with rows of up to 12
/// positions.
pub(super) fn maps16_fit(shape: &ConvShape) -> bool {
    let width = shape.out_width();
    shape.maps == MAPS
        && width.is_multiple_of(2)
        && width <= 12
        && shape.out_height().is_multiple_of(2)
}

/// A layer's operands and what follows its convolution.
#[derive(Clone, Copy)]
pub(super) struct Layer<'a> {
    pub shape: &'a ConvShape,
    pub activation: Activation,
    /// The 2x2 pooling that follows (for inference), or none: the activated maps are stored,
    /// as training keeps them for the backward pass.
    pub pooling: Option<Pooling>,
    pub bias: &'a [f32],
}

impl Layer<'_> {
    /// Values per map of the output: pooled or not.
    fn output_plane(&self) -> usize {
        match self.pooling {
            Some(_) => self.shape.positions() / 4,
            None => self.shape.positions(),
        }
    }
}

/// The direct kernel for one convolution, chosen once for a batch.
pub(super) enum Kernel {
    /// Positions across the lanes.
    Rows(Isa),
    /// The 16 maps across the lanes, with the weight transposed (`[patch, 16]`).
    Maps16(Isa, Vec<f32>),
}

impl Kernel {
    /// The kernel for a convolution of `shape` with `weight` (`[maps, patch]`), where this CPU
    /// runs one and the shape fits it: 16 maps across the lanes where they fit, else positions.
    pub(super) fn choose(shape: &ConvShape, weight: &[f32]) -> Option<Self> {
        let isa = Isa::detect()?;
        if maps16_fit(shape) {
            Some(Kernel::Maps16(isa, transpose_maps16(weight, shape.patch())))
        } else {
            rows_fit(shape).then_some(Kernel::Rows(isa))
        }
    }

    /// `pool(activation(conv(padded, weight) + bias))` into `y` `[maps, out_height / 2,
    /// out_width / 2]`, or without `pool` into `y` `[maps, out_height, out_width]`, for one
    /// padded image; `weight` as given to [`Kernel::choose`].
    pub(super) fn run(&self, layer: Layer, padded: &[f32], weight: &[f32], y: &mut [f32]) {
        let shape = layer.shape;
        let (isa, fits, slack) = match self {
            Kernel::Rows(isa) => (isa, rows_fit(shape), shape.slack()),
            Kernel::Maps16(isa, weight_t) => (
                isa,
                maps16_fit(shape) && weight_t.len() == shape.patch() * MAPS,
                0,
            ),
        };
        assert!(isa.runs_here() && fits && padded.len() >= shape.padded_len() + slack);
        assert!(weight.len() >= shape.maps * shape.patch() && layer.bias.len() >= shape.maps);
        assert!(y.len() >= shape.maps * layer.output_plane());
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the CPU has the instructions, the shape fits the kernel, and the lengths
        // hold (asserted just above).
        unsafe {
            match self {
                Kernel::Rows(Isa::Avx512) => avx512::conv_pool_rows(layer, padded, weight, y),
                Kernel::Rows(Isa::Avx2) => avx2::conv_pool_rows(layer, padded, weight, y),
                Kernel::Maps16(Isa::Avx512, weight_t) => {
                    avx512::conv_pool_maps16(layer, padded, weight_t, y)
                }
                Kernel::Maps16(Isa::Avx2, weight_t) => {
                    avx2::conv_pool_maps16(layer, padded, weight_t, y)
                }
            }
        };
    }
}

/// Floats past a compact pre-activation gradient `[16, positions]` that
/// [`add_input_gradient`] reads (and never uses): its last vector, of up to 16 lanes, may run
/// over the last map's end.
pub(super) const PRE_SLACK: usize = 16;

/// Whether this CPU runs the gradient kernels (AVX2 and FMA, or AVX-512F) and `shape` has
/// LeNet-5's 5x5 kernels.
fn gradients_run_here(shape: &ConvShape) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        Isa::Avx2.runs_here() && shape.kernel == KERNEL
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = shape;
        false
    }
}

/// The shapes [`add_input_gradient`] and [`add_weight_gradient`] take: 16 maps (C3), padded
/// rows of one to two 8-lane vectors (the input gradient's fold adds a row as two).
fn maps16_shape(shape: &ConvShape) -> bool {
    shape.maps == MAPS && (8..=16).contains(&shape.padded_width())
}

/// The products `col · pre^T` that gemm computes as dot products, and so whose bits
/// [`add_weight_gradient_horizontal`] computes (C1's): at most 256 values (gemm's horizontal
/// kernels), summed over at most 1024 positions (one block of `k`).
fn horizontal_shape(shape: &ConvShape) -> bool {
    shape.maps * shape.patch() <= 256 && shape.wide() <= 1024
}

/// Whether [`add_input_gradient`] and [`add_weight_gradient`] run here for `shape`.
fn maps16_gradients_fit(shape: &ConvShape) -> bool {
    gradients_run_here(shape) && maps16_shape(shape)
}

/// Whether [`add_weight_gradient_horizontal`] runs here for `shape`: with this CPU's widest
/// vectors, as gemm's horizontal kernels do.
fn horizontal_fits(shape: &ConvShape) -> bool {
    gradients_run_here(shape) && horizontal_shape(shape)
}

/// How the backward pass finds a convolution's gradients: with the direct kernels where they
/// fit. C3's sum their products in gemm's order over the maps or the positions, whatever the
/// vectors' width (gemm's or theirs), so either instruction set gives the same bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum DirectGradients {
    /// gemm's products, and the fold, over the wide pre-activation gradient.
    None,
    /// C3's 16 maps: both gradients from the compact pre-activation gradient `[16, positions]`
    /// ([`ConvShape::compact`]), by [`add_weight_gradient`] and [`add_input_gradient`] with
    /// the CPU's widest vectors.
    Maps16(Isa),
    /// C1's weight's, from the wide gradient, by [`add_weight_gradient_horizontal`]; the
    /// input's, where asked for, by gemm and the fold.
    Horizontal,
}

impl DirectGradients {
    pub(super) fn choose(shape: &ConvShape) -> Self {
        if let Some(isa) = Isa::detect().filter(|_| maps16_gradients_fit(shape)) {
            DirectGradients::Maps16(isa)
        } else if horizontal_fits(shape) {
            DirectGradients::Horizontal
        } else {
            DirectGradients::None
        }
    }
}

/// `padded_grad += fold(weight^T · pre)`, the input gradient of the convolution `shape` (its
/// weight `[16, patch]`) added into the padded image's gradient, from the gradient before the
/// activation `pre`, compact (`[16, positions]`) and [`PRE_SLACK`] more, with `isa`'s
/// vectors; where [`maps16_gradients_fit`]. The same bits as the matrix product over the wide
/// gradient and the fold.
pub(super) fn add_input_gradient(
    isa: Isa,
    shape: &ConvShape,
    weight: &[f32],
    pre: &[f32],
    padded_grad: &mut [f32],
    buffer: &mut Vec<f32>,
) {
    assert!(isa.runs_here() && maps16_gradients_fit(shape));
    assert!(pre.len() >= MAPS * shape.positions() + PRE_SLACK);
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the CPU runs `isa`; the kernel asserts the lengths.
    unsafe {
        gradients::add_input_gradient(isa, shape, weight, pre, padded_grad, buffer)
    }
    #[cfg(not(target_arch = "x86_64"))]
    unreachable!("maps16_gradients_fit admits no shape here");
}

/// `weight_grad += col · pre^T`, the weight's gradient of the convolution `shape` (16 maps)
/// transposed (`[patch, 16]`), with each unfolded row `col` read straight from `padded`, the
/// padded image followed by `kernel - 1` zeros; `pre` is the gradient before the activation,
/// compact (`[16, positions]`), and `pre_t` scratch, with `isa`'s vectors; where
/// [`maps16_gradients_fit`]. The same bits as the unfolding and the matrix product over the
/// wide gradient.
pub(super) fn add_weight_gradient(
    isa: Isa,
    shape: &ConvShape,
    padded: &[f32],
    pre: &[f32],
    pre_t: &mut Vec<f32>,
    weight_grad: &mut [f32],
) {
    assert!(isa.runs_here() && maps16_gradients_fit(shape));
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the CPU runs `isa`; the kernel asserts the lengths.
    unsafe {
        gradients::add_weight_gradient(isa, shape, padded, pre, pre_t, weight_grad)
    }
    #[cfg(not(target_arch = "x86_64"))]
    unreachable!("maps16_gradients_fit admits no shape here");
}

/// The same product as [`add_weight_gradient`] for a product that gemm computes as dot
/// products, from `pre` wide (`[maps, wide]`); where [`horizontal_fits`].
pub(super) fn add_weight_gradient_horizontal(
    shape: &ConvShape,
    padded: &[f32],
    pre: &[f32],
    weight_grad: &mut [f32],
) {
    assert!(horizontal_fits(shape));
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `horizontal_fits` found the CPU's widest vectors, `isa`; the kernel asserts the
    // lengths.
    unsafe {
        let isa = Isa::detect().expect("found by horizontal_fits");
        horizontal::add_weight_gradient_horizontal(isa, shape, padded, pre, weight_grad)
    }
    #[cfg(not(target_arch = "x86_64"))]
    unreachable!("horizontal_fits admits no shape here");
}

/// A weight `[16, patch]` transposed to `[patch, 16]`, as [`Kernel::Maps16`] takes it.
fn transpose_maps16(weight: &[f32], patch: usize) -> Vec<f32> {
    (0..patch * MAPS)
        .map(|i| weight[(i % MAPS) * patch + i / MAPS])
        .collect()
}

/// Each tap's offset in the padded image, in the unfolding's row order `(c, ky, kx)`.
fn tap_offsets(shape: &ConvShape) -> Vec<usize> {
    (0..shape.patch()).map(|tap| shape.tap_run(tap).0).collect()
}

// Indexed loops over the fixed-size arrays of registers: with iterator chains (zip, flatten,
// map) over them the accumulators were kept in memory instead of registers.
#[cfg(target_arch = "x86_64")]
#[allow(clippy::needless_range_loop)]
mod avx2;
#[cfg(target_arch = "x86_64")]
#[allow(clippy::needless_range_loop)]
mod avx512;
#[cfg(target_arch = "x86_64")]
#[allow(clippy::needless_range_loop)]
mod gradients;
#[cfg(target_arch = "x86_64")]
#[allow(clippy::needless_range_loop)]
mod horizontal;
#[cfg(target_arch = "x86_64")]
#[allow(clippy::needless_range_loop)]
mod vector;

#[cfg(test)]
mod tests {
    use super::super::conv::{ConvScratch, conv_image};
    use super::super::matmul::{View, matmul};
    use super::super::pool::pool_planes;
    use super::super::testing::pattern;
    use super::*;

    /// LeNet-5's convolutions (classic C1 and C3; the Keras code's C1 unpadded and "same", its
    /// C3) and odd ones (maps that fill no block, several channels, padding).
    fn shapes() -> Vec<ConvShape> {
        let shape = |channels, maps, side, padding| ConvShape {
            batch: 1,
            channels,
            maps,
            height: side,
            width: side,
            kernel: 5,
            padding,
        };
        vec![
            shape(1, 6, 32, 0),
            shape(6, 16, 14, 0),
            shape(1, 6, 28, 0),
            shape(1, 6, 28, 2),
            shape(6, 16, 12, 0),
            shape(3, 7, 9, 0),
            shape(2, 16, 11, 2),
            shape(1, 17, 6, 0),
            shape(4, 16, 12, 1),
            shape(1, 6, 20, 0),
            shape(1, 2, 34, 0),
        ]
    }

    /// The layer-by-layer kernels' arithmetic: the reference to the bit.
    fn layers(layer: Layer, image: &[f32], weight: &[f32]) -> Vec<u32> {
        let shape = layer.shape;
        let mut maps = vec![0.0; shape.output_len()];
        let mut scratch = ConvScratch::default();
        let bias = layer.bias;
        conv_image(
            shape,
            layer.activation,
            image,
            weight,
            bias,
            &mut maps,
            &mut scratch,
        );
        let Some(pooling) = layer.pooling else {
            return bits(&maps);
        };
        let mut y = vec![0.0; shape.output_len() / 4];
        pool_planes(pooling, shape.out_width(), &maps, &mut y);
        bits(&y)
    }

    fn each_layer(run: impl Fn(Layer, &[f32], &[f32], &[f32]) -> Option<Vec<u32>>) {
        let kinds = [
            (Activation::Tanh, Some(Pooling::Average)),
            (Activation::Relu, Some(Pooling::Max)),
            (Activation::ScaledTanh, Some(Pooling::Max)),
            (Activation::Tanh, None),
            (Activation::Relu, None),
        ];
        let mut ran = 0;
        for shape in shapes() {
            for (activation, pooling) in kinds {
                let image = pattern(shape.image_len(), 0.3);
                let weight = pattern(shape.maps * shape.patch(), 1.1);
                let bias = pattern(shape.maps, 2.9);
                let layer = Layer {
                    shape: &shape,
                    activation,
                    pooling,
                    bias: &bias,
                };
                let padded = shape.pad_with_slack(&image, &mut Vec::new()).to_vec();
                if let Some(bits) = run(layer, &padded, &weight, &image) {
                    assert_eq!(
                        bits,
                        layers(layer, &image, &weight),
                        "{shape:?} {activation:?} {pooling:?}"
                    );
                    ran += 1;
                }
            }
        }
        assert!(ran >= 6, "the LeNet-5 shapes fit");
    }

    fn bits(values: &[f32]) -> Vec<u32> {
        values.iter().map(|v| v.to_bits()).collect()
    }

    /// The instruction sets this CPU runs: AVX-512F's kernels and AVX2's where it has AVX-512F
    /// (both are tested there), AVX2's alone where it has AVX2 and FMA.
    fn isas_here() -> Vec<Isa> {
        let isas: Vec<Isa> = [Isa::Avx512, Isa::Avx2]
            .into_iter()
            .filter(|isa| isa.runs_here())
            .collect();
        if isas.is_empty() {
            eprintln!(
                "not run: this CPU has neither AVX-512F nor AVX2, so the kernels are never called"
            );
        }
        isas
    }

    #[test]
    fn rows_across_lanes_have_the_layers_bits() {
        for isa in isas_here() {
            each_layer(|layer, padded, weight, _| {
                rows_fit(layer.shape).then(|| {
                    let mut y = vec![f32::NAN; layer.shape.maps * layer.output_plane()];
                    Kernel::Rows(isa).run(layer, padded, weight, &mut y);
                    bits(&y)
                })
            });
        }
    }

    /// Runs `check` (the kernel's bits against the layers') on every test shape that `fits`,
    /// and asserts that at least `lenet` of them ran where the CPU has AVX2 and FMA.
    fn each_gradient_shape(
        fits: fn(&ConvShape) -> bool,
        lenet: usize,
        check: impl Fn(&ConvShape) -> (Vec<f32>, Vec<f32>),
    ) {
        let mut ran = 0;
        for shape in shapes().iter().filter(|shape| fits(shape)) {
            let (got, expected) = check(shape);
            let differ = bits(&got)
                .iter()
                .zip(bits(&expected))
                .filter(|(a, b)| **a != *b)
                .count();
            assert_eq!(differ, 0, "{shape:?}: {differ} of {} differ", got.len());
            ran += 1;
        }
        if Isa::Avx2.runs_here() {
            assert!(ran >= lenet, "LeNet-5's shapes fit");
        } else {
            eprintln!("not run: this CPU lacks AVX2 or FMA, so the kernel is never called");
        }
    }

    /// A wide pre-activation gradient `[maps, wide]` as the backward pass leaves it: the
    /// dropped columns 0.
    fn wide_pre(shape: &ConvShape) -> Vec<f32> {
        let mut pre = pattern(shape.maps * shape.wide(), 0.7);
        let (width, out_width) = (shape.padded_width(), shape.out_width());
        for row in pre.chunks_mut(width) {
            row[out_width..].fill(0.0);
        }
        pre
    }

    /// `wide_pre` compact, with [`PRE_SLACK`] NaNs after it: read, never used.
    fn compact(shape: &ConvShape, wide: &[f32]) -> Vec<f32> {
        let mut pre = vec![f32::NAN; shape.maps * shape.positions() + PRE_SLACK];
        shape.compact(wide, &mut pre);
        pre
    }

    #[test]
    fn the_input_gradient_has_the_product_and_folds_bits() {
        for isa in isas_here() {
            each_gradient_shape(maps16_gradients_fit, 4, |shape| {
                let weight = pattern(shape.maps * shape.patch(), 1.1);
                let pre = wide_pre(shape);
                let start = pattern(shape.padded_len(), 2.3);
                let mut expected = start.clone();
                let mut col = vec![0.0; shape.patch() * shape.wide()];
                let weight_view = View::row_major(&weight, shape.maps, shape.patch());
                let pre_view = View::row_major(&pre, shape.maps, shape.wide());
                matmul(weight_view.t(), pre_view, &mut col, false);
                shape.fold(&col, &mut expected);
                let mut got = start;
                let pre = compact(shape, &pre);
                add_input_gradient(isa, shape, &weight, &pre, &mut got, &mut Vec::new());
                (got, expected)
            });
        }
    }

    /// `col · pre^T` over the wide gradient `pre`, added to a pattern, and the same pattern
    /// with `direct(padded, pre)` added: the unfolding and gemm against a direct kernel.
    fn weight_gradients(
        shape: &ConvShape,
        direct: impl Fn(&[f32], &[f32], &mut [f32]),
    ) -> (Vec<f32>, Vec<f32>) {
        let (patch, wide) = (shape.patch(), shape.wide());
        let image = pattern(shape.image_len(), 0.3);
        let padded = shape.pad_with_slack(&image, &mut Vec::new()).to_vec();
        let pre = wide_pre(shape);
        let start = pattern(patch * shape.maps, 2.3);
        let mut col = vec![0.0; patch * wide];
        shape.unfold(&padded[..shape.padded_len()], &mut col);
        let mut expected = start.clone();
        let (col, pre_view) = (
            View::row_major(&col, patch, wide),
            View::row_major(&pre, shape.maps, wide),
        );
        matmul(col, pre_view.t(), &mut expected, true);
        let mut got = start;
        direct(&padded, &pre, &mut got);
        (got, expected)
    }

    #[test]
    fn the_weight_gradient_has_the_unfolding_and_products_bits() {
        for isa in isas_here() {
            each_gradient_shape(maps16_gradients_fit, 4, |shape| {
                weight_gradients(shape, |padded, pre, got| {
                    let pre = compact(shape, pre);
                    add_weight_gradient(isa, shape, padded, &pre, &mut Vec::new(), got)
                })
            });
        }
    }

    #[test]
    fn the_horizontal_weight_gradient_has_the_unfolding_and_products_bits() {
        each_gradient_shape(horizontal_fits, 3, |shape| {
            weight_gradients(shape, |padded, pre, got| {
                add_weight_gradient_horizontal(shape, padded, pre, got)
            })
        });
    }

    #[test]
    fn maps_across_lanes_have_the_layers_bits() {
        for isa in isas_here() {
            each_layer(|layer, padded, weight, _| {
                let shape = layer.shape;
                maps16_fit(shape).then(|| {
                    let kernel = Kernel::Maps16(isa, transpose_maps16(weight, shape.patch()));
                    let mut y = vec![f32::NAN; shape.maps * layer.output_plane()];
                    kernel.run(layer, padded, weight, &mut y);
                    bits(&y)
                })
            });
        }
    }
}
