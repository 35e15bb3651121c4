//! Execution providers as Kotlin sees them: the choice, its settings, and what each graph got.

use florence2_core as core;

use crate::graph::ModelGraph;

/// Where the graphs run. Pick by measuring on the target devices (docs/android.md): CPU is the
/// safe default and often the fastest for Florence-2's transformer graphs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ExecutionProvider {
    /// ONNX Runtime's CPU kernels. Available everywhere.
    Cpu,
    /// XNNPACK's CPU kernels (ONNX Runtime's Android package has them; desktop builds usually do
    /// not). ONNX Runtime's own pool drops to one thread; XNNPACK uses `XnnpackOptions.threads`.
    Xnnpack,
    /// Android's Neural Networks API (GPU/DSP/NPU drivers), configured by `NnapiOptions`. Android
    /// only; deprecated since Android 15 and often slower than CPU on transformer graphs.
    Nnapi,
}

impl From<ExecutionProvider> for core::ExecutionProvider {
    fn from(provider: ExecutionProvider) -> Self {
        match provider {
            ExecutionProvider::Cpu => core::ExecutionProvider::Cpu,
            ExecutionProvider::Xnnpack => core::ExecutionProvider::Xnnpack,
            ExecutionProvider::Nnapi => core::ExecutionProvider::Nnapi,
        }
    }
}

impl From<core::ExecutionProvider> for ExecutionProvider {
    fn from(provider: core::ExecutionProvider) -> Self {
        match provider {
            core::ExecutionProvider::Xnnpack => ExecutionProvider::Xnnpack,
            core::ExecutionProvider::Nnapi => ExecutionProvider::Nnapi,
            // Core's enum is non-exhaustive; CPU is the one every build has.
            _ => ExecutionProvider::Cpu,
        }
    }
}

/// XNNPACK settings (used when `executionProvider` is `XNNPACK`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, uniffi::Record)]
pub struct XnnpackOptions {
    /// XNNPACK's threads; 0 (default) uses one per performance ("big") core.
    #[uniffi(default = 0)]
    pub threads: i32,
}

/// NNAPI flags (used when `executionProvider` is `NNAPI`). The defaults: fp16 off (keeps INT8
/// graphs exact), NNAPI's CPU device disabled (so an accelerator runs the nodes NNAPI takes and
/// ONNX Runtime's faster CPU kernels the rest), NHWC, not CPU-only. ONNX Runtime has no GPU-only
/// flag: NNAPI chooses among the GPU, DSP and NPU drivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct NnapiOptions {
    /// Let NNAPI compute float32 in float16 (faster on many accelerators, less accurate).
    #[uniffi(default = false)]
    pub use_fp16: bool,
    /// NCHW layout instead of NHWC (often slower).
    #[uniffi(default = false)]
    pub use_nchw: bool,
    /// Never use NNAPI's own CPU implementation.
    #[uniffi(default = true)]
    pub cpu_disabled: bool,
    /// Only NNAPI's CPU reference implementation (slow; for validating accelerator output).
    /// Setting it together with `cpuDisabled` is `InvalidInput`.
    #[uniffi(default = false)]
    pub cpu_only: bool,
}

impl Default for NnapiOptions {
    fn default() -> Self {
        let d = core::NnapiOptions::default();
        Self {
            use_fp16: d.use_fp16,
            use_nchw: d.use_nchw,
            cpu_disabled: d.cpu_disabled,
            cpu_only: d.cpu_only,
        }
    }
}

/// The execution provider one graph's session got (`Florence2.executionProviders()`).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SessionProvider {
    /// The graph.
    pub graph: ModelGraph,
    /// What `Florence2Options.executionProvider` asked for.
    pub requested: ExecutionProvider,
    /// What the session runs on: `requested`, or `CPU` after a fallback (`cpuFallback = true`).
    /// Nodes an accelerator does not support run on ONNX Runtime's CPU kernels either way.
    pub active: ExecutionProvider,
    /// Why `requested` could not be used (`null` when `active == requested`).
    pub fallback_reason: Option<String>,
}

impl From<&core::SessionProvider> for SessionProvider {
    fn from(p: &core::SessionProvider) -> Self {
        SessionProvider {
            graph: p.graph.into(),
            requested: p.requested.into(),
            active: p.active.into(),
            fallback_reason: p.fallback_reason.clone(),
        }
    }
}
