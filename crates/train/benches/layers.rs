//! Where a LeNet-5 training step's time goes on flex, per layer and per pass, printed as a
//! markdown table.
//!
//! ```text
//! cargo bench -p train --profile dev --bench layers
//! cargo bench -p train --profile dev --bench layers -- --batch 1000 --variants classic
//! ```
//!
//! For each network (`classic`, `keras`) at `--batch` images (128, the training batch):
//! - **forward**, per layer: the layer's operation (`lenet_kernels`' fused kernels, Burn's
//!   `Linear` for the dense layers) on `Flex`, the inner backend inference runs on;
//! - **backward**, per layer: on `Autodiff<Flex>`, the layer alone on an input that needs a
//!   gradient (C1's, the images, needs none, as in training), its output summed and the
//!   gradients computed, timed from the end of that layer's forward on `Autodiff<Flex>` in the
//!   same run: what the layer adds to a training step's backward pass;
//! - **inference** on `Flex`: C1 to S4 in one pass per image (`lenet_kernels::features`, what
//!   `LeNet5::forward` runs for them), and the whole forward pass;
//! - **a whole step** without the Learner: forward, cross-entropy, backward, Adam's update,
//!   timed together and each part inside the same steps. Set beside the `throughput` bench's
//!   training figure (the Learner with its loader and metrics), the difference is the Learner's
//!   own cost.
//!
//! It runs as the `train` program does: on one of rayon's threads, the others kept looking for
//! work ([`train::pool::with_workers_looking`]). Medians of `--reps` (50) runs after 5 warm-up
//! runs; inputs are random, weights freshly initialised (the arithmetic does not depend on the
//! values).

mod common;

use std::time::Instant;

use burn::backend::{Autodiff, Flex};
use burn::module::AutodiffModule;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{GradientsParams, Optimizer, adaptor::OptimizerAdaptor};
use burn::prelude::*;
use burn::tensor::Distribution;
use clap::Parser;
use common::load_average;
use common::peak::peak_gflops;
use lenet::{C3, C5, LeNet5, LeNet5Config, Output, Variant};
use lenet_kernels::{FusedAdam, activate, conv2d, dense, features, full_conv2d, subsample};

type Train = Autodiff<Flex>;

#[derive(Parser, Debug)]
#[command(about = "LeNet-5's time per layer and per pass on flex")]
struct Args {
    /// Images per batch.
    #[arg(long, default_value_t = 128)]
    batch: usize,
    /// Networks, comma-separated: classic, keras.
    #[arg(long, value_delimiter = ',', default_value = "classic,keras")]
    variants: Vec<Variant>,
    /// Timed runs of each measurement (the median is printed).
    #[arg(long, default_value_t = 50)]
    reps: usize,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

/// What flows between layers: feature maps, or units after C5.
#[derive(Clone)]
enum Act<B: Backend> {
    Maps(Tensor<B, 4>),
    Units(Tensor<B, 2>),
}

impl<B: Backend> Act<B> {
    fn maps(self) -> Tensor<B, 4> {
        match self {
            Act::Maps(maps) => maps,
            Act::Units(_) => unreachable!("a layer before C5 gets maps"),
        }
    }

    fn units(self) -> Tensor<B, 2> {
        match self {
            Act::Units(units) => units,
            Act::Maps(maps) => maps.flatten(1, 3),
        }
    }

    fn sum(self) -> Tensor<B, 1> {
        match self {
            Act::Maps(maps) => maps.sum(),
            Act::Units(units) => units.sum(),
        }
    }

    fn detached_with_grad(self) -> Self {
        match self {
            Act::Maps(maps) => Act::Maps(maps.detach().require_grad()),
            Act::Units(units) => Act::Units(units.detach().require_grad()),
        }
    }

    /// Waits for the backend: reads one value back.
    fn sync(&self) {
        let _ = self.clone().sum().into_data();
    }
}

const LAYERS: [&str; 7] = ["C1", "S2", "C3", "S4", "C5", "F6", "output"];

/// Layer `index` of `model` (the order of [`LAYERS`]), as `LeNet5::forward` runs it.
fn layer<B: Backend>(model: &LeNet5<B>, index: usize, x: Act<B>) -> Act<B> {
    let variant = model.variant();
    let (activation, pooling) = (variant.activation(), variant.pooling());
    match index {
        0 => Act::Maps(conv2d(&model.c1, x.maps(), activation)),
        1 | 3 => Act::Maps(subsample(x.maps(), pooling)),
        2 => match &model.c3 {
            C3::Full(conv) => Act::Maps(conv2d(conv, x.maps(), activation)),
            C3::Table(_) => unimplemented!("the paper's network is not measured here"),
        },
        4 => {
            let units = match &model.c5 {
                C5::Conv(conv) => full_conv2d(conv, x.maps()),
                C5::Dense(layer) => dense(layer, x.units()),
            };
            Act::Units(activate(units, activation))
        }
        5 => Act::Units(activate(dense(&model.f6, x.units()), activation)),
        _ => match &model.output {
            Output::Dense(layer) => Act::Units(dense(layer, x.units())),
            Output::Rbf(_) => unimplemented!("the paper's network is not measured here"),
        },
    }
}

/// Runs before the timed ones, to fill caches and the allocator's pools.
const WARM_UP: usize = 5;

/// Median seconds of `run` over `reps` runs after [`WARM_UP`] runs.
fn median_seconds(reps: usize, mut run: impl FnMut()) -> f64 {
    median_parts(reps, |ends: &mut [Instant; 1]| {
        run();
        ends[0] = Instant::now();
    })
    .1
}

/// Medians of the `N` parts of `reps` runs after [`WARM_UP`] runs, and of the whole run: `run`
/// stamps the end of each part in `ends`. Each part is timed inside a whole run, as it runs in
/// training (a forward pass on autodiff timed on its own would also pay for dropping its graph
/// unused).
fn median_parts<const N: usize>(
    reps: usize,
    mut run: impl FnMut(&mut [Instant; N]),
) -> ([f64; N], f64) {
    let (mut parts, mut wholes) = ([const { Vec::new() }; N], Vec::new());
    for rep in 0..WARM_UP + reps {
        let start = Instant::now();
        let mut ends = [start; N];
        run(&mut ends);
        if rep >= WARM_UP {
            let mut previous = start;
            for (part, end) in parts.iter_mut().zip(ends) {
                part.push((end - previous).as_secs_f64());
                previous = end;
            }
            wholes.push((previous - start).as_secs_f64());
        }
    }
    (parts.map(median), median(wholes))
}

fn median(mut times: Vec<f64>) -> f64 {
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn main() {
    let args = Args::parse();
    // As the `train` program runs: this thread one of rayon's workers, the others kept looking
    // for work between the parallel loops, so each layer's time is what it takes in training.
    if let Err(error) = rayon::ThreadPoolBuilder::new()
        .use_current_thread()
        .build_global()
    {
        eprintln!("layers: warning: rayon's default thread pool, not this thread in it: {error}");
    }
    train::pool::with_workers_looking(|| run(&args));
}

fn run(args: &Args) {
    println!(
        "# LeNet-5 per layer and per pass, flex, batch {}\n",
        args.batch
    );
    let (limit, isa) = peak_gflops(rayon::current_num_threads());
    println!(
        "Medians of {} runs, milliseconds per batch; GFLOP/s from 2 FLOP per connection of the \
         lecture's table forward and 4 backward, against the measured limit of {limit:.0} \
         GFLOP/s ({isa}, {} threads); load average at start {}.\n",
        args.reps,
        rayon::current_num_threads(),
        load_average()
    );
    for &variant in &args.variants {
        measure(variant, args, limit);
    }
    println!("Load average at the end: {}.", load_average());
}

fn measure(variant: Variant, args: &Args, limit: f64) {
    let device = Default::default();
    let model: LeNet5<Train> = LeNet5Config::new().with_variant(variant).init(&device);
    let inner = model.valid();
    let side = variant.input_size();
    let images = Tensor::<Train, 4>::random(
        [args.batch, 1, side, side],
        Distribution::Normal(0.0, 1.0),
        &device,
    );
    let targets = Tensor::<Train, 1, Int>::from_data(
        TensorData::new(
            (0..args.batch as i64).map(|i| i % 10).collect::<Vec<_>>(),
            [args.batch],
        ),
        &device,
    );

    // Each layer's input, on both backends.
    let mut inputs = vec![Act::Maps(images.clone())];
    for index in 0..LAYERS.len() - 1 {
        let next = layer(&model, index, inputs[index].clone());
        inputs.push(next);
    }
    let ms = |seconds: f64| 1e3 * seconds;
    println!("## {variant}\n");
    let connections: Vec<f64> = model
        .summary()
        .layers
        .iter()
        .map(|layer| layer.connections as f64 * args.batch as f64)
        .collect();
    let share = |flop: f64, seconds: f64| {
        let gflops = flop / seconds / 1e9;
        format!("{gflops:.1} ({:.0}%)", 100.0 * gflops / limit)
    };
    println!(
        "| layer | forward (flex) | GFLOP/s (share) | backward (autodiff) | GFLOP/s (share) | forward on autodiff |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    let (mut forward_total, mut backward_total) = (0.0, 0.0);
    for (index, name) in LAYERS.iter().enumerate() {
        let input = inputs[index].clone();
        let inner_input = match &input {
            Act::Maps(maps) => Act::Maps(maps.clone().inner()),
            Act::Units(units) => Act::Units(units.clone().inner()),
        };
        let forward = median_seconds(args.reps, || {
            layer(&inner, index, inner_input.clone()).sync();
        });
        // The images need no gradient; every later layer's input does.
        let tracked = |x: Act<Train>| {
            if index == 0 {
                x
            } else {
                x.detached_with_grad()
            }
        };
        let ([forward_autodiff, backward], _) = median_parts(args.reps, |ends| {
            let y = layer(&model, index, tracked(input.clone()));
            y.sync();
            ends[0] = Instant::now();
            let _grads = y.sum().backward();
            ends[1] = Instant::now();
        });
        forward_total += forward;
        backward_total += backward;
        println!(
            "| {name} | {:.3} | {} | {:.3} | {} | {:.3} |",
            ms(forward),
            share(2.0 * connections[index], forward),
            ms(backward),
            share(4.0 * connections[index], backward),
            ms(forward_autodiff)
        );
    }
    let total: f64 = connections.iter().sum();
    println!(
        "| **layers** | **{:.3}** | {} | **{:.3}** | {} | |\n",
        ms(forward_total),
        share(2.0 * total, forward_total),
        ms(backward_total),
        share(4.0 * total, backward_total)
    );

    // Inference: C1 to S4 in one pass per image, and the whole forward pass.
    let inner_images = images.clone().inner();
    println!("| inference (flex) | ms | GFLOP/s (share) |\n|---|---:|---:|");
    if let C3::Full(c3) = &inner.c3 {
        let one_pass = median_seconds(args.reps, || {
            let (activation, pooling) = (variant.activation(), variant.pooling());
            Act::Maps(features(
                inner_images.clone(),
                &inner.c1,
                c3,
                activation,
                pooling,
            ))
            .sync();
        });
        let feature_connections: f64 = connections[..4].iter().sum();
        println!(
            "| C1 to S4, one pass per image (`lenet_kernels::features`) | {:.3} | {} |",
            ms(one_pass),
            share(2.0 * feature_connections, one_pass)
        );
    }
    let whole = median_seconds(args.reps, || {
        Act::Units(inner.forward(inner_images.clone())).sync();
    });
    println!(
        "| the whole forward pass (`LeNet5::forward`) | {:.3} | {} |\n",
        ms(whole),
        share(2.0 * total, whole)
    );

    // A whole step, without the Learner, and its parts.
    let loss_fn = CrossEntropyLossConfig::new().init(&device);
    // Adam as `train` runs it (Burn's defaults).
    let mut optimizer: OptimizerAdaptor<FusedAdam, LeNet5<Train>, Train> =
        FusedAdam::new(0.9, 0.999, 1e-5, None).into();
    let mut model = model;
    let ([forward, backward, update], step) = median_parts(args.reps, |ends| {
        let loss = loss_fn.forward(model.forward(images.clone()), targets.clone());
        ends[0] = Instant::now();
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        ends[1] = Instant::now();
        model = optimizer.step(1e-3, model.clone(), grads);
        ends[2] = Instant::now();
    });
    println!("| a training step (autodiff, no Learner) | ms | share |");
    println!("|---|---:|---:|");
    for (part, seconds) in [
        ("forward and loss", forward),
        ("backward", backward),
        ("Adam's update", update),
    ] {
        println!(
            "| {part} | {:.3} | {:.0}% |",
            ms(seconds),
            100.0 * seconds / step
        );
    }
    println!(
        "| **step** | **{:.3}** | {} images/s |\n",
        ms(step),
        (args.batch as f64 / step).round()
    );
}
