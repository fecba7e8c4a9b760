//! A small builder for an ONNX graph: nodes in order, weights as initializers, each value
//! named once.

use crate::proto::{
    AttributeProto, Dimension, DimensionValue, GraphProto, NodeProto, TensorProto,
    TensorShapeProto, TensorTypeProto, TypeProto, ValueInfoProto, attribute_type, data_type,
};

/// An attribute's value.
pub(crate) enum Attr {
    Int(i64),
    Ints(Vec<i64>),
}

/// The graph under construction.
#[derive(Default)]
pub(crate) struct Graph {
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
}

impl Graph {
    /// Appends the node `name` (unique in the graph) calling `op` on `inputs`; its one output
    /// is the value `output`, which is returned for the next node to read.
    pub(crate) fn node(
        &mut self,
        op: &str,
        name: &str,
        inputs: &[&str],
        output: &str,
        attributes: Vec<(&str, Attr)>,
    ) -> String {
        let attribute = attributes
            .into_iter()
            .map(|(name, value)| {
                let mut attribute = AttributeProto {
                    name: name.into(),
                    ..Default::default()
                };
                match value {
                    Attr::Int(i) => {
                        (attribute.r#type, attribute.i) = (attribute_type::INT, Some(i))
                    }
                    Attr::Ints(ints) => {
                        (attribute.r#type, attribute.ints) = (attribute_type::INTS, ints)
                    }
                }
                attribute
            })
            .collect();
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|&input| input.into()).collect(),
            output: vec![output.into()],
            name: name.into(),
            op_type: op.into(),
            attribute,
        });
        output.into()
    }

    /// Adds the f32 weight `name` of shape `dims`; returns its name.
    pub(crate) fn weight(&mut self, name: &str, dims: &[usize], values: &[f32]) -> String {
        debug_assert_eq!(dims.iter().product::<usize>(), values.len(), "{name}");
        let raw_data = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.initializer(name, dims, data_type::FLOAT, raw_data)
    }

    /// Adds the int64 constant `name` of shape `[values.len()]` (an operator's axes).
    pub(crate) fn int64s(&mut self, name: &str, values: &[i64]) -> String {
        let raw_data = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.initializer(name, &[values.len()], data_type::INT64, raw_data)
    }

    fn initializer(
        &mut self,
        name: &str,
        dims: &[usize],
        data_type: i32,
        raw_data: Vec<u8>,
    ) -> String {
        self.initializers.push(TensorProto {
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type,
            name: name.into(),
            raw_data,
            doc_string: String::new(),
        });
        name.into()
    }

    /// The finished graph, with its inputs and outputs.
    pub(crate) fn finish(
        self,
        name: &str,
        doc_string: String,
        inputs: Vec<ValueInfoProto>,
        outputs: Vec<ValueInfoProto>,
    ) -> GraphProto {
        GraphProto {
            node: self.nodes,
            name: name.into(),
            initializer: self.initializers,
            doc_string,
            input: inputs,
            output: outputs,
        }
    }
}

/// A float tensor's name, its shape (the first dimension the batch, sized at run time) and
/// a description.
pub(crate) fn batch_value(name: &str, dims: &[usize], doc: &str) -> ValueInfoProto {
    let batch = Dimension {
        value: Some(DimensionValue::DimParam("batch".into())),
    };
    let rest = dims.iter().map(|&d| Dimension {
        value: Some(DimensionValue::DimValue(d as i64)),
    });
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            tensor_type: Some(TensorTypeProto {
                elem_type: data_type::FLOAT,
                shape: Some(TensorShapeProto {
                    dim: std::iter::once(batch).chain(rest).collect(),
                }),
            }),
        }),
        doc_string: doc.into(),
    }
}
