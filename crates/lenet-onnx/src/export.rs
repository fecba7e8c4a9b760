//! A LeNet-5 as an ONNX graph: each of the network's layers as the ONNX operators that compute
//! what `lenet` computes, its weights as initializers.

use burn::config::Config;
use burn::nn::{Linear, conv::Conv2d};
use burn::prelude::*;
use lenet::{
    C1Padding, C3, C5, Classifier, LeNet5, Output, SCALED_TANH_AMPLITUDE, SCALED_TANH_SLOPE,
    Subsampling, Variant,
};
use prost::Message;

use crate::graph::{Attr, Graph, batch_value};
use crate::proto::{ModelProto, OperatorSetIdProto, StringStringEntryProto};

/// The ONNX operator set the graph is written for: every operator used here has had its
/// current form since 13, which onnxruntime, onnxruntime-web and Netron all read.
pub const OPSET: i64 = 13;
/// The file format version that goes with [`OPSET`] (ONNX's IR version 7).
pub const IR_VERSION: i64 = 7;

/// The graph's input, `[batch, 1, side, side]`: the variant's input tensor, as
/// [`lenet::InputConfig::to_tensor`] makes it.
pub const INPUT: &str = "input";
/// The graph's first output, `[batch, 10]`: [`LeNet5::forward`]'s logits (the paper's
/// network: its RBF units' distances, negated).
pub const LOGITS: &str = "logits";
/// The graph's second output, `[batch, 10]`: the softmax of the logits, as
/// [`LeNet5::predict`]'s probabilities.
pub const PROBABILITIES: &str = "probabilities";
/// The layers' outputs, in order, as [`lenet::LayerOutputs`] names them; graph outputs too
/// with [`OnnxConfig::layer_outputs`].
pub const LAYERS: [&str; 6] = ["c1", "s2", "c3", "s4", "c5", "f6"];

/// How a network is written as ONNX.
#[derive(Config, Debug)]
pub struct OnnxConfig {
    /// Also output every hidden layer's activations (`c1`, `s2`, `c3`, `s4` as maps, `c5`,
    /// `f6` as units), as [`LeNet5::forward_layers`] does: for pictures of what the network
    /// sees. Off, the graph's outputs are the logits and the probabilities.
    #[config(default = false)]
    pub layer_outputs: bool,
}

impl OnnxConfig {
    /// The ONNX model (a serialised `ModelProto`) of `classifier`'s network, with its input
    /// step and configuration and the caller's `metadata` (a test accuracy, say) as the
    /// model's metadata.
    pub fn to_bytes<B: Backend>(
        &self,
        classifier: &Classifier<B>,
        metadata: &[(String, String)],
    ) -> Vec<u8> {
        self.to_model(classifier, metadata).encode_to_vec()
    }

    /// [`OnnxConfig::to_bytes`], written to `file` in one step: a reader sees the old file
    /// or the new one, never half of one.
    pub fn to_file<B: Backend>(
        &self,
        classifier: &Classifier<B>,
        metadata: &[(String, String)],
        file: &std::path::Path,
    ) -> Result<(), crate::OnnxError> {
        let bytes = self.to_bytes(classifier, metadata);
        write_atomically(file, &bytes).map_err(|source| crate::OnnxError::Write {
            file: file.into(),
            source,
        })
    }

    fn to_model<B: Backend>(
        &self,
        classifier: &Classifier<B>,
        metadata: &[(String, String)],
    ) -> ModelProto {
        let model = classifier.model();
        let input = classifier.input();
        let variant = model.variant();
        let side = variant.input_size();

        let mut graph = Graph::default();
        let outputs = layers(&mut graph, model);

        // The shapes of the outputs, read off one forward pass rather than derived again.
        let device = model.devices().into_iter().next().unwrap_or_default();
        let layers = model.forward_layers(Tensor::zeros([1, 1, side, side], &device));
        let maps = |t: &Tensor<B, 4>| t.dims()[1..].to_vec();
        let units = |t: &Tensor<B, 2>| t.dims()[1..].to_vec();
        let shapes = [
            maps(&layers.c1),
            maps(&layers.s2),
            maps(&layers.c3),
            maps(&layers.s4),
            units(&layers.c5),
            units(&layers.f6),
        ];

        let mut graph_outputs = vec![
            batch_value(LOGITS, &[10], "the logits, as lenet's LeNet5::forward"),
            batch_value(PROBABILITIES, &[10], "softmax of the logits"),
        ];
        if self.layer_outputs {
            for ((name, value), shape) in LAYERS.iter().zip(&outputs).zip(&shapes) {
                debug_assert_eq!(name, value);
                graph_outputs.push(batch_value(name, shape, "a hidden layer's activations"));
            }
        }
        let doc = format!(
            "LeNet-5 \"{variant}\" from lenet-burn. Input: {INPUT} [batch, 1, {side}, {side}], \
             MNIST digits (28x28, 0 background, 255 ink) padded by {} and normalised \
             ({:?}); see the metadata's lenet.input. Outputs: {LOGITS} and {PROBABILITIES} \
             [batch, 10].",
            input.padding, input.normalization
        );
        let graph = graph.finish(
            &format!("lenet5_{variant}"),
            doc.clone(),
            vec![batch_value(
                INPUT,
                &[1, side, side],
                "the variant's input tensor",
            )],
            graph_outputs,
        );

        let mut props = vec![
            ("lenet.variant".to_owned(), variant.name().to_owned()),
            ("lenet.model".to_owned(), model.config().to_string()),
            ("lenet.input".to_owned(), input.to_string()),
        ];
        props.extend(metadata.iter().cloned());
        ModelProto {
            ir_version: IR_VERSION,
            opset_import: vec![OperatorSetIdProto {
                domain: String::new(),
                version: OPSET,
            }],
            producer_name: "lenet-burn".into(),
            producer_version: env!("CARGO_PKG_VERSION").into(),
            doc_string: doc,
            graph: Some(graph),
            metadata_props: props
                .into_iter()
                .map(|(key, value)| StringStringEntryProto { key, value })
                .collect(),
        }
    }
}

/// Adds the network's nodes, from [`INPUT`] to [`LOGITS`] and [`PROBABILITIES`]; returns the
/// names of the hidden layers' outputs ([`LAYERS`]).
fn layers<B: Backend>(graph: &mut Graph, model: &LeNet5<B>) -> Vec<String> {
    let variant = model.variant();
    let mut act = Activate::new(graph, variant);
    let c1_padding = match model.config().c1_padding {
        C1Padding::Valid => 0,
        C1Padding::Same => 2,
    };
    let x = convolution(act.graph, "C1", INPUT, &model.c1, c1_padding);
    let c1 = act.apply("C1", &x, "c1");
    let s2 = subsampling(&mut act, "S2", &c1, model.s2.as_ref(), "s2");
    let x = match &model.c3 {
        C3::Full(conv) => convolution(act.graph, "C3", &s2, conv, 0),
        // The paper's connection table as the full [16, 6, 5, 5] weight with the kernels it
        // leaves out at zero: what lenet convolves with too.
        C3::Table(table) => conv_node(
            act.graph,
            "C3",
            &s2,
            table.weight(),
            Some(table.bias.val()),
            0,
        ),
    };
    let c3 = act.apply("C3", &x, "c3");
    let s4 = subsampling(&mut act, "S4", &c3, model.s4.as_ref(), "s4");
    let x = match &model.c5 {
        C5::Conv(conv) => {
            let maps = convolution(act.graph, "C5", &s4, conv, 0);
            act.graph.node(
                "Flatten",
                "C5/flatten",
                &[&maps],
                "C5/units",
                vec![("axis", Attr::Int(1))],
            )
        }
        C5::Dense(dense) => {
            let flat = act.graph.node(
                "Flatten",
                "C5/flatten",
                &[&s4],
                "C5/flat",
                vec![("axis", Attr::Int(1))],
            );
            gemm(act.graph, "C5", &flat, dense, "C5/gemm")
        }
    };
    let c5 = act.apply("C5", &x, "c5");
    let x = gemm(act.graph, "F6", &c5, &model.f6, "F6/gemm");
    let f6 = act.apply("F6", &x, "f6");
    let graph = act.graph;
    match &model.output {
        Output::Dense(dense) => {
            gemm(graph, "output", &f6, dense, LOGITS);
        }
        Output::Rbf(rbf) => {
            // y_i = sum_j (f6_j - centre_ij)^2, the logits its negation (as lenet's).
            let [units, inputs] = rbf.centres.dims();
            let centres = graph.weight(
                "output.centres",
                &[units, inputs],
                &values(rbf.centres.clone()),
            );
            let axis_1 = graph.int64s("output/axis_1", &[1]);
            let axis_2 = graph.int64s("output/axis_2", &[2]);
            let rows = graph.node(
                "Unsqueeze",
                "output/unsqueeze",
                &[&f6, &axis_1],
                "output/rows",
                vec![],
            );
            let difference = graph.node(
                "Sub",
                "output/difference",
                &[&rows, &centres],
                "output/difference",
                vec![],
            );
            let squares = graph.node(
                "Mul",
                "output/square",
                &[&difference, &difference],
                "output/squares",
                vec![],
            );
            let distances = graph.node(
                "ReduceSum",
                "output/sum",
                &[&squares, &axis_2],
                "output/distances",
                vec![("keepdims", Attr::Int(0))],
            );
            graph.node("Neg", "output/negate", &[&distances], LOGITS, vec![]);
        }
    }
    graph.node(
        "Softmax",
        "probabilities",
        &[LOGITS],
        PROBABILITIES,
        vec![("axis", Attr::Int(1))],
    );
    vec![c1, s2, c3, s4, c5, f6]
}

/// The variant's non-linearity as nodes; the paper's `A tanh(S a)` shares its two constants.
struct Activate<'g> {
    graph: &'g mut Graph,
    variant: Variant,
    scaled: Option<(String, String)>,
}

impl<'g> Activate<'g> {
    fn new(graph: &'g mut Graph, variant: Variant) -> Self {
        let scaled = (variant == Variant::LeCun1998).then(|| {
            (
                graph.weight("scaled_tanh.slope", &[], &[SCALED_TANH_SLOPE]),
                graph.weight("scaled_tanh.amplitude", &[], &[SCALED_TANH_AMPLITUDE]),
            )
        });
        Self {
            graph,
            variant,
            scaled,
        }
    }

    /// `x` through the activation, into the value `output`.
    fn apply(&mut self, layer: &str, x: &str, output: &str) -> String {
        match (&self.scaled, self.variant) {
            (Some((slope, amplitude)), _) => {
                let scaled = self.graph.node(
                    "Mul",
                    &format!("{layer}/slope"),
                    &[x, slope],
                    &format!("{layer}/scaled"),
                    vec![],
                );
                let tanh = self.graph.node(
                    "Tanh",
                    &format!("{layer}/tanh"),
                    &[&scaled],
                    &format!("{layer}/tanh"),
                    vec![],
                );
                self.graph.node(
                    "Mul",
                    &format!("{layer}/amplitude"),
                    &[&tanh, amplitude],
                    output,
                    vec![],
                )
            }
            (None, Variant::Keras) => {
                self.graph
                    .node("Relu", &format!("{layer}/relu"), &[x], output, vec![])
            }
            (None, _) => self
                .graph
                .node("Tanh", &format!("{layer}/tanh"), &[x], output, vec![]),
        }
    }
}

/// A 2x2 subsampling layer: the paper's (the window's sum times a coefficient plus a bias per
/// map, then the activation), or the variant's pooling (average then tanh, or max).
fn subsampling<B: Backend>(
    act: &mut Activate<'_>,
    layer: &str,
    x: &str,
    trainable: Option<&Subsampling<B>>,
    output: &str,
) -> String {
    let window = vec![
        ("kernel_shape", Attr::Ints(vec![2, 2])),
        ("strides", Attr::Ints(vec![2, 2])),
    ];
    if act.variant == Variant::Keras {
        return act
            .graph
            .node("MaxPool", &format!("{layer}/pool"), &[x], output, window);
    }
    let mean = act.graph.node(
        "AveragePool",
        &format!("{layer}/pool"),
        &[x],
        &format!("{layer}/mean"),
        window,
    );
    let Some(trainable) = trainable else {
        return act.apply(layer, &mean, output);
    };
    // The window's sum is 4 times its mean: the coefficient is written times 4 (both exact in
    // floating point, a power of two).
    let maps = trainable.maps();
    let coefficient: Vec<f32> = values(trainable.coefficient.val())
        .iter()
        .map(|c| 4.0 * c)
        .collect();
    let coefficient = act.graph.weight(
        &format!("{}.coefficient_x4", layer.to_lowercase()),
        &[1, maps, 1, 1],
        &coefficient,
    );
    let bias = act.graph.weight(
        &format!("{}.bias", layer.to_lowercase()),
        &[1, maps, 1, 1],
        &values(trainable.bias.val()),
    );
    let scaled = act.graph.node(
        "Mul",
        &format!("{layer}/coefficient"),
        &[&mean, &coefficient],
        &format!("{layer}/weighted"),
        vec![],
    );
    let shifted = act.graph.node(
        "Add",
        &format!("{layer}/bias"),
        &[&scaled, &bias],
        &format!("{layer}/biased"),
        vec![],
    );
    act.apply(layer, &shifted, output)
}

/// A Burn convolution layer as a Conv node with `padding` on every side.
fn convolution<B: Backend>(
    graph: &mut Graph,
    layer: &str,
    x: &str,
    conv: &Conv2d<B>,
    padding: i64,
) -> String {
    conv_node(
        graph,
        layer,
        x,
        conv.weight.val(),
        conv.bias.as_ref().map(|b| b.val()),
        padding,
    )
}

fn conv_node<B: Backend>(
    graph: &mut Graph,
    layer: &str,
    x: &str,
    weight: Tensor<B, 4>,
    bias: Option<Tensor<B, 1>>,
    padding: i64,
) -> String {
    let name = layer.to_lowercase();
    let dims = weight.dims();
    let weight = graph.weight(&format!("{name}.weight"), &dims, &values(weight));
    let mut inputs = vec![x.to_owned(), weight];
    if let Some(bias) = bias {
        let maps = bias.dims()[0];
        inputs.push(graph.weight(&format!("{name}.bias"), &[maps], &values(bias)));
    }
    let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
    graph.node(
        "Conv",
        &format!("{layer}/conv"),
        &inputs,
        &format!("{layer}/conv"),
        vec![
            (
                "kernel_shape",
                Attr::Ints(vec![dims[2] as i64, dims[3] as i64]),
            ),
            ("pads", Attr::Ints(vec![padding; 4])),
            ("strides", Attr::Ints(vec![1, 1])),
        ],
    )
}

/// A Burn dense layer (`x W + b`, `W` of shape `[inputs, outputs]`) as a Gemm node whose
/// result is the value `output`.
fn gemm<B: Backend>(
    graph: &mut Graph,
    layer: &str,
    x: &str,
    dense: &Linear<B>,
    output: &str,
) -> String {
    let name = layer.to_lowercase();
    let weight = graph.weight(
        &format!("{name}.weight"),
        &dense.weight.dims(),
        &values(dense.weight.val()),
    );
    let mut inputs = vec![x.to_owned(), weight];
    if let Some(bias) = &dense.bias {
        inputs.push(graph.weight(&format!("{name}.bias"), &bias.dims(), &values(bias.val())));
    }
    let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
    graph.node("Gemm", &format!("{layer}/gemm"), &inputs, output, vec![])
}

/// A tensor's values in row-major order, as f32.
fn values<B: Backend, const D: usize>(tensor: Tensor<B, D>) -> Vec<f32> {
    tensor.into_data().iter::<f32>().collect()
}

fn write_atomically(file: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = atomic_write_file::AtomicWriteFile::open(file)?;
    out.write_all(bytes)?;
    out.commit()
}
