//! Safe decoding: the format told by content, the size checked before any pixel is decoded,
//! truncated JPEGs refused.

use std::fs::File;
use std::io::{BufRead, BufReader, Cursor, Read, Seek, SeekFrom};
use std::path::Path;

use image::error::UnsupportedErrorKind;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, Limits};

use crate::DecodeError;

/// The longest side accepted, in pixels.
pub const MAX_SIDE: u32 = 16_384;
/// The most pixels accepted in one image (100 megapixels; phone photos of 48 or 64 fit). Memory is
/// bounded by the decoders' allocation limit besides.
pub const MAX_PIXELS: u64 = 100_000_000;
/// Decoders may allocate at most this much (the decoded image counts).
const MAX_DECODED_BYTES: u64 = 512 * 1024 * 1024;

/// Reads and decodes the image in `path` (PNG, JPEG, BMP, GIF, WebP or TIFF, told by content,
/// not by name), opening it once, turned upright by its EXIF orientation where it has one (a
/// phone's photo); see [`decode_image`] for the checks.
pub fn read_image(path: &Path) -> Result<DynamicImage, DecodeError> {
    let file = File::open(path).map_err(|source| io_error(source, path))?;
    decode(BufReader::new(file), path)
}

/// Decodes an image held in memory (an upload, an embedded sample); `file` names it in errors.
///
/// The dimensions are read from the header and checked against [`MAX_SIDE`] and
/// [`MAX_PIXELS`] before any pixel is decoded, so that a small file declaring a huge image (a
/// decompression bomb) is refused without allocating for it; the decoder also runs under
/// [`image::Limits`]. A JPEG that stops before its end-of-image marker is refused as corrupt.
pub fn decode_image(bytes: &[u8], file: &Path) -> Result<DynamicImage, DecodeError> {
    decode(Cursor::new(bytes), file)
}

fn decode<R: BufRead + Seek>(mut input: R, path: &Path) -> Result<DynamicImage, DecodeError> {
    let decode_error = |error: ImageError| match error {
        ImageError::Unsupported(unsupported)
            if matches!(unsupported.kind(), UnsupportedErrorKind::Format(_)) =>
        {
            DecodeError::NotAnImage { file: path.into() }
        }
        ImageError::Unsupported(unsupported) => DecodeError::Unsupported {
            file: path.into(),
            reason: unsupported.to_string(),
        },
        // Data ending early is a truncated file (below), not a failure to read it.
        ImageError::IoError(source) if source.kind() != std::io::ErrorKind::UnexpectedEof => {
            DecodeError::Read {
                file: path.into(),
                source,
            }
        }
        other => DecodeError::Corrupt {
            file: path.into(),
            reason: other.to_string(),
        },
    };
    let rewind = |input: &mut R| {
        input
            .seek(SeekFrom::Start(0))
            .map(|_| ())
            .map_err(|source| io_error(source, path))
    };

    let reader = ImageReader::new(&mut input)
        .with_guessed_format()
        .map_err(|source| io_error(source, path))?;
    let Some(format) = reader.format() else {
        return Err(DecodeError::NotAnImage { file: path.into() });
    };
    let (width, height) = reader.into_dimensions().map_err(decode_error)?;
    let too_large = || DecodeError::TooLarge {
        file: path.into(),
        width: width.into(),
        height: height.into(),
    };
    if width == 0 || height == 0 {
        return Err(DecodeError::Empty {
            file: path.into(),
            width,
            height,
        });
    }
    if width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(too_large());
    }

    rewind(&mut input)?;
    let decoded = |input: &mut dyn BufReadSeek| {
        let mut reader = ImageReader::with_format(input, format);
        let mut limits = Limits::default();
        limits.max_image_width = Some(MAX_SIDE);
        limits.max_image_height = Some(MAX_SIDE);
        limits.max_alloc = Some(MAX_DECODED_BYTES);
        reader.limits(limits.clone());
        let error = |error| match error {
            ImageError::Limits(_) => too_large(),
            other => decode_error(other),
        };
        let mut decoder = reader.into_decoder().map_err(error)?;
        limits.reserve(decoder.total_bytes()).map_err(error)?;
        // A phone stores a photo as its sensor lay and records how it was held in the EXIF
        // orientation tag; viewers turn the picture upright by it, and so does this. A tag
        // that cannot be read leaves the picture as stored.
        let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
        let mut image = DynamicImage::from_decoder(decoder).map_err(error)?;
        image.apply_orientation(orientation);
        Ok(image)
    };
    if format != ImageFormat::Jpeg {
        return decoded(&mut input);
    }
    // The decoder reads all of a JPEG anyway: read once, check the end marker in memory.
    let mut bytes = Vec::new();
    input
        .take(MAX_DECODED_BYTES)
        .read_to_end(&mut bytes)
        .map_err(|source| io_error(source, path))?;
    if !jpeg_reaches_its_end(&bytes) {
        return Err(DecodeError::Corrupt {
            file: path.into(),
            reason: "the JPEG data stops before its end-of-image marker".into(),
        });
    }
    decoded(&mut Cursor::new(bytes))
}

/// What the decoder reads from: a file or bytes in memory.
trait BufReadSeek: BufRead + Seek {}
impl<T: BufRead + Seek> BufReadSeek for T {}

fn io_error(source: std::io::Error, path: &Path) -> DecodeError {
    match source.kind() {
        std::io::ErrorKind::NotFound => DecodeError::NotFound { file: path.into() },
        _ => DecodeError::Read {
            file: path.into(),
            source,
        },
    }
}

/// Whether a JPEG stream reaches its end-of-image marker.
///
/// JPEG decoders fill in whatever a truncated file lacks without an error, so a cut-off photo
/// would be classified as if it were whole. The segments before the image data are skipped by
/// their lengths (an embedded thumbnail has an end marker of its own); in the entropy-coded
/// data a 0xFF byte is always followed by 0x00 or a marker, so the end marker cannot be
/// mistaken there.
fn jpeg_reaches_its_end(bytes: &[u8]) -> bool {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return false;
    }
    let mut at = 2;
    while let Some(found) = bytes[at..].iter().position(|&b| b == 0xFF) {
        at += found + 1;
        let Some(skip) = bytes[at..].iter().position(|&b| b != 0xFF) else {
            return false;
        };
        at += skip;
        let marker = bytes[at];
        at += 1;
        match marker {
            0xD9 => return true,
            // Stuffed 0xFF, restart markers and TEM stand alone.
            0x00 | 0x01 | 0xD0..=0xD7 => {}
            _ => {
                let Some(&[high, low]) = bytes.get(at..at + 2) else {
                    return false;
                };
                let length = usize::from(u16::from_be_bytes([high, low])).max(2);
                if at + length > bytes.len() {
                    return false;
                }
                at += length;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_photo_is_turned_upright_by_its_exif_orientation() {
        use image::{ImageEncoder, codecs::jpeg::JpegEncoder};
        // 40x20, dark on the left; stored by a phone held turned a quarter anticlockwise, so
        // its EXIF says to turn it a quarter clockwise (orientation 6).
        let stored =
            image::GrayImage::from_fn(40, 20, |x, _| image::Luma([if x < 20 { 0 } else { 255 }]));
        // A little-endian TIFF header, one directory entry (orientation, a short, 6), no more.
        let exif = [
            &b"II*\0"[..],
            &8u32.to_le_bytes(),
            &1u16.to_le_bytes(),
            &[0x12, 0x01, 3, 0],
            &1u32.to_le_bytes(),
            &6u32.to_le_bytes(),
            &0u32.to_le_bytes(),
        ]
        .concat();
        let mut jpeg = Vec::new();
        let mut encoder = JpegEncoder::new_with_quality(&mut jpeg, 95);
        encoder.set_exif_metadata(exif).expect("JPEG takes EXIF");
        encoder
            .write_image(&stored, 40, 20, image::ExtendedColorType::L8)
            .expect("encodes");
        let upright = decode_image(&jpeg, Path::new("phone.jpg"))
            .expect("decodes")
            .to_luma8();
        // Turned a quarter clockwise: 20 wide, 40 tall, the left (dark) half now on top.
        assert_eq!(upright.dimensions(), (20, 40));
        assert!(upright.get_pixel(10, 5).0[0] < 60, "top: dark");
        assert!(upright.get_pixel(10, 35).0[0] > 200, "bottom: light");
    }

    #[test]
    fn jpeg_end_marker_is_found_past_segments_and_thumbnails() {
        let segment = |marker: u8, payload: &[u8]| {
            let length = (payload.len() + 2) as u16;
            [&[0xFF, marker][..], &length.to_be_bytes(), payload].concat()
        };
        // An APP1 segment holding a complete thumbnail, with its own end marker.
        let thumbnail = [0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02, 0x12, 0xFF, 0xD9];
        let scan = [0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56];
        let whole = [
            &[0xFF, 0xD8][..],
            &segment(0xE1, &thumbnail),
            &segment(0xDA, &[1, 2, 3]),
            &scan,
            &[0xFF, 0xD9],
        ]
        .concat();
        assert!(jpeg_reaches_its_end(&whole[..]));
        for cut in [whole.len() - 1, whole.len() - 4, 20, 6] {
            assert!(!jpeg_reaches_its_end(&whole[..cut]), "cut at {cut}");
        }
        assert!(!jpeg_reaches_its_end(&b"not a jpeg"[..]));
    }
}
