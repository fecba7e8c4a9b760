//! The direct kernels against the layer-by-layer arithmetic, to the bit, on both instruction
//! sets where the CPU has them.

use super::super::conv::{ConvScratch, OutputGrad, conv_image, pre_activation_gradient};
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

/// What `kernel` stores for `layer`: its maps, or their pooling. Where the kernel stores both
/// at once (AVX-512F), that run's maps must be the unpooled layer's to the bit, and its
/// pooling the pooling alone's.
fn stored(
    kernel: &Kernel,
    layer: Layer,
    padded: &[f32],
    weight: &[f32],
    image: &[f32],
) -> Vec<u32> {
    let shape = layer.shape;
    let mut maps = vec![f32::NAN; shape.output_len()];
    let Some(_) = layer.pooling else {
        kernel.run(layer, padded, weight, Outputs::Maps(&mut maps));
        return bits(&maps);
    };
    let mut pooled = vec![f32::NAN; shape.output_len() / 4];
    kernel.run(layer, padded, weight, Outputs::Pooled(&mut pooled));
    if kernel.stores_both() {
        let mut both = vec![f32::NAN; pooled.len()];
        let out = Outputs::Both {
            maps: &mut maps,
            pooled: &mut both,
        };
        kernel.run(layer, padded, weight, out);
        let unpooled = Layer {
            pooling: None,
            ..layer
        };
        assert_eq!(
            bits(&maps),
            layers(unpooled, image, weight),
            "the maps beside the pooling"
        );
        assert_eq!(bits(&both), bits(&pooled), "the pooling beside the maps");
    }
    bits(&pooled)
}

#[test]
fn rows_across_lanes_have_the_layers_bits() {
    for isa in isas_here() {
        each_layer(|layer, padded, weight, image| {
            rows_fit(layer.shape).then(|| {
                let kernel = Kernel::new(Layout::Rows(isa), layer.shape);
                stored(&kernel, layer, padded, weight, image)
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
        each_layer(|layer, padded, weight, image| {
            let shape = layer.shape;
            maps16_fit(shape).then(|| {
                let layout = Layout::Maps16(isa, transpose_maps16(weight, shape.patch()));
                stored(&Kernel::new(layout, shape), layer, padded, weight, image)
            })
        });
    }
}

/// Maps with ties and values at and below 0 (ReLU's maps have many), for max pooling's
/// routing: quarters, clamped at 0, so a window often has two equal maxima.
fn ties(len: usize) -> Vec<f32> {
    pattern(len, 0.9)
        .iter()
        .map(|v| ((4.0 * v).round() / 4.0).max(0.0))
        .collect()
}

#[test]
fn the_pooled_gradient_has_the_spread_and_activation_bits() {
    // Rows of 18 windows as well: more than one 16-lane vector.
    let wider = ConvShape {
        height: 40,
        width: 40,
        ..shapes()[0]
    };
    let even = |shape: &ConvShape| {
        shape.out_width().is_multiple_of(2) && shape.out_height().is_multiple_of(2)
    };
    let pairs = [
        (Activation::Tanh, Pooling::Average),
        (Activation::Relu, Pooling::Max),
    ];
    for isa in isas_here() {
        let mut ran = 0;
        for shape in shapes().into_iter().chain([wider]).filter(even) {
            for (activation, pooling) in pairs {
                let (maps, windows) = (
                    shape.maps * shape.positions(),
                    shape.maps * shape.positions() / 4,
                );
                let grad = pattern(windows, 2.3);
                let cases = match pooling {
                    // Any values: the arithmetic does not compare them.
                    Pooling::Average => vec![(pattern(maps, 0.4), pattern(windows, 1.7))],
                    // The maps' own maxima (with ties), and windows equal to none of their
                    // values, which the routing gives to the bottom right.
                    Pooling::Max => {
                        let y = ties(maps);
                        let mut pooled = vec![0.0; windows];
                        pool_planes(Pooling::Max, shape.out_width(), &y, &mut pooled);
                        vec![(y.clone(), pooled), (y, pattern(windows, 1.7))]
                    }
                };
                for (y, pooled) in cases {
                    // The dropped columns must be left alone: both start from the same marks.
                    let mut expected = vec![7.0; shape.maps * shape.wide()];
                    // The layer-by-layer code (without vectors of its own, `None`): the windows
                    // spread over a scratch row, then each row through the activation's
                    // derivative.
                    let pooled_grad = OutputGrad::Pooled {
                        pooling,
                        pooled: &pooled,
                        grad: &grad,
                    };
                    pre_activation_gradient(
                        &shape,
                        activation,
                        &y,
                        pooled_grad,
                        &mut expected,
                        &mut Vec::new(),
                        None,
                    );
                    let mut got = vec![7.0; shape.maps * shape.wide()];
                    let pair = (activation, pooling);
                    pooled_gradient(isa, pair, &shape, &y, &pooled, &grad, &mut got);
                    assert_eq!(bits(&got), bits(&expected), "{isa:?} {pair:?} {shape:?}");
                    ran += 1;
                }
            }
        }
        assert!(ran >= 24, "{ran} cases");
    }
}
