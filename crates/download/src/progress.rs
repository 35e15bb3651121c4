//! Progress and outcome types of a download.

use std::path::PathBuf;

use florence2_core::PrecisionPlan;

/// Where one file of a download stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileState {
    /// Not started yet.
    Pending,
    /// Bytes are arriving.
    Downloading,
    /// All bytes are on disk; the SHA-256 is being checked.
    Verifying,
    /// Verified and in place (downloaded now or found complete).
    Done,
}

/// Progress of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileProgress {
    /// Path inside the model folder.
    pub path: String,
    /// Bytes of this file on disk (a resumed file starts at its partial size).
    pub bytes_done: u64,
    /// The file's size; `None` until the manifest, a pin or the server says.
    pub total_bytes: Option<u64>,
    /// Where it stands.
    pub state: FileState,
}

/// Progress of a whole download: per file and overall.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DownloadProgress {
    /// Every file of the preset, in the preset's order.
    pub files: Vec<FileProgress>,
}

impl DownloadProgress {
    /// Bytes on disk over all files.
    pub fn bytes_done(&self) -> u64 {
        self.files.iter().map(|f| f.bytes_done).sum()
    }

    /// Total size of all files; `None` while any file's size is unknown.
    pub fn total_bytes(&self) -> Option<u64> {
        self.files.iter().map(|f| f.total_bytes).sum()
    }

    /// Whether every file is verified and in place.
    pub fn is_complete(&self) -> bool {
        self.files.iter().all(|f| f.state == FileState::Done)
    }
}

/// What a finished download did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadReport {
    /// The model folder, ready for `Florence2::load`.
    pub dir: PathBuf,
    /// The precision of each graph in the preset (pass it in `LoadOptions`).
    pub plan: PrecisionPlan,
    /// Bytes received from the network by this download.
    pub bytes_downloaded: u64,
    /// Bytes already on disk when it started (complete files and resumed partial files).
    pub bytes_reused: u64,
    /// Files whose size and hash were pinned by this download (trust on first use).
    pub pinned: Vec<String>,
}

/// What is on disk for a model preset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelStatus {
    /// Nothing of it has been downloaded.
    Absent,
    /// Some bytes are there (finished files and partial downloads): `download` resumes.
    Partial {
        /// Bytes on disk (finished and partial files).
        bytes_present: u64,
        /// Total size; `None` while some file's size is unknown (unpinned and never downloaded).
        total_bytes: Option<u64>,
    },
    /// Every file is in place with its expected size (and, after `verify`, hash): load it.
    Ready,
    /// Some files have the wrong size (or, after `verify`, hash). `download` replaces them.
    Corrupt {
        /// The bad files.
        files: Vec<String>,
    },
}
