use std::fmt;

use burn::{
    nn::{Linear, PaddingConfig2d, conv::Conv2d},
    prelude::*,
};
use lenet_kernels::{POOL, Pooling};
use serde::Serialize;
use thousands::Separable;

use crate::{
    config::{C1Padding, Variant},
    model::{C3, C5, LeNet5, Output},
    paper::{Rbf, Subsampling, TableConv2d},
};

/// What a layer computes.
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LayerKind {
    /// A 2-D convolution.
    Convolution,
    /// Average pooling (subsampling).
    AveragePooling,
    /// Max pooling.
    MaxPooling,
    /// The paper's subsampling: a 2x2 sum times a trainable coefficient plus a trainable bias.
    Subsampling,
    /// A convolution reading only the inputs a connection table names (the paper's C3).
    TableConvolution,
    /// A dense layer.
    FullyConnected,
    /// Euclidean radial basis function units with fixed centres (the paper's output).
    Rbf,
}

impl LayerKind {
    /// The kind as written in the lecture's table.
    pub fn name(self) -> &'static str {
        match self {
            LayerKind::Convolution => "convolution",
            LayerKind::AveragePooling => "average pooling",
            LayerKind::MaxPooling => "max pooling",
            LayerKind::Subsampling => "subsampling",
            LayerKind::TableConvolution => "conv (Table I)",
            LayerKind::FullyConnected => "fully connected",
            LayerKind::Rbf => "Euclidean RBF",
        }
    }
}

/// One row of the lecture's table, computed from the network's layers.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct LayerSummary {
    /// The paper's name: C1, S2, C3, S4, C5, F6 or output.
    pub name: &'static str,
    /// What the layer computes.
    pub kind: LayerKind,
    /// Feature maps (or units, for a dense layer).
    pub maps: usize,
    /// Height and width of each output map; `None` for a dense layer.
    pub size: Option<[usize; 2]>,
    /// Kernel or pooling window; `None` for a dense layer.
    pub kernel: Option<[usize; 2]>,
    /// Stride of the kernel or window; `None` for a dense layer.
    pub stride: Option<usize>,
    /// The non-linearity applied to the layer's output.
    pub activation: &'static str,
    /// Trainable parameters.
    pub params: usize,
    /// Parameters that are fixed, not trained (the RBF units' bitmaps).
    pub fixed_params: usize,
    /// Connections: for every output unit, its inputs plus its bias, if any.
    pub connections: usize,
}

/// The lecture's table for a built network: see [`LeNet5::summary`].
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// The variant the network was built as.
    pub variant: Variant,
    /// C1's padding.
    pub c1_padding: C1Padding,
    /// Input channels, height and width.
    pub input: [usize; 3],
    /// C1 to output, in order.
    pub layers: Vec<LayerSummary>,
}

impl Summary {
    /// Trainable parameters of the whole network.
    pub fn total_params(&self) -> usize {
        self.layers.iter().map(|layer| layer.params).sum()
    }

    /// Fixed parameters of the whole network.
    pub fn total_fixed_params(&self) -> usize {
        self.layers.iter().map(|layer| layer.fixed_params).sum()
    }

    /// Connections of the whole network.
    pub fn total_connections(&self) -> usize {
        self.layers.iter().map(|layer| layer.connections).sum()
    }

    /// The row named `name` (for example `"C3"`).
    pub fn layer(&self, name: &str) -> Option<&LayerSummary> {
        self.layers.iter().find(|layer| layer.name == name)
    }
}

impl<B: Backend> LeNet5<B> {
    /// The lecture's table (kind, maps, size, kernel, stride, activation, parameters,
    /// connections per layer), derived from this network's layers and input size.
    pub fn summary(&self) -> Summary {
        let side = self.variant.input_size();
        let activation = self.variant.activation().name();
        let pool_kind = match self.variant.pooling() {
            Pooling::Average => LayerKind::AveragePooling,
            Pooling::Max => LayerKind::MaxPooling,
        };
        let mut shape = [1, side, side];
        // Each layer's output shape is the next one's input, so the order matters.
        let subsampling = |name, layer: &Option<Subsampling<B>>, shape: &mut [usize; 3]| match layer
        {
            Some(layer) => trainable_pool_layer(name, layer, shape, activation),
            None => pool_layer(name, pool_kind, shape, activation),
        };
        let layers = vec![
            conv_layer("C1", &self.c1, &mut shape, activation),
            subsampling("S2", &self.s2, &mut shape),
            match &self.c3 {
                C3::Full(conv) => conv_layer("C3", conv, &mut shape, activation),
                C3::Table(table) => table_layer("C3", table, &mut shape, activation),
            },
            subsampling("S4", &self.s4, &mut shape),
            match &self.c5 {
                C5::Conv(conv) => conv_layer("C5", conv, &mut shape, activation),
                C5::Dense(dense) => dense_layer("C5", dense, &mut shape, activation),
            },
            dense_layer("F6", &self.f6, &mut shape, activation),
            match &self.output {
                Output::Dense(dense) => dense_layer("output", dense, &mut shape, "softmax"),
                Output::Rbf(rbf) => rbf_layer("output", rbf, &mut shape),
            },
        ];

        Summary {
            variant: self.variant,
            c1_padding: self.config().c1_padding,
            input: [1, side, side],
            layers,
        }
    }
}

/// `shape` is the layer's input `[maps, height, width]` and becomes its output.
fn conv_layer<B: Backend>(
    name: &'static str,
    conv: &Conv2d<B>,
    shape: &mut [usize; 3],
    activation: &'static str,
) -> LayerSummary {
    let [maps, inputs, kh, kw] = conv.weight.val().dims();
    let (pad_h, pad_w) = match conv.padding {
        PaddingConfig2d::Valid => ((0, 0), (0, 0)),
        PaddingConfig2d::Explicit(top, left, bottom, right) => ((top, bottom), (left, right)),
        PaddingConfig2d::Same => ((kh / 2, (kh - 1) / 2), (kw / 2, (kw - 1) / 2)),
    };
    let [sh, sw] = conv.stride;
    let height = (shape[1] + pad_h.0 + pad_h.1 - kh) / sh + 1;
    let width = (shape[2] + pad_w.0 + pad_w.1 - kw) / sw + 1;
    let bias = usize::from(conv.bias.is_some());
    *shape = [maps, height, width];
    LayerSummary {
        name,
        kind: LayerKind::Convolution,
        maps,
        size: Some([height, width]),
        kernel: Some([kh, kw]),
        stride: Some(sh),
        activation,
        params: (inputs * kh * kw + bias) * maps,
        fixed_params: 0,
        connections: (inputs * kh * kw + bias) * maps * height * width,
    }
}

/// C3 through a connection table: each map's parameters are its kept kernels and its bias.
fn table_layer<B: Backend>(
    name: &'static str,
    table: &TableConv2d<B>,
    shape: &mut [usize; 3],
    activation: &'static str,
) -> LayerSummary {
    let [kernels, kh, kw] = table.kernels.dims();
    let maps = table.bias.dims()[0];
    let (height, width) = (shape[1] - kh + 1, shape[2] - kw + 1);
    *shape = [maps, height, width];
    let params = kernels * kh * kw + maps;
    LayerSummary {
        name,
        kind: LayerKind::TableConvolution,
        maps,
        size: Some([height, width]),
        kernel: Some([kh, kw]),
        stride: Some(1),
        activation,
        params,
        fixed_params: 0,
        connections: params * height * width,
    }
}

/// The paper's subsampling: per unit, 4 inputs and a bias; per map, 2 parameters.
fn trainable_pool_layer<B: Backend>(
    name: &'static str,
    layer: &Subsampling<B>,
    shape: &mut [usize; 3],
    activation: &'static str,
) -> LayerSummary {
    let summary = pool_layer(name, LayerKind::Subsampling, shape, activation);
    let maps = layer.maps();
    let units = summary.connections / (POOL * POOL);
    LayerSummary {
        params: 2 * maps,
        connections: (POOL * POOL + 1) * units,
        ..summary
    }
}

/// The RBF units: each compares all its inputs with its fixed centre.
fn rbf_layer<B: Backend>(name: &'static str, rbf: &Rbf<B>, shape: &mut [usize; 3]) -> LayerSummary {
    let [units, inputs] = rbf.centres.dims();
    *shape = [units, 1, 1];
    LayerSummary {
        name,
        kind: LayerKind::Rbf,
        maps: units,
        size: None,
        kernel: None,
        stride: None,
        activation: "-",
        params: 0,
        fixed_params: inputs * units,
        connections: inputs * units,
    }
}

fn pool_layer(
    name: &'static str,
    kind: LayerKind,
    shape: &mut [usize; 3],
    activation: &'static str,
) -> LayerSummary {
    let [maps, height, width] = *shape;
    let (height, width) = (height / POOL, width / POOL);
    *shape = [maps, height, width];
    LayerSummary {
        name,
        kind,
        maps,
        size: Some([height, width]),
        kernel: Some([POOL, POOL]),
        stride: Some(POOL),
        // Max pooling is not followed by a non-linearity in the Keras code.
        activation: if kind == LayerKind::MaxPooling {
            "-"
        } else {
            activation
        },
        params: 0,
        fixed_params: 0,
        connections: POOL * POOL * maps * height * width,
    }
}

fn dense_layer<B: Backend>(
    name: &'static str,
    dense: &Linear<B>,
    shape: &mut [usize; 3],
    activation: &'static str,
) -> LayerSummary {
    let [inputs, units] = dense.weight.val().dims();
    let bias = usize::from(dense.bias.is_some());
    *shape = [units, 1, 1];
    LayerSummary {
        name,
        kind: LayerKind::FullyConnected,
        maps: units,
        size: None,
        kernel: None,
        stride: None,
        activation,
        params: (inputs + bias) * units,
        fixed_params: 0,
        connections: (inputs + bias) * units,
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [channels, height, width] = self.input;
        writeln!(
            f,
            "LeNet-5 \"{}\", C1 padding \"{}\", input {channels}x{height}x{width}",
            self.variant,
            self.c1_padding.name()
        )?;
        writeln!(
            f,
            "| layer  | kind            | maps | size  | kernel | stride | activation | parameters | connections |"
        )?;
        writeln!(
            f,
            "|--------|-----------------|-----:|-------|--------|-------:|------------|-----------:|------------:|"
        )?;
        let dash = || "-".to_string();
        let params = |trained: usize, fixed: usize| match fixed {
            0 => trained.separate_with_commas(),
            _ => format!("{} fixed", fixed.separate_with_commas()),
        };
        for layer in &self.layers {
            writeln!(
                f,
                "| {:<6} | {:<15} | {:>4} | {:<5} | {:<6} | {:>6} | {:<10} | {:>10} | {:>11} |",
                layer.name,
                layer.kind.name(),
                layer.maps,
                layer.size.map_or_else(dash, |[h, w]| format!("{h}x{w}")),
                layer.kernel.map_or_else(dash, |[h, w]| format!("{h}x{w}")),
                layer.stride.map_or_else(dash, |s| s.to_string()),
                layer.activation,
                params(layer.params, layer.fixed_params),
                layer.connections.separate_with_commas(),
            )?;
        }
        write!(
            f,
            "| total  |                 |      |       |        |        |            | {:>10} | {:>11} |",
            self.total_params().separate_with_commas(),
            self.total_connections().separate_with_commas()
        )
    }
}
