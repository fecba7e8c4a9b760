//! Many files in one call: expanding directories, preprocessing, classifying in batches,
//! saving what the model saw.

use std::collections::HashSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use mnist::IMAGE_PIXELS;
use rayon::prelude::*;

use crate::{AnyClassifier, Classification, InferError, explain, preprocess};

/// File extensions taken from a directory (compared without regard to case).
pub const IMAGE_EXTENSIONS: [&str; 9] = [
    "png", "jpg", "jpeg", "jpe", "bmp", "gif", "webp", "tif", "tiff",
];

/// Images preprocessed and classified together: one model call each, while the output still
/// follows soon after the input on a large directory.
const BATCH: usize = 256;

/// The result for one input file.
#[derive(Debug)]
pub struct Outcome {
    /// The file, as given or as found in a directory.
    pub file: PathBuf,
    /// The classification, or why there is none.
    pub result: Result<Classification, InferError>,
}

/// The image files the command-line arguments name, in order: a file as it is (whatever its
/// extension), a directory as every file in it with an image extension, sorted by name (not
/// recursively). A directory that cannot be listed or holds no images is an error in its
/// place; a file that does not exist is left for reading to report (`DecodeError::NotFound`),
/// so that one rule says what a missing input is.
pub fn expand_inputs(args: &[PathBuf]) -> Vec<Result<PathBuf, InferError>> {
    let mut inputs = Vec::new();
    for arg in args {
        if !arg.is_dir() {
            inputs.push(Ok(arg.clone()));
            continue;
        }
        match images_in(arg) {
            Ok(images) if images.is_empty() => {
                inputs.push(Err(InferError::NoImagesInDirectory { file: arg.clone() }));
            }
            Ok(images) => inputs.extend(images.into_iter().map(Ok)),
            Err(source) => inputs.push(Err(InferError::Read {
                file: arg.clone(),
                source,
            })),
        }
    }
    inputs
}

fn images_in(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut images = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let is_image = path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
            IMAGE_EXTENSIONS
                .iter()
                .any(|known| known.eq_ignore_ascii_case(e))
        });
        if is_image && path.is_file() {
            images.push(path);
        }
    }
    images.sort();
    Ok(images)
}

/// Creates a directory for `--save-preprocessed` or `--explain` if it does not exist.
pub fn prepare_save_dir(dir: &Path) -> Result<(), InferError> {
    std::fs::create_dir_all(dir).map_err(|source| InferError::SaveDirectory {
        dir: dir.into(),
        source,
    })
}

/// What [`classify_files`] writes besides the classifications, each file as
/// `<dir>/<file name>.png` (see [`SaveNames`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct Saves<'a> {
    /// `--save-preprocessed`: the 28x28 image the model saw, and beside it
    /// (`<file name>.removed.png`) what preprocessing removed
    /// ([`preprocess::to_mnist_showing_removed`]).
    pub preprocessed: Option<&'a Path>,
    /// `--explain`: the sheet of every layer's output ([`crate::explain::sheet`]).
    pub explained: Option<&'a Path>,
}

/// Where the saved pictures go: `<dir>/<file name>.png`, and `<file name>-2.png`, `-3`...
/// for a name already used in this call, so that two inputs with the same name from different
/// directories never overwrite each other.
#[derive(Debug)]
pub struct SaveNames {
    dir: PathBuf,
    used: HashSet<OsString>,
}

impl SaveNames {
    /// Names in `dir`.
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
            used: HashSet::new(),
        }
    }

    /// The path for `file`'s preprocessed image.
    pub fn path_for(&mut self, file: &Path) -> PathBuf {
        let stem = file.file_name().unwrap_or(file.as_os_str()).to_owned();
        let mut copy = 1;
        loop {
            let mut name = stem.clone();
            if copy > 1 {
                name.push(format!("-{copy}"));
            }
            name.push(".png");
            if self.used.insert(name.clone()) {
                return self.dir.join(name);
            }
            copy += 1;
        }
    }
}

/// Reads, preprocesses and classifies every input, yielding one [`Outcome`] per input in
/// order, a batch at a time, and writes what `saves` asks for. A batch's files are read and
/// preprocessed several at once on rayon's global pool (an application may size it with
/// `rayon::ThreadPoolBuilder::build_global`).
pub fn classify_files<'a>(
    classifier: &'a AnyClassifier,
    inputs: Vec<Result<PathBuf, InferError>>,
    saves: Saves<'a>,
) -> impl Iterator<Item = Outcome> + 'a {
    let mut inputs = inputs.into_iter().peekable();
    let mut names = Names {
        preprocessed: saves.preprocessed.map(SaveNames::new),
        explained: saves.explained.map(SaveNames::new),
    };
    std::iter::from_fn(move || {
        inputs.peek()?;
        let batch: Vec<_> = inputs.by_ref().take(BATCH).collect();
        Some(classify_batch(classifier, batch, &mut names))
    })
    .flatten()
}

struct Names {
    preprocessed: Option<SaveNames>,
    explained: Option<SaveNames>,
}

/// Where one file's pictures are saved, if anywhere.
#[derive(Default)]
struct Targets {
    preprocessed: Option<PathBuf>,
    explained: Option<PathBuf>,
}

fn classify_batch(
    classifier: &AnyClassifier,
    inputs: Vec<Result<PathBuf, InferError>>,
    names: &mut Names,
) -> Vec<Outcome> {
    // The save names are given in the inputs' order (a repeated name gets "-2"); then the
    // files are read and preprocessed on rayon's pool, several at once, their order kept.
    let jobs: Vec<_> = inputs
        .into_iter()
        .map(|input| {
            let targets = input.as_ref().map_or_else(
                |_| Targets::default(),
                |file| Targets {
                    preprocessed: names.preprocessed.as_mut().map(|n| n.path_for(file)),
                    explained: names.explained.as_mut().map(|n| n.path_for(file)),
                },
            );
            (input, targets)
        })
        .collect();
    let prepared: Vec<(PathBuf, Result<[u8; IMAGE_PIXELS], InferError>)> = jobs
        .into_par_iter()
        .map(|(input, targets)| match input {
            Ok(file) => {
                let pixels = prepare(classifier, &file, &targets);
                (file, pixels)
            }
            Err(error) => (error.file().unwrap_or(Path::new("")).into(), Err(error)),
        })
        .collect();
    let images: Vec<[u8; IMAGE_PIXELS]> = prepared
        .iter()
        .filter_map(|(_, pixels)| pixels.as_ref().ok().copied())
        .collect();
    // One classification per image, in order.
    let classifications = classifier.classify(&images);
    let mut next = 0;
    prepared
        .into_iter()
        .map(|(file, pixels)| Outcome {
            file,
            result: pixels.map(|_| {
                next += 1;
                classifications[next - 1].clone()
            }),
        })
        .collect()
}

/// One file read and turned into MNIST's form, with what `targets` asks for saved.
fn prepare(
    classifier: &AnyClassifier,
    file: &Path,
    targets: &Targets,
) -> Result<[u8; IMAGE_PIXELS], InferError> {
    let image = preprocess::read_image(file)?;
    let no_digit = || InferError::NoDigit { file: file.into() };
    let (pixels, removed) = if targets.preprocessed.is_some() || targets.explained.is_some() {
        let (pixels, removed) =
            preprocess::to_mnist_showing_removed(&image).ok_or_else(no_digit)?;
        (pixels, Some(removed))
    } else {
        (preprocess::to_mnist(&image).ok_or_else(no_digit)?, None)
    };
    if let (Some(target), Some(removed)) = (&targets.preprocessed, &removed) {
        let removed_target = target.with_extension("removed.png");
        let failed = |target: PathBuf| {
            move |error: image::ImageError| InferError::SavePreprocessed {
                file: file.into(),
                target,
                reason: error.to_string(),
            }
        };
        preprocess::save_png(&pixels, target).map_err(failed(target.clone()))?;
        removed
            .save(&removed_target)
            .map_err(failed(removed_target.clone()))?;
    }
    if let (Some(target), Some(removed)) = (&targets.explained, &removed) {
        let model = format!("\"{}\", {}", classifier.variant(), classifier.name());
        let explanation = classifier.explain(&pixels);
        explain::sheet(
            &model,
            &file.display().to_string(),
            &image,
            removed,
            &pixels,
            &explanation,
        )
        .and_then(|sheet| figures::save_png(&sheet, target))
        .map_err(|error| InferError::SaveExplanation {
            file: file.into(),
            target: target.clone(),
            reason: format!("{:#}", anyhow::Error::new(error)),
        })?;
    }
    Ok(pixels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_with_the_same_name_get_different_save_names() {
        let mut names = SaveNames::new(Path::new("out"));
        assert_eq!(
            names.path_for(Path::new("a/7.png")),
            Path::new("out/7.png.png")
        );
        assert_eq!(
            names.path_for(Path::new("b/7.png")),
            Path::new("out/7.png-2.png")
        );
        assert_eq!(
            names.path_for(Path::new("c/7.png")),
            Path::new("out/7.png-3.png")
        );
        assert_eq!(
            names.path_for(Path::new("c/8.png")),
            Path::new("out/8.png.png")
        );
    }
}
