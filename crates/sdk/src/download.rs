//! Model delivery for Kotlin (the default `download` feature): manifests, the downloader
//! (progress, resume, verify, status, delete) and opening a downloaded model. All logic is
//! `florence2-download`'s; this file converts types and runs the blocking work off the caller's
//! thread.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use florence2_download as dl;

use crate::error::{DownloadError, Florence2Error, bytes};
use crate::florence2::{Florence2Engine, blocking};
use crate::graph::PrecisionPlan;
use crate::options::Florence2Options;

/// A model manifest: the files of a model folder (URL, size, SHA-256) and named presets that
/// pick one ONNX file per graph (`mobile-int8`, `fp16`, `fp32` in the built-in ones).
#[derive(Debug, uniffi::Object)]
pub struct ModelManifest {
    inner: dl::Manifest,
    /// The presets as Kotlin sees them, built (and checked) when the manifest is created.
    presets: Vec<ModelPreset>,
}

impl ModelManifest {
    /// Wraps a manifest, refusing one whose presets do not name one file per graph.
    fn new(inner: dl::Manifest) -> Result<Arc<Self>, DownloadError> {
        let presets = inner
            .presets
            .iter()
            .map(|preset| {
                let total_bytes = preset
                    .files
                    .iter()
                    .map(|path| inner.file(path).and_then(|f| f.size))
                    .sum::<Option<u64>>()
                    .map(bytes);
                Ok(ModelPreset {
                    name: preset.name.clone(),
                    description: preset.description.clone(),
                    files: preset.files.clone(),
                    total_bytes,
                    precision: preset.precision_plan()?.into(),
                })
            })
            .collect::<Result<_, dl::DownloadError>>()?;
        Ok(Arc::new(Self { inner, presets }))
    }
}

/// One preset of a manifest.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ModelPreset {
    /// Name, e.g. `mobile-int8`.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// The files it downloads (paths inside the model folder).
    pub files: Vec<String>,
    /// Total download size; `null` when the manifest does not pin every file's size (the
    /// built-in manifests: sizes are pinned by the first download, see docs/model-delivery.md).
    pub total_bytes: Option<i64>,
    /// The precision of each graph, as `Florence2Options.precision` needs it to load these files.
    pub precision: PrecisionPlan,
}

#[uniffi::export]
impl ModelManifest {
    /// A built-in manifest: `onnx-community/Florence-2-base`, `-base-ft`, `-large`, `-large-ft`
    /// (the `onnx-community/` prefix may be left out).
    ///
    /// # Errors
    /// `InvalidManifest` for an unknown id (the message lists the built-in ones).
    #[uniffi::constructor]
    pub fn builtin(id: String) -> Result<Arc<Self>, DownloadError> {
        Self::new(dl::Manifest::builtin(&id)?)
    }

    /// A manifest from JSON (e.g. written by `models/manifest.py` for your own model).
    ///
    /// # Errors
    /// `InvalidManifest` naming what is wrong with it (a preset that does not name one file per
    /// graph included).
    #[uniffi::constructor]
    pub fn from_json(json: String) -> Result<Arc<Self>, DownloadError> {
        Self::new(dl::Manifest::from_json(&json)?)
    }

    /// The model's name, e.g. `onnx-community/Florence-2-base-ft`.
    pub fn id(&self) -> String {
        self.inner.id.clone()
    }

    /// The presets, in manifest order.
    pub fn presets(&self) -> Vec<ModelPreset> {
        self.presets.clone()
    }

    /// The manifest as JSON.
    pub fn to_json(&self) -> String {
        self.inner.to_json()
    }
}

/// The ids of the built-in manifests.
#[uniffi::export]
pub fn builtin_model_ids() -> Vec<String> {
    dl::Manifest::builtin_ids()
        .into_iter()
        .map(str::to_owned)
        .collect()
}

/// Where one file of a download stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum DownloadFileState {
    /// Not started yet.
    Pending,
    /// Bytes are arriving.
    Downloading,
    /// All bytes are on disk; the SHA-256 is being checked.
    Verifying,
    /// Verified and in place.
    Done,
}

/// Progress of one file.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct FileProgress {
    /// Path inside the model folder.
    pub path: String,
    /// Bytes of this file on disk (a resumed file starts at its partial size).
    pub bytes_done: i64,
    /// The file's size; `null` until the manifest, a pin or the server says.
    pub total_bytes: Option<i64>,
    /// Where it stands.
    pub state: DownloadFileState,
}

/// Progress of a download: per file and overall.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DownloadProgress {
    /// Every file of the preset.
    pub files: Vec<FileProgress>,
    /// Bytes on disk over all files.
    pub bytes_done: i64,
    /// Total size; `null` while some file's size is unknown.
    pub total_bytes: Option<i64>,
    /// Whether every file is verified and in place (the last progress of a successful download).
    pub complete: bool,
}

/// What a finished download did.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct DownloadReport {
    /// The model folder (pass it to `Florence2.create`, or use `ModelDownloader.open`).
    pub model_dir: String,
    /// The precision of each graph of the preset (for `Florence2Options.precision`).
    pub precision: PrecisionPlan,
    /// Bytes received from the network by this download.
    pub bytes_downloaded: i64,
    /// Bytes already on disk when it started (complete files and resumed partial files).
    pub bytes_reused: i64,
    /// Files whose size and SHA-256 this download pinned (trust on first use).
    pub pinned: Vec<String>,
}

/// What is on disk for a model preset.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum ModelStatus {
    /// Nothing has been downloaded.
    Absent,
    /// Some bytes are there; `download` resumes.
    Partial {
        /// Bytes on disk (finished and partial files).
        bytes_present: i64,
        /// Total size; `null` while some file's size is unknown.
        total_bytes: Option<i64>,
    },
    /// Every file is in place: `open` it.
    Ready,
    /// Some files have the wrong size (or, from `verify`, hash); `download` replaces them.
    Corrupt {
        /// The bad files.
        files: Vec<String>,
    },
}

/// Receives download progress (see the Kotlin `Florence2Downloads.download` flow).
#[uniffi::export(foreign)]
pub trait DownloadListener: Send + Sync {
    /// Called on a background thread as bytes arrive (at most every ~100 ms, plus every change of
    /// a file's state).
    fn on_progress(&self, progress: DownloadProgress);
}

/// Retry and timeout settings of downloads.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DownloadOptions {
    /// Retries per file after a dropped connection (each resumes where it stopped).
    #[uniffi(default = 5)]
    pub max_retries: i32,
    /// Milliseconds before the first retry (doubled for each further one, at most 30 s).
    #[uniffi(default = 1000)]
    pub retry_delay_ms: i64,
    /// Connection timeout in milliseconds.
    #[uniffi(default = 15000)]
    pub connect_timeout_ms: i64,
    /// Longest wait for the next bytes, in milliseconds; longer counts as a dropped connection.
    #[uniffi(default = 30000)]
    pub read_timeout_ms: i64,
}

impl Default for DownloadOptions {
    fn default() -> Self {
        Self {
            max_retries: 5,
            retry_delay_ms: 1000,
            connect_timeout_ms: 15_000,
            read_timeout_ms: 30_000,
        }
    }
}

/// Downloads model folders into app-chosen directories: resumable (after dropped connections
/// and app restarts), verified (SHA-256, atomic rename), refusing to start without the free
/// space, one download per folder however many callers ask. Every method is a `suspend`
/// function; cancelling the coroutine cancels the call (partial files are kept for a resume).
#[derive(Debug, uniffi::Object)]
pub struct ModelDownloader {
    inner: dl::Downloader,
}

#[uniffi::export(async_runtime = "tokio")]
impl ModelDownloader {
    /// A downloader with `options`.
    ///
    /// # Errors
    /// `InvalidManifest` naming a negative option.
    #[uniffi::constructor]
    pub fn new(options: DownloadOptions) -> Result<Arc<Self>, DownloadError> {
        let negative = |name: &str, value: i64| DownloadError::InvalidManifest {
            detail: format!("DownloadOptions.{name} is {value}; it must not be negative"),
        };
        let ms = |name: &str, value: i64| {
            u64::try_from(value)
                .map(Duration::from_millis)
                .map_err(|_| negative(name, value))
        };
        let inner = dl::Downloader::new(dl::DownloadOptions {
            max_retries: u32::try_from(options.max_retries)
                .map_err(|_| negative("maxRetries", i64::from(options.max_retries)))?,
            retry_delay: ms("retryDelayMs", options.retry_delay_ms)?,
            connect_timeout: ms("connectTimeoutMs", options.connect_timeout_ms)?,
            read_timeout: ms("readTimeoutMs", options.read_timeout_ms)?,
            ..dl::DownloadOptions::default()
        });
        Ok(Arc::new(Self { inner }))
    }

    /// Downloads `preset` of `manifest` into `model_dir` (created if missing), skipping finished
    /// files and resuming partial ones. A second call for the same folder while one runs joins it
    /// (one download, the same progress and result).
    ///
    /// # Errors
    /// `NotFound`, `RangeNotSatisfiable`, `ChecksumMismatch`, `InsufficientSpace`, `DiskFull`,
    /// `NetworkDropped`, `Offline`, `Failed`, `Cancelled`; `InvalidManifest` for an unknown preset.
    pub async fn download(
        &self,
        manifest: Arc<ModelManifest>,
        preset: String,
        model_dir: String,
        listener: Option<Arc<dyn DownloadListener>>,
    ) -> Result<DownloadReport, DownloadError> {
        let downloader = self.inner.clone();
        blocking(move |cancel| {
            // Through the call's gate: nothing is delivered once its coroutine is cancelled.
            let mut on_progress = |progress: &dl::DownloadProgress| {
                if let Some(listener) = &listener {
                    cancel.deliver(|| listener.on_progress(sdk_progress(progress)));
                }
            };
            let report = downloader.download(
                &PathBuf::from(model_dir),
                &manifest.inner,
                &preset,
                cancel,
                &mut on_progress,
            )?;
            Ok(DownloadReport {
                model_dir: report.dir.display().to_string(),
                precision: report.plan.into(),
                bytes_downloaded: bytes(report.bytes_downloaded),
                bytes_reused: bytes(report.bytes_reused),
                pinned: report.pinned,
            })
        })
        .await
    }

    /// What is on disk for `preset` in `model_dir`, from file sizes (fast).
    ///
    /// # Errors
    /// `InvalidManifest` for an unknown preset; `Failed` if the folder cannot be read.
    pub async fn status(
        &self,
        manifest: Arc<ModelManifest>,
        preset: String,
        model_dir: String,
    ) -> Result<ModelStatus, DownloadError> {
        let downloader = self.inner.clone();
        blocking(move |_| {
            Ok(sdk_status(downloader.status(
                &PathBuf::from(model_dir),
                &manifest.inner,
                &preset,
            )?))
        })
        .await
    }

    /// Like `status`, and also checks every finished file's SHA-256 (reads the whole model).
    ///
    /// # Errors
    /// As `status`, plus `Cancelled`.
    pub async fn verify(
        &self,
        manifest: Arc<ModelManifest>,
        preset: String,
        model_dir: String,
    ) -> Result<ModelStatus, DownloadError> {
        let downloader = self.inner.clone();
        blocking(move |cancel| {
            Ok(sdk_status(downloader.verify(
                &PathBuf::from(model_dir),
                &manifest.inner,
                &preset,
                cancel,
            )?))
        })
        .await
    }

    /// Deletes the manifest's files and the downloader's state from `model_dir` (other files
    /// stay; the folder goes if it ends up empty). A download into it is cancelled first.
    ///
    /// # Errors
    /// `Failed` if a file cannot be removed.
    pub async fn delete(&self, manifest: Arc<ModelManifest>, model_dir: String) -> Result<(), DownloadError> {
        let downloader = self.inner.clone();
        blocking(move |_| Ok(downloader.delete(&PathBuf::from(model_dir), &manifest.inner)?)).await
    }

    /// Loads a downloaded model: checks `preset` is `Ready` in `model_dir`, then creates a
    /// `Florence2` with `options` whose precision is the preset's.
    ///
    /// # Errors
    /// `ModelLoad` (naming the folder's status) when the folder is absent, partial or corrupt:
    /// `download` it first; `InvalidInput` for an unknown preset; else as `Florence2.create`.
    pub async fn open(
        &self,
        manifest: Arc<ModelManifest>,
        preset: String,
        model_dir: String,
        options: Florence2Options,
    ) -> Result<Arc<Florence2Engine>, Florence2Error> {
        let not_usable = |detail: String| Florence2Error::InvalidInput { detail };
        let status = self
            .status(Arc::clone(&manifest), preset.clone(), model_dir.clone())
            .await
            .map_err(|e| not_usable(e.to_string()))?;
        if status != ModelStatus::Ready {
            return Err(Florence2Error::ModelLoad {
                detail: format!(
                    "the model folder {model_dir} ({preset}) is not ready ({status:?}): download it first"
                ),
                file: Some(model_dir),
                graph: None,
            });
        }
        let precision = manifest
            .presets
            .iter()
            .find(|p| p.name == preset)
            .map(|p| p.precision.clone())
            .ok_or_else(|| not_usable(format!("the manifest has no preset {preset:?}")))?;
        let options = Florence2Options { precision, ..options };
        Florence2Engine::create(model_dir, options).await
    }
}

fn sdk_progress(progress: &dl::DownloadProgress) -> DownloadProgress {
    DownloadProgress {
        files: progress
            .files
            .iter()
            .map(|f| FileProgress {
                path: f.path.clone(),
                bytes_done: bytes(f.bytes_done),
                total_bytes: f.total_bytes.map(bytes),
                state: match f.state {
                    dl::FileState::Pending => DownloadFileState::Pending,
                    dl::FileState::Downloading => DownloadFileState::Downloading,
                    dl::FileState::Verifying => DownloadFileState::Verifying,
                    dl::FileState::Done => DownloadFileState::Done,
                },
            })
            .collect(),
        bytes_done: bytes(progress.bytes_done()),
        total_bytes: progress.total_bytes().map(bytes),
        complete: progress.is_complete(),
    }
}

fn sdk_status(status: dl::ModelStatus) -> ModelStatus {
    match status {
        dl::ModelStatus::Absent => ModelStatus::Absent,
        dl::ModelStatus::Partial {
            bytes_present,
            total_bytes,
        } => ModelStatus::Partial {
            bytes_present: bytes(bytes_present),
            total_bytes: total_bytes.map(bytes),
        },
        dl::ModelStatus::Ready => ModelStatus::Ready,
        dl::ModelStatus::Corrupt { files } => ModelStatus::Corrupt { files },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::Precision;

    #[test]
    fn builtin_manifests_and_presets_reach_kotlin_types() {
        assert_eq!(builtin_model_ids().len(), 4);
        let m = ModelManifest::builtin("Florence-2-base-ft".into()).unwrap();
        assert_eq!(m.id(), "onnx-community/Florence-2-base-ft");
        let presets = m.presets();
        let int8 = presets.iter().find(|p| p.name == "mobile-int8").unwrap();
        assert_eq!(int8.precision.decoder, Some(Precision::Int8));
        assert_eq!(int8.total_bytes, None, "the built-in manifests are unpinned");
        let fp32 = presets.iter().find(|p| p.name == "fp32").unwrap();
        assert_eq!(fp32.precision, PrecisionPlan::default());
        assert!(matches!(
            ModelManifest::builtin("nope".into()),
            Err(DownloadError::InvalidManifest { .. })
        ));
    }

    #[test]
    fn a_preset_that_names_no_graph_file_is_refused_not_read_as_fp32() {
        // A real manifest whose first preset lost its vision-encoder file.
        let json = ModelManifest::builtin("Florence-2-base".into())
            .unwrap()
            .to_json()
            .replacen("\"onnx/vision_encoder_int8.onnx\",", "", 1);
        assert!(!json.contains("\"onnx/vision_encoder_int8.onnx\","));
        match ModelManifest::from_json(json) {
            Err(DownloadError::InvalidManifest { detail }) => {
                assert!(
                    detail.contains("mobile-int8") && detail.contains("vision_encoder"),
                    "{detail}"
                )
            }
            other => panic!("expected InvalidManifest, got {other:?}"),
        }
    }

    #[test]
    fn download_errors_map_to_their_own_variants() {
        let offline: DownloadError = dl::DownloadError::Offline {
            url: "http://x/".into(),
            detail: "refused".into(),
        }
        .into();
        assert!(matches!(&offline, DownloadError::Offline { url, .. } if url == "http://x/"));
        let space: DownloadError = dl::DownloadError::InsufficientSpace {
            dir: "/d".into(),
            needed: 10,
            available: 3,
        }
        .into();
        assert!(
            space.to_string().contains("needs 10 bytes, 3 are available"),
            "{space}"
        );
        assert!(matches!(
            &space,
            DownloadError::InsufficientSpace {
                needed: 10,
                available: 3,
                ..
            }
        ));
        assert!(matches!(
            DownloadError::from(dl::DownloadError::Cancelled),
            DownloadError::Cancelled
        ));
    }
}
