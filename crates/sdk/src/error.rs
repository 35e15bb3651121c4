//! The errors Kotlin sees, mapped from core (and from model delivery) in this one place.
//!
//! Each variant is one thing an app does differently; its fields keep what core knew (the graph,
//! the file, the provider). In Kotlin every exception's `toString()` is the readable sentence
//! (core's text); `message` lists the fields.

use florence2_core as core;

use crate::florence2::InternalFailure;
use crate::graph::ModelGraph;
use crate::provider::ExecutionProvider;

/// Errors of model calls, in Kotlin the sealed class `Florence2Exception`
/// (`Florence2Exception.ModelLoad`, `.InvalidInput`, …), so an app can `when` over them.
#[derive(Debug, thiserror::Error, uniffi::Error)]
#[uniffi::export(Display)]
#[non_exhaustive]
pub enum Florence2Error {
    /// The model folder cannot be used: a missing or unreadable file, a precision whose files are
    /// not in the folder, a graph that does not match Florence-2, a broken config or tokenizer,
    /// a folder not completely downloaded. Fix or replace the folder (download it again).
    #[error("{detail}")]
    ModelLoad {
        /// What went wrong, naming the file.
        detail: String,
        /// The file at fault, when one is.
        file: Option<String>,
        /// The graph at fault, when one is.
        graph: Option<ModelGraph>,
    },
    /// A graph loaded but misbehaved while running: its output breaks the Florence-2 contract, or
    /// its file changed on disk after loading. The model files are wrong; replace them. Retrying
    /// will not help.
    #[error("{detail}")]
    ModelFault {
        /// What went wrong.
        detail: String,
        /// The graph at fault.
        graph: ModelGraph,
        /// The file at fault, when known.
        file: Option<String>,
    },
    /// The call's input or options are unusable: an image that cannot be decoded or read, pixel
    /// buffers that do not match their dimensions, a task given text it does not take (or none
    /// when it needs some), a prompt too long, an option out of range. Fix the input; retrying
    /// will not help.
    #[error("{detail}")]
    InvalidInput {
        /// What is wrong with the input, and what is allowed.
        detail: String,
    },
    /// ONNX Runtime failed while running a graph (e.g. out of memory). Retrying with less memory
    /// in use (fewer beams, a smaller precision) may help; else report it.
    #[error("{detail}")]
    Inference {
        /// ONNX Runtime's description.
        detail: String,
        /// The graph that failed.
        graph: ModelGraph,
    },
    /// The call was cancelled: its coroutine was cancelled, or a streaming listener returned false.
    #[error("cancelled")]
    Cancelled,
    /// The app's `TokenListener` threw: generation stopped at that token. Fix the listener; the
    /// model is fine and can be used again.
    #[error("the token listener failed: {detail}")]
    ListenerFailed {
        /// The exception the listener threw (its class and message).
        detail: String,
    },
    /// The model (or live session) was closed before this call: `close()` or `unload()` was
    /// called. Create a new one.
    #[error("the model was closed (close() or unload() was called)")]
    Closed,
    /// ONNX Runtime could not be found, loaded or initialised. Ship or point at a compatible
    /// `libonnxruntime` (the detail lists the paths tried).
    #[error("ONNX Runtime is unavailable: {detail}")]
    RuntimeUnavailable {
        /// What went wrong, including the paths that were tried.
        detail: String,
    },
    /// The requested execution provider (`Florence2Options.executionProvider`) cannot be used on
    /// this device or build: not part of the ONNX Runtime library, not compiled in (NNAPI off
    /// Android), or ONNX Runtime could not register it or compile a graph with it (that graph does
    /// load on CPU). Retry with `ExecutionProvider.CPU`, or set `cpuFallback = true`.
    #[error("{detail}")]
    ExecutionProviderUnavailable {
        /// Why.
        detail: String,
        /// The provider that was requested.
        provider: ExecutionProvider,
        /// The graph it failed for.
        graph: ModelGraph,
        /// That graph's file.
        file: String,
    },
    /// A failure the app cannot fix; please report it.
    #[error("internal error: {detail}")]
    Internal {
        /// What went wrong.
        detail: String,
    },
}

impl From<InternalFailure> for Florence2Error {
    fn from(failure: InternalFailure) -> Self {
        Self::Internal { detail: failure.0 }
    }
}

/// A path as Kotlin gets it.
fn file(path: &std::path::Path) -> String {
    path.display().to_string()
}

impl From<core::Error> for Florence2Error {
    fn from(error: core::Error) -> Self {
        use core::Error as E;
        let detail = error.to_string();
        let load = |file: Option<String>, graph: Option<core::ModelGraph>| Self::ModelLoad {
            detail: detail.clone(),
            file,
            graph: graph.map(Into::into),
        };
        match error {
            E::Runtime(_) => Self::RuntimeUnavailable { detail },
            E::ModelFolder { path, .. } => load(Some(file(&path)), None),
            E::ModelFileMissing { path, graph, .. }
            | E::SessionLoad { path, graph, .. }
            | E::Contract { path, graph, .. } => load(Some(file(&path)), Some(graph)),
            E::Config { path, .. } | E::Tokenizer { path, .. } => load(Some(file(&path)), None),
            E::ExecutionProviderUnavailable {
                provider,
                graph,
                path,
                ..
            } => Self::ExecutionProviderUnavailable {
                detail,
                provider: provider.into(),
                graph: graph.into(),
                file: file(&path),
            },
            E::Inference { graph, .. } => Self::Inference {
                detail,
                graph: graph.into(),
            },
            E::ModelOutput { graph, .. } => Self::ModelFault {
                detail,
                graph: graph.into(),
                file: None,
            },
            E::ModelRead { graph, path, .. } => Self::ModelFault {
                detail,
                graph: graph.into(),
                file: Some(file(&path)),
            },
            E::InvalidInput { .. }
            | E::InvalidOption { .. }
            | E::PromptTooLong { .. }
            | E::Image(_)
            | E::Task(_) => Self::InvalidInput { detail },
            E::BatchItem { index, source } => Self::from(*source).in_batch_item(index),
            E::Listener { reason } => Self::ListenerFailed { detail: reason },
            E::Cancelled => Self::Cancelled,
            E::Closed => Self::Closed,
            _ => Self::Internal { detail },
        }
    }
}

impl Florence2Error {
    /// The same error, its detail prefixed with the batch item it happened on.
    pub(crate) fn in_batch_item(self, index: usize) -> Self {
        let at = |detail: String| format!("image {index} of the batch: {detail}");
        match self {
            Self::ModelLoad { detail, file, graph } => Self::ModelLoad {
                detail: at(detail),
                file,
                graph,
            },
            Self::ModelFault { detail, graph, file } => Self::ModelFault {
                detail: at(detail),
                graph,
                file,
            },
            Self::InvalidInput { detail } => Self::InvalidInput { detail: at(detail) },
            Self::Inference { detail, graph } => Self::Inference {
                detail: at(detail),
                graph,
            },
            Self::Internal { detail } => Self::Internal { detail: at(detail) },
            other => other,
        }
    }
}

#[cfg(feature = "download")]
pub use download::DownloadError;
#[cfg(feature = "download")]
pub(crate) use download::bytes;

#[cfg(feature = "download")]
mod download {
    use florence2_download as dl;

    use crate::florence2::InternalFailure;

    /// Errors of model delivery (`Florence2Downloads`, `ModelDownloader`), in Kotlin the sealed
    /// class `DownloadException`.
    #[derive(Debug, thiserror::Error, uniffi::Error)]
    #[uniffi::export(Display)]
    #[non_exhaustive]
    pub enum DownloadError {
        /// The manifest is unusable: malformed JSON, a bad path or hash, an unknown built-in id or
        /// preset (the detail lists the known ones). Fix the manifest or the name.
        #[error("{detail}")]
        InvalidManifest {
            /// What is wrong.
            detail: String,
        },
        /// The server has no such file (HTTP 404): a wrong repository, revision or file name in
        /// the manifest. Retrying will not help.
        #[error("{detail}")]
        NotFound {
            /// What was not found.
            detail: String,
            /// The URL.
            url: String,
        },
        /// The server refused to resume a partial file (HTTP 416). The partial file was
        /// discarded; downloading again starts that file from zero.
        #[error("{detail}")]
        RangeNotSatisfiable {
            /// What happened.
            detail: String,
            /// The URL.
            url: String,
            /// The byte the resume asked for.
            offset: i64,
        },
        /// A file arrived with the wrong SHA-256 or size (corrupted in transit, or the server now
        /// serves a different file). The bad file was deleted.
        #[error("{detail}")]
        ChecksumMismatch {
            /// The expected and the received hash (or size).
            detail: String,
            /// The file, inside the model folder.
            file: String,
        },
        /// Not enough free space to start; nothing was downloaded.
        #[error("{detail}")]
        InsufficientSpace {
            /// What happened.
            detail: String,
            /// The bytes the download needs.
            needed: i64,
            /// The bytes available.
            available: i64,
        },
        /// The disk filled up while writing. The partial file is kept: free space and download
        /// again to resume.
        #[error("{detail}")]
        DiskFull {
            /// What happened.
            detail: String,
            /// The file being written.
            file: String,
        },
        /// The connection kept dropping (the retries were used up). Partial files are kept:
        /// downloading again resumes where it stopped.
        #[error("{detail}")]
        NetworkDropped {
            /// What happened, with the last failure.
            detail: String,
            /// The URL.
            url: String,
        },
        /// The server cannot be reached (no network, DNS failure, connection refused). Try again
        /// when the device is online.
        #[error("{detail}")]
        Offline {
            /// What happened.
            detail: String,
            /// The URL.
            url: String,
        },
        /// The download failed for another reason: another HTTP status, HTTPS not compiled in, a
        /// file-system error in the model folder.
        #[error("{detail}")]
        Failed {
            /// What failed.
            detail: String,
        },
        /// The call was cancelled (its coroutine was cancelled). Partial files are kept.
        #[error("cancelled")]
        Cancelled,
        /// A failure the app cannot fix; please report it.
        #[error("internal error: {detail}")]
        Internal {
            /// What went wrong.
            detail: String,
        },
    }

    /// A byte count as a Kotlin `Long`.
    pub(crate) fn bytes(n: u64) -> i64 {
        i64::try_from(n).unwrap_or(i64::MAX)
    }

    impl From<InternalFailure> for DownloadError {
        fn from(failure: InternalFailure) -> Self {
            Self::Internal { detail: failure.0 }
        }
    }

    impl From<dl::DownloadError> for DownloadError {
        fn from(error: dl::DownloadError) -> Self {
            use dl::DownloadError as E;
            let detail = error.to_string();
            match error {
                E::InvalidManifest { .. } | E::UnknownPreset { .. } => Self::InvalidManifest { detail },
                E::NotFound { url } => Self::NotFound { detail, url },
                E::RangeNotSatisfiable { url, offset } => Self::RangeNotSatisfiable {
                    detail,
                    url,
                    offset: bytes(offset),
                },
                E::ChecksumMismatch { path, .. } | E::SizeMismatch { path, .. } => {
                    Self::ChecksumMismatch { detail, file: path }
                }
                E::InsufficientSpace {
                    needed, available, ..
                } => Self::InsufficientSpace {
                    detail,
                    needed: bytes(needed),
                    available: bytes(available),
                },
                E::DiskFull { path, .. } => Self::DiskFull {
                    detail,
                    file: path.display().to_string(),
                },
                E::NetworkDropped { url, .. } => Self::NetworkDropped { detail, url },
                E::Offline { url, .. } => Self::Offline { detail, url },
                E::Cancelled => Self::Cancelled,
                _ => Self::Failed { detail },
            }
        }
    }
}
