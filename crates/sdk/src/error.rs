//! The error type Kotlin sees (`Florence2Exception`), mapped from core in exactly one place.

/// Errors returned to Kotlin, where they arrive as subclasses of the sealed class
/// `Florence2Exception` (`Florence2Exception.ModelLoad`, `.InvalidInput`, …), so an app can `when`
/// over them.
///
/// Each variant is something an app can act on. The Kotlin `message` of every exception is the
/// readable sentence shown after each variant below (`reason` / `detail` hold the specifics). Field
/// names avoid `message`, which would clash with `Throwable.message` in Kotlin.
///
/// Exported as a *flat* error: Kotlin gets the readable sentence as `message` (a structured UniFFI
/// error would show `reason=…` instead); the structured fields stay available to Rust callers.
#[derive(Debug, thiserror::Error, uniffi::Error)]
#[uniffi(flat_error)]
#[non_exhaustive]
pub enum Florence2Error {
    /// The model folder could not be loaded: a missing or unreadable file, a precision whose files
    /// are not in the folder, a graph that does not match Florence-2, a broken config or tokenizer.
    /// Check the folder (the message names the file and what the folder holds).
    #[error("could not load the model: {reason}")]
    ModelLoad {
        /// What went wrong, naming the file.
        reason: String,
    },
    /// The call's input is unusable: an image that cannot be decoded or read, pixel buffers whose
    /// size does not match their dimensions, a task given text it does not take (or none when it
    /// needs some), an unsupported option. Fix the input; retrying will not help.
    #[error("invalid input: {reason}")]
    InvalidInput {
        /// What is wrong with the input.
        reason: String,
    },
    /// ONNX Runtime failed while running a graph (e.g. out of memory); the message names the graph.
    #[error("inference failed in the {stage}: {reason}")]
    Inference {
        /// The graph that failed: vision encoder, token embeddings, text encoder or decoder.
        stage: String,
        /// ONNX Runtime's description.
        reason: String,
    },
    /// The call was cancelled: its coroutine was cancelled, or a streaming listener returned false.
    #[error("cancelled")]
    Cancelled,
    /// The app's `TokenListener` threw: generation stopped at that token. Fix the listener; the
    /// model is fine and can be used again.
    #[error("the token listener failed: {reason}")]
    ListenerFailed {
        /// The exception the listener threw (its class and message).
        reason: String,
    },
    /// The model was unloaded (`unload()`) before or during this call; create a new `Florence2`.
    #[error("the model was unloaded (Florence2.unload() was called)")]
    Closed,
    /// ONNX Runtime could not be found, loaded or initialised. Ship or point at a compatible
    /// `libonnxruntime` (the message lists the paths tried).
    #[error("ONNX Runtime is unavailable: {reason}")]
    RuntimeUnavailable {
        /// What went wrong, including the paths that were tried.
        reason: String,
    },
    /// The requested execution provider (`Florence2Options.executionProvider`) cannot be used on
    /// this device or build: not part of the ONNX Runtime library, not compiled in (NNAPI off
    /// Android), or ONNX Runtime could not register it or compile a graph with it (that graph does
    /// load on CPU). Retry with `ExecutionProvider.CPU`, or set `cpuFallback = true`.
    #[error("{reason}")]
    ExecutionProviderUnavailable {
        /// The provider that was requested (`"NNAPI"`, `"XNNPACK"`).
        provider: String,
        /// Which graph, and why.
        reason: String,
    },
    /// Model download: the server has no such file (HTTP 404): a wrong repository, revision or
    /// file name in the manifest. Retrying will not help.
    #[error("model download: {reason}")]
    NotFound {
        /// The URL that was not found.
        reason: String,
    },
    /// Model download: the server refused to resume a partial file (HTTP 416). The partial file
    /// was discarded; downloading again starts that file from zero.
    #[error("model download: {reason}")]
    RangeNotSatisfiable {
        /// The URL and the byte the resume asked for.
        reason: String,
    },
    /// Model download: a file arrived with the wrong SHA-256 or size (corrupted in transit, or
    /// the server now serves a different file). The bad file was deleted.
    #[error("model download: {reason}")]
    ChecksumMismatch {
        /// The file, the expected and the received hash (or size).
        reason: String,
    },
    /// Model download: not enough free space to start; nothing was downloaded. The message
    /// names the bytes needed and available (`ModelDownloader.status` gives the total size).
    #[error("model download: {reason}")]
    InsufficientSpace {
        /// The folder, the bytes needed and the bytes available.
        reason: String,
    },
    /// Model download: the disk filled up while writing. The partial file is kept: free space
    /// and download again to resume.
    #[error("model download: {reason}")]
    DiskFull {
        /// The file being written.
        reason: String,
    },
    /// Model download: the connection kept dropping (the retries were used up). Partial files are
    /// kept: downloading again resumes where it stopped.
    #[error("model download: {reason}")]
    NetworkDropped {
        /// The URL, the attempts, the bytes on disk and the last failure.
        reason: String,
    },
    /// Model download: the server cannot be reached (no network, DNS failure, connection
    /// refused). Try again when the device is online.
    #[error("model download: {reason}")]
    Offline {
        /// The URL and the failure.
        reason: String,
    },
    /// Model download failed for another reason: another HTTP status, HTTPS not compiled in, a
    /// file-system error in the model folder.
    #[error("model download: {reason}")]
    Download {
        /// What failed.
        reason: String,
    },
    /// The model folder is not completely downloaded (absent, partial or corrupt): call
    /// `download` first.
    #[error("the model is not ready: {reason}")]
    ModelNotReady {
        /// The folder's status.
        reason: String,
    },
    /// A failure that the app cannot fix; please report it.
    #[error("internal error: {reason}")]
    Internal {
        /// What went wrong.
        reason: String,
    },
}

impl From<florence2_core::Error> for Florence2Error {
    fn from(error: florence2_core::Error) -> Self {
        use florence2_core::Error as E;
        let reason = error.to_string();
        match error {
            E::OnnxRuntimeFileMissing { .. }
            | E::OnnxRuntimeNotFound { .. }
            | E::OnnxRuntimeLoad { .. }
            | E::OnnxRuntimeVersion { .. }
            | E::OnnxRuntimeAlreadyInitialized { .. }
            | E::Environment { .. } => Self::RuntimeUnavailable { reason },
            E::ModelFolder { .. }
            | E::ModelFileMissing { .. }
            | E::Config { .. }
            | E::SessionLoad { .. }
            | E::Contract { .. }
            | E::Tokenizer { .. } => Self::ModelLoad { reason },
            E::ExecutionProviderUnavailable { provider, .. } => Self::ExecutionProviderUnavailable {
                provider: provider.to_string(),
                reason,
            },
            E::Inference { stage, source } => Self::Inference {
                stage: stage.to_string(),
                reason: source.to_string(),
            },
            E::ModelRead { component, .. } => Self::Inference {
                stage: component.to_string(),
                reason,
            },
            // Core's own text already starts with "invalid input: ".
            E::InvalidInput { detail } => Self::InvalidInput { reason: detail },
            E::Image(_) | E::Task(_) | E::InvalidOption { .. } | E::PromptTooLong { .. } => {
                Self::InvalidInput { reason }
            }
            E::Listener { reason } => Self::ListenerFailed { reason },
            E::Cancelled => Self::Cancelled,
            _ => Self::Internal { reason },
        }
    }
}

impl Florence2Error {
    /// The same error, its text prefixed with the batch item it happened on.
    pub(crate) fn for_batch_item(self, index: usize) -> Self {
        let at = |reason: String| format!("image {index} of the batch: {reason}");
        match self {
            Self::ModelLoad { reason } => Self::ModelLoad { reason: at(reason) },
            Self::InvalidInput { reason } => Self::InvalidInput { reason: at(reason) },
            Self::Inference { stage, reason } => Self::Inference {
                stage,
                reason: at(reason),
            },
            Self::RuntimeUnavailable { reason } => Self::RuntimeUnavailable { reason: at(reason) },
            Self::ExecutionProviderUnavailable { provider, reason } => Self::ExecutionProviderUnavailable {
                provider,
                reason: at(reason),
            },
            Self::Internal { reason } => Self::Internal { reason: at(reason) },
            other => other,
        }
    }
}

impl From<florence2_core::download::DownloadError> for Florence2Error {
    fn from(error: florence2_core::download::DownloadError) -> Self {
        use florence2_core::download::DownloadError as E;
        let reason = error.to_string();
        match error {
            E::NotFound { .. } => Self::NotFound { reason },
            E::RangeNotSatisfiable { .. } => Self::RangeNotSatisfiable { reason },
            E::ChecksumMismatch { .. } | E::SizeMismatch { .. } => Self::ChecksumMismatch { reason },
            E::InsufficientSpace { .. } => Self::InsufficientSpace { reason },
            E::DiskFull { .. } => Self::DiskFull { reason },
            E::NetworkDropped { .. } => Self::NetworkDropped { reason },
            E::Offline { .. } => Self::Offline { reason },
            E::Cancelled => Self::Cancelled,
            E::InvalidManifest { .. } | E::UnknownPreset { .. } => Self::InvalidInput { reason },
            _ => Self::Download { reason },
        }
    }
}

impl From<florence2_preprocess::PreprocessError> for Florence2Error {
    fn from(error: florence2_preprocess::PreprocessError) -> Self {
        florence2_core::Error::from(error).into()
    }
}

impl From<florence2_core::TaskError> for Florence2Error {
    fn from(error: florence2_core::TaskError) -> Self {
        florence2_core::Error::from(error).into()
    }
}
