//! A loaded model as ONNX ([`lenet_onnx`]), with what `infer` knows about it in the metadata.

use std::path::Path;

use burn::backend::NdArray;
use burn::prelude::*;
use experiment::Report;
use lenet_onnx::OnnxConfig;

use crate::{AnyClassifier, Classifier, InferError, ModelSource};

impl<B: Backend> Classifier<B> {
    /// The network and its input step as an ONNX model ([`OnnxConfig::to_bytes`]); the
    /// metadata adds the model's name and, from its training `report`, the test accuracy
    /// (`lenet.test_accuracy`, a fraction), the test images and epochs, and the whole report
    /// (`lenet.report`, JSON).
    pub fn to_onnx(&self, config: &OnnxConfig, report: Option<&Report>) -> Vec<u8> {
        config.to_bytes(self.network(), &metadata(self.name(), report))
    }
}

impl AnyClassifier {
    /// See [`Classifier::to_onnx`].
    pub fn to_onnx(&self, config: &OnnxConfig, report: Option<&Report>) -> Vec<u8> {
        match self {
            Self::Flex(classifier) => classifier.to_onnx(config, report),
            Self::Ndarray(classifier) => classifier.to_onnx(config, report),
            Self::Wgpu(classifier) => classifier.to_onnx(config, report),
        }
    }
}

/// Writes the model from `source` as the ONNX file `file` (`infer --export-onnx`), with its
/// report's figures in the metadata ([`Classifier::to_onnx`]). The file is written in one step:
/// on any error, a file that was there is unchanged.
pub fn export_onnx(source: &ModelSource, file: &Path) -> Result<(), InferError> {
    let classifier = Classifier::<NdArray>::load(source, &Default::default())?;
    let report = source.report()?;
    OnnxConfig::new().to_file(
        classifier.network(),
        &metadata(classifier.name(), report.as_ref()),
        file,
    )?;
    Ok(())
}

fn metadata(name: &str, report: Option<&Report>) -> Vec<(String, String)> {
    let mut metadata = vec![("lenet.name".to_owned(), name.to_owned())];
    if let Some(report) = report {
        metadata.extend([
            (
                "lenet.test_accuracy".to_owned(),
                report.test_accuracy.to_string(),
            ),
            (
                "lenet.test_images".to_owned(),
                report.test_images.to_string(),
            ),
            ("lenet.epochs".to_owned(), report.epochs.to_string()),
        ]);
        if let Ok(json) = serde_json::to_string(report) {
            metadata.push(("lenet.report".to_owned(), json));
        }
    }
    metadata
}
