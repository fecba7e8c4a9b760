//! Parsing and validating the IDX files MNIST is distributed in.
//!
//! An IDX file is a big-endian header (magic number, item count, and for images the row and
//! column counts) followed by one byte per label or pixel. Files may be stored gzip-compressed;
//! that is detected from the content, so a misnamed file still reads.

use std::fs;
use std::io::{self, Read};
use std::path::Path;

use flate2::read::GzDecoder;

use crate::MnistError;

use lenet::{IMAGE_PIXELS, IMAGE_SIDE};

const LABELS_MAGIC: u32 = 0x0000_0801;
const IMAGES_MAGIC: u32 = 0x0000_0803;
const LABELS_HEADER: usize = 8;
const IMAGES_HEADER: usize = 16;
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Caps the up-front allocation so that a corrupted header cannot make us reserve gigabytes;
/// larger (legitimate) content still reads, the vector just grows.
const MAX_RESERVE: u64 = 64 << 20;

/// Whether `bytes` are gzip-compressed, judged by the magic number rather than the file name.
pub(crate) fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&GZIP_MAGIC)
}

/// A reader over the decompressed content of `bytes`, whether or not they are compressed.
pub(crate) fn content_reader(bytes: &[u8]) -> Box<dyn Read + '_> {
    if is_gzip(bytes) {
        Box::new(GzDecoder::new(bytes))
    } else {
        Box::new(bytes)
    }
}

/// Reads and validates an image file; returns the pixels (without header), 784 per image.
pub(crate) fn read_images(path: &Path) -> Result<Vec<u8>, MnistError> {
    parse_images(&read(path)?, path)
}

/// Reads and validates a label file; returns the labels (without header), all in 0..=9.
pub(crate) fn read_labels(path: &Path) -> Result<Vec<u8>, MnistError> {
    parse_labels(&read(path)?, path)
}

fn read(path: &Path) -> Result<Vec<u8>, MnistError> {
    fs::read(path).map_err(|error| {
        if path.is_dir() {
            MnistError::NotAFile { path: path.into() }
        } else {
            MnistError::io("read", path, error)
        }
    })
}

/// Parses and validates the bytes of an IDX image file (raw or gzip, told by content): 28x28
/// images, exactly as many as the header declares. Returns the pixels without the header, 784
/// per image; `path` names the file in errors. Malformed input is an error, never a panic.
pub fn parse_images(bytes: &[u8], path: &Path) -> Result<Vec<u8>, MnistError> {
    let (header, reader) = header::<IMAGES_HEADER>(bytes, IMAGES_MAGIC, "images", path)?;
    let [count, rows, cols] = [4, 8, 12].map(|at| be_u32(&header, at));
    if rows as usize != IMAGE_SIDE || cols as usize != IMAGE_SIDE {
        return Err(MnistError::BadDimensions {
            path: path.into(),
            rows,
            cols,
        });
    }
    read_data(reader, count, IMAGE_PIXELS as u64, bytes, path)
}

/// Parses and validates the bytes of an IDX label file (raw or gzip, told by content): exactly
/// as many labels as the header declares, all in 0..=9. Returns the labels without the header;
/// `path` names the file in errors.
pub fn parse_labels(bytes: &[u8], path: &Path) -> Result<Vec<u8>, MnistError> {
    let (header, reader) = header::<LABELS_HEADER>(bytes, LABELS_MAGIC, "labels", path)?;
    let labels = read_data(reader, be_u32(&header, 4), 1, bytes, path)?;
    if let Some(index) = labels.iter().position(|&label| label > 9) {
        return Err(MnistError::InvalidLabel {
            path: path.into(),
            index,
            label: labels[index],
        });
    }
    Ok(labels)
}

/// The header of `bytes`' content and a reader over the rest.
fn header<'a, const LEN: usize>(
    bytes: &'a [u8],
    magic: u32,
    kind: &'static str,
    path: &Path,
) -> Result<([u8; LEN], Box<dyn Read + 'a>), MnistError> {
    let mut reader = content_reader(bytes);
    let mut header = [0u8; LEN];
    read_header(&mut reader, &mut header, magic, kind, bytes, path)?;
    Ok((header, reader))
}

/// Fills `header`, checking the magic number as soon as it is in, so that a wrong kind of file
/// is reported as such even when it is shorter than this kind's header.
fn read_header(
    reader: &mut dyn Read,
    header: &mut [u8],
    magic: u32,
    kind: &'static str,
    bytes: &[u8],
    path: &Path,
) -> Result<(), MnistError> {
    let mut filled = 0;
    while filled < header.len() {
        match reader.read(&mut header[filled..]) {
            Ok(0) => {
                return Err(MnistError::TruncatedHeader {
                    path: path.into(),
                    len: filled,
                    needed: header.len(),
                });
            }
            Ok(n) => {
                let had_magic = filled >= 4;
                filled += n;
                if !had_magic && filled >= 4 {
                    check_magic(header, magic, kind, path)?;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(content_error(e, bytes, path)),
        }
    }
    Ok(())
}

fn check_magic(
    header: &[u8],
    expected: u32,
    kind: &'static str,
    path: &Path,
) -> Result<(), MnistError> {
    let found = be_u32(header, 0);
    if found == expected {
        Ok(())
    } else {
        Err(MnistError::BadMagic {
            path: path.into(),
            kind,
            expected,
            found,
        })
    }
}

/// Reads everything after the header and checks it is exactly `count` items of `item_len`.
fn read_data(
    mut reader: impl Read,
    count: u32,
    item_len: u64,
    bytes: &[u8],
    path: &Path,
) -> Result<Vec<u8>, MnistError> {
    let expected_bytes = u64::from(count) * item_len;
    let mut data = Vec::with_capacity(expected_bytes.min(MAX_RESERVE) as usize);
    reader
        .read_to_end(&mut data)
        .map_err(|e| content_error(e, bytes, path))?;
    if data.len() as u64 != expected_bytes {
        return Err(MnistError::LengthMismatch {
            path: path.into(),
            declared: count,
            expected_bytes,
            actual_bytes: data.len() as u64,
        });
    }
    Ok(data)
}

/// Reading from memory only fails inside the decompressor, so an error means corrupted gzip.
fn content_error(error: io::Error, bytes: &[u8], path: &Path) -> MnistError {
    if is_gzip(bytes) {
        MnistError::Gzip {
            path: path.into(),
            source: error,
        }
    } else {
        MnistError::io("read", path, error)
    }
}

fn be_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// Builders of IDX files for tests, valid or deliberately broken.
#[cfg(test)]
pub(crate) mod fixtures {
    use std::io::Write;

    use flate2::{Compression, write::GzEncoder};

    /// An image file with the given magic, count and dimensions, followed by `pixels`.
    pub fn images_raw(magic: u32, count: u32, rows: u32, cols: u32, pixels: &[u8]) -> Vec<u8> {
        let mut bytes = Vec::new();
        for field in [magic, count, rows, cols] {
            bytes.extend_from_slice(&field.to_be_bytes());
        }
        bytes.extend_from_slice(pixels);
        bytes
    }

    /// A label file with the given magic and count, followed by `labels`.
    pub fn labels_raw(magic: u32, count: u32, labels: &[u8]) -> Vec<u8> {
        let mut bytes = Vec::new();
        for field in [magic, count] {
            bytes.extend_from_slice(&field.to_be_bytes());
        }
        bytes.extend_from_slice(labels);
        bytes
    }

    /// A valid image file holding `images`.
    pub fn images(images: &[[u8; super::IMAGE_PIXELS]]) -> Vec<u8> {
        images_raw(
            super::IMAGES_MAGIC,
            images.len() as u32,
            28,
            28,
            images.concat().as_slice(),
        )
    }

    /// A valid label file holding `labels`.
    pub fn labels(labels: &[u8]) -> Vec<u8> {
        labels_raw(super::LABELS_MAGIC, labels.len() as u32, labels)
    }

    /// `bytes` gzip-compressed.
    pub fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
        encoder
            .write_all(bytes)
            .expect("writing to a Vec cannot fail");
        encoder.finish().expect("writing to a Vec cannot fail")
    }

    /// Three distinguishable images: image `i` has pixel `i` set to `100 + i`.
    pub fn three_images() -> Vec<[u8; super::IMAGE_PIXELS]> {
        (0..3)
            .map(|i| {
                let mut image = [0u8; super::IMAGE_PIXELS];
                image[i] = 100 + i as u8;
                image
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::fixtures::*;
    use super::*;

    fn path() -> PathBuf {
        PathBuf::from("fixture-idx")
    }

    #[test]
    fn reads_raw_and_gzip_images_alike() {
        let images = three_images();
        let raw = super::fixtures::images(&images);
        for bytes in [raw.clone(), gzip(&raw)] {
            let pixels = parse_images(&bytes, &path()).unwrap();
            assert_eq!(pixels, images.concat());
        }
    }

    #[test]
    fn reads_labels() {
        let raw = labels(&[5, 0, 9]);
        assert_eq!(parse_labels(&raw, &path()).unwrap(), vec![5, 0, 9]);
        assert_eq!(parse_labels(&gzip(&raw), &path()).unwrap(), vec![5, 0, 9]);
    }

    #[test]
    fn gzip_is_detected_by_content_not_name() {
        let dir = tempfile::tempdir().unwrap();
        let raw_named_gz = dir.path().join("labels.gz");
        let gz_named_raw = dir.path().join("labels");
        fs::write(&raw_named_gz, labels(&[1, 2])).unwrap();
        fs::write(&gz_named_raw, gzip(&labels(&[3, 4]))).unwrap();
        assert_eq!(read_labels(&raw_named_gz).unwrap(), vec![1, 2]);
        assert_eq!(read_labels(&gz_named_raw).unwrap(), vec![3, 4]);
    }

    #[test]
    fn rejects_wrong_magic() {
        // An image file where labels are expected: the classic mix-up.
        let images = super::fixtures::images(&three_images());
        let err = parse_labels(&images, &path()).unwrap_err();
        assert!(
            matches!(
                err,
                MnistError::BadMagic {
                    expected: 0x801,
                    found: 0x803,
                    kind: "labels",
                    ..
                }
            ),
            "{err:?}"
        );
        let err = parse_images(&labels(&[1]), &path()).unwrap_err();
        assert!(
            matches!(err, MnistError::BadMagic { found: 0x801, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn rejects_wrong_dimensions() {
        let bytes = images_raw(IMAGES_MAGIC, 1, 32, 28, &[0; 32 * 28]);
        let err = parse_images(&bytes, &path()).unwrap_err();
        assert!(
            matches!(
                err,
                MnistError::BadDimensions {
                    rows: 32,
                    cols: 28,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("32x28"));
    }

    #[test]
    fn rejects_short_and_long_data() {
        let pixels = three_images().concat();
        let short = images_raw(IMAGES_MAGIC, 3, 28, 28, &pixels[..pixels.len() - 1]);
        let err = parse_images(&short, &path()).unwrap_err();
        assert!(
            matches!(
                err,
                MnistError::LengthMismatch {
                    declared: 3,
                    expected_bytes: 2352,
                    actual_bytes: 2351,
                    ..
                }
            ),
            "{err:?}"
        );
        let long = labels_raw(LABELS_MAGIC, 2, &[1, 2, 3]);
        let err = parse_labels(&long, &path()).unwrap_err();
        assert!(
            matches!(
                err,
                MnistError::LengthMismatch {
                    actual_bytes: 3,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn huge_declared_count_is_an_error_not_an_allocation_failure() {
        let bytes = images_raw(IMAGES_MAGIC, u32::MAX, 28, 28, &[0; 784]);
        let err = parse_images(&bytes, &path()).unwrap_err();
        assert!(matches!(err, MnistError::LengthMismatch { .. }), "{err:?}");
    }

    #[test]
    fn rejects_truncated_header() {
        let err = parse_images(&[0, 0, 8, 3, 0, 0], &path()).unwrap_err();
        assert!(
            matches!(
                err,
                MnistError::TruncatedHeader {
                    len: 6,
                    needed: 16,
                    ..
                }
            ),
            "{err:?}"
        );
        let err = parse_labels(&[], &path()).unwrap_err();
        assert!(
            matches!(err, MnistError::TruncatedHeader { len: 0, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn rejects_labels_outside_0_to_9() {
        let err = parse_labels(&labels(&[3, 9, 10, 1]), &path()).unwrap_err();
        assert!(
            matches!(
                err,
                MnistError::InvalidLabel {
                    index: 2,
                    label: 10,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn rejects_corrupted_gzip() {
        let mut gz = gzip(&labels(&[1, 2, 3, 4, 5, 6, 7, 8]));
        // Flip bits in the compressed payload, after the 10-byte gzip header.
        for byte in &mut gz[10..14] {
            *byte ^= 0xff;
        }
        let err = parse_labels(&gz, &path()).unwrap_err();
        assert!(matches!(err, MnistError::Gzip { .. }), "{err:?}");

        let gz = gzip(&labels(&[1, 2, 3]));
        let truncated = &gz[..gz.len() - 6];
        let err = parse_labels(truncated, &path()).unwrap_err();
        assert!(matches!(err, MnistError::Gzip { .. }), "{err:?}");
    }

    #[test]
    fn a_directory_in_place_of_a_file_is_reported_as_such() {
        let dir = tempfile::tempdir().unwrap();
        let err = read_labels(dir.path()).unwrap_err();
        assert!(matches!(err, MnistError::NotAFile { .. }), "{err:?}");
        assert!(err.to_string().contains("is a directory"), "{err}");
    }

    #[test]
    fn missing_file_is_an_io_error_naming_it() {
        let err = read_images(Path::new("/nonexistent/train-images-idx3-ubyte")).unwrap_err();
        assert!(
            matches!(err, MnistError::Io { action: "read", .. }),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .contains("/nonexistent/train-images-idx3-ubyte")
        );
    }
}
