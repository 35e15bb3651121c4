//! What the downloader keeps in the model folder between runs: partial files with a small JSON
//! sidecar each (for resuming after an app restart), the sizes and hashes pinned by first
//! downloads, and a lock file.
//!
//! ```text
//! <model dir>/config.json, onnx/*.onnx          finished, verified files (the loadable folder)
//! <model dir>/.florence2-download/
//!     onnx/encoder_model_int8.onnx.part        bytes received so far
//!     onnx/encoder_model_int8.onnx.part.json   URL, server validators, expected size
//!     pins.json                                 size + SHA-256 pinned on first download
//!     lock                                      held (flock) by the process downloading
//! ```

use std::collections::BTreeMap;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{DownloadError, DownloadResult};
use crate::manifest::{Manifest, ManifestFile};

/// The folder inside a model folder where the downloader keeps its state.
pub const STATE_DIR: &str = ".florence2-download";

/// Paths of one model folder.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub root: PathBuf,
}

impl Layout {
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
        }
    }

    pub fn state_dir(&self) -> PathBuf {
        self.root.join(STATE_DIR)
    }

    pub fn final_path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    pub fn part_path(&self, rel: &str) -> PathBuf {
        self.state_dir().join(format!("{rel}.part"))
    }

    pub fn sidecar_path(&self, rel: &str) -> PathBuf {
        self.state_dir().join(format!("{rel}.part.json"))
    }

    pub fn pins_path(&self) -> PathBuf {
        self.state_dir().join("pins.json")
    }

    pub fn lock_path(&self) -> PathBuf {
        self.state_dir().join("lock")
    }
}

/// What is known about a partial file, written before its first byte.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Sidecar {
    /// The URL the bytes came from.
    pub url: String,
    /// The file's full size, when the server or the manifest said.
    pub total: Option<u64>,
    /// The server's `ETag` (sent back as `If-Range`, so a changed file restarts from zero).
    pub etag: Option<String>,
    /// The server's `Last-Modified` (used as `If-Range` when there is no `ETag`).
    pub last_modified: Option<String>,
}

impl Sidecar {
    pub fn load(path: &Path) -> Option<Self> {
        fs::read_to_string(path)
            .ok()
            .and_then(|s| serde_json::from_str(&s).ok())
    }

    pub fn save(&self, path: &Path) -> DownloadResult<()> {
        write_atomically(path, serde_json::to_string(self).unwrap_or_default().as_bytes())
    }

    /// The validator to send as `If-Range`.
    pub fn validator(&self) -> Option<&str> {
        self.etag
            .as_deref()
            .filter(|e| !e.starts_with("W/"))
            .or(self.last_modified.as_deref())
    }
}

/// A size and hash recorded by the first complete download of a file the manifest leaves unpinned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Pin {
    pub url: String,
    pub size: u64,
    pub sha256: String,
}

/// Every pin of a model folder (`pins.json`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Pins {
    pub files: BTreeMap<String, Pin>,
}

impl Pins {
    pub fn load(layout: &Layout) -> Self {
        fs::read_to_string(layout.pins_path())
            .ok()
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default()
    }

    pub fn save(&self, layout: &Layout) -> DownloadResult<()> {
        let json = serde_json::to_string_pretty(self).unwrap_or_default();
        write_atomically(&layout.pins_path(), json.as_bytes())
    }
}

/// The size and hash a file must have: the manifest's, else the pin of a first download of the
/// same URL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Expected {
    pub size: Option<u64>,
    pub sha256: Option<String>,
}

impl Expected {
    pub fn of(manifest: &Manifest, file: &ManifestFile, pins: &Pins) -> Self {
        let url = manifest.url_of(file);
        let pin = pins.files.get(&file.path).filter(|p| p.url == url);
        Self {
            size: file.size.or(pin.map(|p| p.size)),
            sha256: file.sha256.clone().or(pin.map(|p| p.sha256.clone())),
        }
    }
}

/// Writes `bytes` to a temporary sibling and renames it over `path`.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> DownloadResult<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| DownloadError::io("creating", parent, &e))?;
    }
    let tmp = path.with_extension("tmp");
    let write = || -> std::io::Result<()> {
        let mut file = fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()
    };
    write().map_err(|e| DownloadError::io("writing", &tmp, &e))?;
    fs::rename(&tmp, path).map_err(|e| DownloadError::io("renaming", &tmp, &e))
}

/// Removes a file; a file that is not there is fine.
pub(crate) fn remove_if_present(path: &Path) -> DownloadResult<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(DownloadError::io("deleting", path, &e)),
    }
}

/// The length of a file, 0 when it does not exist.
pub(crate) fn len_or_zero(path: &Path) -> u64 {
    fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}
