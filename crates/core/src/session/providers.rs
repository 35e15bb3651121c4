//! Registering the execution provider of a session ([`crate::provider`] has the vocabulary).
//!
//! Registration always uses `error_on_failure`: ONNX Runtime's own default silently runs on CPU
//! when a provider cannot be registered, which hides exactly the thing a developer wants to know.
//! What happens next is the caller's [`ProviderFallback`] policy: fail with
//! [`Error::ExecutionProviderUnavailable`], or load that graph on CPU and say so in its
//! [`SessionProvider`] report.
//!
//! A registered accelerator takes the nodes it supports; ONNX Runtime runs the rest of the graph on
//! its CPU provider. The report names the provider that was registered, not a per-node split.

use std::num::NonZeroUsize;
use std::path::Path;

use ort::session::builder::SessionBuilder;

use crate::error::{Error, Result};
use crate::graph::ModelGraph;
use crate::provider::{ExecutionProvider, NnapiOptions, ProviderOptions, XnnpackOptions, performance_cores};

/// Session-level settings a provider needs besides its registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ThreadPlan {
    /// ONNX Runtime intra-op threads (`None`: the caller's setting).
    pub intra_threads: Option<usize>,
    /// `session.intra_op.allow_spinning` (`None`: ONNX Runtime's default).
    pub intra_spinning: Option<bool>,
}

/// The session settings `provider` needs.
pub(crate) fn thread_plan(provider: ExecutionProvider) -> ThreadPlan {
    match provider {
        ExecutionProvider::Xnnpack => ThreadPlan {
            intra_threads: Some(1),
            intra_spinning: Some(false),
        },
        ExecutionProvider::Cpu | ExecutionProvider::Nnapi => ThreadPlan {
            intra_threads: None,
            intra_spinning: None,
        },
    }
}

/// Registers `provider` on `builder` (always with `error_on_failure`). A provider that is not compiled in, not part of the loaded ONNX Runtime, or whose
/// registration fails, is [`Error::ExecutionProviderUnavailable`].
pub(crate) fn register(
    builder: SessionBuilder,
    options: &ProviderOptions,
    provider: ExecutionProvider,
    graph: ModelGraph,
    path: &Path,
) -> Result<SessionBuilder> {
    let unavailable = |detail: String| Error::ExecutionProviderUnavailable {
        provider,
        graph,
        path: path.to_path_buf(),
        detail,
    };
    let dispatch = match provider {
        // The arena: the vision encoder hands its memory back through it after each image.
        ExecutionProvider::Cpu => ort::ep::CPU::default().with_arena_allocator(true).build(),
        ExecutionProvider::Xnnpack => xnnpack_dispatch(&options.xnnpack).map_err(unavailable)?,
        ExecutionProvider::Nnapi => nnapi_dispatch(&options.nnapi).map_err(unavailable)?,
    };
    builder
        .with_execution_providers([dispatch.error_on_failure()])
        .map_err(|e| match provider {
            ExecutionProvider::Cpu => Error::SessionLoad {
                graph,
                path: path.to_path_buf(),
                source: e.into(),
            },
            _ => unavailable(format!("registration failed: {e}")),
        })
}

/// Text for a provider the loaded ONNX Runtime does not list among its providers.
#[cfg(any(feature = "xnnpack", feature = "nnapi", target_os = "android"))]
fn not_in_runtime(provider: ExecutionProvider) -> String {
    let runtime = crate::runtime::OnnxRuntime::get()
        .map(|r| {
            format!(
                "{} {}",
                r.library().path().display(),
                r.version().unwrap_or("(version unknown)")
            )
        })
        .unwrap_or_else(|| "ONNX Runtime".to_string());
    format!(
        "the loaded ONNX Runtime ({runtime}) was built without {}",
        provider.ort_name()
    )
}

#[cfg(feature = "xnnpack")]
fn xnnpack_dispatch(
    options: &XnnpackOptions,
) -> std::result::Result<ort::ep::ExecutionProviderDispatch, String> {
    use ort::ep::ExecutionProvider as _;
    match ort::ep::XNNPACK::is_available() {
        Ok(true) => {}
        Ok(false) => return Err(not_in_runtime(ExecutionProvider::Xnnpack)),
        Err(e) => return Err(format!("could not list ONNX Runtime's providers: {e}")),
    }
    let threads = if options.threads == 0 {
        performance_cores()
    } else {
        options.threads
    };
    let threads = NonZeroUsize::new(threads).unwrap_or(NonZeroUsize::MIN);
    Ok(ort::ep::XNNPACK::default()
        .with_intra_op_num_threads(threads)
        .build())
}

#[cfg(not(feature = "xnnpack"))]
fn xnnpack_dispatch(_: &XnnpackOptions) -> std::result::Result<ort::ep::ExecutionProviderDispatch, String> {
    Err("this build of florence2-core was compiled without the `xnnpack` feature".to_string())
}

#[cfg(any(feature = "nnapi", target_os = "android"))]
fn nnapi_dispatch(options: &NnapiOptions) -> std::result::Result<ort::ep::ExecutionProviderDispatch, String> {
    use ort::ep::ExecutionProvider as _;
    match ort::ep::NNAPI::is_available() {
        Ok(true) => {}
        Ok(false) => return Err(not_in_runtime(ExecutionProvider::Nnapi)),
        Err(e) => return Err(format!("could not list ONNX Runtime's providers: {e}")),
    }
    Ok(ort::ep::NNAPI::default()
        .with_fp16(options.use_fp16)
        .with_nchw(options.use_nchw)
        .with_disable_cpu(options.cpu_disabled)
        .with_cpu_only(options.cpu_only)
        .build())
}

#[cfg(not(any(feature = "nnapi", target_os = "android")))]
fn nnapi_dispatch(_: &NnapiOptions) -> std::result::Result<ort::ep::ExecutionProviderDispatch, String> {
    Err(
        "NNAPI exists only on Android: this build of florence2-core has no NNAPI support (it is \
         compiled in for Android targets, or with the `nnapi` feature)"
            .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xnnpack_runs_with_one_ort_thread_and_no_spinning() {
        let plan = thread_plan(ExecutionProvider::Xnnpack);
        assert_eq!(plan.intra_threads, Some(1));
        assert_eq!(plan.intra_spinning, Some(false));
        assert_eq!(thread_plan(ExecutionProvider::Cpu).intra_threads, None);
    }
}
