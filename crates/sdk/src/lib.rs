//! Florence-2 for Kotlin (Android and the desktop JVM), generated with UniFFI.
//!
//! This crate is the thin FFI layer over `florence2-core` (and `florence2-download`): every
//! exported item converts its arguments, calls core off the caller's thread, and maps the result;
//! logic lives in core.
//!
//! | file | what Kotlin sees |
//! |---|---|
//! | `florence2.rs` | `Florence2Engine` (the native model Kotlin's hand-written `Florence2` class wraps: `create`, `run`, `encode` → `EncodedImage`, `runEncoded`, `runBatch`, `live`, `unload`), `TaskRequest`, `TokenListener` |
//! | `live.rs` | `LiveSession` (`submit`, `stats`, `stop`), `LiveListener`, `LiveResult`, `LiveStats` |
//! | `options.rs` | `Florence2Options`, `RunOptions` (per call), `ResizeMode`, `OptimizationLevel` |
//! | `graph.rs` | `ModelGraph`, `Precision`, `PrecisionPlan` |
//! | `provider.rs` | `ExecutionProvider`, `XnnpackOptions`, `NnapiOptions`, the `SessionProvider` report |
//! | `task.rs` | `Task` |
//! | `image.rs` | `ImageInput`, `PixelLayout`, `CropRect` |
//! | `result.rs` | `TaskResult`, `TaskOutput` (`LabeledBox`, `TextLine`, `LabeledMask`) and geometry, `FinishReason`, `Timings` |
//! | `download.rs` | (feature `download`, on by default) `ModelManifest`, `ModelDownloader`, `DownloadProgress`, `ModelStatus` |
//! | `error.rs` | `Florence2Exception` and `DownloadException` (sealed), mapped in one place |
//!
//! Threads: exported async methods run in a tokio context; ONNX Runtime work goes to
//! `spawn_blocking`, never the Kotlin thread that polls the future. Dropping the future (the
//! coroutine was cancelled) cancels the call's `CancelFlag` and waits for a callback in flight, so
//! nothing reaches Kotlin afterwards; generation stops before its next decoder step and the
//! running ONNX Runtime graph is terminated.
//!
//! [`onnx_runtime_info`] checks the whole chain: Kotlin → this library → ONNX Runtime.
//!
//! Kotlin bindings are generated from the built library with the workspace's `uniffi-bindgen`
//! and the root `uniffi.toml` (Kotlin package `ai.florence2`).

#![forbid(unsafe_code)]

mod options;
mod graph;
mod provider;
mod task;
mod image;
mod florence2;
mod live;
mod result;
mod error;
#[cfg(feature = "download")]
mod download;

use std::path::Path;

#[cfg(feature = "download")]
pub use download::{
    DownloadFileState, DownloadListener, DownloadOptions, DownloadProgress, DownloadReport, FileProgress,
    ModelDownloader, ModelManifest, ModelPreset, ModelStatus, builtin_model_ids,
};
#[cfg(feature = "download")]
pub use error::DownloadError;
pub use error::Florence2Error;
pub use florence2::{EncodedImage, Florence2Engine, TaskRequest, TokenListener, TokenListenerError};
pub use graph::{ModelGraph, Precision, PrecisionPlan};
pub use image::{CropRect, ImageInput, PixelLayout};
pub use live::{LiveListener, LiveOutcome, LiveResult, LiveSession, LiveStats};
pub use options::{Florence2Options, MemoryMode, OptimizationLevel, ResizeMode, RunOptions};
pub use provider::{ExecutionProvider, NnapiOptions, SessionProvider, XnnpackOptions};
pub use result::{
    BoundingBox, FinishReason, Point, Polygon, PolygonMask, Quad, TaskOutput, TaskResult, Timings,
};
pub use task::Task;

uniffi::setup_scaffolding!();

/// The ONNX Runtime library the SDK is using.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct OnnxRuntimeInfo {
    /// The version, e.g. `"1.31.1"`, when the library's build information or versioned file name
    /// states it; `null` otherwise (e.g. Android's plain `libonnxruntime.so`).
    pub version: Option<String>,
    /// The library file that was loaded (a bare name when the system loader resolved it).
    pub library_path: String,
    /// ONNX Runtime's build information string (git commit, build type).
    pub build_info: String,
}

/// Loads ONNX Runtime (once per process) and describes it.
///
/// `library_path` names the ONNX Runtime shared library to load. When it is `null`, the library is
/// found automatically: `ORT_DYLIB_PATH`, then the directory in `FLORENCE2_ORT_CACHE`, then next to the
/// executable; on Android the `libonnxruntime.so` packaged with the app.
///
/// Once ONNX Runtime is loaded, later calls describe the same library; passing a different
/// `library_path` then fails with [`Florence2Error::RuntimeUnavailable`].
///
/// # Errors
///
/// [`Florence2Error::RuntimeUnavailable`] if the library cannot be found, loaded or initialised
/// (the `detail` says which paths were tried and how to fix it).
#[uniffi::export]
pub fn onnx_runtime_info(library_path: Option<String>) -> Result<OnnxRuntimeInfo, Florence2Error> {
    let runtime = florence2_core::OnnxRuntime::init(library_path.as_deref().map(Path::new))
        .map_err(florence2_core::Error::from)?;
    Ok(OnnxRuntimeInfo {
        version: runtime.version().map(str::to_owned),
        library_path: runtime.library().path().display().to_string(),
        build_info: runtime.build_info().to_owned(),
    })
}

/// The task named by its token, e.g. `"<OD>"` → `Task.OBJECT_DETECTION` (case-sensitive).
///
/// # Errors
/// [`Florence2Error::InvalidInput`] for an unknown token (the message lists the valid ones).
#[uniffi::export]
pub fn task_from_token(token: String) -> Result<Task, Florence2Error> {
    Ok(token
        .parse::<florence2_core::Task>()
        .map_err(florence2_core::Error::from)?
        .into())
}

/// The token of a task, e.g. `Task.OBJECT_DETECTION` → `"<OD>"` (the key of the task's result in
/// the Python `post_process_generation` output).
#[uniffi::export]
pub fn task_token(task: Task) -> String {
    florence2_core::Task::from(task).token().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_tokens_round_trip() {
        for task in florence2_core::Task::ALL {
            let sdk = Task::from(task);
            assert_eq!(task_from_token(task_token(sdk)).unwrap(), sdk);
        }
        assert!(matches!(
            task_from_token("<NOPE>".into()),
            Err(Florence2Error::InvalidInput { .. })
        ));
    }

    #[test]
    fn describes_the_setup_cache_runtime_and_maps_errors() {
        let missing = "/nonexistent/florence2/libonnxruntime.so.1.31.1";
        match onnx_runtime_info(Some(missing.to_owned())) {
            Err(Florence2Error::RuntimeUnavailable { detail }) => {
                assert!(detail.contains(missing), "{detail}")
            }
            other => panic!("expected RuntimeUnavailable, got {other:?}"),
        }

        let info = onnx_runtime_info(None).unwrap_or_else(|e| panic!("run scripts/setup.sh first: {e}"));
        assert!(
            info.version.as_deref().is_some_and(|v| v.starts_with("1.")),
            "{info:?}"
        );
        assert!(info.library_path.contains("onnxruntime"), "{info:?}");
        assert_eq!(onnx_runtime_info(None).unwrap(), info);
    }
}
