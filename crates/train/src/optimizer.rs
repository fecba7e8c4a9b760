//! The optimizer a configuration names, as one type, so that the Learner (and everything
//! generic over it) is compiled once whichever optimizer a run uses.

use burn::{
    data::{dataloader::batcher::Batcher, dataset::Dataset},
    optim::{
        GradientsParams, LearningRate, MultiGradientsParams, Optimizer, adaptor::OptimizerAdaptor,
        decay::WeightDecayConfig,
    },
    prelude::*,
    record::{PrecisionSettings, Record},
    tensor::backend::AutodiffBackend,
};
use experiment::{ExperimentConfig, OptimizerKind};
use lenet::LeNet5;
use lenet::MnistBatch;
use lenet_kernels::FusedAdam;
use mnist::MnistBatcher;
use rand::{SeedableRng, rngs::StdRng};
use sdlm::{Curvature, Sdlm, SdlmConfig};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::data::SharedDataset;

type AdamOptimizer<B> = OptimizerAdaptor<FusedAdam, LeNet5<B>, B>;
type AdamRecord<B> = <AdamOptimizer<B> as Optimizer<LeNet5<B>, B>>::Record;

/// Adam or SDLM, as `[optimizer]` says.
#[derive(Clone)]
pub enum TrainOptimizer<B: AutodiffBackend> {
    /// Adam (Burn's, its update fused on the CPU backends), through Burn's adaptor.
    Adam(AdamOptimizer<B>),
    /// SDLM, its curvature estimated on a sample of the training set.
    Sdlm(Sdlm<LeNet5<B>, B, CurvatureSample<B>>),
}

impl<B: AutodiffBackend> TrainOptimizer<B> {
    /// The optimizer of `config`, for `steps_per_epoch` steps per epoch; SDLM estimates its
    /// curvature on `train_set`.
    pub fn new(
        config: &ExperimentConfig,
        steps_per_epoch: usize,
        train_set: SharedDataset,
        device: B::Device,
    ) -> Self {
        let optimizer = &config.optimizer;
        match optimizer.name {
            OptimizerKind::Adam => {
                let weight_decay = (optimizer.weight_decay > 0.0)
                    .then(|| WeightDecayConfig::new(optimizer.weight_decay as f32));
                let adam = FusedAdam::new(
                    optimizer.beta_1,
                    optimizer.beta_2,
                    optimizer.epsilon,
                    weight_decay,
                );
                TrainOptimizer::Adam(adam.into())
            }
            OptimizerKind::Sdlm => {
                let sample = CurvatureSample {
                    dataset: train_set,
                    batcher: MnistBatcher::new(config.data.input.clone()),
                    samples: optimizer.curvature_samples,
                    seed: config.training.seed,
                    device,
                };
                TrainOptimizer::Sdlm(
                    SdlmConfig::new(steps_per_epoch)
                        .with_mu(optimizer.mu)
                        .init(sample),
                )
            }
        }
    }
}

impl<B: AutodiffBackend> Optimizer<LeNet5<B>, B> for TrainOptimizer<B> {
    type Record = TrainOptimizerRecord<B>;

    fn step(&mut self, lr: LearningRate, module: LeNet5<B>, grads: GradientsParams) -> LeNet5<B> {
        match self {
            TrainOptimizer::Adam(adam) => adam.step(lr, module, grads),
            TrainOptimizer::Sdlm(sdlm) => sdlm.step(lr, module, grads),
        }
    }

    fn step_multi(
        &mut self,
        lr: LearningRate,
        module: LeNet5<B>,
        grads: MultiGradientsParams,
    ) -> LeNet5<B> {
        match self {
            TrainOptimizer::Adam(adam) => adam.step_multi(lr, module, grads),
            TrainOptimizer::Sdlm(sdlm) => sdlm.step_multi(lr, module, grads),
        }
    }

    fn to_record(&self) -> Self::Record {
        match self {
            TrainOptimizer::Adam(adam) => TrainOptimizerRecord::Adam(adam.to_record()),
            TrainOptimizer::Sdlm(sdlm) => TrainOptimizerRecord::Sdlm(sdlm.to_record()),
        }
    }

    fn load_record(self, record: Self::Record) -> Self {
        match (self, record) {
            (TrainOptimizer::Adam(adam), TrainOptimizerRecord::Adam(record)) => {
                TrainOptimizer::Adam(adam.load_record(record))
            }
            (TrainOptimizer::Sdlm(sdlm), TrainOptimizerRecord::Sdlm(steps)) => {
                TrainOptimizer::Sdlm(sdlm.load_record(steps))
            }
            // A resumed run reads its own configuration, so the kinds always agree.
            (optimizer, _) => optimizer,
        }
    }
}

/// The optimizer's state in a checkpoint.
pub enum TrainOptimizerRecord<B: AutodiffBackend> {
    /// Adam's moments, per parameter.
    Adam(AdamRecord<B>),
    /// The number of SDLM steps taken (its curvature is estimated again on resuming).
    Sdlm(usize),
}

/// The serialised form. Untagged, so that an Adam checkpoint reads exactly as Burn's adaptor
/// wrote it before this type existed.
#[derive(Serialize, Deserialize, Clone)]
#[serde(untagged, bound = "A: Serialize + DeserializeOwned")]
pub enum TrainOptimizerItem<A> {
    /// Adam's record item.
    Adam(A),
    /// SDLM's step count.
    Sdlm {
        /// Steps taken.
        sdlm_steps: usize,
    },
}

impl<B: AutodiffBackend> Record<B> for TrainOptimizerRecord<B> {
    type Item<S: PrecisionSettings> = TrainOptimizerItem<<AdamRecord<B> as Record<B>>::Item<S>>;

    fn into_item<S: PrecisionSettings>(self) -> Self::Item<S> {
        match self {
            TrainOptimizerRecord::Adam(record) => TrainOptimizerItem::Adam(record.into_item()),
            TrainOptimizerRecord::Sdlm(sdlm_steps) => TrainOptimizerItem::Sdlm { sdlm_steps },
        }
    }

    fn from_item<S: PrecisionSettings>(item: Self::Item<S>, device: &B::Device) -> Self {
        match item {
            TrainOptimizerItem::Adam(item) => {
                TrainOptimizerRecord::Adam(AdamRecord::<B>::from_item(item, device))
            }
            TrainOptimizerItem::Sdlm { sdlm_steps } => TrainOptimizerRecord::Sdlm(sdlm_steps),
        }
    }
}

/// SDLM's curvature source: the paper's Gauss-Newton estimate
/// ([`LeNet5::curvature`]) on `samples` training images, drawn anew for each estimate from the
/// seed and the estimate's number alone, so that a resumed run draws what an uninterrupted
/// one would.
#[derive(Clone)]
pub struct CurvatureSample<B: Backend> {
    dataset: SharedDataset,
    batcher: MnistBatcher,
    samples: usize,
    seed: u64,
    device: B::Device,
}

impl<B: AutodiffBackend> Curvature<LeNet5<B>, B> for CurvatureSample<B> {
    fn estimate(&mut self, model: &LeNet5<B>, estimate: usize) -> GradientsParams {
        let len = self.dataset.len();
        let mut rng = StdRng::seed_from_u64(
            self.seed ^ (estimate as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
        );
        let picked = rand::seq::index::sample(&mut rng, len, self.samples.min(len));
        let items = picked
            .iter()
            .filter_map(|index| self.dataset.get(index))
            .collect();
        let batch: MnistBatch<B> = self.batcher.batch(items, &self.device);
        // The configuration is validated to pair SDLM with the paper's network, whose estimate
        // cannot fail; should it, no curvature means steps of `eta / mu`.
        model.curvature(batch.images).unwrap_or_default()
    }
}
