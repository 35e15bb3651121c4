//! The error type of model downloads.

use std::path::PathBuf;

/// Everything that can go wrong while downloading, checking or deleting a model.
///
/// The type is `Clone`: when two callers download the same model, both receive the one outcome.
/// Variants carry data (URLs, paths, byte counts); `Display` is a sentence for a log or a user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DownloadError {
    /// The manifest is not valid JSON or breaks a rule (a preset naming a file the manifest does
    /// not list, a preset without exactly one graph per graph, a bad hash, an unsafe path).
    #[error("invalid model manifest: {detail}")]
    InvalidManifest {
        /// What is wrong.
        detail: String,
    },

    /// The preset is not in the manifest.
    #[error("the manifest has no preset {preset:?}; it has: {}", .available.join(", "))]
    UnknownPreset {
        /// The preset asked for.
        preset: String,
        /// The presets the manifest defines.
        available: Vec<String>,
    },

    /// The server answered 404: the URL names no file (wrong repository, revision or file name).
    #[error("not found (HTTP 404): {url}")]
    NotFound {
        /// The URL requested.
        url: String,
    },

    /// The server answered 416 to a resume request: the partial file does not fit the file on the
    /// server any more. The partial file was deleted; the next download starts from zero.
    #[error(
        "the server refused to resume at byte {offset} (HTTP 416) for {url}; the partial file was discarded"
    )]
    RangeNotSatisfiable {
        /// The URL requested.
        url: String,
        /// The byte the download tried to resume from.
        offset: u64,
    },

    /// Any other unsuccessful HTTP status.
    #[error("HTTP {status} from {url}")]
    Http {
        /// The URL requested.
        url: String,
        /// The HTTP status code.
        status: u16,
    },

    /// The downloaded bytes do not have the expected SHA-256 (corrupted in transit, or the server
    /// now serves a different file). The bad file was deleted.
    #[error("checksum mismatch for {path}: expected sha256 {expected}, got {actual}; the file was deleted")]
    ChecksumMismatch {
        /// The file (relative to the model folder).
        path: String,
        /// The SHA-256 in the manifest (or pinned by the first download), lowercase hex.
        expected: String,
        /// The SHA-256 of the bytes received.
        actual: String,
    },

    /// The server sent a different number of bytes than the manifest (or the server's own
    /// `Content-Length`) promised. The bad file was deleted.
    #[error("size mismatch for {path}: expected {expected} bytes, got {actual}; the file was deleted")]
    SizeMismatch {
        /// The file (relative to the model folder).
        path: String,
        /// The size expected.
        expected: u64,
        /// The size received.
        actual: u64,
    },

    /// Not enough free space in the target folder to start (nothing was downloaded).
    #[error(
        "not enough free space in {}: the download needs {needed} bytes, {available} are available",
        .dir.display()
    )]
    InsufficientSpace {
        /// The target folder.
        dir: PathBuf,
        /// Bytes still to download.
        needed: u64,
        /// Bytes free on its file system.
        available: u64,
    },

    /// The disk filled up while writing (`ENOSPC`). The partial file is kept; free space and
    /// download again to resume.
    #[error("the disk is full: writing {} failed after {written} bytes", .path.display())]
    DiskFull {
        /// The file being written.
        path: PathBuf,
        /// Bytes of that file on disk.
        written: u64,
    },

    /// The connection broke (reset, closed early, stalled past the read timeout) and the retries
    /// were used up. The partial file is kept; downloading again resumes where it stopped.
    #[error(
        "the network connection dropped while downloading {url} ({attempts} attempts, {received} bytes of the file on disk): {detail}"
    )]
    NetworkDropped {
        /// The URL being downloaded.
        url: String,
        /// How many requests were made for this file in this call.
        attempts: u32,
        /// Bytes of the file on disk.
        received: u64,
        /// The last failure.
        detail: String,
    },

    /// The server could not be reached at all (no network, DNS failure, connection refused).
    #[error("offline: cannot reach {url}: {detail}")]
    Offline {
        /// The URL requested.
        url: String,
        /// The failure.
        detail: String,
    },

    /// The URL is `https://` but this build has no TLS (the `https` feature is off).
    #[error("{url} needs HTTPS, which this build does not include (florence2-download feature `https`)")]
    TlsUnavailable {
        /// The URL requested.
        url: String,
    },

    /// The download was cancelled. Partial files are kept for a later resume.
    #[error("the download was cancelled")]
    Cancelled,

    /// A file-system operation failed (permissions, a path that is not a folder, …).
    #[error("{operation} {}: {detail}", .path.display())]
    Io {
        /// What was being done (`"creating"`, `"renaming"`, …).
        operation: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The operating system's description.
        detail: String,
    },
}

/// Result alias of the download module.
pub type DownloadResult<T> = std::result::Result<T, DownloadError>;

impl DownloadError {
    /// An [`DownloadError::Io`] from an `std::io::Error`, except that "no space left on device"
    /// becomes [`DownloadError::DiskFull`].
    pub(crate) fn io(operation: &'static str, path: impl Into<PathBuf>, error: &std::io::Error) -> Self {
        let path = path.into();
        if is_disk_full(error) {
            return Self::DiskFull { path, written: 0 };
        }
        Self::Io {
            operation,
            path,
            detail: error.to_string(),
        }
    }
}

/// `ENOSPC` (Linux/Android 28) or `EDQUOT` (122), or the portable kind.
pub(crate) fn is_disk_full(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
    ) || matches!(error.raw_os_error(), Some(28 | 122))
}
