//! Batches for the Learner: shuffled per epoch from the seed alone, so that a resumed run sees
//! exactly the batches an uninterrupted one would.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use burn::{
    data::{
        dataloader::{
            DataLoader, DataLoaderBuilder, DataLoaderIterator, Progress, batcher::Batcher,
        },
        dataset::Dataset,
    },
    prelude::*,
};
use mnist::{MnistBatch, MnistBatcher, MnistItem};
use rand::{SeedableRng, rngs::StdRng, seq::SliceRandom};

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
