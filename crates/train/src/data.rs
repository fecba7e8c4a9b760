//! A run's data and its batches for the Learner: shuffled per epoch from the seed alone, so
//! that a resumed run sees exactly the batches an uninterrupted one would.

use std::{
    num::NonZeroUsize,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use burn::{
    data::{
        dataloader::{
            DataLoader, DataLoaderBuilder, DataLoaderIterator, Progress, batcher::Batcher,
        },
        dataset::Dataset,
    },
    prelude::*,
    tensor::backend::{AutodiffBackend, DeviceOps},
};
use experiment::ExperimentConfig;
use lenet::MnistBatch;
use mnist::{AugmentedDataset, MnistBatcher, MnistDataset, MnistItem, MnistSplits};
use rand::{SeedableRng, rngs::StdRng, seq::SliceRandom};

use crate::{RunOptions, TrainError};

/// A dataset of MNIST items shared between loaders.
pub type SharedDataset = Arc<dyn Dataset<MnistItem>>;

/// Burn's `BatchDataLoader` advances one random generator from epoch to epoch, so a run resumed
/// at epoch `n` would shuffle differently from one that got there uninterrupted. This loader
/// derives epoch `n`'s order from `(seed, n)` and builds each batch on the calling thread.
pub struct EpochLoader<B: Backend> {
    dataset: SharedDataset,
    batcher: MnistBatcher,
    batch_size: usize,
    device: B::Device,
    shuffle_seed: Option<u64>,
    range: (usize, usize),
    next_epoch: Arc<AtomicUsize>,
}

impl<B: Backend> EpochLoader<B> {
    /// A loader over all of `dataset`; `shuffle_seed` `None` keeps the dataset's order.
    /// `first_epoch` is the number of epochs already done (non-zero when resuming).
    pub fn new(
        dataset: SharedDataset,
        batcher: MnistBatcher,
        batch_size: usize,
        device: B::Device,
        shuffle_seed: Option<u64>,
        first_epoch: usize,
    ) -> Self {
        let len = dataset.len();
        Self {
            dataset,
            batcher,
            batch_size,
            device,
            shuffle_seed,
            range: (0, len),
            next_epoch: Arc::new(AtomicUsize::new(first_epoch)),
        }
    }

    fn order(&self, epoch: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (self.range.0..self.range.1).collect();
        if let Some(seed) = self.shuffle_seed {
            let mut rng =
                StdRng::seed_from_u64(seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
            order.shuffle(&mut rng);
        }
        order
    }
}

impl<B: Backend> Clone for EpochLoader<B> {
    fn clone(&self) -> Self {
        Self {
            dataset: self.dataset.clone(),
            batcher: self.batcher.clone(),
            batch_size: self.batch_size,
            device: self.device.clone(),
            shuffle_seed: self.shuffle_seed,
            range: self.range,
            next_epoch: self.next_epoch.clone(),
        }
    }
}

impl<B: Backend> DataLoader<B, MnistBatch<B>> for EpochLoader<B> {
    fn iter<'a>(&'a self) -> Box<dyn DataLoaderIterator<MnistBatch<B>> + 'a> {
        let epoch = self.next_epoch.fetch_add(1, Ordering::SeqCst);
        Box::new(EpochIterator {
            loader: self,
            order: self.order(epoch),
            position: 0,
        })
    }

    fn num_items(&self) -> usize {
        self.range.1 - self.range.0
    }

    fn to_device(&self, device: &B::Device) -> Arc<dyn DataLoader<B, MnistBatch<B>>> {
        let mut loader = self.clone();
        loader.device = device.clone();
        Arc::new(loader)
    }

    fn slice(&self, start: usize, end: usize) -> Arc<dyn DataLoader<B, MnistBatch<B>>> {
        let mut loader = self.clone();
        loader.range = (self.range.0 + start, (self.range.0 + end).min(self.range.1));
        Arc::new(loader)
    }
}

struct EpochIterator<'a, B: Backend> {
    loader: &'a EpochLoader<B>,
    order: Vec<usize>,
    position: usize,
}

impl<B: Backend> Iterator for EpochIterator<'_, B> {
    type Item = MnistBatch<B>;

    fn next(&mut self) -> Option<MnistBatch<B>> {
        let end = (self.position + self.loader.batch_size).min(self.order.len());
        let indices = self
            .order
            .get(self.position..end)
            .filter(|chunk| !chunk.is_empty())?;
        let items = indices
            .iter()
            .filter_map(|&index| self.loader.dataset.get(index))
            .collect();
        self.position = end;
        Some(self.loader.batcher.batch(items, &self.loader.device))
    }
}

impl<B: Backend> DataLoaderIterator<MnistBatch<B>> for EpochIterator<'_, B> {
    fn progress(&self) -> Progress {
        Progress::new(self.position, self.order.len())
    }
}

/// The training loader: [`EpochLoader`] when `workers` is 0, otherwise Burn's multi-threaded
/// loader (faster only with cores to spare, and not bit-exact across `--resume`).
pub fn train_loader<B: Backend>(
    dataset: SharedDataset,
    batcher: MnistBatcher,
    batch_size: usize,
    seed: u64,
    workers: usize,
    first_epoch: usize,
    device: &B::Device,
) -> Arc<dyn DataLoader<B, MnistBatch<B>>> {
    if workers == 0 {
        Arc::new(EpochLoader::new(
            dataset,
            batcher,
            batch_size,
            device.clone(),
            Some(seed),
            first_epoch,
        ))
    } else {
        DataLoaderBuilder::new(batcher)
            .batch_size(batch_size)
            .shuffle(seed)
            .num_workers(workers)
            .set_device(device.clone())
            .build(dataset)
    }
}

/// A loader that visits `dataset` in order, for validation and test.
pub fn eval_loader<B: Backend>(
    dataset: SharedDataset,
    batcher: MnistBatcher,
    batch_size: usize,
    device: &B::Device,
) -> Arc<dyn DataLoader<B, MnistBatch<B>>> {
    Arc::new(EpochLoader::new(
        dataset,
        batcher,
        batch_size,
        device.clone(),
        None,
        0,
    ))
}

/// Batch size for validation and test: larger is faster and changes no result.
const EVAL_BATCH_SIZE: usize = 1000;

/// A run's share of MNIST: its training set (augmented as configured), validation and test
/// sets, and the batcher that turns them into the network's input.
pub struct RunData {
    /// The training images, augmented when the configuration says so.
    pub train: SharedDataset,
    /// The validation images.
    pub valid: SharedDataset,
    /// The test images (the report's mistakes index into it).
    pub test: Arc<MnistDataset>,
    /// Training images per epoch.
    pub train_images: usize,
    /// The configuration's input step, as a batcher.
    pub batcher: MnistBatcher,
}

/// The run's three loaders.
pub struct Loaders<B: AutodiffBackend> {
    /// Shuffled per epoch from the seed.
    pub train: Arc<dyn DataLoader<B, MnistBatch<B>>>,
    /// In order, without autodiff.
    pub valid: Arc<dyn DataLoader<B::InnerBackend, MnistBatch<B::InnerBackend>>>,
    /// In order, without autodiff.
    pub test: Arc<dyn DataLoader<B::InnerBackend, MnistBatch<B::InnerBackend>>>,
}

impl<B: AutodiffBackend> Clone for Loaders<B> {
    fn clone(&self) -> Self {
        Self {
            train: self.train.clone(),
            valid: self.valid.clone(),
            test: self.test.clone(),
        }
    }
}

impl RunData {
    /// Loads MNIST from `options.data_dir`, splits and limits it as `config` and `options`
    /// say; `done` epochs already trained set where the augmentation's draws continue.
    pub fn load(
        config: &ExperimentConfig,
        options: &RunOptions,
        done: usize,
    ) -> Result<Self, TrainError> {
        let splits = MnistSplits::load(&options.data_dir, config.data.validation_size)?;
        let limit = |dataset: MnistDataset, limit: Option<NonZeroUsize>| match limit {
            Some(n) => dataset.limit(n.get()),
            None => dataset,
        };
        let train_set = limit(splits.train, options.limit_train);
        let train_images = train_set.len();
        let augmentation = &config.data.augmentation;
        let train: SharedDataset = if augmentation.enabled {
            let seed = config.training.seed;
            let augmented = AugmentedDataset::new(train_set, augmentation.clone(), seed)?;
            Arc::new(augmented.with_start_epoch(done as u32))
        } else {
            Arc::new(train_set)
        };
        Ok(Self {
            train,
            valid: Arc::new(splits.valid),
            test: Arc::new(limit(splits.test, options.limit_test)),
            train_images,
            batcher: MnistBatcher::new(config.data.input.clone()),
        })
    }

    /// Validation images.
    pub fn valid_images(&self) -> usize {
        self.valid.len()
    }

    /// The loaders on `device`, the training one starting at epoch `done + 1`.
    pub fn loaders<B: AutodiffBackend>(
        &self,
        config: &ExperimentConfig,
        done: usize,
        device: &B::Device,
    ) -> Loaders<B> {
        let training = &config.training;
        let eval = |dataset: SharedDataset| {
            eval_loader::<B::InnerBackend>(
                dataset,
                self.batcher.clone(),
                EVAL_BATCH_SIZE,
                device.inner(),
            )
        };
        Loaders {
            train: train_loader::<B>(
                self.train.clone(),
                self.batcher.clone(),
                training.batch_size,
                training.seed,
                training.loader_workers,
                done,
                device,
            ),
            valid: eval(self.valid.clone()),
            test: eval(self.test.clone()),
        }
    }
}
