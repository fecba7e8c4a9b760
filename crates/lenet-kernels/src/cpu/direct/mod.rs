//! The convolutions' direct kernels, for CPUs with AVX-512F or AVX2 and FMA (detected at run
//! time): the products are computed directly on the padded image, without the unfolded copy
//! and gemm's packing of it, a block of outputs at a time in registers, and the bias, the
//! activation and the 2x2 pooling are applied there before anything is stored ([`Outputs`]:
//! the pooling alone for the inference pass of [`super::features`]; in training, the activated
//! maps, which the backward pass needs, and, with AVX-512F, their pooling beside them). The
//! arithmetic is the layer-by-layer kernels', in their order: each output sums its taps'
//! products in the unfolding's order `(c, ky, kx)` from zero, one fused multiply-add at a time,
//! as gemm's microkernels sum over `k` (one block: a patch has at most 150 taps); the
//! activation is [`super::activation`]'s rational tanh, operation for operation, 16 or 8 lanes
//! wide; a window is pooled as `pool_planes` pools it. So the results are theirs to the bit.
//!
//! Two layouts, for the two convolutions' shapes:
//! - [`Layout::Rows`], positions across the lanes (C1: one input channel, 6 maps, rows of 24
//!   or 28): two rows at a time, a window's columns gathered from the even and odd lanes;
//! - [`Layout::Maps16`], the 16 maps across the lanes (C3: rows of 10 or 8 positions, too few
//!   to fill vectors): each tap one load of its 16 weights and one broadcast input per
//!   position.
//!
//! `avx512.rs` and `avx2.rs` block them for 32 and 16 registers.
//!
//! In the backward pass, with the CPU's widest vectors, [`add_input_gradient`] and
//! [`add_weight_gradient`] (`gradients.rs`) find C3's gradients, from the compact gradient
//! before the activation, and [`add_weight_gradient_horizontal`] (`horizontal.rs`) C1's
//! weight's, without the unfolded image and its products: to the bit what the unfolding, the
//! matrix products over the wide gradient and the fold compute. Before them,
//! [`pooled_gradient`] (`spread.rs`) finds the gradient before the activation from the
//! pooling's, for both networks' pairings (tanh and average pooling, ReLU and max pooling).

use super::ConvShape;
use crate::{Activation, Pooling};

/// The kernel's width that the row kernels and the gradient kernels take: LeNet-5's 5x5,
/// known when compiled, so that their loops over the taps unroll without a branch.
pub(super) const KERNEL: usize = 5;

/// Maps across the lanes in [`Layout::Maps16`]: one AVX-512 vector, two AVX2 vectors.
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

/// Whether [`Layout::Rows`] takes `shape`: LeNet-5's 5x5 kernel, an even output whose rows
/// fit 32 lanes.
pub(super) fn rows_fit(shape: &ConvShape) -> bool {
    shape.kernel == KERNEL
        && shape.out_width() <= 32
        && shape.out_width().is_multiple_of(2)
        && shape.out_height().is_multiple_of(2)
}

/// Whether [`Layout::Maps16`] takes `shape`: 16 maps, an even output with rows of up to 12
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
    /// The 2x2 pooling that follows, if any.
    pub pooling: Option<Pooling>,
    pub bias: &'a [f32],
}

impl Layer<'_> {
    /// Values per map of the AVX2 kernels' one output: pooled or not.
    fn output_plane(&self) -> usize {
        match self.pooling {
            Some(_) => self.shape.positions() / 4,
            None => self.shape.positions(),
        }
    }
}

/// Where a kernel stores one image's outputs.
pub(super) enum Outputs<'a> {
    /// The activated maps, `[maps, out_height, out_width]`.
    Maps(&'a mut [f32]),
    /// Their pooling, `[maps, out_height / 2, out_width / 2]` (inference).
    Pooled(&'a mut [f32]),
    /// Both: training keeps the maps for the backward pass, and the next layer reads the
    /// pooling, computed here from the maps in registers instead of read back from memory.
    /// With AVX-512F only ([`Kernel::stores_both`]).
    Both {
        maps: &'a mut [f32],
        pooled: &'a mut [f32],
    },
}

/// [`Outputs`] as the AVX-512 kernels take them: where each is stored, if it is.
#[derive(Clone, Copy)]
struct Stores {
    maps: Option<*mut f32>,
    pooled: Option<*mut f32>,
}

/// The direct kernel for one convolution, chosen once for a batch.
pub(super) struct Kernel {
    layout: Layout,
    /// The shape it was chosen for, its batch aside.
    shape: ConvShape,
    /// Each tap's offset in the padded image ([`tap_offsets`]): found once for the batch,
    /// where each image's integer divisions cost as much as a fair part of its products.
    taps: Vec<usize>,
}

/// How a [`Kernel`] lays its outputs across the lanes.
pub(super) enum Layout {
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
        let layout = if maps16_fit(shape) {
            Layout::Maps16(isa, transpose_maps16(weight, shape.patch()))
        } else if rows_fit(shape) {
            Layout::Rows(isa)
        } else {
            return None;
        };
        Some(Self::new(layout, shape))
    }

    /// `layout` for convolutions of `shape`.
    fn new(layout: Layout, shape: &ConvShape) -> Self {
        Kernel {
            layout,
            shape: ConvShape { batch: 0, ..*shape },
            taps: tap_offsets(shape),
        }
    }

    /// Whether [`Outputs::Both`] runs here: the AVX-512 kernels' registers hold a row pair's
    /// maps while they are pooled; the AVX2 ones store C3's maps a row at a time.
    pub(super) fn stores_both(&self) -> bool {
        matches!(
            self.layout,
            Layout::Rows(Isa::Avx512) | Layout::Maps16(Isa::Avx512, _)
        )
    }

    /// `activation(conv(padded, weight) + bias)` and its pooling (`layer.pooling`, which
    /// [`Outputs::Pooled`] and [`Outputs::Both`] need) into `out`, for one padded image of the
    /// shape the kernel was chosen for; `weight` as given to [`Kernel::choose`].
    pub(super) fn run(&self, layer: Layer, padded: &[f32], weight: &[f32], out: Outputs) {
        let shape = layer.shape;
        let (isa, fits, slack) = match &self.layout {
            Layout::Rows(isa) => (isa, rows_fit(shape), shape.slack()),
            Layout::Maps16(isa, weight_t) => (
                isa,
                maps16_fit(shape) && weight_t.len() == shape.patch() * MAPS,
                0,
            ),
        };
        assert_eq!(
            ConvShape { batch: 0, ..*shape },
            self.shape,
            "the taps' shape"
        );
        assert!(isa.runs_here() && fits && padded.len() >= shape.padded_len() + slack);
        assert!(weight.len() >= shape.maps * shape.patch() && layer.bias.len() >= shape.maps);
        let (maps_len, pooled_len) = (shape.output_len(), shape.output_len() / 4);
        let (maps, pooled) = match out {
            Outputs::Maps(maps) => (Some(maps), None),
            Outputs::Pooled(pooled) => (None, Some(pooled)),
            Outputs::Both { maps, pooled } => {
                assert!(self.stores_both(), "both outputs with AVX-512F only");
                (Some(maps), Some(pooled))
            }
        };
        assert!(maps.as_ref().is_none_or(|maps| maps.len() >= maps_len));
        assert!(
            pooled
                .as_ref()
                .is_none_or(|pooled| pooled.len() >= pooled_len)
        );
        assert_eq!(
            pooled.is_some(),
            layer.pooling.is_some(),
            "a pooling to store"
        );
        let taps = &self.taps;
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the CPU has the instructions, the shape fits the kernel, the taps are the
        // shape's, and the lengths hold (asserted just above).
        unsafe {
            let stores = Stores {
                maps: maps.map(|maps| maps.as_mut_ptr()),
                pooled: pooled.map(|pooled| pooled.as_mut_ptr()),
            };
            // The AVX2 kernels store one output: the maps, or their pooling.
            let y = || {
                let ((Some(y), None) | (None, Some(y))) = (stores.maps, stores.pooled) else {
                    unreachable!("both outputs with AVX-512F only")
                };
                std::slice::from_raw_parts_mut(y, shape.maps * layer.output_plane())
            };
            match &self.layout {
                Layout::Rows(Isa::Avx512) => {
                    avx512::conv_pool_rows(layer, taps, padded, weight, stores)
                }
                Layout::Rows(Isa::Avx2) => avx2::conv_pool_rows(layer, padded, weight, y()),
                Layout::Maps16(Isa::Avx512, weight_t) => {
                    avx512::conv_pool_maps16(layer, taps, padded, weight_t, stores)
                }
                Layout::Maps16(Isa::Avx2, weight_t) => {
                    avx2::conv_pool_maps16(layer, taps, padded, weight_t, y())
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

/// The gradient before the activation `pre` (`[maps, wide]`; the dropped columns left alone)
/// of the convolution `shape` with `activation`, from its maps `y`, their 2x2 `pooling`
/// `pooled` and its gradient `grad`, with `isa`'s vectors (the CPU's widest, [`Isa::detect`]):
/// to the bit what the pooling's gradient spread over the maps and taken through the
/// activation computes. For tanh then average pooling, and ReLU then max pooling
/// ([`pooled_gradient_fits`]).
pub(super) fn pooled_gradient(
    isa: Isa,
    pair: (Activation, Pooling),
    shape: &ConvShape,
    y: &[f32],
    pooled: &[f32],
    grad: &[f32],
    pre: &mut [f32],
) {
    assert!(isa.runs_here());
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the CPU runs `isa`; the kernel asserts the pair and the lengths.
    unsafe {
        spread::pooled_gradient(isa, pair, shape, y, pooled, grad, pre)
    }
    #[cfg(not(target_arch = "x86_64"))]
    unreachable!("Isa::detect finds no vectors here");
}

/// Whether [`pooled_gradient`] takes `activation` followed by `pooling`.
pub(super) fn pooled_gradient_fits(activation: Activation, pooling: Pooling) -> bool {
    matches!(
        (activation, pooling),
        (Activation::Tanh, Pooling::Average) | (Activation::Relu, Pooling::Max)
    )
}

/// A weight `[16, patch]` transposed to `[patch, 16]`, as [`Layout::Maps16`] takes it.
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
mod spread;
#[cfg(target_arch = "x86_64")]
#[allow(clippy::needless_range_loop)]
mod vector;

#[cfg(test)]
mod tests;
