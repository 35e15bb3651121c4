//! Model delivery: download a Florence-2 model folder from a [`Manifest`], resumably and
//! verified, into a folder the app chooses; query its [`ModelStatus`]; delete it.
//!
//! ```no_run
//! use florence2_download::{Downloader, DownloadOptions, Manifest, ModelStatus};
//! use florence2_core::{CancelFlag, Florence2, LoadOptions};
//!
//! let manifest = Manifest::builtin("onnx-community/Florence-2-base-ft")?;
//! let dir = std::path::Path::new("/data/user/0/app/files/florence2-base-ft");
//! let downloader = Downloader::new(DownloadOptions::default());
//! if downloader.status(dir, &manifest, "mobile-int8")? != ModelStatus::Ready {
//!     let report = downloader.download(dir, &manifest, "mobile-int8", &CancelFlag::new(), &mut |p| {
//!         println!("{} / {:?} bytes", p.bytes_done(), p.total_bytes());
//!     })?;
//!     let options = LoadOptions { precision: report.plan, ..LoadOptions::default() };
//!     let _model = Florence2::load(dir, &options)?;
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Guarantees
//!
//! - **Atomic files.** Bytes go to `.florence2-download/<path>.part`; only a file whose size and
//!   SHA-256 match is renamed to its final name, so a loadable name never holds a partial file.
//!   A mismatch deletes the bad bytes and fails with [`DownloadError::ChecksumMismatch`].
//! - **Resumable.** A dropped connection is retried with `Range: bytes=N-` from the last byte on
//!   disk ([`DownloadOptions::max_retries`], growing delays); after an app restart the partial file
//!   and its JSON sidecar (URL, `ETag`) let the next `download` resume too. `If-Range` makes a
//!   server whose file changed send the whole new file instead of a mismatched tail.
//! - **One download per model.** Callers asking for the same preset and folder in one process join
//!   the running download: one request per file, the same progress and outcome for all. The job
//!   stops (keeping partial files) only when its last caller cancels. Another process waits on the
//!   folder's lock file.
//! - **Space checked first.** Before the first byte, the remaining size of every file (from the
//!   manifest, the pins or a `HEAD` request) is compared with the free space:
//!   [`DownloadError::InsufficientSpace`] names both. A disk filling up anyway is
//!   [`DownloadError::DiskFull`].
//! - **Typed failures**: 404 → [`DownloadError::NotFound`], 416 → [`DownloadError::RangeNotSatisfiable`]
//!   (the stale partial file is dropped), no route/DNS/refused → [`DownloadError::Offline`],
//!   broken connections past the retries → [`DownloadError::NetworkDropped`], cancelling →
//!   [`DownloadError::Cancelled`].
//! - **Unpinned files** (a manifest without `size`/`sha256`, like the built-in ones) are pinned
//!   by their first complete download in `.florence2-download/pins.json` (trust on first use);
//!   later downloads, `status` and `verify` hold them to it.
//!
//! # Why `ureq` with rustls (and the Android build)
//!
//! `ureq` 3 is a small, actively maintained *blocking* HTTP/1.1 client: it fits florence2-core's
//! style (no async runtime; the sdk already runs blocking work on `spawn_blocking`), follows redirects
//! (Hugging Face `resolve/main` redirects to its CDN), exposes `Range`/`If-Range` headers and a
//! per-read timeout (a stalled connection counts as dropped and is resumed). Its TLS is rustls, so
//! Android needs no OpenSSL. `reqwest` would pull in tokio and hyper; `attohttpc`/`minreq` are
//! less maintained. TLS sits behind the default `https` feature: rustls' crypto provider is
//! `ring`, whose build script compiles C and assembly with the target's C compiler. The Android
//! build (cargo-ndk) gets it from the NDK; the CI check, which has no NDK, compiles it with
//! Debian's clang and ring's no-sysroot mode (`-nostdlibinc -DRING_CORE_NOSTDLIBINC=1`, see
//! `scripts/test.sh`). Root certificates are Mozilla's (`webpki-roots`), built in.
//!
//! Files: `manifest.rs` (format, presets, the built-in manifests in `crates/download/manifests`),
//! `state.rs` (what is kept in the folder), `http.rs`, `fetch.rs` (one file), `job.rs` (joining,
//! progress, the folder lock), `status.rs` (status, verify, delete), `storage.rs` (free space and
//! the writer, replaceable for tests), `progress.rs`, `error.rs`.

#![forbid(unsafe_code)]

mod error;
pub mod manifest;
mod state;
mod storage;
mod http;
mod fetch;
mod progress;
mod job;
mod status;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub use error::{DownloadError, DownloadResult};
pub use manifest::{Manifest, ManifestFile, Preset};
pub use progress::{DownloadProgress, DownloadReport, FileProgress, FileState, ModelStatus};
pub use state::STATE_DIR;
pub use storage::{LocalStorage, Storage};

use florence2_core::CancelFlag;

/// How downloads behave.
#[derive(Debug, Clone)]
pub struct DownloadOptions {
    /// Retries per file after a dropped connection or an unreachable server (each resumes).
    pub max_retries: u32,
    /// Delay before the first retry; doubled for each further one.
    pub retry_delay: Duration,
    /// Upper bound of the retry delay.
    pub max_retry_delay: Duration,
    /// Timeout of DNS resolution and of the TCP/TLS connection.
    pub connect_timeout: Duration,
    /// Longest wait for response headers or for the next bytes of the body; longer counts as a
    /// dropped connection.
    pub read_timeout: Duration,
    /// Free space to keep besides the files themselves.
    pub space_margin: u64,
    /// Minimum interval between progress deliveries (state changes are always delivered).
    pub progress_interval: Duration,
    /// Where bytes are written ([`LocalStorage`] unless replaced).
    pub storage: Arc<dyn Storage>,
}

impl Default for DownloadOptions {
    fn default() -> Self {
        Self {
            max_retries: 5,
            retry_delay: Duration::from_secs(1),
            max_retry_delay: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(15),
            read_timeout: Duration::from_secs(30),
            space_margin: 16 * 1024 * 1024,
            progress_interval: Duration::from_millis(100),
            storage: Arc::new(LocalStorage),
        }
    }
}

/// Downloads, checks and deletes model folders (see the [module docs](self)).
#[derive(Debug, Clone, Default)]
pub struct Downloader {
    options: DownloadOptions,
}

impl Downloader {
    /// A downloader with `options`.
    pub fn new(options: DownloadOptions) -> Self {
        Self { options }
    }

    /// The options in use.
    pub fn options(&self) -> &DownloadOptions {
        &self.options
    }

    /// Downloads `preset` of `manifest` into `dir` (created if missing), skipping files already
    /// there and resuming partial ones; calls `on_progress` on this thread as bytes arrive.
    /// Blocks until done. If the same folder is already being downloaded in this process, joins
    /// that download.
    ///
    /// # Errors
    /// Any [`DownloadError`]; on [`DownloadError::Cancelled`] and network failures the partial
    /// files are kept for the next call.
    pub fn download(
        &self,
        dir: &Path,
        manifest: &Manifest,
        preset: &str,
        cancel: &CancelFlag,
        on_progress: &mut dyn FnMut(&DownloadProgress),
    ) -> DownloadResult<DownloadReport> {
        job::download(dir, manifest, preset, &self.options, cancel, on_progress)
    }

    /// What is on disk for `preset` in `dir`, from file sizes only (fast).
    ///
    /// # Errors
    /// [`DownloadError::UnknownPreset`], or a file that cannot be read.
    pub fn status(&self, dir: &Path, manifest: &Manifest, preset: &str) -> DownloadResult<ModelStatus> {
        status::status(dir, manifest, preset, false, &CancelFlag::new())
    }

    /// Like [`status`](Self::status), and also hashes every finished file and compares its
    /// SHA-256 with the manifest or the pin (reads the whole model).
    ///
    /// # Errors
    /// As `status`, plus [`DownloadError::Cancelled`].
    pub fn verify(
        &self,
        dir: &Path,
        manifest: &Manifest,
        preset: &str,
        cancel: &CancelFlag,
    ) -> DownloadResult<ModelStatus> {
        status::status(dir, manifest, preset, true, cancel)
    }

    /// Deletes the files of every preset of `manifest` and the downloader's state from `dir`
    /// (other files are left; `dir` itself goes if it ends up empty). A download into `dir`
    /// running in this process is cancelled first.
    ///
    /// # Errors
    /// [`DownloadError::Io`] if a file cannot be removed.
    pub fn delete(&self, dir: &Path, manifest: &Manifest) -> DownloadResult<()> {
        status::delete(dir, manifest)
    }
}
