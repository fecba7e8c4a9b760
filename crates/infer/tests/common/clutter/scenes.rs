//! Scenes around the writing: a phone photo, thick marker, a number, a whiteboard, a
//! dark-mode drawing app, a sticky note, a thumbnail.

use super::*;

pub(super) fn photo(digit: &[u8; 784], rng: &mut Rng) -> Rendered {
    let size = rng.pick(&[
        (1152, 864),
        (1280, 960),
        (960, 1280),
        (1200, 900),
        (1000, 1000),
        (1024, 768),
    ]);
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

pub(super) fn marker(digit: &[u8; 784], rng: &mut Rng) -> Rendered {
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

/// Ink of `digit` at `scale` with strokes and blur drawn from the given ranges.
fn ink_of(
    digit: &[u8; 784],
    scale: u32,
    thickness: (f32, f32),
    blur: (f32, f32),
    rng: &mut Rng,
) -> Ink {
    let thickness = rng.range(thickness.0, thickness.1).clamp(-0.9, 3.0);
    Ink::new(digit, scale, thickness, rng.range(blur.0, blur.1))
}

/// A digit cut from a written number: the neighbours' nearest parts at the picture's left and
/// right edges, cut by the border.
pub(super) fn neighbours(digit: &[u8; 784], others: [&[u8; 784]; 2], rng: &mut Rng) -> Rendered {
    let scale = rng.between(4, 9);
    let (thickness, blur) = ((-0.4, 0.6), (0.3, 1.2));
    let ink = ink_of(digit, scale, thickness, blur, rng);
    let left = ink_of(others[0], scale, thickness, blur, rng);
    let right = ink_of(others[1], scale, thickness, blur, rng);
    let [l, t, r, b] = ink.bounds(0.3);
    let extent = (r - l).max(b - t) as f32;
    let gap = |rng: &mut Rng| (rng.range(0.05, 0.3) * extent) as i64;
    let (gap_left, gap_right) = (gap(rng), gap(rng));
    let [ll, lt, lr, lb] = left.bounds(0.3);
    let [rl, rt, rr, rb] = right.bounds(0.3);
    let seen_left = (rng.range(0.15, 0.5) * (lr - ll) as f32) as i64;
    let seen_right = (rng.range(0.15, 0.5) * (rr - rl) as f32) as i64;
    let margin = |rng: &mut Rng| (rng.range(0.1, 0.4) * extent) as i64;
    let (top, bottom) = (margin(rng), margin(rng));
    let x0 = seen_left + gap_left;
    let size = (
        (x0 + (r - l) + gap_right + seen_right) as u32,
        (top + (b - t) + bottom) as u32,
    );
    let offset = (x0 - l, top - t);
    // The neighbours sit on the same line, give or take a little.
    let jitter = |rng: &mut Rng| (rng.range(-0.1, 0.1) * extent) as i64;
    // Each neighbour's box centred on the digit's row, then moved a little.
    let row = top + (b - t) / 2;
    let left_offset = (x0 - gap_left - lr, row - (lt + lb) / 2 + jitter(rng));
    let right_offset = (
        x0 + (r - l) + gap_right - rl,
        row - (rt + rb) / 2 + jitter(rng),
    );
    let paper = paper_colour(rng);
    let colour = ink_colour(rng);
    let light = Light::scan(rng);
    let image = paint_with(
        size,
        |_, _| paper,
        |x, y| {
            ink.at(x, y, offset)
                .max(left.at(x, y, left_offset))
                .max(right.at(x, y, right_offset))
        },
        colour,
        &light,
        rng,
    );
    Rendered {
        image: image.into(),
        jpeg: jpeg_sometimes(rng, 0.5),
    }
}

/// A marker digit on a whiteboard: faint ghosts of erased writing, a saturated glare spot,
/// the board's frame along one edge.
pub(super) fn whiteboard(digit: &[u8; 784], others: [&[u8; 784]; 2], rng: &mut Rng) -> Rendered {
    let scale = rng.between(5, 10);
    let ink = ink_of(digit, scale, (0.0, 0.7), (0.3, 1.0), rng);
    let (size, offset) = framed(&ink, (0.4, 1.2), rng);
    let (w, h) = (size.0 as f32, size.1 as f32);
    let ghosts: Vec<(Ink, (i64, i64), f32)> = others
        .iter()
        .take(rng.between(1, 2) as usize)
        .map(|other| {
            let ghost = ink_of(other, scale, (0.2, 1.0), (2.0, 4.0), rng);
            let at = (rng.range(-0.3, 0.8) * w, rng.range(-0.3, 0.8) * h);
            (ghost, (at.0 as i64, at.1 as i64), rng.range(0.06, 0.2))
        })
        .collect();
    let board = [
        rng.range(232.0, 250.0),
        rng.range(234.0, 250.0),
        rng.range(238.0, 252.0),
    ];
    let colour = rng.pick(&[
        [20.0, 20.0, 25.0],
        [30.0, 50.0, 160.0],
        [180.0, 30.0, 35.0],
        [25.0, 110.0, 50.0],
    ]);
    let light = Light::scan(rng);
    let mut image = paint_with(
        size,
        |_, _| board,
        |x, y| {
            let ghost = ghosts
                .iter()
                .map(|(g, at, a)| a * g.at(x, y, *at))
                .fold(0.0, f32::max);
            ink.at(x, y, offset).max(ghost)
        },
        colour,
        &light,
        rng,
    );
    // The glare: towards white, saturated in its core; it may wash out an end of the digit, but
    // its centre is off the digit's box, where a reader would have moved to see the digit.
    let [l, t, r, b] = ink.bounds(0.3);
    let digit_box = (
        (l + offset.0) as f32,
        (t + offset.1) as f32,
        (r + offset.0) as f32,
        (b + offset.1) as f32,
    );
    let mut glare = (rng.range(0.0, w), rng.range(0.0, h));
    for _ in 0..20 {
        let inside = (digit_box.0..digit_box.2).contains(&glare.0)
            && (digit_box.1..digit_box.3).contains(&glare.1);
        if !inside {
            break;
        }
        glare = (rng.range(0.0, w), rng.range(0.0, h));
    }
    let radius = (
        rng.range(0.1, 0.3) * w.max(h),
        rng.range(0.08, 0.2) * w.max(h),
    );
    let strength = rng.range(1.5, 3.0);
    let edge = rng.between(0, 3);
    let band = (rng.range(0.03, 0.07) * w.min(h)).max(2.0);
    let frame = rng.range(150.0, 200.0);
    for (x, y, pixel) in image.enumerate_pixels_mut() {
        let (dx, dy) = (
            (x as f32 - glare.0) / radius.0,
            (y as f32 - glare.1) / radius.1,
        );
        let g = (strength * (-(dx * dx + dy * dy)).exp()).min(1.0);
        let depth = match edge {
            0 => x as f32,
            1 => y as f32,
            2 => w - 1.0 - x as f32,
            _ => h - 1.0 - y as f32,
        };
        pixel.0 = pixel.0.map(|c| {
            let lit = f32::from(c) + (255.0 - f32::from(c)) * g;
            let value = if depth < band {
                frame * if depth > band - 1.5 { 0.6 } else { 1.0 }
            } else {
                lit
            };
            value.round().clamp(0.0, 255.0) as u8
        });
    }
    Rendered {
        image: image.into(),
        jpeg: jpeg_sometimes(rng, 0.6),
    }
}

/// A screenshot of a drawing app in dark mode: light strokes on a dark canvas with a border,
/// under a toolbar of coloured buttons.
pub(super) fn dark_screen(digit: &[u8; 784], rng: &mut Rng) -> Rendered {
    let scale = rng.between(5, 12);
    let ink = ink_of(digit, scale, (-0.1, 0.8), (0.0, 0.5), rng);
    let (canvas, offset) = framed(&ink, (0.3, 0.8), rng);
    let bar = (rng.range(0.08, 0.15) * canvas.1 as f32).max(8.0) as u32;
    let size = (canvas.0, canvas.1 + bar);
    let offset = (offset.0, offset.1 + i64::from(bar));
    let dark = rng.range(18.0, 45.0);
    let background = [dark, dark, dark + rng.range(0.0, 8.0)];
    let toolbar = background.map(|c| c + rng.range(12.0, 30.0));
    let border = rng.range(70.0, 110.0);
    let border_width = rng.range(1.0, 3.0);
    let palette = [
        [230.0, 80.0, 80.0],
        [80.0, 200.0, 120.0],
        [80.0, 140.0, 240.0],
        [240.0, 200.0, 60.0],
        [170.0, 100.0, 230.0],
        [250.0, 150.0, 60.0],
    ];
    let buttons: Vec<(f32, [f32; 3])> = (0..rng.between(3, 7))
        .map(|i| ((i as f32 + 0.7) * bar as f32 * 1.2, rng.pick(&palette)))
        .collect();
    let radius = 0.3 * bar as f32;
    let colour = rng.pick(&[
        [240.0; 3],
        [200.0; 3],
        [120.0, 220.0, 255.0],
        [250.0, 230.0, 120.0],
        [255.0, 160.0, 200.0],
    ]);
    let light = Light {
        gradient: 0.0,
        angle: 0.0,
        vignette: 0.0,
        noise: 0.0,
    };
    let (w, h, top) = (size.0 as f32, size.1 as f32, bar as f32);
    let image = paint_with(
        size,
        |x, y| {
            if y < top {
                let cy = top / 2.0;
                return buttons
                    .iter()
                    .find(|(cx, _)| (x - cx).hypot(y - cy) < radius)
                    .map_or(toolbar, |(_, c)| *c);
            }
            let edge = (x).min(w - 1.0 - x).min(y - top).min(h - 1.0 - y);
            if edge < border_width {
                [border; 3]
            } else {
                background
            }
        },
        |x, y| ink.at(x, y, offset),
        colour,
        &light,
        rng,
    );
    Rendered {
        image: image.into(),
        jpeg: None,
    }
}

/// Coloured ink on a coloured sticky note, photographed on a desk that shows at some edges.
pub(super) fn sticky_note(digit: &[u8; 784], rng: &mut Rng) -> Rendered {
    let scale = rng.between(4, 8);
    let ink = ink_of(digit, scale, (-0.3, 0.6), (0.3, 1.0), rng);
    let (note, offset) = framed(&ink, (0.2, 0.7), rng);
    let desk_side = |rng: &mut Rng| {
        if rng.chance(0.5) {
            (rng.range(0.0, 0.25) * note.0 as f32) as u32
        } else {
            0
        }
    };
    let (dl, dt, dr, db) = (
        desk_side(rng),
        desk_side(rng),
        desk_side(rng),
        desk_side(rng),
    );
    let size = (note.0 + dl + dr, note.1 + dt + db);
    let offset = (offset.0 + i64::from(dl), offset.1 + i64::from(dt));
    let paper = rng
        .pick(&[
            [250.0, 235.0, 110.0],
            [250.0, 160.0, 190.0],
            [180.0, 235.0, 150.0],
            [150.0, 205.0, 245.0],
            [250.0, 190.0, 110.0],
        ])
        .map(|c| c * rng.range(0.85, 1.0));
    let desk = rng.pick(&[
        [140.0, 100.0, 60.0],
        [120.0, 120.0, 125.0],
        [220.0, 218.0, 210.0],
        [60.0, 60.0, 65.0],
    ]);
    let colour = rng.pick(&[
        [30.0, 50.0, 160.0],
        [25.0, 25.0, 30.0],
        [190.0, 30.0, 40.0],
        [100.0, 40.0, 140.0],
        [30.0, 110.0, 50.0],
    ]);
    let light = Light {
        gradient: rng.range(0.0, 0.15),
        angle: rng.range(0.0, std::f32::consts::TAU),
        vignette: rng.range(0.0, 0.4),
        noise: rng.range(0.005, 0.03),
    };
    let (l, t) = (dl as f32, dt as f32);
    let (r, b) = (l + note.0 as f32, t + note.1 as f32);
    let image = paint_with(
        size,
        |x, y| {
            if x >= l && x < r && y >= t && y < b {
                paper
            } else {
                // The note's shadow on the desk, just beyond its edges.
                let d = (l - x).max(x - r).max(t - y).max(y - b);
                desk.map(|c| c * (0.75 + 0.25 * (d / 6.0).min(1.0)))
            }
        },
        |x, y| ink.at(x, y, offset),
        colour,
        &light,
        rng,
    );
    Rendered {
        image: image.into(),
        jpeg: Some(rng.between(65, 92) as u8),
    }
}

/// A small picture of a digit: a scan, a canvas or ruled paper, 18 to 24 pixels a side.
pub(super) fn thumbnail(digit: &[u8; 784], rng: &mut Rng) -> Rendered {
    let full = match rng.between(0, 2) {
        0 => super::paper::clean(digit, rng),
        1 => super::paper::canvas(digit, rng),
        _ => super::paper::ruled(digit, rng, None),
    };
    let side = rng.between(18, 24);
    let (w, h) = (full.image.width(), full.image.height());
    let scale = side as f32 / w.max(h) as f32;
    let size = (
        ((w as f32 * scale).round() as u32).max(1),
        ((h as f32 * scale).round() as u32).max(1),
    );
    Rendered {
        image: full
            .image
            .resize_exact(size.0, size.1, FilterType::Triangle),
        jpeg: None,
    }
}
