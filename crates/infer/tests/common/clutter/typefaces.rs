//! Digits in other people's hands: handwriting typefaces from Debian's `fonts-*` packages, a
//! stand-in for "real handwriting of other writers" that needs no download. MNIST's writers
//! were Census Bureau employees and American students; each of these typefaces was drawn from
//! one other person's writing (the six of `fonts-bwht` from six people's). A glyph is turned and
//! slanted a little, then brought into MNIST's form, as MNIST's digits were: its box fitted to
//! 20x20, its centre of mass at the middle of 28x28. The clean condition then writes it on paper.

use ab_glyph::{Font, FontVec, PxScale};
use image::{GrayImage, Luma, imageops};
use imageproc::geometric_transformations::{Border, Interpolation, Projection, warp};

use super::Rng;

/// A handwriting typeface: the Debian package that installs it, its file under [`FONTS`].
pub struct Typeface {
    pub package: &'static str,
    pub path: &'static str,
}

const fn face(package: &'static str, path: &'static str) -> Typeface {
    Typeface { package, path }
}

pub const FONTS: &str = "/usr/share/fonts/";

/// The writers. Outline and display typefaces are left out: nobody writes that way.
pub const TYPEFACES: [Typeface; 19] = [
    face("fonts-breip", "truetype/breip/Breip.ttf"),
    face("fonts-bwht", "opentype/bwht/BecauseWeBuild-Regular.otf"),
    face("fonts-bwht", "opentype/bwht/BecauseWeConnect-Regular.otf"),
    face("fonts-bwht", "opentype/bwht/BecauseWeCreate-Regular.otf"),
    face("fonts-bwht", "opentype/bwht/BecauseWeLearn-Regular.otf"),
    face("fonts-bwht", "opentype/bwht/BecauseWeMentor-Regular.otf"),
    face("fonts-bwht", "opentype/bwht/BecauseWeOrganize-Regular.otf"),
    face(
        "fonts-dancingscript",
        "opentype/dancingscript/DancingScript-Regular.otf",
    ),
    face("fonts-sjfonts", "truetype/sjfonts/Delphine.ttf"),
    face("fonts-dkg-handwriting", "truetype/fifthhorseman/dkg.ttf"),
    face("fonts-humor-sans", "truetype/humor-sans/Humor-Sans.ttf"),
    face(
        "fonts-kaushanscript",
        "opentype/kaushanscript/KaushanScript-Regular.otf",
    ),
    face("fonts-kiloji", "truetype/kiloji/kiloji.ttf"),
    face("fonts-klee", "truetype/klee/KleeOne-Regular.ttf"),
    face("fonts-kristi", "truetype/kristi/Kristi.ttf"),
    face("fonts-rufscript", "truetype/rufscript/Rufscript010.ttf"),
    face("fonts-seto", "truetype/seto/setofont.ttf"),
    face("fonts-sjfonts", "truetype/sjfonts/SteveHand.ttf"),
    face("fonts-yozvox-yozfont", "truetype/yozvox-yozfont/YOzRN_.ttf"),
];

/// Every typeface's font, or what to install when some are missing.
pub fn load_all() -> Result<Vec<FontVec>, String> {
    let mut missing: Vec<&str> = Vec::new();
    let mut fonts = Vec::new();
    for face in &TYPEFACES {
        let path = format!("{FONTS}{}", face.path);
        match std::fs::read(&path).map(FontVec::try_from_vec) {
            Ok(Ok(font)) => fonts.push(font),
            Ok(Err(error)) => return Err(format!("{path}: not a font ({error})")),
            Err(_) => {
                if !missing.contains(&face.package) {
                    missing.push(face.package);
                }
            }
        }
    }
    if missing.is_empty() {
        Ok(fonts)
    } else {
        Err(format!(
            "the handwriting typefaces are missing from {FONTS}: install them with \
             `apt-get install {}` (Debian or Ubuntu)",
            missing.join(" ")
        ))
    }
}

/// `digit` in `font`, turned and slanted at random within the draw's ranges, in MNIST's form
/// (light ink on black); `None` if the font has no outline for it.
pub fn mnist_form(font: &impl Font, digit: u8, rng: &mut Rng) -> Option<[u8; 784]> {
    let angle = rng.range(-12.0, 12.0).to_radians();
    let slant = rng.range(-0.25, 0.25);
    // Drawn large on a square with room to turn, so that the reduction to 20x20 decides the
    // strokes' softness, as MNIST's anti-aliased reduction did.
    const SIDE: u32 = 192;
    let glyph = font
        .glyph_id(char::from(b'0' + digit))
        .with_scale(PxScale::from(120.0));
    let outline = font.outline_glyph(glyph)?;
    let bounds = outline.px_bounds();
    let (left, top) = (
        (SIDE as f32 - bounds.width()) / 2.0,
        (SIDE as f32 - bounds.height()) / 2.0,
    );
    let mut drawn = GrayImage::new(SIDE, SIDE);
    outline.draw(|x, y, coverage| {
        let (x, y) = (x + left as u32, y + top as u32);
        if x < SIDE && y < SIDE {
            drawn.put_pixel(x, y, Luma([(coverage.min(1.0) * 255.0) as u8]));
        }
    });
    let centre = SIDE as f32 / 2.0;
    let shear = Projection::from_matrix([1.0, -slant, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0])?;
    let turn = Projection::translate(centre, centre)
        * Projection::rotate(angle)
        * shear
        * Projection::translate(-centre, -centre);
    let turned = warp(
        &drawn,
        turn,
        Interpolation::Bilinear,
        Border::Constant(Luma([0])),
    );
    fit_to_mnist(&turned)
}

/// MNIST's normalisation: the ink's box scaled so its longer side is 20 pixels, then placed
/// in 28x28 with its centre of mass at the middle (as far as the frame allows). Written here,
/// not taken from `preprocess`, whose last stages do the same: a set made with the code it
/// scores would hide that code's faults.
fn fit_to_mnist(image: &GrayImage) -> Option<[u8; 784]> {
    let inked = image.enumerate_pixels().filter(|(_, _, p)| p.0[0] > 0);
    let (mut l, mut t, mut r, mut b) = (u32::MAX, u32::MAX, 0, 0);
    for (x, y, _) in inked {
        (l, t, r, b) = (l.min(x), t.min(y), r.max(x + 1), b.max(y + 1));
    }
    if l >= r {
        return None;
    }
    let (w, h) = (r - l, b - t);
    let scale = 20.0 / w.max(h) as f32;
    let (sw, sh) = (
        ((w as f32 * scale).round() as u32).max(1),
        ((h as f32 * scale).round() as u32).max(1),
    );
    let crop = imageops::crop_imm(image, l, t, w, h).to_image();
    let small = imageops::resize(&crop, sw, sh, imageops::FilterType::Triangle);
    let (mut mass, mut mx, mut my) = (0.0f32, 0.0f32, 0.0f32);
    for (x, y, p) in small.enumerate_pixels() {
        let v = f32::from(p.0[0]);
        (mass, mx, my) = (mass + v, mx + v * x as f32, my + v * y as f32);
    }
    let mass = mass.max(1.0);
    let place = |centre: f32, size: u32| {
        ((14.0 - centre / mass).round() as i64).clamp(0, 28 - i64::from(size)) as u32
    };
    let (ox, oy) = (place(mx, sw), place(my, sh));
    let mut out = [0u8; 784];
    for (x, y, p) in small.enumerate_pixels() {
        out[((y + oy) * 28 + x + ox) as usize] = p.0[0];
    }
    Some(out)
}
