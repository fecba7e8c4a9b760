//! Where LeNet-5's training time goes on burn-flex, and what the model crate's fused kernels
//! (feature `flex`) replace. Prints markdown tables.
//!
//! ```text
//! cargo bench -p train --profile dev --bench layers [-- --quick]
//! ```
//!
//! 1. The model's whole step at batch 128, as the Learner runs it (fused kernels on flex):
//!    forward on the inner backend, forward with autodiff and the loss, forward + backward, and
//!    forward + backward + Adam (what the Learner does, less data loading and metrics).
//! 2. Each operation of the network written with Burn's generic operations (what the model
//!    ran before its fused kernels, and still runs on other backends), in isolation, on its
//!    real input shape: forward on `Flex`, and forward + backward on `Autodiff<Flex>` (the
//!    backward pass starts from `y.sum()`, whose own cost is the "sum + backward" row; the
//!    input requires a gradient except for C1, whose input is the images, as in training;
//!    parameter gradients are always computed).
//! 3. Reformulations of the slow operations in Burn's public tensor API (plus, for the fast
//!    tanh, a loop over `TensorData` on the CPU), measured on every shape where the network
//!    uses the operation and summed per training step: the measurements that led to the
//!    fused kernels.
//!
//! Times are medians of 30 repetitions (5 with `--quick`) after 3 warm-up calls.

mod common;

use common::load_average;

use std::time::Instant;

use burn::{
    backend::{Autodiff, Flex},
    module::AutodiffModule,
    nn::{Linear, loss::CrossEntropyLossConfig},
    optim::{AdamConfig, GradientsParams, Optimizer},
    prelude::*,
    tensor::{
        Distribution,
        activation::{relu, sigmoid, tanh},
        backend::AutodiffBackend,
        module::{avg_pool2d, max_pool2d},
    },
};
use lenet::{C5, LeNet5, LeNet5Config, Variant};

type Inner = Flex;
type Ad = Autodiff<Flex>;

const BATCH: usize = 128;
const WARMUP: usize = 3;

fn main() {
    let quick = std::env::args().any(|arg| arg == "--quick")
        || std::env::var("BENCH_QUICK").is_ok_and(|value| !value.is_empty() && value != "0");
    let reps = if quick { 5 } else { 30 };
    println!("# LeNet-5 on burn-flex: where the time goes\n");
    println!(
        "Batch {BATCH}, {} rayon threads, medians of {reps} runs. Load average at start: {}.\n",
        rayon::current_num_threads(),
        load_average()
    );
    for variant in Variant::ALL {
        whole_step(variant, reps);
    }
    let generic_steps: Vec<f64> = Variant::ALL
        .into_iter()
        .map(|variant| layer_table(variant, reps))
        .collect();
    candidates(generic_steps[0], reps);
    println!("Load average at the end: {}.", load_average());
}

// ----------------------------------------------------------------------------------------
// Timing

fn time_ms(reps: usize, mut run: impl FnMut()) -> f64 {
    (0..WARMUP).for_each(|_| run());
    let mut times: Vec<f64> = (0..reps)
        .map(|_| {
            let start = Instant::now();
            run();
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn images_per_second(ms: f64) -> f64 {
    BATCH as f64 / ms * 1e3
}

fn random<B: Backend>(shape: [usize; 4], device: &B::Device) -> Tensor<B, 4> {
    Tensor::random(shape, Distribution::Normal(0.0, 1.0), device)
}

fn targets<B: Backend>(device: &B::Device) -> Tensor<B, 1, Int> {
    let labels: Vec<i64> = (0..BATCH as i64).map(|i| i % 10).collect();
    Tensor::from_data(TensorData::new(labels, [BATCH]), device)
}

// ----------------------------------------------------------------------------------------
// 1. The whole step

/// Prints the whole-step table of `variant`.
fn whole_step(variant: Variant, reps: usize) {
    let device = Default::default();
    let model = LeNet5Config::new()
        .with_variant(variant)
        .init::<Ad>(&device);
    let side = variant.input_size();
    let images = random::<Ad>([BATCH, 1, side, side], &device);
    let labels = targets::<Ad>(&device);
    let inner_model = model.valid();
    let inner_images = images.clone().inner();

    let forward = time_ms(reps, || {
        inner_model.forward(inner_images.clone());
    });
    let forward_ad = time_ms(reps, || {
        model.forward_classification(images.clone(), labels.clone());
    });
    let backward = time_ms(reps, || {
        let output = model.forward_classification(images.clone(), labels.clone());
        output.loss.backward();
    });
    let mut optimizer = AdamConfig::new().init();
    let mut current = Some(model.clone());
    let step = time_ms(reps, || {
        let model = current
            .take()
            .expect("the model is put back after each step");
        let output = model.forward_classification(images.clone(), labels.clone());
        let grads = GradientsParams::from_grads(output.loss.backward(), &model);
        current = Some(optimizer.step(1e-3, model, grads));
    });

    println!("## {variant}: one training step, batch {BATCH}\n");
    println!("| part | ms | images/s |\n|---|---:|---:|");
    for (name, ms) in [
        ("forward, inner backend (inference)", forward),
        ("forward + loss, autodiff", forward_ad),
        ("forward + loss + backward", backward),
        ("forward + loss + backward + Adam", step),
    ] {
        println!("| {name} | {ms:.2} | {:.0} |", images_per_second(ms));
    }
    println!(
        "\nBackward alone about {:.2} ms; Adam about {:.2} ms (differences of medians: a value \
         near or below 0 is within the noise).\n",
        backward - forward_ad,
        step - backward
    );
}

// ----------------------------------------------------------------------------------------
// 2. Layer by layer

type OpFn<B> = Box<dyn Fn(Tensor<B, 4>) -> Tensor<B, 4>>;

/// One operation of the network, on its input shape.
struct Op<B: Backend> {
    name: &'static str,
    input: [usize; 4],
    input_grad: bool,
    run: OpFn<B>,
}

fn op<B: Backend>(
    name: &'static str,
    input: [usize; 4],
    input_grad: bool,
    run: impl Fn(Tensor<B, 4>) -> Tensor<B, 4> + 'static,
) -> Op<B> {
    Op {
        name,
        input,
        input_grad,
        run: Box::new(run),
    }
}

/// Vectors travel between the ops as `[batch, 1, 1, features]`; dense layers get them as the
/// model does, `[batch, features]` (a free reshape: a 4-D input would make `Linear` a
/// broadcast matmul with a much slower backward).
fn dense<B: Backend>(linear: &Linear<B>, x: Tensor<B, 4>) -> Tensor<B, 4> {
    let [batch, ..] = x.dims();
    as_vectors(linear.forward(x.reshape([batch as i32, -1])))
}

fn as_vectors<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, 4> {
    let batch = x.dims()[0];
    x.reshape([batch as i32, 1, 1, -1])
}

/// The operations of `model`'s forward pass and loss, in order, as the model runs them.
fn network_ops<B: Backend>(model: &LeNet5<B>) -> Vec<Op<B>> {
    let n = BATCH;
    let device = model.c1.weight.device();
    let (c1, c3, f6, output) = (
        model.c1.clone(),
        model.c3.clone(),
        model.f6.clone(),
        model.output.clone(),
    );
    let labels = targets::<B>(&device);
    let loss = CrossEntropyLossConfig::new().init(&device);
    let cross_entropy = move |x: Tensor<B, 4>| {
        loss.forward(x.reshape([n, 10]), labels.clone())
            .reshape([1, 1, 1, 1])
    };
    let window = [2, 2];
    let avg = move |x: Tensor<B, 4>| avg_pool2d(x, window, window, [0, 0], true, false);
    let max = move |x: Tensor<B, 4>| max_pool2d(x, window, window, [0, 0], [1, 1], false);
    match (&model.c5, model.variant()) {
        (C5::Conv(c5), Variant::Classic) => {
            let c5 = c5.clone();
            vec![
                op("C1 conv 1->6 5x5", [n, 1, 32, 32], false, move |x| {
                    c1.forward(x)
                }),
                op("tanh after C1", [n, 6, 28, 28], true, tanh),
                op("S2 avg pool 2x2", [n, 6, 28, 28], true, avg),
                op("tanh after S2", [n, 6, 14, 14], true, tanh),
                op("C3 conv 6->16 5x5", [n, 6, 14, 14], true, move |x| {
                    c3.forward(x)
                }),
                op("tanh after C3", [n, 16, 10, 10], true, tanh),
                op("S4 avg pool 2x2", [n, 16, 10, 10], true, avg),
                op("tanh after S4", [n, 16, 5, 5], true, tanh),
                op("C5 conv 16->120 5x5", [n, 16, 5, 5], true, move |x| {
                    as_vectors(c5.forward(x))
                }),
                op("tanh after C5", [n, 1, 1, 120], true, tanh),
                op("F6 linear 120->84", [n, 1, 1, 120], true, move |x| {
                    dense(&f6, x)
                }),
                op("tanh after F6", [n, 1, 1, 84], true, tanh),
                op("output linear 84->10", [n, 1, 1, 84], true, move |x| {
                    dense(&output, x)
                }),
                op("softmax cross-entropy", [n, 1, 1, 10], true, cross_entropy),
            ]
        }
        (C5::Dense(c5), _) => {
            let c5 = c5.clone();
            vec![
                op("C1 conv 1->6 5x5 same", [n, 1, 28, 28], false, move |x| {
                    c1.forward(x)
                }),
                op("relu after C1", [n, 6, 28, 28], true, relu),
                op("max pool 2x2", [n, 6, 28, 28], true, max),
                op("C3 conv 6->16 5x5", [n, 6, 14, 14], true, move |x| {
                    c3.forward(x)
                }),
                op("relu after C3", [n, 16, 10, 10], true, relu),
                op("max pool 2x2", [n, 16, 10, 10], true, max),
                op("flatten, dense 400->120", [n, 16, 5, 5], true, move |x| {
                    dense(&c5, x)
                }),
                op("relu after dense 120", [n, 1, 1, 120], true, relu),
                op("dense 120->84", [n, 1, 1, 120], true, move |x| {
                    dense(&f6, x)
                }),
                op("relu after dense 84", [n, 1, 1, 84], true, relu),
                op("dense 84->10", [n, 1, 1, 84], true, move |x| {
                    dense(&output, x)
                }),
                op("softmax cross-entropy", [n, 1, 1, 10], true, cross_entropy),
            ]
        }
        (C5::Conv(_), Variant::Keras) => unreachable!("the keras variant has a dense C5"),
    }
}

/// Forward on the inner backend, in ms.
fn forward_ms(op: &Op<Inner>, reps: usize) -> f64 {
    let x = random::<Inner>(op.input, &Default::default());
    time_ms(reps, || {
        (op.run)(x.clone());
    })
}

/// Forward + backward from `y.sum()` on the autodiff backend, in ms.
fn forward_backward_ms(op: &Op<Ad>, reps: usize) -> f64 {
    let x = random::<Ad>(op.input, &Default::default());
    let x = if op.input_grad { x.require_grad() } else { x };
    time_ms(reps, || {
        (op.run)(x.clone()).sum().backward();
    })
}

/// Prints the table and returns its sum: a training step in Burn's generic operations.
fn layer_table(variant: Variant, reps: usize) -> f64 {
    let device = Default::default();
    let model = LeNet5Config::new()
        .with_variant(variant)
        .init::<Ad>(&device);
    let ad_ops = network_ops(&model);
    let inner_ops = network_ops(&model.valid());
    let rows: Vec<(&str, f64, f64)> = ad_ops
        .iter()
        .zip(&inner_ops)
        .map(|(ad, inner)| {
            (
                ad.name,
                forward_ms(inner, reps),
                forward_backward_ms(ad, reps),
            )
        })
        .collect();
    let total_forward: f64 = rows.iter().map(|row| row.1).sum();
    let total: f64 = rows.iter().map(|row| row.2).sum();
    println!("## {variant}: Burn's generic operations one by one, batch {BATCH}\n");
    println!(
        "| operation | forward ms (flex) | forward + backward ms (autodiff) | share of the sum |"
    );
    println!("|---|---:|---:|---:|");
    for (name, forward, both) in &rows {
        println!(
            "| {name} | {forward:.3} | {both:.3} | {:.1}% |",
            both / total * 100.0
        );
    }
    println!("| **sum** | {total_forward:.2} | {total:.2} | |");
    let baseline = Op::<Ad> {
        name: "sum + backward",
        input: [BATCH, 6, 28, 28],
        input_grad: true,
        run: Box::new(|x| x),
    };
    println!(
        "| (sum + backward alone, [{BATCH}, 6, 28, 28]; included in every row) | | {:.3} | |\n",
        forward_backward_ms(&baseline, reps)
    );
    total
}

// ----------------------------------------------------------------------------------------
// 3. Candidate reformulations

fn to_vec<B: Backend, const D: usize>(x: Tensor<B, D>) -> Vec<f32> {
    x.into_data()
        .into_vec::<f32>()
        .expect("the network computes in f32")
}

/// Forward only: the rational tanh computed on the CPU from `TensorData`.
fn fast_tanh<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    let (device, shape) = (x.device(), x.shape());
    let values: Vec<f32> = to_vec(x).into_iter().map(lenet::rational_tanh).collect();
    Tensor::from_data(TensorData::new(values, shape), &device)
}

/// The rational tanh with its exact derivative and no recomputation in the backward pass:
/// `x * s + (y - x * s)` with `y = tanh(x)` and `s = 1 - y^2` computed as constants, so the
/// value is `y` and the gradient `s`. Autodiff records one multiplication and one addition.
fn fast_tanh_straight_through<B: AutodiffBackend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    let (device, shape) = (x.device(), x.shape());
    let values = to_vec(x.clone().inner());
    let mut slope = Vec::with_capacity(values.len());
    let mut offset = Vec::with_capacity(values.len());
    for v in values {
        let y = lenet::rational_tanh(v);
        let s = 1.0 - y * y;
        slope.push(s);
        offset.push(y - v * s);
    }
    let constant = |values: Vec<f32>| {
        Tensor::<B, D>::from_data(TensorData::new(values, shape.clone()), &device)
    };
    x * constant(slope) + constant(offset)
}

/// Burn's own tanh for the value, the same straight-through gradient (isolates the cost of
/// the backward pass recomputing tanh).
fn burn_tanh_straight_through<B: AutodiffBackend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    let inner = x.clone().inner();
    let y = tanh(inner.clone());
    let slope = y.clone().mul(y.clone()).neg().add_scalar(1.0);
    let offset = y - inner * slope.clone();
    x * Tensor::from_inner(slope) + Tensor::from_inner(offset)
}

/// `tanh(x) = 2 sigmoid(2x) - 1`: Burn ops only; flex's sigmoid uses `expf`, and its
/// backward is one fused pass.
fn sigmoid_tanh<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    sigmoid(x.mul_scalar(2.0)).mul_scalar(2.0).sub_scalar(1.0)
}

/// 2x2 average pooling as a reshape and two means.
fn reshape_mean_pool<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    let [n, c, h, w] = x.dims();
    x.reshape([n, c, h / 2, 2, w / 2, 2])
        .mean_dim(5)
        .mean_dim(3)
        .reshape([n, c, h / 2, w / 2])
}

/// A valid, stride-1 convolution as im2col (one `select` of precomputed indices, whose
/// backward is one scatter-add) and one matrix product.
fn im2col_conv<B: Backend>(
    x: Tensor<B, 4>,
    weight: Tensor<B, 4>,
    bias: Tensor<B, 1>,
) -> Tensor<B, 4> {
    let [n, channels, height, width] = x.dims();
    let [out, _, k, _] = weight.dims();
    let (oh, ow) = (height - k + 1, width - k + 1);
    let mut indices = Vec::with_capacity(oh * ow * channels * k * k);
    for row in 0..oh {
        for col in 0..ow {
            for c in 0..channels {
                for i in 0..k {
                    for j in 0..k {
                        indices.push(((c * height + row + i) * width + col + j) as i64);
                    }
                }
            }
        }
    }
    let device = x.device();
    let indices = Tensor::<B, 1, Int>::from_data(
        TensorData::new(indices, [oh * ow * channels * k * k]),
        &device,
    );
    let columns = x
        .reshape([n, channels * height * width])
        .select(1, indices)
        .reshape([n * oh * ow, channels * k * k]);
    let kernel = weight.reshape([out, channels * k * k]).transpose();
    (columns.matmul(kernel) + bias.unsqueeze::<2>())
        .reshape([n, oh * ow, out])
        .swap_dims(1, 2)
        .reshape([n, out, oh, ow])
}

/// C5 as what it is on a 5x5 input: a flatten and one matrix product.
fn c5_as_matmul<B: Backend>(
    x: Tensor<B, 4>,
    weight: Tensor<B, 4>,
    bias: Tensor<B, 1>,
) -> Tensor<B, 4> {
    let [n, ..] = x.dims();
    let [out, ..] = weight.dims();
    let rows = x.reshape([n as i32, -1]);
    let kernel = weight.reshape([out as i32, -1]).transpose();
    (rows.matmul(kernel) + bias.unsqueeze::<2>()).reshape([n, out, 1, 1])
}

/// Where the classic network applies tanh, pooling and its convolutions.
const TANH_SHAPES: [[usize; 4]; 6] = [
    [BATCH, 6, 28, 28],
    [BATCH, 6, 14, 14],
    [BATCH, 16, 10, 10],
    [BATCH, 16, 5, 5],
    [BATCH, 1, 1, 120],
    [BATCH, 1, 1, 84],
];
const POOL_SHAPES: [[usize; 4]; 2] = [[BATCH, 6, 28, 28], [BATCH, 16, 10, 10]];

/// A way of computing an operation and its (forward ms, forward + backward ms).
type Timed = (&'static str, (f64, f64));

/// One way of computing an operation, for both passes.
struct Candidate {
    name: &'static str,
    forward: fn(Tensor<Inner, 4>) -> Tensor<Inner, 4>,
    both: fn(Tensor<Ad, 4>) -> Tensor<Ad, 4>,
}

/// Sums over `shapes` of (forward ms, forward + backward ms).
fn sum_over(shapes: &[[usize; 4]], candidate: &Candidate, reps: usize) -> (f64, f64) {
    shapes.iter().fold((0.0, 0.0), |(forward, both), &input| {
        let inner = op::<Inner>(candidate.name, input, true, candidate.forward);
        let ad = op::<Ad>(candidate.name, input, true, candidate.both);
        (
            forward + forward_ms(&inner, reps),
            both + forward_backward_ms(&ad, reps),
        )
    })
}

fn candidates(generic_step: f64, reps: usize) {
    println!("## Candidate reformulations (classic network, batch {BATCH})\n");
    println!(
        "Per training step: each operation summed over every place the network uses it. \
         Projected step = the step in Burn's generic operations (the sum above, \
         {generic_step:.2} ms, {:.0} images/s without loading and metrics) - saving.\n",
        images_per_second(generic_step)
    );
    println!(
        "| operation | way | forward ms | forward + backward ms | saving ms/step | projected images/s |"
    );
    println!("|---|---|---:|---:|---:|---:|");
    let print_family = |family: &str, rows: Vec<Timed>| {
        let baseline = rows[0].1.1;
        for (name, (forward, both)) in rows {
            let saving = baseline - both;
            println!(
                "| {family} | {name} | {forward:.3} | {both:.3} | {saving:.2} | {:.0} |",
                images_per_second(generic_step - saving)
            );
        }
    };

    let tanh_candidates = [
        Candidate {
            name: "Burn tanh (flex: f32::tanh per element; backward recomputes it)",
            forward: tanh,
            both: tanh,
        },
        Candidate {
            name: "2 sigmoid(2x) - 1 (Burn ops)",
            forward: sigmoid_tanh,
            both: sigmoid_tanh,
        },
        Candidate {
            name: "Burn tanh value, straight-through gradient",
            forward: tanh,
            both: burn_tanh_straight_through,
        },
        Candidate {
            name: "rational tanh on TensorData, straight-through gradient",
            forward: fast_tanh,
            both: fast_tanh_straight_through,
        },
    ];
    let rows = tanh_candidates
        .iter()
        .map(|candidate| (candidate.name, sum_over(&TANH_SHAPES, candidate, reps)))
        .collect();
    print_family("tanh x6", rows);

    let pool_candidates = [
        Candidate {
            name: "avg_pool2d",
            forward: |x| avg_pool2d(x, [2, 2], [2, 2], [0, 0], true, false),
            both: |x| avg_pool2d(x, [2, 2], [2, 2], [0, 0], true, false),
        },
        Candidate {
            name: "reshape + mean",
            forward: reshape_mean_pool,
            both: reshape_mean_pool,
        },
    ];
    let rows = pool_candidates
        .iter()
        .map(|candidate| (candidate.name, sum_over(&POOL_SHAPES, candidate, reps)))
        .collect();
    print_family("avg pool x2", rows);

    for (family, rows) in conv_candidates(reps) {
        print_family(family, rows);
    }
    println!();
    accuracy_check();
}

/// Each classic convolution as Burn's conv2d and as im2col + matmul; C5 also as a flatten +
/// matmul (on a 5x5 input, the same thing). One row family per layer.
fn conv_candidates(reps: usize) -> Vec<(&'static str, Vec<Timed>)> {
    let device = Default::default();
    let model = LeNet5Config::new()
        .with_variant(Variant::Classic)
        .init::<Ad>(&device);
    let C5::Conv(c5) = &model.c5 else {
        unreachable!("the classic variant has a convolutional C5")
    };
    let layers = [
        ("conv C1 1->6", model.c1.clone(), [BATCH, 1, 32, 32], false),
        ("conv C3 6->16", model.c3.clone(), [BATCH, 6, 14, 14], true),
        ("conv C5 16->120", c5.clone(), [BATCH, 16, 5, 5], true),
    ];
    layers
        .into_iter()
        .map(|(family, conv, input, input_grad)| {
            let inner = conv.valid();
            let measure = |ad: Op<Ad>, inner: Op<Inner>| {
                (forward_ms(&inner, reps), forward_backward_ms(&ad, reps))
            };
            let (w, b) = (conv.weight.val(), conv.bias.as_ref().expect("bias").val());
            let (wi, bi) = (inner.weight.val(), inner.bias.as_ref().expect("bias").val());
            let mut rows = vec![(
                "Burn conv2d",
                measure(
                    op("conv2d", input, input_grad, move |x| conv.forward(x)),
                    op("conv2d", input, input_grad, move |x| inner.forward(x)),
                ),
            )];
            let (w2, b2, wi2, bi2) = (w.clone(), b.clone(), wi.clone(), bi.clone());
            rows.push((
                "im2col (select) + matmul",
                measure(
                    op("im2col", input, input_grad, move |x| {
                        im2col_conv(x, w.clone(), b.clone())
                    }),
                    op("im2col", input, input_grad, move |x| {
                        im2col_conv(x, wi.clone(), bi.clone())
                    }),
                ),
            ));
            if input[2] == 5 {
                rows.push((
                    "flatten + matmul",
                    measure(
                        op("matmul", input, input_grad, move |x| {
                            c5_as_matmul(x, w2.clone(), b2.clone())
                        }),
                        op("matmul", input, input_grad, move |x| {
                            c5_as_matmul(x, wi2.clone(), bi2.clone())
                        }),
                    ),
                ));
            }
            (family, rows)
        })
        .collect()
}

/// The candidates compute the same values and gradients as Burn's operations.
fn accuracy_check() {
    let device = Default::default();
    let x = random::<Ad>([BATCH, 6, 14, 14], &device).mul_scalar(3.0);
    let gradient = |f: fn(Tensor<Ad, 4>) -> Tensor<Ad, 4>| {
        let x = x.clone().require_grad();
        let y = f(x.clone());
        let grads = y.clone().sum().backward();
        (
            to_vec(y.inner()),
            to_vec(x.grad(&grads).expect("x has a gradient")),
        )
    };
    let max_difference = |a: &[f32], b: &[f32]| {
        a.iter()
            .zip(b)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max)
    };
    let (value, grad) = gradient(tanh);
    let (fast_value, fast_grad) = gradient(fast_tanh_straight_through);
    let (sigmoid_value, sigmoid_grad) = gradient(sigmoid_tanh);
    let (pool_value, pool_grad) = gradient(|x| avg_pool2d(x, [2, 2], [2, 2], [0, 0], true, false));
    let (mean_value, mean_grad) = gradient(reshape_mean_pool);
    println!(
        "Check on N(0, 9) inputs, largest absolute difference from Burn's operation: rational \
         tanh value {:.1e}, gradient {:.1e}; 2 sigmoid(2x) - 1 value {:.1e}, gradient {:.1e}; \
         reshape + mean pooling value {:.1e}, gradient {:.1e}.",
        max_difference(&value, &fast_value),
        max_difference(&grad, &fast_grad),
        max_difference(&value, &sigmoid_value),
        max_difference(&grad, &sigmoid_grad),
        max_difference(&pool_value, &mean_value),
        max_difference(&pool_grad, &mean_grad),
    );
    let model = LeNet5Config::new().init::<Inner>(&device);
    let input = random::<Inner>([BATCH, 6, 14, 14], &device);
    let burn = to_vec(model.c3.forward(input.clone()));
    let bias = model.c3.bias.as_ref().expect("bias").val();
    let im2col = to_vec(im2col_conv(input, model.c3.weight.val(), bias));
    println!(
        "C3 as im2col + matmul differs from conv2d by at most {:.1e}.\n",
        max_difference(&burn, &im2col)
    );
}
