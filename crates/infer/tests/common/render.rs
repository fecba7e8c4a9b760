//! MNIST digits rendered as users' images: dark ink on paper of another size, in colour, with
//! lighting gradients, noise and specks, or on a transparent canvas. Shared by the tests and by
//! `examples/make_digits.rs`, which writes `examples/digits/` with it.

use image::imageops::{self, FilterType};
use image::{GrayImage, Rgb, RgbImage, Rgba, RgbaImage};

/// How to render a digit.
#[derive(Clone, Debug)]
pub struct Scene {
    /// The 28x28 digit is enlarged this many times (smoothly).
    pub scale: u32,
    /// Width and height of the picture.
    pub canvas: (u32, u32),
    /// Where the enlarged 28x28 field's top-left corner goes.
    pub offset: (u32, u32),
    /// The paper's colour where it is brightest.
    pub paper: [u8; 3],
    /// The ink's colour.
    pub ink: [u8; 3],
    /// How much darker the paper gets from left to right (0..1).
    pub gradient: f32,
    /// How much darker the corners are than the centre (0..1).
    pub vignette: f32,
    /// Amplitude of the per-pixel noise (0..1).
    pub noise: f32,
    /// Small ink specks scattered around.
    pub specks: u32,
    /// Seeds the noise and the specks.
    pub seed: u64,
}

impl Scene {
    /// Black ink on white paper, enlarged `scale` times and placed off centre.
    pub fn paper(scale: u32) -> Self {
        let side = 28 * scale;
        Self {
            scale,
            canvas: (side + 9 * scale, side + 5 * scale),
            offset: (7 * scale, scale),
            paper: [255, 255, 255],
            ink: [0, 0, 0],
            gradient: 0.0,
            vignette: 0.0,
            noise: 0.0,
            specks: 0,
            seed: 1,
        }
    }

    /// A phone photo: pencil on cream paper, uneven light, sensor noise and dust.
    pub fn photo(scale: u32) -> Self {
        Self {
            paper: [246, 238, 214],
            ink: [70, 70, 80],
            gradient: 0.25,
            vignette: 0.2,
            noise: 0.03,
            specks: 8,
            ..Self::paper(scale)
        }
    }

    /// Pale chalk on a dark green board: light ink on dark, as MNIST, but in colour.
    pub fn chalkboard(scale: u32) -> Self {
        Self {
            paper: [30, 60, 45],
            ink: [235, 235, 225],
            noise: 0.02,
            ..Self::paper(scale)
        }
    }
}

/// A deterministic value in -1..1 for a pixel.
fn hash(x: u32, y: u32, seed: u64) -> f32 {
    let mut h = seed ^ (u64::from(x) << 32 | u64::from(y));
    h = h.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    h ^= h >> 31;
    h = h.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h ^= h >> 29;
    (h >> 40) as f32 / (1u64 << 23) as f32 - 1.0
}

/// The digit's ink coverage (0..1) on the canvas.
fn coverage(digit: &[u8; 784], scene: &Scene) -> impl Fn(u32, u32) -> f32 {
    let small = GrayImage::from_fn(28, 28, |x, y| image::Luma([digit[(y * 28 + x) as usize]]));
    let side = 28 * scene.scale;
    let large = imageops::resize(&small, side, side, FilterType::CatmullRom);
    let (ox, oy) = scene.offset;
    let specks: Vec<(u32, u32)> = (0..scene.specks)
        .map(|i| {
            let u = (hash(i, 0, scene.seed) + 1.0) / 2.0;
            let v = (hash(0, i, scene.seed) + 1.0) / 2.0;
            (
                (u * (scene.canvas.0 - 2) as f32) as u32,
                (v * (scene.canvas.1 - 2) as f32) as u32,
            )
        })
        .collect();
    move |x, y| {
        let inside = x >= ox && y >= oy && x - ox < side && y - oy < side;
        let ink = if inside {
            f32::from(large.get_pixel(x - ox, y - oy).0[0]) / 255.0
        } else {
            0.0
        };
        let speck = specks
            .iter()
            .any(|&(sx, sy)| (sx..sx + 2).contains(&x) && (sy..sy + 2).contains(&y));
        if speck { 1.0 } else { ink }
    }
}

/// The digit as a picture of ink on paper.
pub fn paint(digit: &[u8; 784], scene: &Scene) -> RgbImage {
    let ink = coverage(digit, scene);
    let (w, h) = scene.canvas;
    RgbImage::from_fn(w, h, |x, y| {
        let (u, v) = (x as f32 / w as f32, y as f32 / h as f32);
        let r2 = (u - 0.5).powi(2) + (v - 0.5).powi(2);
        let light = (1.0 - scene.gradient * u) * (1.0 - scene.vignette * 2.0 * r2);
        let a = ink(x, y);
        let noise = scene.noise * hash(x, y, scene.seed);
        Rgb(std::array::from_fn(|c| {
            let paper = f32::from(scene.paper[c]) * light;
            let value = paper * (1.0 - a) + f32::from(scene.ink[c]) * a + 255.0 * noise;
            value.round().clamp(0.0, 255.0) as u8
        }))
    })
}

/// The digit as strokes of `scene.ink` on a transparent canvas (the ink's coverage is the
/// alpha channel, as drawing apps export it); paper, light and noise are ignored.
pub fn paint_transparent(digit: &[u8; 784], scene: &Scene) -> RgbaImage {
    let ink = coverage(digit, scene);
    let (w, h) = scene.canvas;
    RgbaImage::from_fn(w, h, |x, y| {
        let [r, g, b] = scene.ink;
        Rgba([r, g, b, (ink(x, y) * 255.0).round() as u8])
    })
}

/// How a sample in `examples/digits/` is made.
#[derive(Clone, Copy, Debug)]
pub enum Form {
    /// The MNIST digit as it is, a 28x28 greyscale PNG.
    Mnist,
    /// Dark ink on paper, [`Scene::paper`] in colour, as a JPEG.
    Paper,
    /// Dark strokes on a transparent canvas, as a PNG.
    Transparent,
    /// [`Scene::photo`], as a JPEG.
    Photo,
    /// [`Scene::chalkboard`], as a PNG.
    Chalkboard,
}

/// One sample image: its file name (the true digit first), the MNIST test image it shows, and
/// how it is rendered.
pub struct Sample {
    /// File name in `examples/digits/`.
    pub name: &'static str,
    /// Index in MNIST's test set.
    pub index: usize,
    /// How it is rendered.
    pub form: Form,
}

/// The samples shipped in `examples/digits/`.
pub const SAMPLES: [Sample; 9] = [
    Sample {
        name: "7-mnist.png",
        index: 0,
        form: Form::Mnist,
    },
    Sample {
        name: "2-mnist.png",
        index: 1,
        form: Form::Mnist,
    },
    Sample {
        name: "1-mnist.png",
        index: 2,
        form: Form::Mnist,
    },
    Sample {
        name: "0-mnist.png",
        index: 3,
        form: Form::Mnist,
    },
    Sample {
        name: "4-mnist.png",
        index: 4,
        form: Form::Mnist,
    },
    Sample {
        name: "2-paper.jpg",
        index: 35,
        form: Form::Paper,
    },
    Sample {
        name: "1-transparent.png",
        index: 5,
        form: Form::Transparent,
    },
    Sample {
        name: "3-photo.jpg",
        index: 30,
        form: Form::Photo,
    },
    Sample {
        name: "9-chalkboard.png",
        index: 7,
        form: Form::Chalkboard,
    },
];

/// The scene each non-MNIST form uses for the samples.
pub fn sample_scene(form: Form) -> Scene {
    match form {
        Form::Mnist => Scene::paper(1),
        Form::Paper => Scene {
            paper: [250, 248, 240],
            ink: [20, 30, 90],
            gradient: 0.08,
            noise: 0.01,
            ..Scene::paper(8)
        },
        Form::Transparent => Scene {
            ink: [10, 20, 120],
            ..Scene::paper(6)
        },
        Form::Photo => Scene {
            canvas: (640, 480),
            offset: (260, 80),
            ..Scene::photo(11)
        },
        Form::Chalkboard => Scene::chalkboard(5),
    }
}
