//! The train, validation and test sets as Burn datasets of u8 images.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use burn::data::dataset::Dataset;

use crate::IMAGE_PIXELS;
use crate::MnistError;
use crate::idx;
use crate::source::{self, TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS};

/// One MNIST example: a 28x28 image, row-major, 0 = background, 255 = ink; and its digit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MnistItem {
    /// Pixels, row by row.
    pub image: [u8; IMAGE_PIXELS],
    /// The digit, 0..=9.
    pub label: u8,
}

/// Pixels and labels of a whole file pair, shared by every view onto it.
struct Storage {
    pixels: Vec<u8>,
    labels: Vec<u8>,
}

/// A contiguous run of MNIST examples.
///
/// Cloning is cheap: clones and the splits carved from one file share its pixels, which stay
/// u8 (47 MB for the training set) and become floats only per batch.
#[derive(Clone)]
pub struct MnistDataset {
    storage: Arc<Storage>,
    start: usize,
    len: usize,
}

impl MnistDataset {
    /// Reads and validates an image file and its label file (raw or gzip).
    pub fn load(images: &Path, labels: &Path) -> Result<Self, MnistError> {
        let pixels = idx::read_images(images)?;
        let labels_data = idx::read_labels(labels)?;
        let image_count = pixels.len() / IMAGE_PIXELS;
        if image_count != labels_data.len() {
            return Err(MnistError::CountMismatch {
                images: images.into(),
                labels: labels.into(),
                image_count,
                label_count: labels_data.len(),
            });
        }
        Ok(Self::from_storage(Storage {
            pixels,
            labels: labels_data,
        }))
    }

    /// A dataset of the given items, e.g. synthetic ones for tests and examples. Labels are
    /// taken as given: only files are validated.
    pub fn from_items(items: impl IntoIterator<Item = MnistItem>) -> Self {
        let mut storage = Storage {
            pixels: Vec::new(),
            labels: Vec::new(),
        };
        for item in items {
            storage.pixels.extend_from_slice(&item.image);
            storage.labels.push(item.label);
        }
        Self::from_storage(storage)
    }

    fn from_storage(storage: Storage) -> Self {
        let len = storage.labels.len();
        Self {
            storage: Arc::new(storage),
            start: 0,
            len,
        }
    }

    /// Number of examples.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no examples.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The first `n` examples (all of them if there are fewer), for quick smoke runs.
    pub fn limit(self, n: usize) -> Self {
        let len = self.len.min(n);
        Self { len, ..self }
    }

    /// The examples `from..from + len` of this view, which must lie inside it.
    fn view(&self, from: usize, len: usize) -> Self {
        debug_assert!(from + len <= self.len);
        Self {
            storage: Arc::clone(&self.storage),
            start: self.start + from,
            len,
        }
    }

    /// The labels of all examples, in order (e.g. to count classes).
    pub fn labels(&self) -> &[u8] {
        &self.storage.labels[self.start..self.start + self.len]
    }

    /// The pixels of example `index`, without copying them.
    pub fn image(&self, index: usize) -> Option<&[u8; IMAGE_PIXELS]> {
        if index >= self.len {
            return None;
        }
        let at = (self.start + index) * IMAGE_PIXELS;
        self.storage.pixels[at..at + IMAGE_PIXELS].try_into().ok()
    }
}

impl Dataset<MnistItem> for MnistDataset {
    fn get(&self, index: usize) -> Option<MnistItem> {
        Some(MnistItem {
            image: *self.image(index)?,
            label: self.storage.labels[self.start + index],
        })
    }

    fn len(&self) -> usize {
        self.len
    }
}

impl fmt::Debug for MnistDataset {
    // The derived form would print 47 MB of pixels.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MnistDataset")
            .field("start", &self.start)
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

/// The three splits, loaded together.
#[derive(Clone, Debug)]
pub struct MnistSplits {
    /// The first `60,000 - validation_size` training examples.
    pub train: MnistDataset,
    /// The last `validation_size` training examples.
    pub valid: MnistDataset,
    /// The 10,000 test examples.
    pub test: MnistDataset,
}

impl MnistSplits {
    /// Loads the four files from `dir` (see [`crate::locate`]) and carves the validation set
    /// of `validation_size` examples from the end of the training set.
    ///
    /// Carving from the end keeps the split fixed and independent of any seed, and matches the
    /// usual 55,000/5,000 practice. `validation_size` may be 0; more than the training set
    /// holds is an error.
    pub fn load(dir: &Path, validation_size: usize) -> Result<Self, MnistError> {
        let path = |file: &str| {
            source::find_file(dir, file).ok_or_else(|| MnistError::MissingFiles {
                missing: vec![file.into()],
                searched: vec![dir.into()],
                // Only `locate` knows which mirrors the caller uses.
                urls: Vec::new(),
            })
        };
        let (train_images, train_labels) = (path(TRAIN_IMAGES)?, path(TRAIN_LABELS)?);
        let (test_images, test_labels) = (path(TEST_IMAGES)?, path(TEST_LABELS)?);
        // Decompressing is most of the loading time, so the two splits use both cores.
        let (train, test) = std::thread::scope(|scope| {
            let test = scope.spawn(|| MnistDataset::load(&test_images, &test_labels));
            let train = MnistDataset::load(&train_images, &train_labels);
            let test = test
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (train, test)
        });
        Self::split(train?, test?, validation_size)
    }

    /// Carves `validation_size` examples from the end of `train`.
    pub fn split(
        train: MnistDataset,
        test: MnistDataset,
        validation_size: usize,
    ) -> Result<Self, MnistError> {
        let available = train.len();
        let Some(train_len) = available.checked_sub(validation_size) else {
            return Err(MnistError::ValidationTooLarge {
                requested: validation_size,
                available,
            });
        };
        Ok(Self {
            valid: train.view(train_len, validation_size),
            train: train.view(0, train_len),
            test,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::idx::fixtures;

    fn item(label: u8) -> MnistItem {
        let mut image = [0u8; IMAGE_PIXELS];
        image[0] = label * 10;
        MnistItem { image, label }
    }

    fn numbered(n: u8) -> MnistDataset {
        MnistDataset::from_items((0..n).map(|i| item(i % 10)))
    }

    #[test]
    fn get_returns_items_in_order_and_none_past_the_end() {
        let dataset = numbered(3);
        assert_eq!(Dataset::len(&dataset), 3);
        assert_eq!(dataset.get(2), Some(item(2)));
        assert_eq!(dataset.get(3), None);
        assert_eq!(dataset.image(3), None);
    }

    #[test]
    fn validation_is_carved_from_the_end() {
        let splits = MnistSplits::split(numbered(10), numbered(4), 3).unwrap();
        assert_eq!(splits.train.labels(), &[0, 1, 2, 3, 4, 5, 6]);
        assert_eq!(splits.valid.labels(), &[7, 8, 9]);
        assert_eq!(splits.valid.get(0), Some(item(7)));
        assert_eq!(splits.valid.get(3), None);
        assert_eq!(splits.test.len(), 4);
    }

    #[test]
    fn validation_size_zero_and_everything_are_allowed() {
        let splits = MnistSplits::split(numbered(5), numbered(1), 0).unwrap();
        assert_eq!((splits.train.len(), splits.valid.len()), (5, 0));
        assert!(splits.valid.is_empty());
        let splits = MnistSplits::split(numbered(5), numbered(1), 5).unwrap();
        assert_eq!((splits.train.len(), splits.valid.len()), (0, 5));
    }

    #[test]
    fn validation_larger_than_train_is_an_error() {
        let err = MnistSplits::split(numbered(5), numbered(1), 6).unwrap_err();
        assert!(
            matches!(
                err,
                MnistError::ValidationTooLarge {
                    requested: 6,
                    available: 5
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn limit_keeps_the_first_items_and_tolerates_large_n() {
        let splits = MnistSplits::split(numbered(10), numbered(1), 4).unwrap();
        let valid = splits.valid.limit(2);
        assert_eq!(valid.labels(), &[6, 7]);
        assert_eq!(numbered(3).limit(100).len(), 3);
    }

    fn write_split(dir: &Path, images_file: &str, labels_file: &str, labels: &[u8]) {
        let images = fixtures::three_images();
        fs::write(
            dir.join(images_file),
            fixtures::gzip(&fixtures::images(&images)),
        )
        .unwrap();
        fs::write(dir.join(labels_file), fixtures::labels(labels)).unwrap();
    }

    #[test]
    fn loads_synthetic_files_from_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        write_split(
            dir.path(),
            "train-images-idx3-ubyte.gz",
            TRAIN_LABELS,
            &[4, 5, 6],
        );
        write_split(
            dir.path(),
            TEST_IMAGES,
            "t10k-labels-idx1-ubyte.gz",
            &[7, 8, 9],
        );
        let splits = MnistSplits::load(dir.path(), 1).unwrap();
        assert_eq!(splits.train.labels(), &[4, 5]);
        assert_eq!(splits.valid.labels(), &[6]);
        assert_eq!(splits.test.labels(), &[7, 8, 9]);
        let expected = fixtures::three_images();
        assert_eq!(splits.valid.get(0).unwrap().image, expected[2]);
        assert_eq!(splits.test.get(1).unwrap().image, expected[1]);
    }

    #[test]
    fn images_and_labels_must_agree_in_count() {
        let dir = tempfile::tempdir().unwrap();
        write_split(dir.path(), TRAIN_IMAGES, TRAIN_LABELS, &[1, 2]);
        let err = MnistDataset::load(
            &dir.path().join(TRAIN_IMAGES),
            &dir.path().join(TRAIN_LABELS),
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                MnistError::CountMismatch {
                    image_count: 3,
                    label_count: 2,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn load_names_a_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        write_split(dir.path(), TRAIN_IMAGES, TRAIN_LABELS, &[1, 2, 3]);
        let err = MnistSplits::load(dir.path(), 0).unwrap_err();
        assert!(
            matches!(&err, MnistError::MissingFiles { missing, .. } if missing == &[TEST_IMAGES]),
            "{err:?}"
        );
    }

    #[test]
    fn load_names_a_directory_standing_in_for_a_file() {
        let dir = tempfile::tempdir().unwrap();
        write_split(dir.path(), TRAIN_IMAGES, TRAIN_LABELS, &[1, 2, 3]);
        write_split(dir.path(), TEST_IMAGES, TEST_LABELS, &[1, 2, 3]);
        fs::remove_file(dir.path().join(TEST_LABELS)).unwrap();
        fs::create_dir(dir.path().join(TEST_LABELS)).unwrap();
        let err = MnistSplits::load(dir.path(), 0).unwrap_err();
        assert!(
            matches!(&err, MnistError::NotAFile { path } if path.ends_with(TEST_LABELS)),
            "{err:?}"
        );
    }
}
