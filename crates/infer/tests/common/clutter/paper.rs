//! Writing on paper: scanned clean, on a drawing canvas, on ruled or squared paper (flat, or
//! photographed by hand through a [`Warp`]), in a form's box.

use super::*;

/// How a hand-held photo sees the paper: turned by up to 15 degrees, in perspective (lines
/// that are parallel on the paper converge), the paper slightly bent.
#[derive(Clone, Copy, Debug)]
pub struct Warp {
    angle: f32,
    perspective: (f32, f32),
    bend: f32,
}

impl Warp {
    pub fn hand_held(rng: &mut Rng) -> Self {
        Self {
            angle: rng.range(-15.0, 15.0).to_radians(),
            perspective: (rng.range(-0.3, 0.3), rng.range(-0.3, 0.3)),
            bend: rng.range(-0.06, 0.06),
        }
    }

    /// The paper coordinates (pixels) of picture pixel (x, y) in a `w` x `h` picture.
    pub fn map(&self, x: f32, y: f32, (w, h): (u32, u32)) -> (f32, f32) {
        let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
        let s = cx.max(cy);
        let (nx, ny) = ((x - cx) / s, (y - cy) / s);
        let d = 1.0 + self.perspective.0 * nx + self.perspective.1 * ny;
        let (nx, ny) = (nx / d, ny / d);
        let (sin, cos) = self.angle.sin_cos();
        let u = cos * nx + sin * ny;
        let v = -sin * nx + cos * ny + self.bend * u * u;
        (u * s + cx, v * s + cy)
    }
}

/// Paper coordinates of picture pixel `(x, y)`: through the hand-held photo's `warp`, or
/// turned by `tilt` (a scan's, a small fraction of a degree).
fn on_paper(warp: Option<Warp>, tilt: f32, (x, y): (f32, f32), size: (u32, u32)) -> (f32, f32) {
    match warp {
        Some(warp) => warp.map(x, y, size),
        None => (x - tilt * y, y + tilt * x),
    }
}

pub(super) fn clean(digit: &[u8; 784], rng: &mut Rng) -> Rendered {
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

pub(super) fn canvas(digit: &[u8; 784], rng: &mut Rng) -> Rendered {
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

pub(super) fn ruled(digit: &[u8; 784], rng: &mut Rng, warp: Option<Warp>) -> Rendered {
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
            let (u, v) = on_paper(warp, tilt, (x, y), size);
            let mut c = paper;
            let a = line(periodic(v, spacing, phase), thickness);
            c = std::array::from_fn(|i| c[i] * (1.0 - a) + blue[i] * a);
            if let Some((mx, mw)) = margin {
                let a = line(u - mx, mw);
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

pub(super) fn squared(digit: &[u8; 784], rng: &mut Rng, warp: Option<Warp>) -> Rendered {
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
            let (u, v) = on_paper(warp, tilt, (x, y), size);
            let across = line(periodic(v, spacing, phase.1), thickness);
            let down = line(periodic(u, spacing, phase.0), thickness);
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

pub(super) fn form_box(digit: &[u8; 784], rng: &mut Rng) -> Rendered {
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
