//! Random affine distortions of training images, reproducible from a seed.
//!
//! LeCun et al. (1998) trained on distorted copies of the training images (small translations,
//! scalings, squeezes and shears) and cut the test error noticeably. This module draws such an
//! affine map per image and resamples the 28x28 image bilinearly, staying in u8.

use std::sync::atomic::{AtomicU32, Ordering};

use burn::config::Config;
use burn::data::dataset::Dataset;
use rand::rngs::StdRng;
use rand::{Rng, RngExt, SeedableRng};

use crate::{IMAGE_PIXELS, IMAGE_SIDE};
use crate::{LeftoverConfig, MnistError, MnistItem};

/// Ranges of the random distortions; each parameter is drawn uniformly from `[-max, max]`.
#[derive(Config, Debug, PartialEq)]
pub struct AugmentConfig {
    /// Whether training images are distorted at all.
    #[config(default = false)]
    pub enabled: bool,
    /// Largest shift along each axis, in pixels.
    #[config(default = 2.0)]
    pub max_translation: f32,
    /// Largest rotation, in degrees.
    #[config(default = 10.0)]
    pub max_rotation: f32,
    /// Largest relative change of size: 0.1 scales by a factor in 0.9..=1.1. Below 1.
    #[config(default = 0.1)]
    pub max_scale: f32,
    /// Largest horizontal shear factor (x moves by `shear * y`).
    #[config(default = 0.1)]
    pub max_shear: f32,
    /// Largest squeeze, the paper's "simultaneous horizontal compression and vertical
    /// elongation, or the reverse": 0.1 scales x by a factor `q` in 0.9..=1.1 and y by `1/q`.
    /// Below 1.
    #[config(default = 0.0)]
    pub max_squeeze: f32,
    /// What preprocessing a photo leaves beside a digit, added after the distortion
    /// (`[data.augmentation.leftovers]`; none by default).
    #[config(default = "LeftoverConfig::new()")]
    pub leftovers: LeftoverConfig,
}

impl AugmentConfig {
    /// Checks that every range is finite and non-negative, and that scaling cannot reach 0.
    pub fn validate(&self) -> Result<(), MnistError> {
        let ranges = [
            ("max_translation", self.max_translation),
            ("max_rotation", self.max_rotation),
            ("max_scale", self.max_scale),
            ("max_shear", self.max_shear),
            ("max_squeeze", self.max_squeeze),
        ];
        for (name, value) in ranges {
            if !(value.is_finite() && value >= 0.0) {
                return Err(MnistError::InvalidAugmentation {
                    name,
                    value,
                    reason: "must be a finite number >= 0",
                });
            }
        }
        for (name, value) in [
            ("max_scale", self.max_scale),
            ("max_squeeze", self.max_squeeze),
        ] {
            if value >= 1.0 {
                return Err(MnistError::InvalidAugmentation {
                    name,
                    value,
                    reason: "must be below 1, or an image could shrink to nothing",
                });
            }
        }
        self.leftovers.validate()
    }

    /// A randomly distorted copy of `image` (28x28, row-major).
    ///
    /// The map is rotation, shear, scaling and squeezing about the image centre followed by a
    /// translation.
    /// Pixels that come from outside the image are background (0). Expects a validated config
    /// ([`AugmentConfig::validate`]); other values give odd images, never a panic.
    pub fn distort<R: Rng + ?Sized>(
        &self,
        image: &[u8; IMAGE_PIXELS],
        rng: &mut R,
    ) -> [u8; IMAGE_PIXELS] {
        // Drawn as `max * u` with u in [-1, 1) rather than `random_range(-max..=max)`, which
        // would panic on a negative or NaN range.
        let mut symmetric = |max: f32| max * (2.0 * rng.random::<f32>() - 1.0);
        let tx = symmetric(self.max_translation);
        let ty = symmetric(self.max_translation);
        let angle = symmetric(self.max_rotation).to_radians();
        let scale = 1.0 + symmetric(self.max_scale);
        let shear = symmetric(self.max_shear);
        // Drawn last, so that configurations without squeezing distort exactly as before it.
        let squeeze = 1.0 + symmetric(self.max_squeeze);

        // Forward map: p' = R(angle) * Shear(shear) * scale * Squeeze(q, 1/q) * (p - c) + c + t.
        // Output pixels are filled by pulling from the inverse map, so every pixel gets exactly
        // one value.
        let (sin, cos) = angle.sin_cos();
        let inverse = [
            [
                (cos + shear * sin) / (scale * squeeze),
                (sin - shear * cos) / (scale * squeeze),
            ],
            [-sin * squeeze / scale, cos * squeeze / scale],
        ];
        let centre = (IMAGE_SIDE as f32 - 1.0) / 2.0;
        let mut out = [0u8; IMAGE_PIXELS];
        for (y, row) in out.chunks_exact_mut(IMAGE_SIDE).enumerate() {
            let dy = y as f32 - centre - ty;
            for (x, pixel) in row.iter_mut().enumerate() {
                let dx = x as f32 - centre - tx;
                let source_x = inverse[0][0] * dx + inverse[0][1] * dy + centre;
                let source_y = inverse[1][0] * dx + inverse[1][1] * dy + centre;
                *pixel = bilinear(image, source_x, source_y);
            }
        }
        out
    }
}

/// The image sampled at a fractional position; outside the image is background.
fn bilinear(image: &[u8; IMAGE_PIXELS], x: f32, y: f32) -> u8 {
    let side = IMAGE_SIDE as f32;
    // A whole pixel or more outside, all four neighbours are background. Written so that NaN
    // lands here too.
    if !(x > -1.0 && x < side && y > -1.0 && y < side) {
        return 0;
    }
    // Shifted by one so that truncation is floor (`f32::floor` is a libm call on baseline
    // x86-64, and this runs 784 times per image).
    let (xs, ys) = ((x + 1.0) as usize, (y + 1.0) as usize);
    let (fx, fy) = (x + 1.0 - xs as f32, y + 1.0 - ys as f32);
    // Shifted coordinates: 1..=IMAGE_SIDE are inside the image.
    let at = |col: usize, row: usize| -> f32 {
        if (1..=IMAGE_SIDE).contains(&col) && (1..=IMAGE_SIDE).contains(&row) {
            f32::from(image[(row - 1) * IMAGE_SIDE + col - 1])
        } else {
            0.0
        }
    };
    let top = at(xs, ys) * (1.0 - fx) + at(xs + 1, ys) * fx;
    let bottom = at(xs, ys + 1) * (1.0 - fx) + at(xs + 1, ys + 1) * fx;
    let value = top * (1.0 - fy) + bottom * fy;
    // `as` saturates, and rounding keeps the mean brightness.
    (value + 0.5) as u8
}

/// Training data with a fresh random distortion of each image every time it is read.
///
/// The distortion of example `index` the `e`-th time it is read depends only on
/// `(seed, index, e)`, so it survives any shuffling or parallel loading order. `e` counts the
/// reads of that index, starting at [`AugmentedDataset::with_start_epoch`] (0 by default); a
/// training resumed after epoch `k` passes `k` and continues the same sequence.
/// Labels are unchanged. With `enabled = false` items pass through untouched. Never wrap
/// validation or test data.
pub struct AugmentedDataset<D> {
    inner: D,
    config: AugmentConfig,
    seed: u64,
    reads: Vec<AtomicU32>,
}

impl<D: Dataset<MnistItem>> AugmentedDataset<D> {
    /// Wraps `inner`; fails if `config` does not pass [`AugmentConfig::validate`].
    pub fn new(inner: D, config: AugmentConfig, seed: u64) -> Result<Self, MnistError> {
        config.validate()?;
        let reads = (0..inner.len()).map(|_| AtomicU32::new(0)).collect();
        Ok(Self {
            inner,
            config,
            seed,
            reads,
        })
    }

    /// Starts every example's read count at `epoch`, to resume a training run.
    pub fn with_start_epoch(self, epoch: u32) -> Self {
        for count in &self.reads {
            count.store(epoch, Ordering::Relaxed);
        }
        self
    }

    /// Example `index` as distorted at read number `epoch`, without counting a read.
    pub fn get_at_epoch(&self, index: usize, epoch: u32) -> Option<MnistItem> {
        let mut item = self.inner.get(index)?;
        if self.config.enabled {
            let mut rng = StdRng::seed_from_u64(item_seed(self.seed, index, epoch));
            item.image = self.config.distort(&item.image, &mut rng);
            self.config.leftovers.apply(&mut item.image, &mut rng);
        }
        Some(item)
    }
}

impl<D: Dataset<MnistItem>> Dataset<MnistItem> for AugmentedDataset<D> {
    fn get(&self, index: usize) -> Option<MnistItem> {
        let epoch = self.reads.get(index)?.fetch_add(1, Ordering::Relaxed);
        self.get_at_epoch(index, epoch)
    }

    fn len(&self) -> usize {
        self.inner.len()
    }
}

/// Mixes the three numbers so that neighbouring indices and epochs give unrelated streams.
fn item_seed(seed: u64, index: usize, epoch: u32) -> u64 {
    let mixed = splitmix64(seed ^ splitmix64(index as u64));
    splitmix64(mixed ^ splitmix64(u64::from(epoch) ^ 0x5851_f42d_4c95_7f2d))
}

/// SplitMix64's finaliser (Steele, Lea and Flood 2014).
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MnistDataset;

    /// A plus sign, far enough from the border that distortions keep most of it.
    fn plus() -> [u8; IMAGE_PIXELS] {
        let mut image = [0u8; IMAGE_PIXELS];
        for i in 6..22 {
            image[14 * IMAGE_SIDE + i] = 255;
            image[i * IMAGE_SIDE + 14] = 255;
        }
        image
    }

    fn dataset(config: AugmentConfig, seed: u64) -> AugmentedDataset<MnistDataset> {
        let items = (0..4).map(|label| MnistItem {
            image: plus(),
            label,
        });
        AugmentedDataset::new(MnistDataset::from_items(items), config, seed).unwrap()
    }

    fn on() -> AugmentConfig {
        AugmentConfig::new().with_enabled(true)
    }

    #[test]
    fn augmented_image_differs_but_keeps_its_label_and_most_ink() {
        let data = dataset(on(), 7);
        let item = data.get(3).unwrap();
        assert_eq!(item.label, 3);
        assert_ne!(item.image, plus());
        let ink = |image: &[u8]| image.iter().map(|&p| u32::from(p)).sum::<u32>();
        let ratio = ink(&item.image) as f32 / ink(&plus()) as f32;
        assert!((0.6..1.5).contains(&ratio), "ink ratio {ratio}");
    }

    #[test]
    fn same_seed_index_and_epoch_reproduce_the_image() {
        let (a, b) = (dataset(on(), 7), dataset(on(), 7));
        // Read in a different order, as shuffling would.
        let a1 = a.get(1).unwrap();
        let b2 = b.get(2).unwrap();
        let b1 = b.get(1).unwrap();
        assert_eq!(a1, b1);
        assert_eq!(a.get(2).unwrap(), b2);
        assert_eq!(a.get_at_epoch(1, 0).unwrap(), a1);
    }

    #[test]
    fn next_epoch_and_other_seed_give_other_images() {
        let data = dataset(on(), 7);
        let first = data.get(0).unwrap();
        let second = data.get(0).unwrap();
        assert_ne!(first.image, second.image);
        assert_eq!(second, data.get_at_epoch(0, 1).unwrap());
        assert_ne!(first, dataset(on(), 8).get(0).unwrap());
        // Same image content at another index is distorted differently too.
        assert_ne!(first.image, data.get_at_epoch(1, 0).unwrap().image);
    }

    #[test]
    fn resuming_continues_the_sequence() {
        let fresh = dataset(on(), 7);
        for _ in 0..3 {
            fresh.get(2);
        }
        let resumed = dataset(on(), 7).with_start_epoch(3);
        assert_eq!(fresh.get(2), resumed.get(2));
    }

    #[test]
    fn disabled_passes_items_through() {
        let data = dataset(AugmentConfig::new(), 7);
        assert_eq!(data.get(1).unwrap().image, plus());
        assert_eq!(data.get(4), None);
        assert_eq!(Dataset::len(&data), 4);
    }

    #[test]
    fn identity_ranges_leave_the_image_unchanged() {
        let config = on()
            .with_max_translation(0.0)
            .with_max_rotation(0.0)
            .with_max_scale(0.0)
            .with_max_shear(0.0);
        assert_eq!(dataset(config, 1).get(0).unwrap().image, plus());
    }

    #[test]
    fn bilinear_interpolates_and_treats_outside_as_background() {
        let mut image = [0u8; IMAGE_PIXELS];
        image[10 * IMAGE_SIDE + 10] = 200;
        assert_eq!(bilinear(&image, 10.0, 10.0), 200);
        assert_eq!(bilinear(&image, 10.5, 10.0), 100);
        assert_eq!(bilinear(&image, 9.5, 9.5), 50);
        assert_eq!(bilinear(&image, -3.0, 10.0), 0);
        assert_eq!(bilinear(&image, f32::NAN, 10.0), 0);
    }

    #[test]
    fn invalid_ranges_are_rejected() {
        for config in [
            on().with_max_rotation(-1.0),
            on().with_max_translation(f32::NAN),
            on().with_max_shear(f32::INFINITY),
            on().with_max_scale(1.0),
        ] {
            let err = AugmentedDataset::new(MnistDataset::from_items([]), config, 0)
                .err()
                .expect("invalid config accepted");
            assert!(
                matches!(err, MnistError::InvalidAugmentation { .. }),
                "{err:?}"
            );
        }
    }
}
