//! The configuration files in `configs/`: one TOML file per experiment, read into Burn
//! `Config` structs, with defaults for what a file leaves out and an error for anything else.

use std::path::{Path, PathBuf};

use burn::prelude::*;
use lenet::{InputConfig, LeNet5Config, Variant};
use mnist::DataConfig;
use serde::{Deserialize, Serialize};
use toml::{Table, Value};

use crate::ConfigError;

/// Images in MNIST's training set, from which the validation split is carved.
const MNIST_TRAIN_IMAGES: usize = 60_000;

/// Everything one training run needs; the contents of a file in `configs/`.
#[derive(Config, Debug)]
pub struct ExperimentConfig {
    /// `[model]`: which LeNet-5.
    #[config(default = "LeNet5Config::new()")]
    pub model: LeNet5Config,
    /// `[data]`: validation split, input padding and normalisation, augmentation.
    #[config(default = "DataConfig::new()")]
    pub data: DataConfig,
    /// `[optimizer]`: Adam or SDLM, and the learning-rate schedule.
    #[config(default = "OptimizerConfig::new()")]
    pub optimizer: OptimizerConfig,
    /// `[training]`: epochs, batches, seed, backend, loader, checkpoints, early stopping.
    #[config(default = "TrainingConfig::new()")]
    pub training: TrainingConfig,
}

/// The optimizer and its learning-rate schedule: Adam (Kingma and Ba, 2015), as in the
/// lecture's Keras code, or the paper's SDLM.
#[derive(Config, Debug)]
pub struct OptimizerConfig {
    /// Which optimizer.
    #[config(default = "OptimizerKind::Adam")]
    pub name: OptimizerKind,
    /// Peak learning rate. For SDLM, the paper's per-sample rate `eta`: a mini-batch of `n`
    /// images steps by `n * eta` along its mean gradient, to first order the `n` steps the
    /// paper takes, one per image.
    #[config(default = 1e-3)]
    pub learning_rate: f64,
    /// L2 penalty added to the gradients; 0 turns it off.
    #[config(default = 0.0)]
    pub weight_decay: f64,
    /// Adam's first-moment decay.
    #[config(default = 0.9)]
    pub beta_1: f32,
    /// Adam's second-moment decay.
    #[config(default = 0.999)]
    pub beta_2: f32,
    /// Adam's denominator term (Keras uses 1e-7).
    #[config(default = 1e-7)]
    pub epsilon: f32,
    /// How the learning rate changes over the run.
    #[config(default = "Schedule::Constant")]
    pub schedule: Schedule,
    /// The learning rate at the end of a cosine schedule, as a fraction of `learning_rate`.
    #[config(default = 0.0)]
    pub final_learning_rate_fraction: f64,
    /// The learning rate of each epoch, for the "epochs" schedule; the last one holds for
    /// the epochs after it.
    #[config(default = "Vec::new()")]
    pub epoch_learning_rates: Vec<f64>,
    /// SDLM's damping `mu`, added to every curvature estimate.
    #[config(default = 0.02)]
    pub mu: f64,
    /// Training images on which SDLM estimates the curvature before each epoch.
    #[config(default = 500)]
    pub curvature_samples: usize,
}

/// The optimizers `train` offers.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// Adam, with `beta_1`, `beta_2`, `epsilon` and `weight_decay`.
    Adam,
    /// Stochastic diagonal Levenberg-Marquardt (LeCun et al., 1998, Appendix C): each
    /// parameter's step is `learning_rate / (mu + h)`, `h` the Gauss-Newton estimate of the
    /// loss's second derivative in it, re-estimated on `curvature_samples` images before each
    /// epoch. For the lecun1998 network, whose estimate `lenet` computes.
    Sdlm,
}

/// Learning-rate schedules.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Schedule {
    /// `learning_rate` throughout.
    Constant,
    /// Cosine decay from `learning_rate` to `final_learning_rate_fraction * learning_rate` over
    /// all the run's steps (Loshchilov and Hutter, 2017, without restarts).
    Cosine,
    /// A rate per epoch, from `epoch_learning_rates` (the paper's schedule); `learning_rate`
    /// is not used.
    Epochs,
}

/// How the run is carried out.
#[derive(Config, Debug)]
pub struct TrainingConfig {
    /// Passes over the training split.
    #[config(default = 15)]
    pub epochs: usize,
    /// Images per optimizer step.
    #[config(default = 128)]
    pub batch_size: usize,
    /// Seeds the weights, the shuffling and the augmentation.
    #[config(default = 42)]
    pub seed: u64,
    /// Where the tensors live.
    #[config(default = "BackendKind::Flex")]
    pub backend: BackendKind,
    /// Threads preparing batches in the background. 0 prepares each batch on the training
    /// thread: on two cores a loader thread competes with the compute threads, and only 0
    /// makes a resumed run bit-identical to an uninterrupted one.
    #[config(default = 0)]
    pub loader_workers: usize,
    /// Epoch checkpoints kept under `checkpoint/` (the latest ones; at least 1 for `--resume`).
    #[config(default = 2)]
    pub keep_checkpoints: usize,
    /// Stop when the validation loss has not improved for this many epochs; 0 never stops early.
    #[config(default = 0)]
    pub early_stopping_patience: usize,
}

/// The Burn backends `train` can run on.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// burn-flex: Burn's pure-Rust CPU backend, the fastest on CPUs.
    Flex,
    /// burn-ndarray: the CPU backend built on the ndarray crate.
    Ndarray,
    /// burn-wgpu: GPUs through Vulkan, Metal, DirectX 12 or WebGPU.
    Wgpu,
}

impl BackendKind {
    /// The name used in configuration files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Flex => "flex",
            BackendKind::Ndarray => "ndarray",
            BackendKind::Wgpu => "wgpu",
        }
    }
}

impl std::fmt::Display for BackendKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl ExperimentConfig {
    /// Reads a configuration file. Keys the file leaves out take their defaults; an unknown
    /// key, a value of the wrong type or an out-of-range value is an error naming the file and
    /// the key.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml(&text, path)
    }

    /// Parses the text of a configuration file; `path` is only used in messages.
    pub fn from_toml(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let invalid = |key: String, message: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            key,
            message,
        };
        let user: Table = toml::from_str(text)
            .map_err(|error| invalid("(syntax)".into(), error.message().to_string()))?;
        // A file that leaves out `[data.input]` gets its variant's input step.
        let variant = user
            .get("model")
            .and_then(|model| model.get("variant"))
            .and_then(Value::as_str)
            .and_then(|name| name.parse::<Variant>().ok())
            .unwrap_or_default();
        let mut defaults = ExperimentConfig::new();
        defaults.data.input = InputConfig::for_variant(variant);
        let mut merged =
            Table::try_from(defaults).expect("the default configuration serialises to TOML");
        merge(&mut merged, user, "").map_err(|(key, message)| invalid(key, message))?;

        let config: ExperimentConfig = serde_path_to_error::deserialize(Value::Table(merged))
            .map_err(|error| invalid(error.path().to_string(), error.inner().to_string()))?;
        config.validate(path)?;
        Ok(config)
    }

    /// The configuration as TOML, every key written out.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("the configuration serialises to TOML")
    }

    /// Checks the values that the types alone do not constrain.
    pub fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let fail = |key: &str, message: String| {
            Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                key: key.to_string(),
                message,
            })
        };
        let training = &self.training;
        let optimizer = &self.optimizer;
        if training.epochs == 0 {
            return fail("training.epochs", "must be at least 1".into());
        }
        if training.batch_size == 0 {
            return fail("training.batch_size", "must be at least 1".into());
        }
        if training.keep_checkpoints == 0 {
            return fail(
                "training.keep_checkpoints",
                "must be at least 1, so that --resume has a checkpoint to continue from".into(),
            );
        }
        if !(optimizer.learning_rate.is_finite() && optimizer.learning_rate > 0.0) {
            return fail(
                "optimizer.learning_rate",
                format!("must be a positive number, got {}", optimizer.learning_rate),
            );
        }
        if !(optimizer.weight_decay.is_finite() && optimizer.weight_decay >= 0.0) {
            return fail(
                "optimizer.weight_decay",
                format!("must be 0 or more, got {}", optimizer.weight_decay),
            );
        }
        for (key, value) in [
            ("optimizer.beta_1", optimizer.beta_1),
            ("optimizer.beta_2", optimizer.beta_2),
        ] {
            if !(0.0..1.0).contains(&value) {
                return fail(key, format!("must be in [0, 1), got {value}"));
            }
        }
        if !(optimizer.epsilon.is_finite() && optimizer.epsilon > 0.0) {
            return fail(
                "optimizer.epsilon",
                format!("must be positive, got {}", optimizer.epsilon),
            );
        }
        if !(0.0..=1.0).contains(&optimizer.final_learning_rate_fraction) {
            return fail(
                "optimizer.final_learning_rate_fraction",
                format!(
                    "must be in [0, 1], got {}",
                    optimizer.final_learning_rate_fraction
                ),
            );
        }
        if optimizer.schedule == Schedule::Epochs {
            if optimizer.epoch_learning_rates.is_empty() {
                return fail(
                    "optimizer.epoch_learning_rates",
                    "the \"epochs\" schedule needs at least one rate".into(),
                );
            }
            if let Some(rate) = optimizer
                .epoch_learning_rates
                .iter()
                .find(|rate| !(rate.is_finite() && **rate > 0.0))
            {
                return fail(
                    "optimizer.epoch_learning_rates",
                    format!("every rate must be a positive number, got {rate}"),
                );
            }
        }
        if optimizer.name == OptimizerKind::Sdlm {
            if self.model.variant != Variant::LeCun1998 {
                return fail(
                    "optimizer.name",
                    format!(
                        "\"sdlm\" needs the curvature of the lecun1998 network; model.variant is \"{}\": use \"adam\"",
                        self.model.variant
                    ),
                );
            }
            if !(optimizer.mu.is_finite() && optimizer.mu > 0.0) {
                return fail(
                    "optimizer.mu",
                    format!("must be a positive number, got {}", optimizer.mu),
                );
            }
            if optimizer.curvature_samples == 0 {
                return fail("optimizer.curvature_samples", "must be at least 1".into());
            }
        }
        if let Err(error) = self.model.check() {
            return fail("model.c1_padding", error.to_string());
        }
        let variant = self.model.variant;
        let side = self.data.input.side();
        if side != variant.input_size() {
            let padding = InputConfig::for_variant(variant).padding;
            return fail(
                "data.input.padding",
                format!(
                    "gives {side}x{side} images, but model.variant \"{variant}\" takes {0}x{0}: set padding = {padding}",
                    variant.input_size()
                ),
            );
        }
        if self.data.validation_size >= MNIST_TRAIN_IMAGES {
            return fail(
                "data.validation_size",
                format!(
                    "must leave training images: at most {}",
                    MNIST_TRAIN_IMAGES - 1
                ),
            );
        }
        Ok(())
    }
}

/// Overlays `user` on `defaults`, refusing keys that `defaults` does not have and values whose
/// TOML type differs from the default's (an integer is accepted where a float is expected).
fn merge(defaults: &mut Table, user: Table, prefix: &str) -> Result<(), (String, String)> {
    for (key, value) in user {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        let Some(default) = defaults.get_mut(&key) else {
            let known: Vec<&str> = defaults.keys().map(String::as_str).collect();
            return Err((
                path,
                format!("unknown key; known keys here: {}", known.join(", ")),
            ));
        };
        match (default, value) {
            (Value::Table(default), Value::Table(user)) => merge(default, user, &path)?,
            (default @ Value::Float(_), Value::Integer(int)) => *default = Value::Float(int as f64),
            (default, value) if default.same_type(&value) => *default = value,
            (default, value) => {
                return Err((
                    path,
                    format!(
                        "expected {}, found {} ({value})",
                        default.type_str(),
                        value.type_str()
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Where `train` writes by default: `artifacts/<config file stem>`.
pub fn default_artifacts_dir(config_path: &Path) -> PathBuf {
    let stem = config_path
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_else(|| "run".into());
    Path::new("artifacts").join(stem)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ExperimentConfig, ConfigError> {
        ExperimentConfig::from_toml(text, Path::new("test.toml"))
    }

    fn error_of(text: &str) -> (String, String) {
        match parse(text).unwrap_err() {
            ConfigError::Invalid { key, message, .. } => (key, message),
            other => panic!("expected a config error, got {other}"),
        }
    }

    #[test]
    fn an_empty_file_gives_the_defaults() {
        let config = parse("").unwrap();
        assert_eq!(config.training.batch_size, 128);
        assert_eq!(config.model.variant, Variant::Classic);
        assert_eq!(config.optimizer.schedule, Schedule::Constant);
    }

    #[test]
    fn values_override_defaults_and_round_trip() {
        let config = parse(
            "[model]\nvariant = \"keras\"\n[data.input]\npadding = 0\nnormalization = \"unit\"\n\
             [optimizer]\nlearning_rate = 1\nschedule = \"cosine\"\n[training]\nbackend = \"ndarray\"\nepochs = 3\n",
        )
        .unwrap();
        assert_eq!(config.model.variant, Variant::Keras);
        assert_eq!(config.optimizer.learning_rate, 1.0);
        assert_eq!(config.training.backend, BackendKind::Ndarray);
        let again = parse(&config.to_toml()).unwrap();
        assert_eq!(again.to_toml(), config.to_toml());
    }

    #[test]
    fn unknown_keys_are_named() {
        let (key, message) = error_of("[training]\nepoch = 3\n");
        assert_eq!(key, "training.epoch");
        assert!(message.contains("epochs"), "{message}");
        assert_eq!(error_of("[trainer]\n").0, "trainer");
    }

    #[test]
    fn wrong_types_are_named() {
        let (key, message) = error_of("[training]\nbatch_size = \"big\"\n");
        assert_eq!(key, "training.batch_size");
        assert!(
            message.contains("expected integer, found string"),
            "{message}"
        );
    }

    #[test]
    fn unknown_backends_and_variants_are_named() {
        let (key, message) = error_of("[training]\nbackend = \"cuda\"\n");
        assert_eq!(key, "training.backend");
        assert!(
            message.contains("cuda") && message.contains("ndarray"),
            "{message}"
        );
        assert_eq!(
            error_of("[model]\nvariant = \"alexnet\"\n").0,
            "model.variant"
        );
    }

    #[test]
    fn out_of_range_values_are_named() {
        assert_eq!(
            error_of("[training]\nbatch_size = 0\n").0,
            "training.batch_size"
        );
        assert_eq!(
            error_of("[optimizer]\nlearning_rate = -0.1\n").0,
            "optimizer.learning_rate"
        );
        assert_eq!(
            error_of("[training]\nbatch_size = -5\n").0,
            "training.batch_size"
        );
        let (key, message) = error_of("[model]\nvariant = \"keras\"\n[data.input]\npadding = 2\n");
        assert_eq!(key, "data.input.padding");
        assert!(message.contains("padding = 0"), "{message}");
        // Left out, the input step is the variant's.
        let keras = parse("[model]\nvariant = \"keras\"\n").unwrap();
        assert_eq!(keras.data.input, InputConfig::for_variant(Variant::Keras));
        assert_eq!(keras.model.c1_padding, lenet::C1Padding::Valid);
        // "same" is the Keras comments' form, not the paper's.
        let padded = parse("[model]\nvariant = \"keras\"\nc1_padding = \"same\"\n").unwrap();
        assert_eq!(padded.model.c1_padding, lenet::C1Padding::Same);
        let (key, message) = error_of("[model]\nc1_padding = \"same\"\n");
        assert_eq!(key, "model.c1_padding");
        assert!(message.contains("Keras variant"), "{message}");
        assert_eq!(
            error_of("[model]\nc1_padding = \"full\"\n").0,
            "model.c1_padding"
        );
    }

    #[test]
    fn syntax_errors_are_reported() {
        assert_eq!(error_of("[training\n").0, "(syntax)");
    }

    #[test]
    fn shipped_configs_load() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
        for name in [
            "lenet5",
            "lenet5-wgpu",
            "keras",
            "lenet5-augmented",
            "lecun1998",
            "lecun1998-distorted",
        ] {
            let path = dir.join(format!("{name}.toml"));
            ExperimentConfig::load(&path).unwrap_or_else(|error| panic!("{error}"));
        }
    }
}
