//! Stage 1, grey: any image as luma on a 0..1 scale, transparency composited onto the
//! background the image implies, reduced by block averaging to a working size.

use image::imageops::{self, FilterType};
use image::{DynamicImage, ImageBuffer, Luma};

use crate::grey::Grey;

/// Images with a longer side are reduced to about this many pixels before the rest of the
/// work: a digit needs far fewer, and it bounds the time and memory spent on a photo.
pub const WORKING_SIDE: usize = 1024;

/// Images with more pixels are reduced by the whole factor that brings them within this many:
/// the work after the reduction grows with the pixels, so a square photo of a megapixel (its
/// sides within [`WORKING_SIDE`]) would otherwise cost four times a 1152x864 one, whose digit
/// is analysed at a quarter of its pixels.
pub const WORKING_PIXELS: usize = 1 << 19;

/// Images with a shorter side are enlarged by a whole factor to at least this many pixels
/// that way: a thumbnail's strokes are a pixel or two wide, too few for the stages' rules (a
/// printed line against a stroke crossing it, a stroke's width, a ghost's distance from ink).
pub const MIN_WORKING_SIDE: usize = 64;

/// Reads one value (a luma, an alpha) on a 0..1 scale from a pixel's samples.
type Read<'a, S, const CHANNELS: usize> = dyn Fn(&[S; CHANNELS]) -> f32 + Sync + 'a;

impl Grey {
    /// Luma with transparency composited, reduced by block averaging to at most about
    /// [`WORKING_SIDE`] on the longer side and [`WORKING_PIXELS`] in all.
    pub(super) fn composited(image: &DynamicImage) -> Self {
        let (width, height) = (image.width() as usize, image.height() as usize);
        let unit = |v: u8| f32::from(v) / 255.0;
        // Each channel's share of the luma for every 8-bit value, looked up rather than
        // divided and weighted at each of a photo's millions of pixels.
        let share = |weight: f32| -> [f32; 256] { std::array::from_fn(|v| weight * unit(v as u8)) };
        let (red, green, blue) = (share(0.2126), share(0.7152), share(0.0722));
        // The tables are moved into the closure: borrowed, their addresses were read again at
        // every pixel, since the row's stores might, as far as the compiler knew, change them.
        let rgb = move |[r, g, b]: [u8; 3]| {
            red[usize::from(r)] + green[usize::from(g)] + blue[usize::from(b)]
        };
        // The common 8-bit layouts are read in place; others are converted first.
        match image {
            DynamicImage::ImageLuma8(buffer) => {
                Self::reduced::<_, 1>(width, height, buffer.as_raw(), None, |[v]| unit(*v))
            }
            DynamicImage::ImageLumaA8(buffer) => Self::reduced::<_, 2>(
                width,
                height,
                buffer.as_raw(),
                Some(&|[_, a]| unit(*a)),
                |[v, _]| unit(*v),
            ),
            DynamicImage::ImageRgb8(buffer) => {
                Self::reduced::<_, 3>(width, height, buffer.as_raw(), None, |[r, g, b]| {
                    rgb([*r, *g, *b])
                })
            }
            DynamicImage::ImageRgba8(buffer) => Self::reduced::<_, 4>(
                width,
                height,
                buffer.as_raw(),
                Some(&|[_, _, _, a]| unit(*a)),
                |[r, g, b, _]| rgb([*r, *g, *b]),
            ),
            other => {
                let unit = |v: u16| f32::from(v) / f32::from(u16::MAX);
                let buffer = other.to_luma_alpha16();
                Self::reduced::<_, 2>(
                    width,
                    height,
                    buffer.as_raw(),
                    Some(&|[_, a]| unit(*a)),
                    |[v, _]| unit(*v),
                )
            }
        }
    }

    /// A small picture enlarged (bilinear) by the whole factor that brings its shorter side to
    /// at least [`MIN_WORKING_SIDE`], its longer side kept within [`WORKING_SIDE`] (a thin
    /// strip stays thin); a larger one as it is.
    pub(super) fn enlarged(self) -> Self {
        let wanted = MIN_WORKING_SIDE.div_ceil(self.width.min(self.height).max(1));
        let factor = wanted.min(WORKING_SIDE / self.width.max(self.height).max(1));
        if factor <= 1 {
            return self;
        }
        let (width, height) = (self.width * factor, self.height * factor);
        let source = ImageBuffer::<Luma<f32>, _>::from_raw(
            self.width as u32,
            self.height as u32,
            self.pixels,
        )
        .expect("the buffer holds width x height pixels");
        let pixels = imageops::resize(&source, width as u32, height as u32, FilterType::Triangle);
        Grey {
            width,
            height,
            pixels: pixels.into_raw(),
        }
    }

    /// Composites and block-averages pixels of `CHANNELS` interleaved samples; `luma` and
    /// `alpha` (absent: opaque) read a pixel's, on a 0..1 scale.
    fn reduced<S: Sync, const CHANNELS: usize>(
        width: usize,
        height: usize,
        samples: &[S],
        alpha: Option<&Read<'_, S, CHANNELS>>,
        luma: impl Fn(&[S; CHANNELS]) -> f32 + Sync,
    ) -> Self {
        let pixels = || samples.as_chunks::<CHANNELS>().0.iter();
        let alpha = alpha.filter(|alpha| pixels().any(|p| alpha(p) < 1.0));
        let factor = working_factor(width, height);
        let mut grey = Grey::new(width.div_ceil(factor), height.div_ceil(factor));
        // Adds each pixel's value into its block: the top and the bottom half of the blocks at
        // once, on rayon's pool.
        fn accumulate<S: Sync, const CHANNELS: usize>(
            grey: &mut Grey,
            samples: &[S],
            (width, factor): (usize, usize),
            value: impl Fn(&[S; CHANNELS]) -> f32 + Sync,
        ) {
            let rows = |out: &mut [f32], samples: &[S]| {
                // A row's values first, each pixel's apart from the others' (lookups that
                // overlap), then added into their blocks.
                let mut values = vec![0.0; width];
                let lines = out.chunks_exact_mut(grey.width);
                for (out, rows) in lines.zip(samples.chunks(width * CHANNELS * factor)) {
                    for row in rows.chunks_exact(width * CHANNELS) {
                        let row = row.as_chunks::<CHANNELS>().0;
                        for (value_of, pixel) in values.iter_mut().zip(row) {
                            *value_of = value(pixel);
                        }
                        add_blocks(out, &values, factor);
                    }
                }
            };
            let top = grey.height.div_ceil(2);
            let (top_out, bottom_out) = grey.pixels.split_at_mut(top * grey.width);
            let (top_samples, bottom_samples) =
                samples.split_at((top * factor * width * CHANNELS).min(samples.len()));
            rayon::join(
                || rows(top_out, top_samples),
                || rows(bottom_out, bottom_samples),
            );
        }
        // Opaque images (nearly all) go without the compositing arithmetic.
        match alpha {
            None => accumulate(&mut grey, samples, (width, factor), luma),
            Some(alpha) => {
                let background = implied_background(pixels().map(|p| (luma(p), alpha(p))));
                accumulate(&mut grey, samples, (width, factor), |p| {
                    let a = alpha(p);
                    a * luma(p) + (1.0 - a) * background
                });
            }
        }
        let block = |i: usize, length: usize| (length - i * factor).min(factor);
        for y in 0..grey.height {
            for x in 0..grey.width {
                grey.pixels[y * grey.width + x] /= (block(x, width) * block(y, height)) as f32;
            }
        }
        grey
    }
}

/// Adds the sum of each block of `factor` consecutive `values` (the last one maybe shorter),
/// added in order, into its entry of `sums`. The common factors are unrolled at compile time,
/// so that the loop runs over many blocks at once in vector registers.
fn add_blocks(sums: &mut [f32], values: &[f32], factor: usize) {
    fn of<const FACTOR: usize>(sums: &mut [f32], values: &[f32]) {
        let (blocks, rest) = values.as_chunks::<FACTOR>();
        for (sum, block) in sums.iter_mut().zip(blocks) {
            *sum += block.iter().sum::<f32>();
        }
        if let Some(sum) = sums.get_mut(blocks.len()) {
            *sum += rest.iter().sum::<f32>();
        }
    }
    match factor {
        1 => of::<1>(sums, values),
        2 => of::<2>(sums, values),
        3 => of::<3>(sums, values),
        4 => of::<4>(sums, values),
        _ => {
            for (sum, block) in sums.iter_mut().zip(values.chunks(factor)) {
                *sum += block.iter().sum::<f32>();
            }
        }
    }
}

/// The least whole factor that reduces a `width` x `height` image within [`WORKING_SIDE`] on
/// its longer side and [`WORKING_PIXELS`] in all.
fn working_factor(width: usize, height: usize) -> usize {
    let within = |factor: usize| {
        width.max(height).div_ceil(factor) <= WORKING_SIDE
            && width.div_ceil(factor) * height.div_ceil(factor) <= WORKING_PIXELS
    };
    (1..)
        .find(|&factor| within(factor))
        .expect("a factor as large as the image fits")
}

/// The background to composite transparent pixels onto (0..1), as the image implies it, from
/// every pixel's luma and alpha.
fn implied_background(pixels: impl Iterator<Item = (f32, f32)>) -> f32 {
    let mut histogram = [0u64; 256];
    let (mut coverage, mut count) = (0.0f64, 0u64);
    for (luma, alpha) in pixels {
        coverage += f64::from(alpha);
        count += 1;
        if alpha >= 0.5 {
            histogram[(luma * 255.0).round().clamp(0.0, 255.0) as usize] += 1;
        }
    }
    let opaque: u64 = histogram.iter().sum();
    if opaque == 0 {
        return 1.0;
    }
    let mut seen = 0;
    let median = histogram
        .iter()
        .position(|&count| {
            seen += count;
            seen * 2 >= opaque
        })
        .unwrap_or(255) as f32
        / 255.0;
    if coverage * 2.0 > count as f64 {
        // Mostly opaque: the opaque part is the paper; transparency continues it.
        median
    } else if median < 0.5 {
        // Dark strokes on a transparent canvas: they are meant to be seen on light.
        1.0
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transparent_canvas_takes_the_background_contrasting_with_its_strokes() {
        // One stroke pixel in ten, opaque; the rest transparent.
        let strokes =
            |luma: f32| (0..100).map(move |i| if i % 10 == 5 { (luma, 1.0) } else { (0.0, 0.0) });
        assert_eq!(implied_background(strokes(0.0)), 1.0);
        assert_eq!(implied_background(strokes(1.0)), 0.0);
        let paper = (0..100).map(|i| (if i % 10 == 5 { 0.0 } else { 0.8 }, 1.0));
        assert!((implied_background(paper) - 0.8).abs() < 1e-6);
    }

    #[test]
    fn small_pictures_are_enlarged_by_a_whole_factor() {
        // 20x24: the shorter side needs a factor of 4 to reach 64; a bar 2 pixels wide.
        let bar = |x: u32| (9..11).contains(&x);
        let image = DynamicImage::ImageLuma8(image::GrayImage::from_fn(20, 24, |x, _| {
            image::Luma([if bar(x) { 0 } else { 255 }])
        }));
        let grey = Grey::composited(&image).enlarged();
        assert_eq!((grey.width, grey.height), (80, 96));
        let row = &grey.pixels[40 * 80..][..80];
        assert!(row[38..42].iter().all(|&v| v == 0.0), "the bar: {row:?}");
        assert!(
            row[..30].iter().chain(&row[50..]).all(|&v| v > 0.99),
            "the paper"
        );
        // A picture 64 pixels or more each way stays as it is.
        let grey = Grey::composited(&DynamicImage::new_luma8(64, 300)).enlarged();
        assert_eq!((grey.width, grey.height), (64, 300));
        // A thin strip grows only as far as its longer side allows.
        let grey = Grey::composited(&DynamicImage::new_luma8(2, 300)).enlarged();
        assert_eq!((grey.width, grey.height), (6, 900));
    }

    #[test]
    fn large_images_are_reduced_by_block_averaging() {
        let side = 3 * WORKING_SIDE;
        let image = DynamicImage::ImageLuma8(image::GrayImage::from_fn(side as u32, 10, |x, _| {
            image::Luma([if x % 3 == 0 { 255 } else { 0 }])
        }));
        let grey = Grey::composited(&image);
        assert_eq!((grey.width, grey.height), (WORKING_SIDE, 4));
        assert!(grey.pixels.iter().all(|&v| (v - 1.0 / 3.0).abs() < 1e-6));
    }

    #[test]
    fn the_working_size_bounds_the_longer_side_and_the_pixels() {
        // Within both: as it is; a long strip by its side; a square megapixel by its pixels.
        assert_eq!(working_factor(640, 480), 1);
        assert_eq!(working_factor(2100, 30), 3);
        assert_eq!(working_factor(1000, 1000), 2);
        // A 1152x864 photo, by its side and its pixels alike; a 12-megapixel one by its pixels.
        assert_eq!(working_factor(1152, 864), 2);
        assert_eq!(working_factor(4032, 3024), 5);
        for (width, height) in [(1000, 1000), (4032, 3024), (724, 724), (725, 725), (1, 1)] {
            let factor = working_factor(width, height);
            let pixels = |f: usize| width.div_ceil(f) * height.div_ceil(f);
            assert!(pixels(factor) <= WORKING_PIXELS, "{width}x{height}");
            assert!(
                factor == 1 || pixels(factor - 1) > WORKING_PIXELS,
                "{width}x{height}"
            );
        }
    }
}
