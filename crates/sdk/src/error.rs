//! The error type Kotlin sees (`Florence2Exception`).

/// Errors returned to Kotlin, where they arrive as subclasses of `Florence2Exception`.
///
/// Each variant is something an app can act on. Field names avoid `message`, which would clash
/// with `Throwable.message` in Kotlin.
#[derive(Debug, thiserror::Error, uniffi::Error)]
#[non_exhaustive]
pub enum Florence2Error {
    /// ONNX Runtime could not be found, loaded or initialised. Ship or point at a compatible
    /// `libonnxruntime` (see `reason` for the paths tried).
    #[error("ONNX Runtime is unavailable: {reason}")]
    RuntimeUnavailable {
        /// What went wrong, including the paths that were tried.
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
            _ => Self::Internal { reason },
        }
    }
}
