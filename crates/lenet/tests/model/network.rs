//! The network's shapes, parameter counts, forward pass and weight files on ndarray.

use crate::common::{fixed_images, fixed_model, networks, pattern, values};
use burn::{backend::NdArray, module::Module};
use lenet::{C1Padding, C3, C5, LayerKind, LeNet5, LeNet5Config, LeNetError, Output, Variant};

type B = NdArray;

fn device() -> burn::tensor::Device<B> {
    Default::default()
}

#[test]
fn logits_have_one_row_per_image_and_ten_columns() {
    for config in networks() {
        let variant = config.variant;
        let model = config.init::<B>(&device());
        for batch in [1, 7] {
            let logits = model.forward(fixed_images(variant, batch, &device()));
            assert_eq!(logits.dims(), [batch, 10], "{variant}, batch {batch}");
            let prediction = model.predict(fixed_images(variant, batch, &device()));
            assert_eq!(prediction.probabilities.dims(), [batch, 10]);
            assert_eq!(prediction.classes.dims(), [batch]);
        }
    }
}

#[test]
fn predict_returns_softmax_rows_and_their_argmax() {
    let model = fixed_model::<B>(&LeNet5Config::new(), &device());
    let images = fixed_images(Variant::Classic, 3, &device());
    let logits = values(model.forward(images.clone()));
    let prediction = model.predict(images);
    let probabilities = values(prediction.probabilities);
    let classes: Vec<i64> = prediction.classes.into_data().to_vec().unwrap();
    for row in 0..3 {
        let logits = &logits[row * 10..row * 10 + 10];
        let probs = &probabilities[row * 10..row * 10 + 10];
        let max = logits.iter().cloned().fold(f32::MIN, f32::max);
        let exp: Vec<f32> = logits.iter().map(|l| (l - max).exp()).collect();
        let sum: f32 = exp.iter().sum();
        for (p, e) in probs.iter().zip(&exp) {
            assert!((p - e / sum).abs() < 1e-6);
        }
        let argmax = (0..10)
            .max_by(|&a, &b| logits[a].total_cmp(&logits[b]))
            .unwrap();
        assert_eq!(classes[row], argmax as i64);
    }
}

#[test]
fn wrong_input_shape_is_reported_with_both_shapes() {
    let model = LeNet5Config::new().init::<B>(&device());
    for dims in [[2, 1, 28, 28], [2, 3, 32, 32], [0, 1, 32, 32]] {
        let error = model.check_input(dims).unwrap_err();
        assert!(matches!(error, LeNetError::InputShape { .. }));
        let message = error.to_string();
        assert!(message.contains("[batch >= 1, 1, 32, 32]"), "{message}");
        assert!(message.contains(&format!("{dims:?}")), "{message}");
    }
    assert!(model.check_input([5, 1, 32, 32]).is_ok());
}

#[test]
#[should_panic(
    expected = "LeNet-5 \"keras\" expects images [batch >= 1, 1, 28, 28], got [1, 1, 32, 32]"
)]
fn forward_panics_on_a_wrong_shape_instead_of_broadcasting() {
    let model = LeNet5Config::new()
        .with_variant(Variant::Keras)
        .init::<B>(&device());
    model.forward(fixed_images(Variant::Classic, 1, &device()));
}

#[test]
fn summary_counts_match_the_lecture_and_burn() {
    // (C1, C3, C5) parameters; C1, C3 sizes; C1, C3 connections; total parameters.
    let paper = (
        [156, 2_416, 48_120],
        [[28, 28], [10, 10]],
        [122_304, 241_600],
        61_706,
    );
    // The Keras code as it runs: Keras' own `model.summary()` prints 44,426 parameters.
    let keras = (
        [156, 2_416, 30_840],
        [[24, 24], [8, 8]],
        [89_856, 154_624],
        44_426,
    );
    let padded = LeNet5Config::new()
        .with_variant(Variant::Keras)
        .with_c1_padding(C1Padding::Same);
    for (config, (params, sizes, connections, total)) in [
        (LeNet5Config::new(), paper),
        (LeNet5Config::new().with_variant(Variant::Keras), keras),
        (padded, paper),
    ] {
        let what = format!("{} ({:?})", config.variant, config.c1_padding);
        let model = config.init::<B>(&device());
        let summary = model.summary();
        let names: Vec<_> = summary.layers.iter().map(|layer| layer.name).collect();
        assert_eq!(names, ["C1", "S2", "C3", "S4", "C5", "F6", "output"]);
        let layer = |name| summary.layer(name).unwrap();
        let expected = [
            ("C1", params[0]),
            ("S2", 0),
            ("C3", params[1]),
            ("S4", 0),
            ("C5", params[2]),
            ("F6", 10_164),
            ("output", 850),
        ];
        for (name, params) in expected {
            assert_eq!(layer(name).params, params, "{what} {name}");
        }
        assert_eq!(summary.total_params(), total, "{what}");
        assert_eq!(summary.total_params(), model.num_params(), "{what}");

        let c1 = layer("C1");
        assert_eq!(
            (c1.maps, c1.size, c1.kernel, c1.stride, c1.connections),
            (6, Some(sizes[0]), Some([5, 5]), Some(1), connections[0]),
            "{what}"
        );
        assert_eq!(layer("S2").size, Some(sizes[0].map(|side| side / 2)));
        assert_eq!(layer("C3").size, Some(sizes[1]), "{what}");
        assert_eq!(layer("C3").connections, connections[1], "{what}");
        assert_eq!(layer("S4").size, Some(sizes[1].map(|side| side / 2)));
        assert_eq!(layer("C5").connections, params[2], "{what}");
    }

    let classic = LeNet5Config::new().init::<B>(&device()).summary();
    assert_eq!(classic.input, [1, 32, 32]);
    assert_eq!(classic.layer("S2").unwrap().kind, LayerKind::AveragePooling);
    assert_eq!(classic.layer("S2").unwrap().activation, "tanh");
    assert_eq!(classic.layer("C5").unwrap().kind, LayerKind::Convolution);
    assert_eq!(classic.layer("C5").unwrap().size, Some([1, 1]));

    // The paper's own counts (Section II-B), layer by layer.
    let paper = LeNet5Config::new()
        .with_variant(Variant::LeCun1998)
        .init::<B>(&device());
    let summary = paper.summary();
    let rows: Vec<_> = summary
        .layers
        .iter()
        .map(|layer| (layer.name, layer.kind, layer.params, layer.connections))
        .collect();
    assert_eq!(
        rows,
        [
            ("C1", LayerKind::Convolution, 156, 122_304),
            ("S2", LayerKind::Subsampling, 12, 5_880),
            ("C3", LayerKind::TableConvolution, 1_516, 151_600),
            ("S4", LayerKind::Subsampling, 32, 2_000),
            ("C5", LayerKind::Convolution, 48_120, 48_120),
            ("F6", LayerKind::FullyConnected, 10_164, 10_164),
            ("output", LayerKind::Rbf, 0, 840),
        ]
    );
    assert_eq!(summary.layer("output").unwrap().fixed_params, 840);
    assert_eq!(summary.total_params(), 60_000);
    assert_eq!(
        paper.num_params(),
        60_000,
        "the unconnected C3 kernels are no parameters"
    );
    assert_eq!(summary.total_connections(), 340_908);
    assert_eq!(summary.layer("S2").unwrap().activation, "A tanh(Sa)");

    let keras = LeNet5Config::new()
        .with_variant(Variant::Keras)
        .init::<B>(&device())
        .summary();
    assert_eq!(keras.input, [1, 28, 28]);
    assert_eq!(keras.layer("S2").unwrap().kind, LayerKind::MaxPooling);
    assert_eq!(keras.layer("C1").unwrap().activation, "relu");
    assert_eq!(keras.layer("C5").unwrap().kind, LayerKind::FullyConnected);
}

#[test]
fn summary_display_shows_the_table() {
    let text = LeNet5Config::new()
        .init::<B>(&device())
        .summary()
        .to_string();
    assert!(
        text.contains("LeNet-5 \"classic\", C1 padding \"valid\", input 1x32x32"),
        "{text}"
    );
    assert!(text.contains("| C1     | convolution     |    6 | 28x28 | 5x5    |      1 | tanh       |        156 |     122,304 |"), "{text}");
    assert!(text.contains("|     61,706 |"), "{text}");
}

/// A plain f64 implementation of both variants, written from the paper and the Keras code
/// rather than from the crate.
mod reference {
    pub struct Weights {
        pub c1: (Vec<f32>, Vec<f32>),
        /// The paper's S2 and S4: coefficients and biases per map.
        pub s2: Option<(Vec<f32>, Vec<f32>)>,
        pub s4: Option<(Vec<f32>, Vec<f32>)>,
        /// Full `[16][6][5][5]` or, in the paper's network, the 60 kept kernels.
        pub c3: (Vec<f32>, Vec<f32>),
        pub c5: (Vec<f32>, Vec<f32>),
        pub f6: (Vec<f32>, Vec<f32>),
        pub output: (Vec<f32>, Vec<f32>),
    }

    /// Images `[c][h][w]` flattened; weights `[out][in][5][5]`.
    fn conv(
        x: &[f64],
        c: usize,
        side: usize,
        pad: usize,
        (w, b): &(Vec<f32>, Vec<f32>),
    ) -> (Vec<f64>, usize) {
        let out_c = b.len();
        let out = side + 2 * pad - 4;
        let mut y = vec![0.0; out_c * out * out];
        for o in 0..out_c {
            for i in 0..out {
                for j in 0..out {
                    let mut sum = b[o] as f64;
                    for ci in 0..c {
                        for ki in 0..5 {
                            for kj in 0..5 {
                                let (si, sj) = (
                                    (i + ki) as isize - pad as isize,
                                    (j + kj) as isize - pad as isize,
                                );
                                if si < 0 || sj < 0 || si >= side as isize || sj >= side as isize {
                                    continue;
                                }
                                let xv = x[(ci * side + si as usize) * side + sj as usize];
                                sum += xv * w[((o * c + ci) * 5 + ki) * 5 + kj] as f64;
                            }
                        }
                    }
                    y[(o * out + i) * out + j] = sum;
                }
            }
        }
        (y, out)
    }

    fn pool(x: &[f64], c: usize, side: usize, max: bool) -> (Vec<f64>, usize) {
        let out = side / 2;
        let mut y = vec![0.0; c * out * out];
        for ci in 0..c {
            for i in 0..out {
                for j in 0..out {
                    let window = [(0, 0), (0, 1), (1, 0), (1, 1)]
                        .map(|(di, dj)| x[(ci * side + 2 * i + di) * side + 2 * j + dj]);
                    y[(ci * out + i) * out + j] = if max {
                        window.iter().cloned().fold(f64::MIN, f64::max)
                    } else {
                        window.iter().sum::<f64>() / 4.0
                    };
                }
            }
        }
        (y, out)
    }

    /// Burn's `Linear` stores its weight as `[inputs, outputs]`.
    fn dense(x: &[f64], (w, b): &(Vec<f32>, Vec<f32>)) -> Vec<f64> {
        let outputs = b.len();
        (0..outputs)
            .map(|o| {
                b[o] as f64
                    + x.iter()
                        .enumerate()
                        .map(|(i, xv)| xv * w[i * outputs + o] as f64)
                        .sum::<f64>()
            })
            .collect()
    }

    /// Every layer's output after its activation: C1, S2, C3, S4, C5, F6, the logits.
    pub fn classic(image: &[f64], w: &Weights) -> Vec<Vec<f64>> {
        let tanh = |x: Vec<f64>| -> Vec<f64> { x.iter().map(|v| v.tanh()).collect() };
        let (c1, s) = conv(image, 1, 32, 0, &w.c1);
        let c1 = tanh(c1);
        let (s2, s) = pool(&c1, 6, s, false);
        let s2 = tanh(s2);
        let (c3, s) = conv(&s2, 6, s, 0, &w.c3);
        let c3 = tanh(c3);
        let (s4, s) = pool(&c3, 16, s, false);
        let s4 = tanh(s4);
        let c5 = tanh(conv(&s4, 16, s, 0, &w.c5).0);
        let f6 = tanh(dense(&c5, &w.f6));
        let logits = dense(&f6, &w.output);
        vec![c1, s2, c3, s4, c5, f6, logits]
    }

    /// The paper's Table I, as printed: for each S2 map (row), the C3 maps (columns) it feeds.
    const TABLE_I: [&str; 6] = [
        "X...XXX..XXXX.XX",
        "XX...XXX..XXXX.X",
        "XXX...XXX..X.XXX",
        ".XXX..XXXX..X.XX",
        "..XXX..XXXX.XX.X",
        "...XXX..XXXX.XXX",
    ];

    /// The paper's network (Section II-B): f(a) = 1.7159 tanh(2a/3); S2 and S4 sum each window,
    /// scale and shift per map; C3 by Table I from the kept kernels (map by map, each map's S2
    /// maps in increasing order); RBF outputs against `bitmaps`, the logits their negation.
    pub fn lecun1998(image: &[f64], w: &Weights, bitmaps: &[Vec<f32>]) -> Vec<Vec<f64>> {
        let f = |x: Vec<f64>| -> Vec<f64> {
            x.iter().map(|v| 1.7159 * (v * 2.0 / 3.0).tanh()).collect()
        };
        let subsample = |x: &[f64], c: usize, side: usize, (k, b): &(Vec<f32>, Vec<f32>)| {
            let (mean, out) = pool(x, c, side, false);
            let per_map = out * out;
            let y = mean
                .iter()
                .enumerate()
                .map(|(i, m)| 4.0 * m * k[i / per_map] as f64 + b[i / per_map] as f64)
                .collect();
            (f(y), out)
        };
        let (c1, s) = conv(image, 1, 32, 0, &w.c1);
        let c1 = f(c1);
        let (s2, s) = subsample(&c1, 6, s, w.s2.as_ref().unwrap());
        let mut full = vec![0.0f32; 16 * 6 * 25];
        let mut next = 0;
        for map in 0..16 {
            for input in 0..6 {
                if TABLE_I[input].as_bytes()[map] == b'X' {
                    let kernel = &w.c3.0[next * 25..(next + 1) * 25];
                    full[(map * 6 + input) * 25..][..25].copy_from_slice(kernel);
                    next += 1;
                }
            }
        }
        assert_eq!(next, 60);
        let (c3, s) = conv(&s2, 6, s, 0, &(full, w.c3.1.clone()));
        let c3 = f(c3);
        let (s4, s) = subsample(&c3, 16, s, w.s4.as_ref().unwrap());
        let c5 = f(conv(&s4, 16, s, 0, &w.c5).0);
        let f6 = f(dense(&c5, &w.f6));
        let logits = bitmaps
            .iter()
            .map(|bitmap| {
                -f6.iter()
                    .zip(bitmap)
                    .map(|(x, &c)| (x - c as f64).powi(2))
                    .sum::<f64>()
            })
            .collect();
        vec![c1, s2, c3, s4, c5, f6, logits]
    }

    /// As [`classic`]; max pooling has no activation of its own. `pad` is C1's padding.
    pub fn keras(image: &[f64], w: &Weights, pad: usize) -> Vec<Vec<f64>> {
        let relu = |x: Vec<f64>| -> Vec<f64> { x.iter().map(|v| v.max(0.0)).collect() };
        let (c1, s) = conv(image, 1, 28, pad, &w.c1);
        let c1 = relu(c1);
        let (s2, s) = pool(&c1, 6, s, true);
        let (c3, s) = conv(&s2, 6, s, 0, &w.c3);
        let c3 = relu(c3);
        let (s4, _) = pool(&c3, 16, s, true);
        let c5 = relu(dense(&s4, &w.c5));
        let f6 = relu(dense(&c5, &w.f6));
        let logits = dense(&f6, &w.output);
        vec![c1, s2, c3, s4, c5, f6, logits]
    }
}

fn weights(model: &LeNet5<B>) -> reference::Weights {
    let pair = |w: Vec<f32>, b: Option<Vec<f32>>| (w, b.expect("layers have biases"));
    let conv = |c: &burn::nn::conv::Conv2d<B>| {
        pair(
            values(c.weight.val()),
            c.bias.as_ref().map(|b| values(b.val())),
        )
    };
    let dense = |d: &burn::nn::Linear<B>| {
        pair(
            values(d.weight.val()),
            d.bias.as_ref().map(|b| values(b.val())),
        )
    };
    let subsampling = |layer: &Option<lenet::Subsampling<B>>| {
        layer
            .as_ref()
            .map(|layer| (values(layer.coefficient.val()), values(layer.bias.val())))
    };
    reference::Weights {
        c1: conv(&model.c1),
        s2: subsampling(&model.s2),
        s4: subsampling(&model.s4),
        c3: match &model.c3 {
            C3::Full(c) => conv(c),
            C3::Table(t) => (values(t.kernels.val()), values(t.bias.val())),
        },
        c5: match &model.c5 {
            C5::Conv(c) => conv(c),
            C5::Dense(d) => dense(d),
        },
        f6: dense(&model.f6),
        output: match &model.output {
            Output::Dense(d) => dense(d),
            Output::Rbf(_) => (Vec::new(), Vec::new()),
        },
    }
}

#[test]
fn every_layer_matches_an_independent_f64_implementation() {
    for config in networks() {
        let variant = config.variant;
        let model = fixed_model::<B>(&config, &device());
        let side = variant.input_size();
        let batch = 3;
        let pixels = pattern(batch * side * side, 0.5, 1.0);
        let images = fixed_images(variant, batch, &device());
        let layers = model.forward_layers(images.clone());
        let got = [
            values(layers.c1),
            values(layers.s2),
            values(layers.c3),
            values(layers.s4),
            values(layers.c5),
            values(layers.f6),
            values(layers.logits),
        ];
        assert_eq!(values(model.forward(images)), got[6], "forward's logits");
        let w = weights(&model);
        for image in 0..batch {
            let x: Vec<f64> = pixels[image * side * side..(image + 1) * side * side]
                .iter()
                .map(|&v| v as f64)
                .collect();
            let expected = match variant {
                Variant::Classic => reference::classic(&x, &w),
                Variant::Keras => reference::keras(
                    &x,
                    &w,
                    match config.c1_padding {
                        C1Padding::Valid => 0,
                        C1Padding::Same => 2,
                    },
                ),
                Variant::LeCun1998 => reference::lecun1998(&x, &w, &lenet::rbf_bitmaps()),
            };
            let logits = &expected[6];
            let spread = logits.iter().cloned().fold(f64::MIN, f64::max)
                - logits.iter().cloned().fold(f64::MAX, f64::min);
            assert!(
                spread > 0.1,
                "{variant}: logits too uniform to test anything: {logits:?}"
            );
            for (layer, (got, want)) in ["C1", "S2", "C3", "S4", "C5", "F6", "output"]
                .iter()
                .zip(got.iter().zip(&expected))
            {
                let per_image = want.len();
                let got = &got[image * per_image..(image + 1) * per_image];
                for (k, (&got, want)) in got.iter().zip(want).enumerate() {
                    assert!(
                        (got as f64 - want).abs() < 1e-4,
                        "{variant} image {image} {layer}[{k}]: {got} vs {want}"
                    );
                }
            }
        }
    }
}

#[test]
fn layer_outputs_have_the_summarys_shapes() {
    for config in networks() {
        let variant = config.variant;
        let model = fixed_model::<B>(&config, &device());
        let layers = model.forward_layers(fixed_images(variant, 2, &device()));
        let maps = |dims: [usize; 4]| (dims[0], dims[1], Some([dims[2], dims[3]]));
        let units = |dims: [usize; 2]| (dims[0], dims[1], None);
        let shapes = [
            ("C1", maps(layers.c1.dims())),
            ("S2", maps(layers.s2.dims())),
            ("C3", maps(layers.c3.dims())),
            ("S4", maps(layers.s4.dims())),
            ("C5", units(layers.c5.dims())),
            ("F6", units(layers.f6.dims())),
            ("output", units(layers.logits.dims())),
        ];
        let summary = model.summary();
        assert_eq!(summary.layers.len(), shapes.len(), "{variant}");
        for (layer, (name, (batch, maps, size))) in summary.layers.iter().zip(shapes) {
            assert_eq!((layer.name, batch), (name, 2), "{variant}");
            // The summary gives C5 a 1x1 size where it is a convolution.
            let size = size.or(layer.size.filter(|&size| size == [1, 1]));
            assert_eq!((layer.maps, layer.size), (maps, size), "{variant} {name}");
        }
    }
}

#[test]
fn saved_weights_reload_bit_identical() {
    let dir = tempfile::tempdir().unwrap();
    for config in networks() {
        let variant = config.variant;
        let model = fixed_model::<B>(&config, &device());
        let path = dir
            .path()
            .join(format!("{variant}-{:?}.mpk", config.c1_padding));
        model.save(&path).unwrap();
        let loaded = lenet::load_file::<B>(&path, Some(&config), &device()).unwrap();
        assert_eq!(loaded.config(), config);
        let images = fixed_images(variant, 4, &device());
        let before = values(model.forward(images.clone()));
        let after = values(loaded.forward(images));
        assert_eq!(
            before.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            after.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );

        let detected =
            lenet::load_bytes::<B>(&std::fs::read(&path).unwrap(), None, &device()).unwrap();
        assert_eq!(detected.config(), config);
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers.len(),
        networks().len(),
        "no temporary files left: {leftovers:?}"
    );
}

#[test]
fn bad_weight_files_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("keras.mpk");
    fixed_model::<B>(&LeNet5Config::new().with_variant(Variant::Keras), &device())
        .save(&good)
        .unwrap();
    let bytes = std::fs::read(&good).unwrap();

    let missing = dir.path().join("missing.mpk");
    let error = lenet::load_file::<B>(&missing, None, &device()).unwrap_err();
    assert!(matches!(error, LeNetError::NotFound { .. }), "{error}");
    assert!(error.to_string().contains("missing.mpk"));

    let truncated = dir.path().join("truncated.mpk");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let error = lenet::load_file::<B>(&truncated, None, &device()).unwrap_err();
    assert!(matches!(error, LeNetError::Decode { .. }), "{error}");
    assert!(error.to_string().contains("truncated.mpk"));

    let garbage = dir.path().join("garbage.mpk");
    std::fs::write(&garbage, b"this is not a model").unwrap();
    let error = lenet::load_file::<B>(&garbage, None, &device()).unwrap_err();
    assert!(matches!(error, LeNetError::Decode { .. }), "{error}");

    let classic = LeNet5Config::new();
    let error = lenet::load_file::<B>(&good, Some(&classic), &device()).unwrap_err();
    assert!(
        matches!(
            &error,
            LeNetError::ConfigMismatch { expected, found, .. }
                if *expected == classic && found.variant == Variant::Keras
        ),
        "{error}"
    );
    assert!(error.to_string().contains("keras.mpk"));
    // The Keras code as it runs and its comments' form differ in C1's padding only.
    let padded = LeNet5Config::new()
        .with_variant(Variant::Keras)
        .with_c1_padding(C1Padding::Same);
    let error = lenet::load_file::<B>(&good, Some(&padded), &device()).unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("holds a LeNet-5 with variant = \"keras\", c1_padding = \"valid\"")
            && message
                .contains("one with variant = \"keras\", c1_padding = \"same\" was asked for"),
        "{message}"
    );
}

#[test]
fn files_burn_panicked_on_are_errors_not_panics() {
    // Found by the `record` fuzz target: tensors whose bytes do not fit their type (an f64
    // tensor of 5 bytes), on which Burn's conversion to f32 panicked.
    let files: [&[u8]; 2] = [
        include_bytes!("../data/fuzz-record-1.mpk"),
        include_bytes!("../data/fuzz-record-2.mpk"),
    ];
    for (index, bytes) in files.into_iter().enumerate() {
        let error = lenet::load_bytes::<B>(bytes, None, &device()).unwrap_err();
        assert!(
            matches!(error, LeNetError::Decode { .. }),
            "file {index}: {error}"
        );
    }
}

#[test]
fn a_record_with_wrong_shapes_is_rejected() {
    let mut model = LeNet5Config::new().init::<B>(&device());
    model.f6 = burn::nn::LinearConfig::new(120, 50).init(&device());
    let bytes = model.to_bytes();
    let error = lenet::load_bytes::<B>(&bytes, None, &device()).unwrap_err();
    match error {
        LeNetError::ParamShape {
            param,
            expected,
            found,
            ..
        } => {
            assert!(param.contains("f6"), "{param}");
            assert_eq!(expected, [120, 84]);
            assert_eq!(found, [120, 50]);
        }
        other => panic!("expected a shape error, got {other}"),
    }
}

#[test]
fn variant_names_parse_and_reject_unknown_ones() {
    assert_eq!("classic".parse::<Variant>().unwrap(), Variant::Classic);
    assert_eq!("keras".parse::<Variant>().unwrap(), Variant::Keras);
    assert_eq!("lecun1998".parse::<Variant>().unwrap(), Variant::LeCun1998);
    let error = "lenet".parse::<Variant>().unwrap_err();
    assert!(error.to_string().contains("\"lenet\""));
    assert_eq!(LeNet5Config::new().variant, Variant::Classic);
}

/// Every weight and every bias takes part in training, in a new network and in one loaded
/// from a file (the optimiser only updates parameters that receive a gradient).
#[test]
fn every_parameter_of_a_new_or_loaded_network_gets_a_gradient() {
    use burn::{backend::Autodiff, optim::GradientsParams};
    type Ad = Autodiff<NdArray>;
    for config in networks() {
        let variant = config.variant;
        let fresh = config.init::<Ad>(&device());
        let loaded = lenet::load_bytes::<Ad>(&fresh.to_bytes(), Some(&config), &device()).unwrap();
        for (origin, model) in [("new", fresh), ("loaded", loaded)] {
            let loss = model.forward(fixed_images(variant, 2, &device())).sum();
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            // Weight and bias of C1, C3, C5, F6 and a dense output; the paper's network has
            // S2's and S4's coefficients and biases instead of the output's.
            let tensors = match variant {
                Variant::LeCun1998 => 12,
                _ => 10,
            };
            assert_eq!(
                grads.len(),
                tensors,
                "{variant} ({origin}): parameters with a gradient"
            );
        }
    }
}
