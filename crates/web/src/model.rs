//! The model the server classifies with: loading it, classifying one upload, describing it.

use std::path::Path;

use experiment::{BackendKind, Report};
use infer::preprocess;
use infer::{AnyClassifier, Classification, InferError, ModelSource};

use crate::Error;
use crate::json::{Layers, ModelCard};

/// The model the server classifies with, and what `GET /api/model` tells about it.
#[derive(Debug)]
pub struct Model {
    classifier: AnyClassifier,
    backend: BackendKind,
    report: Option<Report>,
}

/// One upload's classification, and the layers' maps when they were asked for.
pub(crate) struct Classified {
    pub(crate) classification: Classification,
    pub(crate) layers: Option<Layers>,
}

impl Model {
    /// Loads the model from `source` onto `backend` (as `infer` does), with its training
    /// report ([`ModelSource::report`]).
    pub fn load(source: &ModelSource, backend: BackendKind) -> Result<Self, Error> {
        Ok(Self {
            classifier: AnyClassifier::load(source, backend).map_err(Error::Model)?,
            backend,
            report: source.report().map_err(Error::Model)?,
        })
    }

    /// Which model this is, for people: `classic LeNet-5, the built-in model, on ndarray`.
    pub fn description(&self) -> String {
        format!(
            "{} LeNet-5, {}, on {}",
            self.classifier.variant(),
            self.classifier.name(),
            self.backend.name()
        )
    }

    /// Decodes, preprocesses and classifies one uploaded image (blocking: the caller keeps
    /// it off the async threads), keeping the layers' maps when `maps` is set.
    pub(crate) fn classify(
        &self,
        bytes: &[u8],
        file: &str,
        maps: bool,
    ) -> Result<Classified, InferError> {
        let image = preprocess::decode_image(bytes, Path::new(file))?;
        let seen = preprocess::to_mnist(&image)
            .ok_or_else(|| InferError::NoDigit { file: file.into() })?;
        Ok(if maps {
            let explanation = self.classifier.explain(&seen);
            Classified {
                classification: explanation.classification,
                layers: Some(Layers {
                    seen: seen.to_vec(),
                    c1: explanation.c1,
                    c3: explanation.c3,
                }),
            }
        } else {
            Classified {
                classification: self.classifier.classify(&[seen]).remove(0),
                layers: None,
            }
        })
    }

    /// The model as ONNX, with its training report's figures in the metadata.
    pub(crate) fn to_onnx(&self, config: &lenet_onnx::OnnxConfig) -> Vec<u8> {
        self.classifier.to_onnx(config, self.report.as_ref())
    }

    /// The input step the model was trained with.
    pub(crate) fn input(&self) -> &lenet::InputConfig {
        self.classifier.input()
    }

    /// `GET /api/model`'s answer.
    pub(crate) fn card(&self) -> ModelCard<'_> {
        let summary = self.classifier.summary();
        ModelCard {
            name: self.classifier.name(),
            variant: self.classifier.variant().name(),
            backend: self.backend.name(),
            total_params: summary.total_params(),
            total_connections: summary.total_connections(),
            summary,
            report: self.report.as_ref(),
        }
    }
}
