//! Finding the four MNIST files, downloading the missing ones, and verifying their content.
//!
//! A directory "holds" a file when it contains `<name>` or `<name>.gz` (or, in the layout of
//! Burn's own cache, `train/<name>` or `test/<name>`). Files are accepted raw or gzip-compressed
//! whatever their suffix; content is what gets checked, never names.

use std::fmt::Write as _;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::MnistError;
use crate::idx;

/// The four MNIST files, without the `.gz` suffix: train images, train labels, test images,
/// test labels.
pub const MNIST_FILES: [&str; 4] = [TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS];

/// SHA-256 of the decompressed content of each of [`MNIST_FILES`], in the same order.
pub const MNIST_SHA256: [&str; 4] = [
    "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
];

pub(crate) const TRAIN_IMAGES: &str = "train-images-idx3-ubyte";
pub(crate) const TRAIN_LABELS: &str = "train-labels-idx1-ubyte";
pub(crate) const TEST_IMAGES: &str = "t10k-images-idx3-ubyte";
pub(crate) const TEST_LABELS: &str = "t10k-labels-idx1-ubyte";

/// The default mirror list, so that a binary works without any file next to it.
const DEFAULT_MIRRORS: &str = include_str!("../../../configs/mirrors.toml");

/// The largest body accepted from a mirror; the biggest MNIST file is 47 MB uncompressed, so
/// anything much larger is not MNIST and must not exhaust memory.
const MAX_DOWNLOAD_BYTES: u64 = 128 << 20;

/// How and whether to fetch files that are not on disk.
///
/// The default downloads from the mirrors in `configs/mirrors.toml` (built in) and checks the
/// published hashes; tests replace the mirrors and hashes to run against a local server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Download {
    /// Whether [`locate`] may download missing files (`false` is `--no-download`).
    pub enabled: bool,
    /// Base URLs tried in order; `<base><name>.gz` is requested.
    pub mirrors: Vec<String>,
    /// Expected SHA-256 (lowercase hex) of the decompressed content of each of
    /// [`MNIST_FILES`], in the same order.
    pub sha256: [String; 4],
    /// Limit on connecting, on waiting for the response, and on each read of the body; a
    /// stalled transfer fails after this long rather than hanging.
    pub timeout: Duration,
    /// Whether to draw a progress bar (on stderr, and only if it is a terminal).
    pub progress: bool,
}

impl Default for Download {
    fn default() -> Self {
        Self {
            enabled: true,
            mirrors: parse_mirrors(DEFAULT_MIRRORS)
                .expect("the built-in configs/mirrors.toml is valid (checked by a unit test)"),
            sha256: MNIST_SHA256.map(str::to_owned),
            timeout: Duration::from_secs(30),
            progress: true,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MirrorsFile {
    mirrors: Vec<String>,
}

fn parse_mirrors(text: &str) -> Result<Vec<String>, String> {
    let file: MirrorsFile = toml::from_str(text).map_err(|e| e.to_string())?;
    if file.mirrors.is_empty() {
        return Err("the mirror list is empty".into());
    }
    if let Some(bad) = file
        .mirrors
        .iter()
        .find(|url| !(url.starts_with("http://") || url.starts_with("https://")))
    {
        return Err(format!("{bad:?} is not an http:// or https:// URL"));
    }
    Ok(file.mirrors)
}

impl Download {
    /// The default settings with downloading turned off, for `--no-download`.
    pub fn disabled() -> Self {
        Self {
            enabled: false,
            ..Self::default()
        }
    }

    /// Replaces the mirror list by the one in a TOML file shaped like `configs/mirrors.toml`.
    pub fn with_mirrors_file(mut self, path: &Path) -> Result<Self, MnistError> {
        let text = fs::read_to_string(path).map_err(|e| MnistError::MirrorsFile {
            path: path.into(),
            reason: e.to_string(),
        })?;
        self.mirrors = parse_mirrors(&text).map_err(|reason| MnistError::MirrorsFile {
            path: path.into(),
            reason,
        })?;
        Ok(self)
    }

    /// The URLs `file` (one of [`MNIST_FILES`]) is fetched from, in the order tried.
    pub fn urls(&self, file: &str) -> Vec<String> {
        self.mirrors
            .iter()
            .map(|base| {
                let separator = if base.ends_with('/') { "" } else { "/" };
                format!("{base}{separator}{file}.gz")
            })
            .collect()
    }

    /// Downloads into `dir` (created if needed) each of [`MNIST_FILES`] that `dir` lacks.
    ///
    /// Ignores [`Download::enabled`]: calling it is the decision to download. Each file is
    /// tried on every mirror in turn, retried once after a network failure, verified against
    /// [`Download::sha256`], written under a temporary name and only then renamed into place,
    /// so neither a bad nor an interrupted download leaves a file behind.
    pub fn fetch(&self, dir: &Path) -> Result<(), MnistError> {
        fs::create_dir_all(dir).map_err(|e| MnistError::io("create directory", dir, e))?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_connect(Some(self.timeout))
            .timeout_recv_response(Some(self.timeout))
            .timeout_per_read(Some(self.timeout))
            .build()
            .into();
        for (file, sha256) in MNIST_FILES.iter().zip(&self.sha256) {
            if find_file(dir, file).is_none() {
                self.fetch_file(&agent, file, sha256, dir)?;
            }
        }
        Ok(())
    }

    fn fetch_file(
        &self,
        agent: &ureq::Agent,
        file: &str,
        sha256: &str,
        dir: &Path,
    ) -> Result<(), MnistError> {
        let mut attempts = Vec::new();
        for url in self.urls(file) {
            for _try in 0..2 {
                match self.fetch_url(agent, &url, file, sha256) {
                    Ok(bytes) => return store(&bytes, file, dir),
                    Err(error) => {
                        let retry = is_transient(&error);
                        attempts.push(error);
                        if !retry {
                            break;
                        }
                    }
                }
            }
        }
        Err(MnistError::DownloadFailed {
            file: file.into(),
            attempts,
        })
    }

    /// The verified body of `url`, as served (possibly gzip).
    fn fetch_url(
        &self,
        agent: &ureq::Agent,
        url: &str,
        file: &str,
        sha256: &str,
    ) -> Result<Vec<u8>, MnistError> {
        let http_error = |e: ureq::Error| MnistError::Http {
            url: url.into(),
            source: Box::new(e),
        };
        let response = agent.get(url).call().map_err(http_error)?;
        let body = response.into_body();
        let announced = body.content_length();
        let bar = self.progress_bar(announced, file);
        let mut bytes = Vec::with_capacity(announced.unwrap_or(0).min(MAX_DOWNLOAD_BYTES) as usize);
        let read = bar
            .wrap_read(body.into_with_config().limit(MAX_DOWNLOAD_BYTES).reader())
            .read_to_end(&mut bytes);
        bar.finish_and_clear();
        read.map_err(|e| http_error(ureq::Error::Io(e)))?;
        if let Some(expected) = announced.filter(|&n| n != bytes.len() as u64) {
            return Err(MnistError::IncompleteDownload {
                url: url.into(),
                received: bytes.len() as u64,
                expected,
            });
        }
        let actual = content_sha256(&bytes).map_err(|source| MnistError::Gzip {
            path: url.into(),
            source,
        })?;
        if actual != sha256 {
            return Err(MnistError::ChecksumMismatch {
                file: file.into(),
                origin: url.into(),
                expected: sha256.into(),
                actual,
            });
        }
        Ok(bytes)
    }

    fn progress_bar(&self, len: Option<u64>, file: &str) -> ProgressBar {
        if !self.progress {
            return ProgressBar::hidden();
        }
        let bar = match len {
            Some(len) => ProgressBar::new(len),
            None => ProgressBar::no_length(),
        };
        // The template is a constant; falling back keeps a typo from ever becoming a panic.
        let style = ProgressStyle::with_template(
            "{msg:>24} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        bar.with_style(style).with_message(file.to_owned())
    }

    /// Checks the SHA-256 of the decompressed content of every MNIST file in `dir`.
    ///
    /// Loading already validates structure; this proves the data is the published MNIST.
    /// Reports the first missing or mismatching file.
    pub fn verify(&self, dir: &Path) -> Result<(), MnistError> {
        for (file, expected) in MNIST_FILES.iter().zip(&self.sha256) {
            let path = find_file(dir, file).ok_or_else(|| MnistError::MissingFiles {
                missing: vec![(*file).into()],
                searched: vec![dir.into()],
                urls: self.urls(file),
            })?;
            let bytes = fs::read(&path).map_err(|e| MnistError::io("read", &path, e))?;
            let actual = content_sha256(&bytes).map_err(|source| MnistError::Gzip {
                path: path.clone(),
                source,
            })?;
            if actual != *expected {
                return Err(MnistError::ChecksumMismatch {
                    file: (*file).into(),
                    origin: path.display().to_string(),
                    expected: expected.clone(),
                    actual,
                });
            }
        }
        Ok(())
    }
}

/// A cut connection or a timeout may succeed on a second try; a 404 or bad content will not.
fn is_transient(error: &MnistError) -> bool {
    match error {
        MnistError::Http { source, .. } => match source.as_ref() {
            ureq::Error::StatusCode(status) => *status >= 500,
            _ => true,
        },
        MnistError::IncompleteDownload { .. } => true,
        _ => false,
    }
}

/// Writes verified `bytes` into `dir` under a temporary name and renames them into place, so
/// a crash mid-write cannot leave a file that a later run would find and trust.
fn store(bytes: &[u8], file: &str, dir: &Path) -> Result<(), MnistError> {
    let name = if idx::is_gzip(bytes) {
        format!("{file}.gz")
    } else {
        file.to_owned()
    };
    let target = dir.join(name);
    let mut out = atomic_write_file::AtomicWriteFile::open(&target)
        .map_err(|e| MnistError::io("create a temporary file for", &target, e))?;
    out.write_all(bytes)
        .and_then(|()| out.commit())
        .map_err(|e| MnistError::io("write", &target, e))?;
    Ok(())
}

/// SHA-256 of the decompressed content, lowercase hex.
fn content_sha256(bytes: &[u8]) -> std::io::Result<String> {
    let mut reader = idx::content_reader(bytes);
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buffer[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let mut hex = String::with_capacity(64);
    for byte in hasher.finalize().iter() {
        // Writing to a String cannot fail.
        let _ = write!(hex, "{byte:02x}");
    }
    Ok(hex)
}

/// Where `dir` holds `file` (raw or gzip), if it does.
pub(crate) fn find_file(dir: &Path, file: &str) -> Option<PathBuf> {
    // Burn's MNIST dataset caches train and test files in separate subdirectories.
    let burn_subdir = if file.starts_with("train") {
        "train"
    } else {
        "test"
    };
    let gz = format!("{file}.gz");
    [
        dir.join(file),
        dir.join(&gz),
        dir.join(burn_subdir).join(file),
        dir.join(burn_subdir).join(&gz),
    ]
    .into_iter()
    // Anything by the name counts, so that a directory in a file's place is reported as
    // such when it is read rather than as a missing file.
    .find(|path| path.exists())
}

fn missing_in(dir: &Path) -> Vec<String> {
    MNIST_FILES
        .iter()
        .filter(|file| find_file(dir, file).is_none())
        .map(|file| (*file).to_owned())
        .collect()
}

/// The directories searched, in order: `dir`, `$MNIST_DIR`, the per-user cache, Burn's cache.
fn search_path(dir: Option<&Path>) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    dirs.extend(dir.map(Path::to_path_buf));
    dirs.extend(
        std::env::var_os("MNIST_DIR")
            .filter(|value| !value.is_empty())
            .map(PathBuf::from),
    );
    if let Some(cache) = dirs::cache_dir() {
        dirs.push(cache.join("lenet-burn").join("mnist"));
        dirs.push(cache.join("burn-dataset").join("mnist"));
    }
    dirs.dedup();
    dirs
}

/// Finds the directory holding all four MNIST files, downloading them if allowed.
///
/// Searches, in order: `dir` (the `--data-dir` argument), the `MNIST_DIR` environment variable,
/// `<cache dir>/lenet-burn/mnist`, and Burn's `<cache dir>/burn-dataset/mnist`, and returns the
/// first directory that holds all four files. If none does and `download.enabled`, the missing
/// files are downloaded into the first of those directories (Burn's cache is never written).
/// Otherwise the error lists the missing files, the directories searched, and the URLs.
pub fn locate(dir: Option<&Path>, download: &Download) -> Result<PathBuf, MnistError> {
    locate_in(&search_path(dir), download)
}

fn locate_in(search_path: &[PathBuf], download: &Download) -> Result<PathBuf, MnistError> {
    if let Some(found) = search_path.iter().find(|dir| missing_in(dir).is_empty()) {
        return Ok(found.clone());
    }
    match search_path.first() {
        Some(target) if download.enabled => {
            download.fetch(target)?;
            Ok(target.clone())
        }
        first => {
            let missing = match first {
                Some(dir) => missing_in(dir),
                None => MNIST_FILES.map(str::to_owned).to_vec(),
            };
            let urls = missing
                .iter()
                .flat_map(|file| download.urls(file))
                .collect();
            Err(MnistError::MissingFiles {
                missing,
                searched: search_path.to_vec(),
                urls,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_mirrors_parse_and_include_cvdf_and_another() {
        let download = Download::default();
        assert_eq!(
            download.mirrors[0],
            "https://storage.googleapis.com/cvdf-datasets/mnist/"
        );
        assert!(download.mirrors.len() >= 2);
        assert_eq!(
            download.urls(TRAIN_LABELS)[0],
            "https://storage.googleapis.com/cvdf-datasets/mnist/train-labels-idx1-ubyte.gz"
        );
        assert!(download.enabled && !Download::disabled().enabled);
    }

    #[test]
    fn mirrors_file_replaces_the_list_and_rejects_bad_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mirrors.toml");
        fs::write(&path, "mirrors = [\"http://example.org/mnist\"]\n").unwrap();
        let download = Download::default().with_mirrors_file(&path).unwrap();
        assert_eq!(download.mirrors, ["http://example.org/mnist"]);
        assert_eq!(
            download.urls(TEST_IMAGES),
            ["http://example.org/mnist/t10k-images-idx3-ubyte.gz"]
        );

        for bad in [
            "mirrors = []",
            "mirrors = [\"ftp://x/\"]",
            "mirror = [\"http://x/\"]",
        ] {
            fs::write(&path, bad).unwrap();
            let err = Download::default().with_mirrors_file(&path).unwrap_err();
            assert!(
                matches!(err, MnistError::MirrorsFile { .. }),
                "{bad}: {err:?}"
            );
        }
        let err = Download::default()
            .with_mirrors_file(&dir.path().join("absent.toml"))
            .unwrap_err();
        assert!(matches!(err, MnistError::MirrorsFile { .. }), "{err:?}");
    }

    fn write_all_files(dir: &Path, gz: bool) {
        for file in MNIST_FILES {
            let name = if gz {
                format!("{file}.gz")
            } else {
                file.into()
            };
            fs::write(dir.join(name), b"x").unwrap();
        }
    }

    #[test]
    fn locate_returns_the_first_complete_directory() {
        let partial = tempfile::tempdir().unwrap();
        let complete = tempfile::tempdir().unwrap();
        fs::write(partial.path().join(TRAIN_IMAGES), b"x").unwrap();
        write_all_files(complete.path(), true);
        let search = [partial.path().to_owned(), complete.path().to_owned()];
        let found = locate_in(&search, &Download::disabled()).unwrap();
        assert_eq!(found, complete.path());
    }

    #[test]
    fn locate_finds_burns_split_layout() {
        let burn = tempfile::tempdir().unwrap();
        for (split, files) in [
            ("train", [TRAIN_IMAGES, TRAIN_LABELS]),
            ("test", [TEST_IMAGES, TEST_LABELS]),
        ] {
            fs::create_dir(burn.path().join(split)).unwrap();
            for file in files {
                fs::write(burn.path().join(split).join(file), b"x").unwrap();
            }
        }
        let found = locate_in(&[burn.path().to_owned()], &Download::disabled()).unwrap();
        assert_eq!(found, burn.path());
        assert_eq!(
            find_file(burn.path(), TEST_LABELS).unwrap(),
            burn.path().join("test").join(TEST_LABELS)
        );
    }

    #[test]
    fn offline_error_lists_missing_files_directories_and_remedies() {
        let first = tempfile::tempdir().unwrap();
        let second = tempfile::tempdir().unwrap();
        fs::write(first.path().join(format!("{TRAIN_LABELS}.gz")), b"x").unwrap();
        let search = [first.path().to_owned(), second.path().to_owned()];
        let err = locate_in(&search, &Download::disabled()).unwrap_err();
        let MnistError::MissingFiles {
            missing, searched, ..
        } = &err
        else {
            panic!("expected MissingFiles, got {err:?}");
        };
        assert_eq!(missing, &[TRAIN_IMAGES, TEST_IMAGES, TEST_LABELS]);
        assert_eq!(searched, &search);
        let message = err.to_string();
        for needle in [
            TRAIN_IMAGES,
            TEST_LABELS,
            &first.path().display().to_string(),
            &second.path().display().to_string(),
            "MNIST_DIR",
            "--data-dir",
            "https://storage.googleapis.com/cvdf-datasets/mnist/t10k-images-idx3-ubyte.gz",
        ] {
            assert!(message.contains(needle), "{needle:?} not in:\n{message}");
        }
        assert!(
            !message.contains(&format!("{TRAIN_LABELS}.gz")),
            "{message}"
        );
    }

    #[test]
    fn offline_error_without_any_directory_still_explains() {
        let err = locate_in(&[], &Download::default()).unwrap_err();
        assert!(matches!(&err, MnistError::MissingFiles { missing, .. } if missing.len() == 4));
        assert!(err.to_string().contains("MNIST_DIR"));
    }

    #[test]
    fn locate_downloads_into_the_first_directory_when_allowed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("cache").join("mnist");
        // A port nothing listens on: every attempt is refused, and retried once.
        let refused = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            format!("http://{}/", listener.local_addr().unwrap())
        };
        let download = Download {
            mirrors: vec![refused],
            progress: false,
            ..Download::default()
        };
        let err = locate_in(&[target.clone(), dir.path().to_owned()], &download).unwrap_err();
        assert!(
            matches!(&err, MnistError::DownloadFailed { file, attempts }
                if file == TRAIN_IMAGES && attempts.len() == 2),
            "{err:?}"
        );
        assert!(target.is_dir());
        assert_eq!(fs::read_dir(&target).unwrap().count(), 0);
    }

    #[test]
    fn verify_reports_a_mismatch_with_both_hashes() {
        let dir = tempfile::tempdir().unwrap();
        write_all_files(dir.path(), false);
        let err = Download::default().verify(dir.path()).unwrap_err();
        let message = err.to_string();
        assert!(
            matches!(err, MnistError::ChecksumMismatch { .. }),
            "{err:?}"
        );
        // SHA-256 of the single byte "x".
        let actual = "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881";
        for needle in [TRAIN_IMAGES, MNIST_SHA256[0], actual] {
            assert!(message.contains(needle), "{needle:?} not in {message}");
        }
    }
}
