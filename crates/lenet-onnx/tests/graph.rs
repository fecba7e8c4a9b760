//! The ONNX file read back (with the same prost messages): its operators, weights, shapes and
//! metadata for every variant. Whether onnxruntime computes what Burn does is checked by
//! `crates/infer/tests/onnx.rs`.

use lenet::burn::backend::NdArray;
use lenet::{C1Padding, Classifier, InputConfig, LeNet5Config, Variant};
use lenet_onnx::proto::{DimensionValue, ModelProto, ValueInfoProto, data_type};
use lenet_onnx::{OPSET, OnnxConfig, OnnxError};
use prost::Message;

fn classifier(variant: Variant, padding: C1Padding) -> Classifier<NdArray> {
    let device = Default::default();
    let model = LeNet5Config::new()
        .with_variant(variant)
        .with_c1_padding(padding)
        .init::<NdArray>(&device);
    Classifier::new(model, InputConfig::for_variant(variant), &device)
}

fn export(classifier: &Classifier<NdArray>, config: &OnnxConfig) -> ModelProto {
    let bytes = config.to_bytes(classifier, &[("test_accuracy".into(), "0.99".into())]);
    ModelProto::decode(bytes.as_slice()).expect("a ModelProto")
}

fn ops(model: &ModelProto) -> Vec<String> {
    let mut ops: Vec<String> = model
        .graph
        .as_ref()
        .unwrap()
        .node
        .iter()
        .map(|n| n.op_type.clone())
        .collect();
    ops.sort();
    ops.dedup();
    ops
}

fn shape(value: &ValueInfoProto) -> Vec<String> {
    let tensor = value.r#type.as_ref().unwrap().tensor_type.as_ref().unwrap();
    assert_eq!(tensor.elem_type, data_type::FLOAT);
    tensor
        .shape
        .as_ref()
        .unwrap()
        .dim
        .iter()
        .map(|d| match d.value.as_ref().unwrap() {
            DimensionValue::DimValue(v) => v.to_string(),
            DimensionValue::DimParam(p) => p.clone(),
        })
        .collect()
}

/// Parameters in the initializers (the paper's fixed RBF centres, its C3 zeros and the scaled
/// tanh's constants aside).
fn weights(model: &ModelProto) -> usize {
    model
        .graph
        .as_ref()
        .unwrap()
        .initializer
        .iter()
        .filter(|t| t.data_type == data_type::FLOAT)
        .map(|t| t.raw_data.len() / 4)
        .sum()
}

#[test]
fn each_variant_is_written_with_its_own_operators_and_all_its_weights() {
    let cases = [
        (
            Variant::Classic,
            C1Padding::Valid,
            &["AveragePool", "Conv", "Flatten", "Gemm", "Softmax", "Tanh"][..],
            61_706,
            "32",
        ),
        (
            Variant::Keras,
            C1Padding::Valid,
            &["Conv", "Flatten", "Gemm", "MaxPool", "Relu", "Softmax"],
            44_426,
            "28",
        ),
        (
            Variant::Keras,
            C1Padding::Same,
            &["Conv", "Flatten", "Gemm", "MaxPool", "Relu", "Softmax"],
            61_706,
            "28",
        ),
        (
            Variant::LeCun1998,
            C1Padding::Valid,
            &[
                "Add",
                "AveragePool",
                "Conv",
                "Flatten",
                "Gemm",
                "Mul",
                "Neg",
                "ReduceSum",
                "Softmax",
                "Sub",
                "Tanh",
                "Unsqueeze",
            ],
            // 60,000 trainable, C3's 36 missing kernels at zero (900), 840 fixed centres, 2 constants.
            60_000 + 36 * 25 + 840 + 2,
            "32",
        ),
    ];
    for (variant, padding, expected_ops, expected_weights, side) in cases {
        let model = export(&classifier(variant, padding), &OnnxConfig::new());
        assert_eq!(ops(&model), expected_ops, "{variant} {padding:?}");
        assert_eq!(weights(&model), expected_weights, "{variant} {padding:?}");
        assert_eq!(model.opset_import[0].version, OPSET);
        assert!(model.opset_import[0].domain.is_empty());
        let graph = model.graph.as_ref().unwrap();
        assert_eq!(graph.input.len(), 1);
        assert_eq!(shape(&graph.input[0]), ["batch", "1", side, side]);
        let outputs: Vec<_> = graph
            .output
            .iter()
            .map(|o| (o.name.as_str(), shape(o)))
            .collect();
        assert_eq!(
            outputs,
            [
                ("logits", vec!["batch".to_owned(), "10".into()]),
                ("probabilities", vec!["batch".into(), "10".into()])
            ]
        );

        let meta = |key: &str| {
            model
                .metadata_props
                .iter()
                .find(|p| p.key == key)
                .map(|p| p.value.clone())
        };
        assert_eq!(meta("lenet.variant").as_deref(), Some(variant.name()));
        assert!(meta("lenet.model").unwrap().contains(padding.name()));
        assert!(meta("lenet.input").unwrap().contains("normalization"));
        assert_eq!(meta("test_accuracy").as_deref(), Some("0.99"));

        // Every value is written once (ONNX's single assignment) and read after it is
        // written: the graph is in order.
        let mut known: Vec<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
        known.push("input");
        for node in &graph.node {
            for input in &node.input {
                assert!(
                    known.contains(&input.as_str()),
                    "{} reads {input} before it exists",
                    node.name
                );
            }
            for output in &node.output {
                assert!(
                    !known.contains(&output.as_str()),
                    "{output} is written twice"
                );
                known.push(output);
            }
        }
        let mut names: Vec<&str> = graph.node.iter().map(|n| n.name.as_str()).collect();
        names.sort();
        let count = names.len();
        names.dedup();
        assert_eq!(names.len(), count, "node names are unique");
    }
}

#[test]
fn weights_are_the_networks_own_values() {
    let classifier = classifier(Variant::Classic, C1Padding::Valid);
    let model = export(&classifier, &OnnxConfig::new());
    let graph = model.graph.unwrap();
    let c1 = graph
        .initializer
        .iter()
        .find(|t| t.name == "c1.weight")
        .expect("C1's kernels");
    assert_eq!(c1.dims, [6, 1, 5, 5]);
    let written: Vec<f32> = c1
        .raw_data
        .chunks(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    let own: Vec<f32> = classifier
        .model()
        .c1
        .weight
        .val()
        .into_data()
        .iter::<f32>()
        .collect();
    assert_eq!(written, own);
    let f6 = graph
        .initializer
        .iter()
        .find(|t| t.name == "f6.weight")
        .unwrap();
    assert_eq!(f6.dims, [120, 84], "Gemm's B is Burn's [inputs, outputs]");
}

#[test]
fn layer_outputs_add_the_hidden_layers_with_their_shapes() {
    let model = export(
        &classifier(Variant::Classic, C1Padding::Valid),
        &OnnxConfig::new().with_layer_outputs(true),
    );
    let outputs: Vec<_> = model
        .graph
        .unwrap()
        .output
        .iter()
        .map(|o| (o.name.clone(), shape(o).join("x")))
        .collect();
    let expected = [
        ("logits", "batchx10"),
        ("probabilities", "batchx10"),
        ("c1", "batchx6x28x28"),
        ("s2", "batchx6x14x14"),
        ("c3", "batchx16x10x10"),
        ("s4", "batchx16x5x5"),
        ("c5", "batchx120"),
        ("f6", "batchx84"),
    ];
    let expected: Vec<_> = expected
        .iter()
        .map(|(n, s)| (n.to_string(), s.to_string()))
        .collect();
    assert_eq!(outputs, expected);
}

#[test]
fn a_file_that_cannot_be_written_is_an_error_naming_it_and_an_old_file_stays() {
    let classifier = classifier(Variant::Keras, C1Padding::Valid);
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/dir/model.onnx");
    let error = OnnxConfig::new()
        .to_file(&classifier, &[], &missing)
        .expect_err("no directory");
    let OnnxError::Write { file, .. } = &error;
    assert_eq!(file, &missing);
    assert!(error.to_string().contains("model.onnx"), "{error}");

    let file = dir.path().join("model.onnx");
    OnnxConfig::new().to_file(&classifier, &[], &file).unwrap();
    let first = std::fs::read(&file).unwrap();
    assert!(ModelProto::decode(first.as_slice()).is_ok());
}
