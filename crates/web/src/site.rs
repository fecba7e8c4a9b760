//! The page as a static site (`web --static DIR`): the same page, whose model runs in the
//! browser from an ONNX export with onnxruntime-web, served by any static file host.

use std::path::{Path, PathBuf};

use lenet_onnx::OnnxConfig;
use serde::Serialize;

use crate::json::ModelCard;
use crate::routes::{APP_JS, INDEX_HTML, STYLE_CSS};
use crate::{Error, Model};

/// The script that runs the model in the page ([`write_static_site`] only).
const ONNX_JS: &str = include_str!("../static/onnx.js");
/// Where the page's HTML takes the static site's scripts.
const SCRIPTS_MARK: &str = "<!-- the static site's scripts -->";
/// The scripts: onnxruntime-web's WebAssembly build, then the page's model.
const SCRIPTS: &str =
    "<script src=\"ort.wasm.min.js\"></script>\n<script src=\"onnx.js\"></script>";

/// The files of onnxruntime-web the site copies: the WebAssembly build's script, and the
/// module and binary it loads.
pub const ORT_FILES: [&str; 3] = [
    "ort.wasm.min.js",
    "ort-wasm-simd-threaded.mjs",
    "ort-wasm-simd-threaded.wasm",
];

/// Where onnxruntime-web's files are unless told otherwise: the npm package that
/// `npm ci --prefix crates/web/ort` installs in this repository.
pub fn default_ort_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("ort/node_modules/onnxruntime-web/dist")
}

/// `model.json`: the model card (`GET /api/model`'s answer) and the input step, as a table
/// from pixel values to the model's input values, so that the page applies the one rule the
/// model was trained with ([`lenet::InputConfig`]) without a copy of it.
#[derive(Serialize)]
struct StaticModel<'a> {
    #[serde(flatten)]
    card: ModelCard<'a>,
    input: StaticInput,
}

#[derive(Serialize)]
struct StaticInput {
    /// The model input's side (28 + 2 x padding).
    side: usize,
    /// Background pixels added on each side of the 28x28 digit.
    padding: usize,
    /// The input value of each pixel value 0..=255.
    values: Vec<f32>,
}

/// Writes the static site into `dir` (created if missing): `index.html`, `style.css`,
/// `app.js`, `onnx.js`, `model.onnx` (the model with its layers' outputs, for the maps),
/// `model.json`, and onnxruntime-web's [`ORT_FILES`] copied from `ort_dir`. Returns the files
/// written.
///
/// A directory holding other files than these is refused, so that nothing of the user's is
/// overwritten; each file is written in one step (a reader sees the old or the new one).
pub fn write_static_site(model: &Model, dir: &Path, ort_dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let site_error = |reason: String| Error::StaticSite {
        dir: dir.into(),
        reason,
    };
    let missing: Vec<&str> = ORT_FILES
        .into_iter()
        .filter(|file| !ort_dir.join(file).is_file())
        .collect();
    if !missing.is_empty() {
        return Err(site_error(format!(
            "onnxruntime-web's {} not found in {}: run `npm ci --prefix crates/web/ort`, or pass \
             --ort with the dist directory of onnxruntime-web",
            missing.join(", "),
            ort_dir.display()
        )));
    }

    let onnx = model.to_onnx(&OnnxConfig::new().with_layer_outputs(true));
    let input = model.input();
    let mut card = model.card();
    card.backend = "onnxruntime-web, in your browser";
    let card = StaticModel {
        card,
        input: StaticInput {
            side: input.side(),
            padding: input.padding,
            values: (0..=255)
                .map(|pixel| input.normalization.apply(pixel))
                .collect(),
        },
    };
    let card = serde_json::to_vec(&card).map_err(|error| site_error(error.to_string()))?;
    let index = INDEX_HTML.replace(SCRIPTS_MARK, SCRIPTS);
    let mut files: Vec<(&str, Vec<u8>)> = vec![
        ("index.html", index.into_bytes()),
        ("style.css", STYLE_CSS.into()),
        ("app.js", APP_JS.into()),
        ("onnx.js", ONNX_JS.into()),
        ("model.onnx", onnx),
        ("model.json", card),
    ];
    for name in ORT_FILES {
        let file = ort_dir.join(name);
        let bytes = std::fs::read(&file)
            .map_err(|error| site_error(format!("cannot read {}: {error}", file.display())))?;
        files.push((name, bytes));
    }

    std::fs::create_dir_all(dir)
        .map_err(|error| site_error(format!("cannot create it: {error}")))?;
    let entries =
        std::fs::read_dir(dir).map_err(|error| site_error(format!("cannot read it: {error}")))?;
    let foreign: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| !files.iter().any(|(file, _)| file == name))
        .collect();
    if !foreign.is_empty() {
        return Err(site_error(format!(
            "it holds files that are not the site's ({}): choose a new or empty directory",
            foreign.join(", ")
        )));
    }
    let mut written = Vec::new();
    for (name, bytes) in files {
        let file = dir.join(name);
        write_atomically(&file, &bytes)
            .map_err(|error| site_error(format!("cannot write {name}: {error}")))?;
        written.push(file);
    }
    Ok(written)
}

fn write_atomically(file: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = atomic_write_file::AtomicWriteFile::open(file)?;
    out.write_all(bytes)?;
    out.commit()
}
