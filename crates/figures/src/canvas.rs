//! A plotters backend that draws text with the font shipped in this crate.
//!
//! plotters 0.3 draws text only through the system's fonts (its `ttf` feature, font-kit), so a
//! figure would depend on what the user's machine has installed. This backend is plotters'
//! bitmap backend with its two text methods replaced: glyphs come from DejaVu Sans, laid out
//! and rasterised by ab_glyph.

use ab_glyph::{Font, FontRef, Glyph, PxScale, ScaleFont, point};
use image::RgbImage;
use plotters::coord::Shift;
use plotters::drawing::DrawingArea;
use plotters::prelude::{BitMapBackend, DrawingBackend};
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingErrorKind,
};

use crate::FigureError;

const FONT: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");

/// Draws a `width` x `height` figure on a white background with `draw`, and returns it.
pub(crate) fn figure(
    width: u32,
    height: u32,
    draw: impl FnOnce(&DrawingArea<Canvas<'_>, Shift>) -> Result<(), FigureError>,
) -> Result<RgbImage, FigureError> {
    let font = FontRef::try_from_slice(FONT).map_err(|_| FigureError::Font)?;
    let mut pixels = vec![255u8; width as usize * height as usize * 3];
    {
        let canvas = Canvas {
            bitmap: BitMapBackend::with_buffer(&mut pixels, (width, height)),
            font: &font,
        };
        let root = DrawingArea::from(canvas);
        draw(&root)?;
        root.present().map_err(FigureError::draw)?;
    }
    RgbImage::from_raw(width, height, pixels).ok_or(FigureError::Font)
}

/// plotters' bitmap backend, with text from the shipped font.
pub(crate) struct Canvas<'a> {
    bitmap: BitMapBackend<'a>,
    font: &'a FontRef<'a>,
}

/// A line of text laid out at the origin: glyphs on a baseline at the font's ascent.
struct Line {
    glyphs: Vec<Glyph>,
    width: f32,
    height: f32,
}

impl Canvas<'_> {
    fn layout(&self, text: &str, size: f64) -> Line {
        let scale = PxScale::from(size as f32);
        let font = self.font.as_scaled(scale);
        let (mut x, mut previous) = (0.0, None);
        let mut glyphs = Vec::with_capacity(text.len());
        for c in text.chars() {
            let id = font.glyph_id(c);
            if let Some(previous) = previous {
                x += font.kern(previous, id);
            }
            glyphs.push(id.with_scale_and_position(scale, point(x, font.ascent())));
            x += font.h_advance(id);
            previous = Some(id);
        }
        Line {
            glyphs,
            width: x,
            height: font.ascent() - font.descent(),
        }
    }
}

type Error<'a> = DrawingErrorKind<<BitMapBackend<'a> as DrawingBackend>::ErrorType>;

impl<'a> DrawingBackend for Canvas<'a> {
    type ErrorType = <BitMapBackend<'a> as DrawingBackend>::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.bitmap.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), Error<'a>> {
        self.bitmap.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), Error<'a>> {
        self.bitmap.present()
    }

    fn draw_pixel(&mut self, point: BackendCoord, color: BackendColor) -> Result<(), Error<'a>> {
        self.bitmap.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), Error<'a>> {
        self.bitmap.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), Error<'a>> {
        self.bitmap.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), Error<'a>> {
        self.bitmap.draw_path(path, style)
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), Error<'a>> {
        self.bitmap.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vertices: I,
        style: &S,
    ) -> Result<(), Error<'a>> {
        self.bitmap.fill_polygon(vertices, style)
    }

    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        size: (u32, u32),
        src: &[u8],
    ) -> Result<(), Error<'a>> {
        self.bitmap.blit_bitmap(pos, size, src)
    }

    fn estimate_text_size<TStyle: BackendTextStyle>(
        &self,
        text: &str,
        style: &TStyle,
    ) -> Result<(u32, u32), Error<'a>> {
        let line = self.layout(text, style.size());
        Ok((line.width.ceil() as u32, line.height.ceil() as u32))
    }

    fn draw_text<TStyle: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &TStyle,
        pos: BackendCoord,
    ) -> Result<(), Error<'a>> {
        let color = style.color();
        if color.alpha == 0.0 {
            return Ok(());
        }
        let line = self.layout(text, style.size());
        let anchor = style.anchor();
        let dx = match anchor.h_pos {
            HPos::Left => 0.0,
            HPos::Center => -line.width / 2.0,
            HPos::Right => -line.width,
        };
        let dy = match anchor.v_pos {
            VPos::Top => 0.0,
            VPos::Center => -line.height / 2.0,
            VPos::Bottom => -line.height,
        };
        let transform = style.transform();
        let (width, height) = self.get_size();
        let mut coverage = Vec::new();
        for glyph in line.glyphs {
            let Some(outline) = self.font.outline_glyph(glyph) else {
                continue;
            };
            let bounds = outline.px_bounds();
            // Whole-pixel offsets: rounding each pixel would map two onto one.
            let (left, top) = (
                (bounds.min.x + dx).round() as i32,
                (bounds.min.y + dy).round() as i32,
            );
            outline.draw(|x, y, c| {
                let (x, y) = (left + x as i32, top + y as i32);
                coverage.push((transform.transform(x, y), c));
            });
        }
        for ((x, y), c) in coverage {
            let (x, y) = (pos.0 + x, pos.1 + y);
            if c > 0.0 && (0..width as i32).contains(&x) && (0..height as i32).contains(&y) {
                let alpha = color.alpha * f64::from(c.min(1.0));
                self.draw_pixel((x, y), BackendColor { alpha, ..color })?;
            }
        }
        Ok(())
    }
}
