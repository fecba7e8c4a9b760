//! Which model classifies, with which input form, on which backend.

use std::path::{Path, PathBuf};

use backends::{BackendKind, WgpuBackend};
use burn::backend::{Flex, NdArray};
use burn::prelude::*;
use experiment::{Artifacts, ConfigError, ExperimentConfig, Report};
use figures::Maps;
use lenet::{
    Classification, IMAGE_PIXELS, InputConfig, KernelRoute, LeNet5Config, Prediction, Summary,
    Variant, pretrained,
};

use crate::{Explanation, InferError};

/// How the built-in model's configuration is named in error messages.
const EMBEDDED_NAME: &str = "<built-in model>/config.toml";
/// How the built-in model's report is named in error messages.
const EMBEDDED_REPORT_NAME: &str = "<built-in model>/report.json";

/// Where the model comes from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ModelSource {
    /// The model built into the binary (`lenet::pretrained`).
    #[default]
    Embedded,
    /// A `model.mpk`, or an artifacts directory written by `train` holding `model.mpk` and
    /// `config.toml`. A `model.mpk` is read with the `config.toml` beside it if there is one;
    /// without it, the variant is read from the weights and the input form is that variant's
    /// default (`lenet::InputConfig::for_variant`).
    Path(PathBuf),
}

impl ModelSource {
    /// The test report of the training run that produced the model (`report.json`, written
    /// by `train`): the built-in model's, or the one in the artifacts directory (beside the
    /// `model.mpk`); `None` when there is none.
    ///
    /// Separate from loading, so that a model without its report still classifies.
    ///
    /// ```
    /// let report = infer::ModelSource::Embedded.report()?.expect("the built-in model has one");
    /// assert!(report.test_accuracy > 0.99);
    /// # Ok::<(), infer::InferError>(())
    /// ```
    pub fn report(&self) -> Result<Option<Report>, InferError> {
        let (text, file) = match self {
            ModelSource::Embedded => (
                pretrained::REPORT.to_owned(),
                PathBuf::from(EMBEDDED_REPORT_NAME),
            ),
            ModelSource::Path(path) => {
                let file = model_files(path)?.1.with_file_name(Artifacts::REPORT);
                match std::fs::read_to_string(&file) {
                    Ok(text) => (text, file),
                    Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                    Err(source) => return Err(InferError::Read { file, source }),
                }
            }
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|error| InferError::Read {
                file,
                source: error.into(),
            })
    }
}

/// The weights and the configuration file of the model at `path` (a `model.mpk` or an
/// artifacts directory).
fn model_files(path: &Path) -> Result<(PathBuf, PathBuf), InferError> {
    if path.is_dir() {
        let run = Artifacts::new(path);
        if !run.model().is_file() {
            return Err(InferError::NoModelInDirectory { dir: path.into() });
        }
        Ok((run.model(), run.config()))
    } else {
        let dir = path.parent().unwrap_or(Path::new(""));
        Ok((path.into(), dir.join(Artifacts::CONFIG)))
    }
}

/// A [`lenet::Classifier`] loaded from a [`ModelSource`], with its name for people.
#[derive(Debug)]
pub struct Classifier<B: Backend> {
    inner: lenet::Classifier<B>,
    name: String,
}

impl<B: Backend> Classifier<B> {
    /// Loads the model from `source` onto `device`.
    pub fn load(source: &ModelSource, device: &B::Device) -> Result<Self, InferError> {
        let (model, input) = match source {
            ModelSource::Embedded => {
                let file = Path::new(EMBEDDED_NAME);
                let config = ExperimentConfig::from_toml(pretrained::CONFIG, file);
                let (network, input) = network_and_input(config, file)?;
                let model = lenet::load_bytes(pretrained::MODEL, Some(&network), device)?;
                (model, input)
            }
            ModelSource::Path(path) => {
                let (weights, config) = model_files(path)?;
                if config.is_file() {
                    let (network, input) =
                        network_and_input(ExperimentConfig::load(&config), &config)?;
                    (lenet::load_file(&weights, Some(&network), device)?, input)
                } else {
                    let model = lenet::load_file::<B>(&weights, None, device)?;
                    let input = InputConfig::for_variant(model.variant());
                    (model, input)
                }
            }
        };
        Ok(Self {
            inner: lenet::Classifier::new(model, input, device),
            name: match source {
                ModelSource::Embedded => "the built-in model".into(),
                ModelSource::Path(path) => path.display().to_string(),
            },
        })
    }

    /// The model crate's classifier: the network and its input step.
    pub fn network(&self) -> &lenet::Classifier<B> {
        &self.inner
    }

    /// The model's variant.
    pub fn variant(&self) -> Variant {
        self.inner.model().variant()
    }

    /// Which model this is, for people: "the built-in model" or the path it was loaded from.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The lecture's table of the model's layers ([`lenet::LeNet5::summary`]).
    pub fn summary(&self) -> Summary {
        self.inner.model().summary()
    }

    /// Which path the network's layers take on this backend (the fused CPU kernels or Burn's
    /// operations).
    pub fn kernel_route(&self) -> KernelRoute {
        lenet::kernel_route::<B>()
    }

    /// Classifies 28x28 images in MNIST's form (see [`crate::preprocess::to_mnist`]) in one
    /// batch: one [`Classification`] per image, in order ([`lenet::Classifier::classify`]).
    pub fn classify(&self, images: &[[u8; IMAGE_PIXELS]]) -> Vec<Classification> {
        self.inner.classify(images)
    }

    /// Classifies one 28x28 image in MNIST's form and keeps every layer's output on the way
    /// (from [`lenet::LeNet5::forward_layers`]), for pictures of what the network does.
    pub fn explain(&self, image: &[u8; IMAGE_PIXELS]) -> Explanation {
        let batch = self.inner.to_input(std::slice::from_ref(image));
        let layers = self.inner.model().forward_layers(batch);
        let maps = |maps: Tensor<B, 4>| {
            let [_, count, height, width] = maps.dims();
            Maps {
                count,
                height,
                width,
                values: maps.into_data().iter::<f32>().collect(),
            }
        };
        let units = |units: Tensor<B, 2>| units.into_data().iter::<f32>().collect();
        Explanation {
            classification: Classification::from_prediction(Prediction::from_logits(layers.logits))
                .remove(0),
            c1: maps(layers.c1),
            s2: maps(layers.s2),
            c3: maps(layers.c3),
            s4: maps(layers.s4),
            c5: units(layers.c5),
            f6: units(layers.f6),
        }
    }
}

/// A [`Classifier`] on the backend chosen at run time.
#[derive(Debug)]
pub enum AnyClassifier {
    /// On burn-flex.
    Flex(Box<Classifier<Flex>>),
    /// On burn-ndarray.
    Ndarray(Box<Classifier<NdArray>>),
    /// On burn-wgpu.
    Wgpu(Box<Classifier<WgpuBackend>>),
}

impl AnyClassifier {
    /// Loads the model from `source` onto `backend`'s default device. For wgpu, the device is
    /// tried first ([`backends::wgpu_device`]), so that a machine without a usable GPU adapter
    /// gets [`InferError::Backend`] instead of a panic from inside wgpu.
    pub fn load(source: &ModelSource, backend: BackendKind) -> Result<Self, InferError> {
        Ok(match backend {
            BackendKind::Flex => {
                Self::Flex(Box::new(Classifier::load(source, &Default::default())?))
            }
            BackendKind::Ndarray => {
                Self::Ndarray(Box::new(Classifier::load(source, &Default::default())?))
            }
            BackendKind::Wgpu => {
                let device = backends::wgpu_device()?;
                Self::Wgpu(Box::new(Classifier::load(source, &device)?))
            }
        })
    }

    /// See [`Classifier::classify`].
    pub fn classify(&self, images: &[[u8; IMAGE_PIXELS]]) -> Vec<Classification> {
        match self {
            Self::Flex(classifier) => classifier.classify(images),
            Self::Ndarray(classifier) => classifier.classify(images),
            Self::Wgpu(classifier) => classifier.classify(images),
        }
    }

    /// See [`Classifier::explain`].
    pub fn explain(&self, image: &[u8; IMAGE_PIXELS]) -> Explanation {
        match self {
            Self::Flex(classifier) => classifier.explain(image),
            Self::Ndarray(classifier) => classifier.explain(image),
            Self::Wgpu(classifier) => classifier.explain(image),
        }
    }

    /// The input step the model was trained with ([`lenet::Classifier::input`]).
    pub fn input(&self) -> &InputConfig {
        match self {
            Self::Flex(classifier) => classifier.network().input(),
            Self::Ndarray(classifier) => classifier.network().input(),
            Self::Wgpu(classifier) => classifier.network().input(),
        }
    }

    /// See [`Classifier::variant`].
    pub fn variant(&self) -> Variant {
        match self {
            Self::Flex(classifier) => classifier.variant(),
            Self::Ndarray(classifier) => classifier.variant(),
            Self::Wgpu(classifier) => classifier.variant(),
        }
    }

    /// See [`Classifier::name`].
    pub fn name(&self) -> &str {
        match self {
            Self::Flex(classifier) => classifier.name(),
            Self::Ndarray(classifier) => classifier.name(),
            Self::Wgpu(classifier) => classifier.name(),
        }
    }

    /// See [`Classifier::kernel_route`].
    pub fn kernel_route(&self) -> KernelRoute {
        match self {
            Self::Flex(classifier) => classifier.kernel_route(),
            Self::Ndarray(classifier) => classifier.kernel_route(),
            Self::Wgpu(classifier) => classifier.kernel_route(),
        }
    }

    /// See [`Classifier::summary`].
    pub fn summary(&self) -> Summary {
        match self {
            Self::Flex(classifier) => classifier.summary(),
            Self::Ndarray(classifier) => classifier.summary(),
            Self::Wgpu(classifier) => classifier.summary(),
        }
    }
}

/// The network and input step of a training run's effective configuration, read with the
/// training schema's own checks.
fn network_and_input(
    config: Result<ExperimentConfig, ConfigError>,
    file: &Path,
) -> Result<(LeNet5Config, InputConfig), InferError> {
    let config = config.map_err(|source| InferError::ModelConfig {
        file: file.into(),
        source,
    })?;
    Ok((config.model, config.data.input))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_config(text: &str, file: &Path) -> Result<(LeNet5Config, InputConfig), InferError> {
        network_and_input(ExperimentConfig::from_toml(text, file), file)
    }

    #[test]
    fn config_gives_variant_and_input() {
        let text = "[model]\nvariant = \"keras\"\n[data]\nvalidation_size = 5000\n\
                    [data.input]\npadding = 0\nnormalization = \"paper\"\n\
                    [training]\nepochs = 3\n";
        let (network, input) = read_config(text, Path::new("config.toml")).expect("valid");
        assert_eq!(network.variant, Variant::Keras);
        assert_eq!(input.padding, 0);
        assert_eq!(input.normalization, lenet::Normalization::Paper);
    }

    #[test]
    fn config_without_input_takes_the_variants_and_a_mismatched_padding_is_refused() {
        let (network, input) =
            read_config("[model]\nvariant = \"keras\"\n", Path::new("c.toml")).expect("valid");
        assert_eq!(
            (network.variant, input),
            (Variant::Keras, InputConfig::for_variant(Variant::Keras))
        );

        let text = "[model]\nvariant = \"classic\"\n[data.input]\npadding = 0\n\
                    normalization = \"unit\"\n";
        let mismatch = read_config(text, Path::new("c.toml")).expect_err("28 for classic");
        let message = crate::output::describe(&mismatch);
        assert!(
            message.contains("c.toml") && message.contains("data.input.padding"),
            "{message}"
        );
    }

    #[test]
    fn embedded_config_is_valid_and_its_input_is_the_variants_default() {
        // `lenet::Classifier::pretrained` reads the weights without this file and takes the
        // variant's default input: the two must agree.
        let (network, input) =
            read_config(pretrained::CONFIG, Path::new(EMBEDDED_NAME)).expect("valid");
        assert_eq!(input, InputConfig::for_variant(network.variant));
    }

    #[test]
    fn explain_agrees_with_classify_and_its_maps_have_the_summarys_shapes() {
        let classifier =
            Classifier::<NdArray>::load(&ModelSource::Embedded, &Default::default()).unwrap();
        // A slanted bar, like a 1.
        let mut image = [0u8; IMAGE_PIXELS];
        for row in 4..24 {
            image[row * 28 + 10 + row / 3] = 255;
            image[row * 28 + 11 + row / 3] = 255;
        }
        let explanation = classifier.explain(&image);
        let classification = &classifier.classify(&[image])[0];
        assert_eq!(explanation.classification.digit, classification.digit);
        for (a, b) in explanation
            .classification
            .probabilities
            .iter()
            .zip(classification.probabilities)
        {
            assert!((a - b).abs() < 1e-5, "{a} against {b}");
        }

        let summary = classifier.summary();
        for (name, maps) in [
            ("C1", &explanation.c1),
            ("S2", &explanation.s2),
            ("C3", &explanation.c3),
            ("S4", &explanation.s4),
        ] {
            let layer = summary.layer(name).expect("in the summary");
            assert_eq!(maps.count, layer.maps, "{name}");
            assert_eq!(Some([maps.height, maps.width]), layer.size, "{name}");
            assert_eq!(maps.values.len(), maps.count * maps.height * maps.width);
        }
        assert_eq!(explanation.c5.len(), summary.layer("C5").unwrap().maps);
        assert_eq!(explanation.f6.len(), summary.layer("F6").unwrap().maps);
    }

    #[test]
    fn report_is_the_built_in_ones_or_read_beside_the_model() {
        let embedded = ModelSource::Embedded.report().unwrap().expect("built in");
        assert_eq!(embedded.variant, "classic");
        assert!(embedded.test_accuracy >= 0.99, "{}", embedded.test_accuracy);

        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("model.mpk"), pretrained::MODEL).unwrap();
        let as_dir = ModelSource::Path(dir.path().into());
        let as_file = ModelSource::Path(dir.path().join("model.mpk"));
        assert_eq!(as_dir.report().unwrap(), None);
        assert_eq!(as_file.report().unwrap(), None);

        std::fs::write(dir.path().join("report.json"), pretrained::REPORT).unwrap();
        assert_eq!(as_dir.report().unwrap().as_ref(), Some(&embedded));
        assert_eq!(as_file.report().unwrap().as_ref(), Some(&embedded));

        std::fs::write(dir.path().join("report.json"), "{\"epochs\": 3}").unwrap();
        let message = crate::output::describe(&as_dir.report().expect_err("incomplete"));
        assert!(
            message.contains("report.json") && message.contains("missing field"),
            "{message}"
        );

        let empty = tempfile::tempdir().unwrap();
        assert!(matches!(
            ModelSource::Path(empty.path().into()).report(),
            Err(InferError::NoModelInDirectory { .. })
        ));
    }
}
