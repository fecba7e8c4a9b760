//! MNIST digits rendered as the real-world images that preprocessing found hard: written on
//! ruled or squared paper, in a printed form box, small in a large phone photo with a shadow
//! and vignetting, or in thick marker filling much of the frame; and, for comparison, the
//! conditions that already worked (clean scans, drawing canvases, MNIST itself). Shared by the
//! tests and by `examples/clutter.rs`, which writes and scores a test set with it.
//!
//! Every image comes from its digits, a seed and a [`Draw`] alone, so a set is reproducible.
//! The conditions since issue #30 (lines at any angle under perspective, a digit cut from a
//! number, whiteboards, dark-mode screenshots, sticky notes, thumbnails) are in `scenes.rs`.
//!
//! Two draws: [`Draw::Tuning`], the set preprocessing is tuned on, and [`Draw::HeldOut`], with
//! its own seeds and every random range widened by a third around its centre, scored once at
//! the end of a piece of work and never looked at while tuning.

mod paper;
mod scenes;
pub mod typefaces;

use image::imageops::{self, FilterType};
use image::{DynamicImage, GrayImage, ImageBuffer, Luma, Rgb, RgbImage, Rgba, RgbaImage};

pub use paper::Warp;

/// Which set an image belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Draw {
    /// The set preprocessing is tuned on.
    Tuning,
    /// Other seeds, wider ranges: the set nobody tunes on.
    HeldOut,
}

/// A small deterministic generator (SplitMix64): the renders must not change with a crate's
/// version. Its float ranges are widened by `spread` around their centres (the held-out draw).
pub struct Rng {
    state: u64,
    spread: f32,
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self {
            state: seed ^ 0x5DEE_CE66_D1CE_4E5B,
            spread: 1.0,
        }
    }

    /// The generator of `draw`: the held-out draw's seeds are another stream, its ranges wider.
    pub fn of(seed: u64, draw: Draw) -> Self {
        match draw {
            Draw::Tuning => Self::new(seed),
            Draw::HeldOut => Self {
                state: seed ^ 0xA5A5_0F0F_C3C3_9696,
                spread: 4.0 / 3.0,
            },
        }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in 0..1.
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Uniform in `low..high`, widened by the draw's spread (never below 0 where `low` is not).
    pub fn range(&mut self, low: f32, high: f32) -> f32 {
        if self.spread == 1.0 {
            return low + (high - low) * self.unit();
        }
        let (centre, half) = ((low + high) / 2.0, (high - low) / 2.0 * self.spread);
        let value = centre - half + 2.0 * half * self.unit();
        if low >= 0.0 { value.max(0.0) } else { value }
    }

    /// Uniform in `low..=high`.
    pub fn between(&mut self, low: u32, high: u32) -> u32 {
        low + (self.next_u64() % u64::from(high - low + 1)) as u32
    }

    pub fn chance(&mut self, p: f32) -> bool {
        self.unit() < p
    }

    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[(self.next_u64() % items.len() as u64) as usize]
    }
}

/// Where and how a digit was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Condition {
    /// The MNIST digit as it is.
    Mnist,
    /// Pen on white paper, scanned.
    Clean,
    /// Strokes from a drawing app, on a flat or transparent canvas.
    Canvas,
    /// Notebook paper: blue rules, sometimes a red margin, crossing the digit.
    Ruled,
    /// Squared (graph) paper: a grid of faint lines, blue or grey.
    Squared,
    /// A printed form's box around the digit, which may touch it, with its neighbours.
    FormBox,
    /// A small digit in a ~1-megapixel phone photo with a shadow band, vignetting and a
    /// bright corner.
    Photo,
    /// Thick marker, the ink on at least 34% of the pixels.
    Marker,
    /// Notebook paper photographed by hand: rules at any angle within 15 degrees, converging
    /// under perspective, slightly curved where the paper bends.
    RuledPhoto,
    /// Squared paper photographed by hand, the same way.
    SquaredPhoto,
    /// A digit cropped from a written number: parts of its neighbours at the left and right.
    Neighbours,
    /// A whiteboard photo: a glare spot, faint ghosts of erased writing, the frame at an edge.
    Whiteboard,
    /// A screenshot of a drawing app in dark mode: a toolbar of coloured buttons, the canvas
    /// border, light strokes.
    DarkScreen,
    /// Coloured ink on a coloured sticky note, photographed on a desk.
    StickyNote,
    /// A thumbnail 18 to 24 pixels a side.
    Thumbnail,
    /// Other writers: a handwriting typeface's digit (`typefaces.rs`) written as a clean scan.
    /// Not in [`Condition::ALL`]: its digits come from fonts, not from MNIST.
    Typefaces,
}

impl Condition {
    pub const ALL: [Condition; 15] = [
        Condition::Mnist,
        Condition::Clean,
        Condition::Canvas,
        Condition::Ruled,
        Condition::Squared,
        Condition::FormBox,
        Condition::Photo,
        Condition::Marker,
        Condition::RuledPhoto,
        Condition::SquaredPhoto,
        Condition::Neighbours,
        Condition::Whiteboard,
        Condition::DarkScreen,
        Condition::StickyNote,
        Condition::Thumbnail,
    ];

    /// The first eight of [`Condition::ALL`]: the conditions before issue #30, on which
    /// preprocessing already scored 85% or more.
    pub const FIRST: &'static [Condition] = Condition::ALL.split_at(8).0;

    pub fn name(self) -> &'static str {
        match self {
            Condition::Mnist => "mnist",
            Condition::Clean => "clean",
            Condition::Canvas => "canvas",
            Condition::Ruled => "ruled",
            Condition::Squared => "squared",
            Condition::FormBox => "form-box",
            Condition::Photo => "photo",
            Condition::Marker => "marker",
            Condition::RuledPhoto => "ruled-photo",
            Condition::SquaredPhoto => "squared-photo",
            Condition::Neighbours => "neighbours",
            Condition::Whiteboard => "whiteboard",
            Condition::DarkScreen => "dark-screen",
            Condition::StickyNote => "sticky-note",
            Condition::Thumbnail => "thumbnail",
            Condition::Typefaces => "typefaces",
        }
    }
}

/// A rendered image and the JPEG quality it should be saved with (`None`: PNG).
pub struct Rendered {
    pub image: DynamicImage,
    pub jpeg: Option<u8>,
}

/// Renders `digit` (an MNIST 28x28) under `condition` in the tuning draw; `seed` decides
/// everything random. Where a condition needs other writing (neighbours, ghosts), it is the
/// digit itself, turned.
pub fn render(condition: Condition, digit: &[u8; 784], seed: u64) -> Rendered {
    let turned: [u8; 784] = std::array::from_fn(|i| digit[783 - i]);
    render_with(condition, digit, [&turned, digit], seed, Draw::Tuning)
}

/// Renders `digit` under `condition`, with `others` (two more MNIST digits) for the writing
/// around it, in `draw`.
pub fn render_with(
    condition: Condition,
    digit: &[u8; 784],
    others: [&[u8; 784]; 2],
    seed: u64,
    draw: Draw,
) -> Rendered {
    let mut rng = Rng::of(seed.wrapping_mul(31).wrapping_add(condition as u64), draw);
    match condition {
        Condition::Mnist => Rendered {
            image: DynamicImage::ImageLuma8(
                GrayImage::from_raw(28, 28, digit.to_vec()).expect("28x28"),
            ),
            jpeg: None,
        },
        Condition::Clean | Condition::Typefaces => paper::clean(digit, &mut rng),
        Condition::Canvas => paper::canvas(digit, &mut rng),
        Condition::Ruled => paper::ruled(digit, &mut rng, None),
        Condition::Squared => paper::squared(digit, &mut rng, None),
        Condition::FormBox => paper::form_box(digit, &mut rng),
        Condition::Photo => scenes::photo(digit, &mut rng),
        Condition::Marker => scenes::marker(digit, &mut rng),
        Condition::RuledPhoto => {
            let warp = Warp::hand_held(&mut rng);
            paper::ruled(digit, &mut rng, Some(warp))
        }
        Condition::SquaredPhoto => {
            let warp = Warp::hand_held(&mut rng);
            paper::squared(digit, &mut rng, Some(warp))
        }
        Condition::Neighbours => scenes::neighbours(digit, others, &mut rng),
        Condition::Whiteboard => scenes::whiteboard(digit, others, &mut rng),
        Condition::DarkScreen => scenes::dark_screen(digit, &mut rng),
        Condition::StickyNote => scenes::sticky_note(digit, &mut rng),
        Condition::Thumbnail => scenes::thumbnail(digit, &mut rng),
    }
}

/// The digit's ink coverage (0..1) on a square of `28 * scale` pixels.
pub struct Ink {
    pub side: u32,
    pub coverage: Vec<f32>,
}

impl Ink {
    /// Enlarged smoothly; `thickness` in -1..1 thins (negative) or fattens the strokes, `blur`
    /// (in pixels of the enlargement) softens their edges as a pen's or a scan's.
    pub fn new(digit: &[u8; 784], scale: u32, thickness: f32, blur: f32) -> Self {
        let mut small: ImageBuffer<Luma<f32>, Vec<f32>> = ImageBuffer::from_fn(28, 28, |x, y| {
            Luma([f32::from(digit[(y * 28 + x) as usize]) / 255.0])
        });
        if thickness > 0.0 {
            small = imageops::blur(&small, 0.9 * thickness);
            let peak = small.pixels().map(|p| p.0[0]).fold(0.0, f32::max).max(1e-6);
            small.pixels_mut().for_each(|p| p.0[0] /= peak);
        }
        let side = 28 * scale;
        let mut large = imageops::resize(&small, side, side, FilterType::CatmullRom);
        let centre = (0.5 - 0.35 * thickness).clamp(0.08, 0.8);
        let width = 0.12;
        large.pixels_mut().for_each(|p| {
            let t = ((p.0[0] - centre + width) / (2.0 * width)).clamp(0.0, 1.0);
            p.0[0] = t * t * (3.0 - 2.0 * t);
        });
        if blur > 0.3 {
            large = imageops::blur(&large, blur);
        }
        Self {
            side,
            coverage: large.into_raw(),
        }
    }

    /// The coverage at canvas pixel (x, y) with the ink's top-left corner at `offset`.
    pub fn at(&self, x: i64, y: i64, offset: (i64, i64)) -> f32 {
        let (u, v) = (x - offset.0, y - offset.1);
        let side = i64::from(self.side);
        if (0..side).contains(&u) && (0..side).contains(&v) {
            self.coverage[(v * side + u) as usize]
        } else {
            0.0
        }
    }

    /// The bounding box `[left, top, right, bottom]` (exclusive) of coverage above `level`.
    pub fn bounds(&self, level: f32) -> [i64; 4] {
        let side = self.side as usize;
        let (mut l, mut t, mut r, mut b) = (i64::MAX, i64::MAX, 0, 0);
        for (i, &c) in self.coverage.iter().enumerate() {
            if c > level {
                let (x, y) = ((i % side) as i64, (i / side) as i64);
                (l, t, r, b) = (l.min(x), t.min(y), r.max(x + 1), b.max(y + 1));
            }
        }
        [l, t, r, b]
    }
}

/// Dark pen and pencil colours.
fn ink_colour(rng: &mut Rng) -> [f32; 3] {
    let base = rng.pick(&[
        [25.0, 25.0, 30.0],  // black pen
        [30.0, 40.0, 115.0], // blue ballpoint
        [75.0, 75.0, 85.0],  // pencil
        [20.0, 30.0, 70.0],  // blue-black
        [50.0, 50.0, 50.0],  // felt tip
        [90.0, 88.0, 95.0],  // soft pencil
    ]);
    base.map(|c| c + rng.range(-10.0, 10.0))
}

fn paper_colour(rng: &mut Rng) -> [f32; 3] {
    let base = rng.pick(&[
        [252.0, 252.0, 250.0],
        [246.0, 242.0, 228.0],
        [240.0, 240.0, 236.0],
        [250.0, 247.0, 238.0],
    ]);
    base.map(|c| c - rng.range(0.0, 8.0))
}

/// Anti-aliased coverage of a line `thickness` wide at distance `distance` from its centre.
fn line(distance: f32, thickness: f32) -> f32 {
    (thickness / 2.0 + 0.5 - distance.abs()).clamp(0.0, 1.0)
}

/// Distance from `value` to the nearest multiple of `spacing` shifted by `phase`.
fn periodic(value: f32, spacing: f32, phase: f32) -> f32 {
    let r = (value - phase).rem_euclid(spacing);
    r.min(spacing - r)
}

/// How each canvas pixel is lit (a factor around 1) and how noisy it is.
struct Light {
    gradient: f32,
    angle: f32,
    vignette: f32,
    noise: f32,
}

impl Light {
    fn scan(rng: &mut Rng) -> Self {
        Self {
            gradient: rng.range(0.0, 0.06),
            angle: rng.range(0.0, std::f32::consts::TAU),
            vignette: 0.0,
            noise: rng.range(0.0, 0.015),
        }
    }

    fn factor(&self, u: f32, v: f32) -> f32 {
        let along = (u - 0.5) * self.angle.cos() + (v - 0.5) * self.angle.sin();
        let r2 = (u - 0.5).powi(2) + (v - 0.5).powi(2);
        (1.0 - self.gradient * (along + 0.5)) * (1.0 - self.vignette * 2.0 * r2)
    }
}

/// Paints an RGB picture: `paper` gives the paper with its printing at each pixel, the ink is
/// laid over it, then light and noise.
fn paint(
    size: (u32, u32),
    paper: impl Fn(f32, f32) -> [f32; 3],
    ink: &Ink,
    offset: (i64, i64),
    colour: [f32; 3],
    light: &Light,
    rng: &mut Rng,
) -> RgbImage {
    paint_with(size, paper, |x, y| ink.at(x, y, offset), colour, light, rng)
}

/// [`paint`] with the ink's coverage at each pixel given by `coverage`.
fn paint_with(
    (w, h): (u32, u32),
    paper: impl Fn(f32, f32) -> [f32; 3],
    coverage: impl Fn(i64, i64) -> f32,
    colour: [f32; 3],
    light: &Light,
    rng: &mut Rng,
) -> RgbImage {
    let seed = rng.next_u64();
    let mut image = RgbImage::new(w, h);
    for (x, y, pixel) in image.enumerate_pixels_mut() {
        let base = paper(x as f32, y as f32);
        let a = coverage(i64::from(x), i64::from(y));
        let f = light.factor(x as f32 / w as f32, y as f32 / h as f32);
        let n = light.noise * 255.0 * noise(x, y, seed);
        *pixel = Rgb(std::array::from_fn(|c| {
            let value = (base[c] * (1.0 - a) + colour[c] * a) * f + n;
            value.round().clamp(0.0, 255.0) as u8
        }));
    }
    image
}

/// A deterministic value in -1..1 for a pixel.
fn noise(x: u32, y: u32, seed: u64) -> f32 {
    let mut rng = Rng::new(seed ^ (u64::from(x) << 32 | u64::from(y)));
    2.0 * rng.unit() - 1.0
}

/// A canvas around the ink's bounding box with random margins (in units of the box's
/// longer side) and the ink's offset in it.
fn framed(ink: &Ink, margin: (f32, f32), rng: &mut Rng) -> ((u32, u32), (i64, i64)) {
    let [l, t, r, b] = ink.bounds(0.3);
    let extent = (r - l).max(b - t) as f32;
    let mut side = || (rng.range(margin.0, margin.1) * extent) as i64;
    let (left, right, top, bottom) = (side(), side(), side(), side());
    let size = ((r - l + left + right) as u32, (b - t + top + bottom) as u32);
    (size, (left - l, top - t))
}

fn jpeg_sometimes(rng: &mut Rng, p: f32) -> Option<u8> {
    rng.chance(p).then(|| rng.between(60, 92) as u8)
}
