//! From a user's image to MNIST's form: a 28x28 u8 image, light ink on a background of exactly
//! 0, the digit scaled to fit a 20x20 box and centred by its centre of mass.
//!
//! [`read_image`] and [`decode_image`] decode a file or an upload safely: the format told by
//! content, the size checked before any pixel is decoded (a decompression bomb is refused),
//! a truncated JPEG refused rather than completed with grey.
//!
//! MNIST's digits were size-normalised to fit a 20x20 box keeping their aspect ratio
//! (anti-aliased), then placed in a 28x28 field so that their centre of mass sits at the centre.
//! [`to_mnist`] repeats that recipe on photos, scans, drawings and screenshots:
//!
//! 1. **Grey.** Colour becomes luma (Rec. 709 weights). Transparent pixels are composited onto
//!    the background their image implies: strokes on a mostly transparent canvas get the
//!    background that contrasts with them (dark strokes: white; light strokes: black); a mostly
//!    opaque image gets the median grey of its opaque pixels (its paper). Images larger than
//!    [`WORKING_SIDE`] a side or [`WORKING_PIXELS`] in all are reduced by block averaging first,
//!    which anti-aliases and bounds the work; a thumbnail is enlarged (bilinear, by a whole factor) to at least
//!    [`MIN_WORKING_SIDE`] each way, so that its strokes are wide enough for the rules below.
//! 2. **Background.** Glare over dark ink on light paper (a whiteboard's reflection) is taken
//!    off first: where the paper around a pixel (a grey closing) rises above the paper's usual
//!    level, that rise is light added towards white, which left the ink only part of its
//!    contrast; the pixel is restored by the inverse (the share lifted, at most the pixel's own
//!    value and 85%), where the paper somewhere reaches white (a glare spot's core; paper in
//!    the light beside a shadow does not). A quadratic surface fitted robustly to the background (the ink excluded
//!    by iterative clipping, starting from the values on the image's border, which is paper
//!    even where thick marker covers a third of the picture or more) is subtracted, which
//!    removes the paper's level and a lighting gradient or vignetting.
//! 3. **Polarity.** The ink is on whichever side of the background holds more contrast in the
//!    middle of the picture (a fifth of each side left out at the edges): dark
//!    ink on light paper is inverted, because MNIST's ink is light on dark. In a photo (at least
//!    [`PHOTO_PIXELS`] pixels), where a shadow can cover most of the paper and outweigh the
//!    ink, the ink is instead the polarity of the thin features (the background module's grey
//!    top-hats at widening squares; looked for on finer copies where the reduced one shows
//!    none, then counting only ink well above the light a quadratic left), and what light the
//!    quadratic could not follow (a shadow's edge, a bright corner) is removed as what is too broad
//!    to be a stroke: a top-hat by a square twice as wide as the strokes. What stays within 4 noise
//!    deviations (or 5% of the ink's peak) of the background is set to exactly 0, and the strokes'
//!    typical core level becomes full ink, as in MNIST's scans. The noise is the fit's deviation or
//!    that of neighbours' differences, whichever is smaller (a shadow inflates the first), or what
//!    is left beside the ink, if more.
//! 4. **Printed lines.** Rules, grids and form boxes are found by their structure: sets of long
//!    straight runs of thin ink that span the picture, end on such lines at both ends (the
//!    walls of boxes in a row) or make up a rectangle (a box). Their pixels are removed except
//!    where a stroke crosses them (where the ink across is thicker than the line), so that the
//!    digit is neither joined to them nor cut. Lines at any angle (a hand-held photo of ruled or
//!    squared paper, converging under perspective, bent with the paper) are proposed by a
//!    Hough transform (imageproc's) and followed across the picture along the nearest ink; one
//!    is printed where ink lies along 85% of the way, and removed the same way.
//! 5. **The digit meant, cropped.** Connected ink components (8-connected, imageproc's
//!    labelling) with less than a tenth of the largest one's ink are specks of noise; those
//!    far fainter than the strongest ink are ghosts of erased writing; components cut by the
//!    picture's border (or hugging an edge) beside or around the ink that stays clear of it are
//!    a neighbour's piece, a frame, a toolbar; small marks far from the digit are buttons or
//!    stray dots. All of them go. First, though, faint ink further than half a stroke's width
//!    from strong ink goes: a ghost touching the digit (imageproc's distance transform), which
//!    could join it to the border; where more goes once the digit's own strokes are known, the
//!    components are judged again. The crop is the bounding box of the rest. A sheet on a
//!    desk (a sticky note) is looked into: in a picture smaller than a photo, a lighter sheet
//!    that fills the middle, with a clearly darker desk beyond some edges (Otsu's split,
//!    imageproc's), before the ink is looked for; in a photo, only where no ink stood out; and
//!    wherever the ink found is a solid lighter sheet with a rectangular outline.
//! 6. **Strokes.** A pen or a thin brush draws strokes far thinner, relative to the digit, than
//!    MNIST's. The mean stroke width (twice the area over the perimeter of the half-peak
//!    region) is measured; where it would be thinner than [`MIN_STROKE`] pixels in the 20x20
//!    box (about MNIST's 10th percentile), the strokes are thickened (a grey dilation) to it.
//! 7. **Scale.** The longer side becomes 20 pixels, keeping the aspect ratio, with a Lanczos-3
//!    filter widened by the reduction ratio (true anti-aliasing); the ink's maximum becomes 255.
//! 8. **Centre.** The 20x20 patch is placed in the 28x28 field by a whole-pixel shift that puts
//!    its centre of mass at (14, 14) to within half a pixel, as MNIST did. Coordinates: pixel
//!    (row r, column c) is the point (c, r), so the field's geometric centre is (13.5, 13.5);
//!    on MNIST's test set every digit's centre of mass lies in [13.5, 14.5] on both axes. Only
//!    where that shift would push ink out of the field is it limited, keeping all the ink.
//!
//! An image already in that form (28x28, background exactly 0, ink within 20x20 and centred as
//! above), such as an MNIST digit, is returned unchanged, byte for byte.
//!
//! This crate is the image side alone (no model, no Burn), so that it is compiled fully
//! optimised while the crates that instantiate Burn's generic code are not (docs/build.md);
//! `infer` re-exports it. Independent parts of a stage (the two polarities of the strokes'
//! openings, the two orientations of printed lines, the candidates for lines at any angle, the
//! two halves of a photo's composite) run at once on rayon's global pool, which an application
//! may size
//! (`rayon::ThreadPoolBuilder::build_global`); one thread runs them one after the other.
//!
//! # Example
//! A dark "1" drawn off centre on paper lit unevenly (lighter to the right):
//! ```
//! use image::{DynamicImage, Luma, GrayImage};
//!
//! let photo = GrayImage::from_fn(300, 200, |x, y| {
//!     let stroke = (200..212).contains(&x) && (30..170).contains(&y);
//!     Luma([if stroke { 40 } else { 150 + (x / 4) as u8 }])
//! });
//! let digit = preprocess::to_mnist(&DynamicImage::ImageLuma8(photo)).expect("a digit");
//!
//! // Light ink on a background of exactly 0, 20 pixels tall, its centre of mass on row 14.
//! assert_eq!(digit.iter().max(), Some(&255));
//! assert_eq!(digit[0], 0);
//! let rows: Vec<usize> = (0..28).filter(|r| digit[r * 28..][..28].iter().any(|&p| p > 0)).collect();
//! assert_eq!(rows, (5..25).collect::<Vec<_>>());
//! ```

mod background;
mod composite;
mod crop;
mod decode;
mod error;
mod field;
mod geometry;
mod grey;
mod ink;
mod lines;
mod morphology;
mod recipe;
mod slanted;
mod thicken;

pub use composite::{MIN_WORKING_SIDE, WORKING_PIXELS, WORKING_SIDE};
pub use decode::{MAX_PIXELS, MAX_SIDE, decode_image, read_image};
pub use error::DecodeError;
pub use field::BOX_SIDE;
pub use recipe::{PHOTO_PIXELS, save_png, to_mnist, to_mnist_showing_removed};
pub use thicken::MIN_STROKE;
