//! MNIST digits rendered as the real-world images that preprocessing found hard: written on
//! ruled or squared paper, in a printed form box, small in a large phone photo with a shadow
//! and vignetting, or in thick marker filling much of the frame; and, for comparison, the
//! conditions that already worked (clean scans, drawing canvases, MNIST itself). Shared by the
//! tests and by `examples/clutter.rs`, which writes and scores a test set with it.
//!
//! Every image comes from a digit and a seed alone, so the set is reproducible.

use image::imageops::{self, FilterType};
use image::{DynamicImage, GrayImage, ImageBuffer, Luma, Rgb, RgbImage, Rgba, RgbaImage};

/// A small deterministic generator (SplitMix64): the renders must not change with a crate's
/// version.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in 0..1.
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    pub fn range(&mut self, low: f32, high: f32) -> f32 {
        low + (high - low) * self.unit()
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
}

impl Condition {
    pub const ALL: [Condition; 8] = [
        Condition::Mnist,
        Condition::Clean,
        Condition::Canvas,
        Condition::Ruled,
        Condition::Squared,
        Condition::FormBox,
        Condition::Photo,
        Condition::Marker,
    ];

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
        }
    }
}

/// A rendered image and the JPEG quality it should be saved with (`None`: PNG).
pub struct Rendered {
    pub image: DynamicImage,
    pub jpeg: Option<u8>,
}

/// Renders `digit` (an MNIST 28x28) under `condition`; `seed` decides everything random.
pub fn render(condition: Condition, digit: &[u8; 784], seed: u64) -> Rendered {
    let mut rng = Rng::new(seed.wrapping_mul(31).wrapping_add(condition as u64));
    match condition {
        Condition::Mnist => Rendered {
            image: DynamicImage::ImageLuma8(
                GrayImage::from_raw(28, 28, digit.to_vec()).expect("28x28"),
            ),
            jpeg: None,
        },
        Condition::Clean => clean(digit, &mut rng),
        Condition::Canvas => canvas(digit, &mut rng),
        Condition::Ruled => ruled(digit, &mut rng),
        Condition::Squared => squared(digit, &mut rng),
        Condition::FormBox => form_box(digit, &mut rng),
        Condition::Photo => photo(digit, &mut rng),
        Condition::Marker => marker(digit, &mut rng),
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
    (w, h): (u32, u32),
    paper: impl Fn(f32, f32) -> [f32; 3],
    ink: &Ink,
    offset: (i64, i64),
    colour: [f32; 3],
    light: &Light,
    rng: &mut Rng,
) -> RgbImage {
    let seed = rng.next_u64();
    let mut image = RgbImage::new(w, h);
    for (x, y, pixel) in image.enumerate_pixels_mut() {
        let base = paper(x as f32, y as f32);
        let a = ink.at(i64::from(x), i64::from(y), offset);
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

fn clean(digit: &[u8; 784], rng: &mut Rng) -> Rendered {
    let scale = rng.between(4, 10);
    let ink = Ink::new(digit, scale, rng.range(-0.6, 0.6), rng.range(0.0, 1.2));
    let (size, offset) = framed(&ink, (0.1, 0.5), rng);
    let paper = paper_colour(rng);
    let colour = ink_colour(rng);
    let light = Light::scan(rng);
    let image = paint(size, |_, _| paper, &ink, offset, colour, &light, rng);
    Rendered {
        image: image.into(),
        jpeg: jpeg_sometimes(rng, 0.5),
    }
}

fn canvas(digit: &[u8; 784], rng: &mut Rng) -> Rendered {
    let scale = rng.between(5, 12);
    let ink = Ink::new(digit, scale, rng.range(-0.2, 0.8), rng.range(0.0, 0.6));
    let (size, offset) = framed(&ink, (0.05, 0.6), rng);
    let colour = rng.pick(&[[0.0, 0.0, 0.0], [20.0, 20.0, 120.0], [200.0, 30.0, 30.0]]);
    let image: DynamicImage = if rng.chance(0.4) {
        RgbaImage::from_fn(size.0, size.1, |x, y| {
            let a = ink.at(i64::from(x), i64::from(y), offset);
            Rgba([
                colour[0] as u8,
                colour[1] as u8,
                colour[2] as u8,
                (a * 255.0) as u8,
            ])
        })
        .into()
    } else {
        let background = rng.pick(&[[255.0; 3], [250.0, 250.0, 250.0], [235.0, 240.0, 250.0]]);
        let light = Light {
            gradient: 0.0,
            angle: 0.0,
            vignette: 0.0,
            noise: 0.0,
        };
        paint(size, |_, _| background, &ink, offset, colour, &light, rng).into()
    };
    Rendered { image, jpeg: None }
}

fn ruled(digit: &[u8; 784], rng: &mut Rng) -> Rendered {
    let scale = rng.between(4, 9);
    let ink = Ink::new(digit, scale, rng.range(-0.4, 0.6), rng.range(0.3, 1.2));
    let (size, offset) = framed(&ink, (0.3, 1.0), rng);
    let [_, t, _, b] = ink.bounds(0.3);
    let spacing = (b - t) as f32 * rng.range(0.8, 1.3);
    let phase = rng.range(0.0, spacing);
    let thickness = rng.range(1.0, 0.25 * scale as f32 + 1.0);
    let tilt = rng.range(-0.004, 0.004);
    let blue = [
        rng.range(110.0, 170.0),
        rng.range(160.0, 200.0),
        rng.range(215.0, 240.0),
    ];
    let margin = rng.chance(0.6).then(|| {
        let x = rng.range(0.0, size.0 as f32);
        (x, rng.range(1.0, 0.2 * scale as f32 + 1.5))
    });
    let red = [
        rng.range(215.0, 240.0),
        rng.range(70.0, 130.0),
        rng.range(90.0, 140.0),
    ];
    let paper = paper_colour(rng);
    let colour = ink_colour(rng);
    let light = Light::scan(rng);
    let image = paint(
        size,
        |x, y| {
            let mut c = paper;
            let a = line(periodic(y + tilt * x, spacing, phase), thickness);
            c = std::array::from_fn(|i| c[i] * (1.0 - a) + blue[i] * a);
            if let Some((mx, mw)) = margin {
                let a = line(x - mx - tilt * y, mw);
                c = std::array::from_fn(|i| c[i] * (1.0 - a) + red[i] * a);
            }
            c
        },
        &ink,
        offset,
        colour,
        &light,
        rng,
    );
    Rendered {
        image: image.into(),
        jpeg: jpeg_sometimes(rng, 0.5),
    }
}

fn squared(digit: &[u8; 784], rng: &mut Rng) -> Rendered {
    let scale = rng.between(4, 9);
    let ink = Ink::new(digit, scale, rng.range(-0.4, 0.6), rng.range(0.3, 1.2));
    let (size, offset) = framed(&ink, (0.3, 1.0), rng);
    let [_, t, _, b] = ink.bounds(0.3);
    let spacing = (b - t) as f32 * rng.range(0.3, 0.5);
    let phase = (rng.range(0.0, spacing), rng.range(0.0, spacing));
    let thickness = rng.range(1.0, 0.2 * scale as f32 + 1.0);
    let tilt = rng.range(-0.004, 0.004);
    let grid = if rng.chance(0.5) {
        [
            rng.range(120.0, 170.0),
            rng.range(160.0, 200.0),
            rng.range(210.0, 235.0),
        ]
    } else {
        [rng.range(150.0, 200.0); 3]
    };
    let paper = paper_colour(rng);
    let colour = ink_colour(rng);
    let light = Light::scan(rng);
    let image = paint(
        size,
        |x, y| {
            let across = line(periodic(y + tilt * x, spacing, phase.1), thickness);
            let down = line(periodic(x - tilt * y, spacing, phase.0), thickness);
            let a = across.max(down);
            std::array::from_fn(|i| paper[i] * (1.0 - a) + grid[i] * a)
        },
        &ink,
        offset,
        colour,
        &light,
        rng,
    );
    Rendered {
        image: image.into(),
        jpeg: jpeg_sometimes(rng, 0.5),
    }
}

fn form_box(digit: &[u8; 784], rng: &mut Rng) -> Rendered {
    let scale = rng.between(4, 9);
    let ink = Ink::new(digit, scale, rng.range(-0.4, 0.6), rng.range(0.3, 1.0));
    let [l, t, r, b] = ink.bounds(0.3);
    let extent = (r - l).max(b - t) as f32;
    // The box, in canvas coordinates with the ink at the origin: a little larger than the
    // digit, or just its size, so that strokes touch or cross it.
    let (bw, bh) = (
        extent * rng.range(0.95, 1.5),
        (b - t) as f32 * rng.range(1.0, 1.4),
    );
    let (bx, by) = (
        l as f32 + (r - l) as f32 / 2.0 - bw / 2.0 + rng.range(-0.1, 0.1) * extent,
        t as f32 + (b - t) as f32 / 2.0 - bh / 2.0 + rng.range(-0.1, 0.1) * extent,
    );
    let thickness = rng.range(1.0, 0.3 * scale as f32 + 1.0);
    let neighbours = rng.chance(0.5);
    let margin = |rng: &mut Rng| rng.range(0.15, 0.6) * extent;
    let (left, top) = (bx - margin(rng), by - margin(rng));
    let (right, bottom) = (bx + bw + margin(rng), by + bh + margin(rng));
    let size = ((right - left) as u32, (bottom - top) as u32);
    let offset = (-left as i64, -top as i64);
    let (bx, by) = (bx - left, by - top);
    let printed = rng.pick(&[
        [30.0, 30.0, 30.0],
        [80.0, 80.0, 80.0],
        [40.0, 60.0, 120.0],
        [150.0, 150.0, 150.0],
    ]);
    let paper = paper_colour(rng);
    let colour = ink_colour(rng);
    let light = Light::scan(rng);
    let image = paint(
        size,
        |x, y| {
            let inside_y = y > by - thickness && y < by + bh + thickness;
            let inside_x = x > bx - thickness && x < bx + bw + thickness;
            let horizontal = if inside_x || neighbours {
                line(y - by, thickness).max(line(y - by - bh, thickness))
            } else {
                0.0
            };
            let vertical = if inside_y {
                if neighbours {
                    line(periodic(x, bw, bx), thickness)
                } else {
                    line(x - bx, thickness).max(line(x - bx - bw, thickness))
                }
            } else {
                0.0
            };
            let a = horizontal.max(vertical);
            std::array::from_fn(|i| paper[i] * (1.0 - a) + printed[i] * a)
        },
        &ink,
        offset,
        colour,
        &light,
        rng,
    );
    Rendered {
        image: image.into(),
        jpeg: jpeg_sometimes(rng, 0.5),
    }
}

fn photo(digit: &[u8; 784], rng: &mut Rng) -> Rendered {
    let size = rng.pick(&[(1152, 864), (1280, 960), (960, 1280), (1200, 900)]);
    let scale = rng.between(3, 6);
    let ink = Ink::new(digit, scale, rng.range(-0.3, 0.6), rng.range(0.3, 1.0));
    let side = 28 * scale as i64;
    let offset = (
        rng.between(40, size.0 - side as u32 - 40) as i64,
        rng.between(40, size.1 - side as u32 - 40) as i64,
    );
    // A shadow band (a phone or a hand): between two parallel edges, one of them sometimes
    // off the picture, with soft edges.
    let angle = rng.range(0.0, std::f32::consts::PI);
    let (ca, sa) = (angle.cos(), angle.sin());
    let diagonal = (size.0 as f32).hypot(size.1 as f32);
    let start = rng.range(-0.4, 0.3) * diagonal;
    let width = rng.range(0.15, 0.6) * diagonal;
    let softness = rng.range(2.0, 25.0);
    let depth = rng.range(0.2, 0.45);
    let (cx, cy) = (size.0 as f32 / 2.0, size.1 as f32 / 2.0);
    // A bright corner: the lamp's reflection.
    let corner = (
        rng.pick(&[0.0, size.0 as f32]),
        rng.pick(&[0.0, size.1 as f32]),
    );
    let glow = rng.range(0.1, 0.35);
    let reach = rng.range(0.15, 0.35) * diagonal;
    let paper = paper_colour(rng).map(|c| c * rng.range(0.8, 0.95));
    let colour = ink_colour(rng);
    let light = Light {
        gradient: rng.range(0.0, 0.2),
        angle: rng.range(0.0, std::f32::consts::TAU),
        vignette: rng.range(0.25, 0.6),
        noise: rng.range(0.01, 0.035),
    };
    let smooth = |d: f32| 1.0 / (1.0 + (-d / softness).exp());
    let image = paint(
        size,
        |x, y| {
            let d = (x - cx) * ca + (y - cy) * sa;
            let shadow = smooth(d - start) * (1.0 - smooth(d - start - width));
            let r = (x - corner.0).hypot(y - corner.1);
            let bright = glow * (-(r / reach).powi(2)).exp();
            let f = (1.0 - depth * shadow) * (1.0 + bright);
            paper.map(|c| c * f)
        },
        &ink,
        offset,
        colour,
        &light,
        rng,
    );
    Rendered {
        image: image.into(),
        jpeg: Some(rng.between(70, 90) as u8),
    }
}

fn marker(digit: &[u8; 784], rng: &mut Rng) -> Rendered {
    let scale = rng.between(4, 8);
    let colour = rng.pick(&[[15.0, 15.0, 20.0], [20.0, 30.0, 110.0], [30.0, 30.0, 30.0]]);
    let paper = paper_colour(rng);
    let light = Light::scan(rng);
    // Fatter strokes and a tighter frame until the ink covers a third of the picture.
    let mut thickness = rng.range(0.9, 1.4);
    loop {
        let ink = Ink::new(digit, scale, thickness, rng.range(0.0, 0.8));
        let (size, offset) = framed(&ink, (0.0, 0.12), rng);
        let image = paint(size, |_, _| paper, &ink, offset, colour, &light, rng);
        let covered = image
            .pixels()
            .filter(|p| p.0.iter().map(|&c| u32::from(c)).sum::<u32>() < 3 * 128)
            .count();
        if covered as f32 >= 0.34 * (size.0 * size.1) as f32 || thickness > 3.0 {
            return Rendered {
                image: image.into(),
                jpeg: jpeg_sometimes(rng, 0.5),
            };
        }
        thickness += 0.2;
    }
}
