//! What the network made of one image, layer by layer, and its picture (`--explain`).

use figures::{FigureError, Maps, Sheet};
use image::{DynamicImage, Rgb, RgbImage};
use mnist::IMAGE_PIXELS;

use crate::Classification;

/// One image's way through the network: every layer's output and the classification, from
/// [`crate::Classifier::explain`].
#[derive(Clone, Debug, PartialEq)]
pub struct Explanation {
    /// What the model made of the image.
    pub classification: Classification,
    /// C1's maps.
    pub c1: Maps,
    /// S2's maps.
    pub s2: Maps,
    /// C3's maps.
    pub c3: Maps,
    /// S4's maps.
    pub s4: Maps,
    /// C5's units.
    pub c5: Vec<f32>,
    /// F6's units.
    pub f6: Vec<f32>,
}

/// The largest side of the image as given that the sheet keeps before fitting it to its panel:
/// the panel is smaller, and converting a 50-megapixel photo whole would cost 150 MB.
const THUMBNAIL: u32 = 480;

/// The sheet of `explanation` ([`figures::sheet`]): `original` is the image as decoded from
/// `file`, `removed` what preprocessing removed of it
/// ([`crate::preprocess::to_mnist_showing_removed`]), `seen` the 28x28 the model saw, `model`
/// which model read it.
pub fn sheet(
    model: &str,
    file: &str,
    original: &DynamicImage,
    removed: &RgbImage,
    seen: &[u8; IMAGE_PIXELS],
    explanation: &Explanation,
) -> Result<RgbImage, FigureError> {
    let shown = if original.width().max(original.height()) > THUMBNAIL {
        original.thumbnail(THUMBNAIL, THUMBNAIL)
    } else {
        original.clone()
    };
    let size = format!("{}x{}", original.width(), original.height());
    let original = on_checkerboard(&shown);
    let digit = explanation.classification.digit;
    figures::sheet(
        &format!("LeNet-5, {model}: reads {digit}"),
        &format!("{file}, {size}"),
        &Sheet {
            original: &original,
            removed,
            seen,
            c1: &explanation.c1,
            s2: &explanation.s2,
            c3: &explanation.c3,
            s4: &explanation.s4,
            c5: &explanation.c5,
            f6: &explanation.f6,
            probabilities: &explanation.classification.probabilities,
        },
    )
}

/// The image over the light and lighter grey squares with which image editors show
/// transparency, so that ink of any colour on a transparent canvas stays visible.
fn on_checkerboard(image: &DynamicImage) -> RgbImage {
    let rgba = image.to_rgba8();
    RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let square = if (x / 8 + y / 8) % 2 == 0 {
            255.0
        } else {
            204.0
        };
        let [r, g, b, a] = rgba.get_pixel(x, y).0.map(f32::from);
        let alpha = a / 255.0;
        let blend = |c: f32| (alpha * c + (1.0 - alpha) * square).round() as u8;
        Rgb([blend(r), blend(g), blend(b)])
    })
}
