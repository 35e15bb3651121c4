//! Execution providers, as data: which hardware backend a session asks ONNX Runtime for, each
//! one's settings, the fallback policy, and the report of what every session got. Registration
//! lives with the sessions (`session::providers`).
//!
//! | provider | where | configured as |
//! |---|---|---|
//! | [`ExecutionProvider::Cpu`] | everywhere | ORT's CPU kernels (MLAS), the session's own thread pool |
//! | [`ExecutionProvider::Xnnpack`] | ORT builds with XNNPACK (the Android AAR; not the PyPI wheel) | ORT's guidance: session intra-op threads 1, spinning off, XNNPACK's pool = the performance cores |
//! | [`ExecutionProvider::Nnapi`] | Android (compiled in for `target_os = "android"` or with the `nnapi` feature) | [`NnapiOptions`] flags |

use std::fmt;
use std::num::NonZeroUsize;

use crate::graph::ModelGraph;

/// Where a session's graph runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum ExecutionProvider {
    /// ONNX Runtime's CPU kernels (MLAS). Available everywhere; the default.
    #[default]
    Cpu,
    /// XNNPACK's CPU kernels (ARM and x86). Part of ONNX Runtime's Android package; not part of
    /// the desktop PyPI build, where requesting it reports it unavailable.
    Xnnpack,
    /// Android's Neural Networks API (GPU, DSP or NPU drivers). Deprecated since Android 15 and
    /// often slower than CPU on transformer graphs: measure before choosing it.
    Nnapi,
}

impl ExecutionProvider {
    /// ONNX Runtime's name for the provider (`"NnapiExecutionProvider"`, …).
    pub fn ort_name(self) -> &'static str {
        match self {
            ExecutionProvider::Cpu => "CPUExecutionProvider",
            ExecutionProvider::Xnnpack => "XnnpackExecutionProvider",
            ExecutionProvider::Nnapi => "NnapiExecutionProvider",
        }
    }
}

impl fmt::Display for ExecutionProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ExecutionProvider::Cpu => "CPU",
            ExecutionProvider::Xnnpack => "XNNPACK",
            ExecutionProvider::Nnapi => "NNAPI",
        })
    }
}

/// XNNPACK settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct XnnpackOptions {
    /// Threads of XNNPACK's own pool; 0 (the default) uses one per performance ("big") core, see
    /// [`performance_cores`]. ONNX Runtime's intra-op pool is set to 1 thread without spinning so
    /// the two pools do not compete (ONNX Runtime's XNNPACK guidance); nodes XNNPACK does not take
    /// run on that single CPU thread.
    pub threads: usize,
}

/// NNAPI flags (ONNX Runtime's `NNAPI_FLAG_*`). The default is the configuration the Florence-2
/// Android seed used: fp16 relaxation off (the INT8 graphs must keep integer arithmetic exact),
/// NNAPI's CPU reference device disabled (force an accelerator; unsupported nodes go to ONNX
/// Runtime's faster CPU kernels instead), NHWC layout, not CPU-only.
///
/// ONNX Runtime has no "GPU only" NNAPI flag: with the CPU device disabled, NNAPI picks among all
/// accelerator drivers (GPU, DSP, NPU), so the NPU stays allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NnapiOptions {
    /// `NNAPI_FLAG_USE_FP16`: let NNAPI compute float32 graphs in float16. Faster on many GPUs/NPUs,
    /// less accurate; leave off for INT8 graphs.
    pub use_fp16: bool,
    /// `NNAPI_FLAG_USE_NCHW`: NCHW layout instead of NHWC (Android 10+, often slower).
    pub use_nchw: bool,
    /// `NNAPI_FLAG_CPU_DISABLED`: never use NNAPI's own CPU implementation (Android 10+).
    pub cpu_disabled: bool,
    /// `NNAPI_FLAG_CPU_ONLY`: only NNAPI's CPU reference implementation; slow, for validating
    /// accelerator output (Android 10+). Contradicts `cpu_disabled`.
    pub cpu_only: bool,
}

impl Default for NnapiOptions {
    fn default() -> Self {
        Self {
            use_fp16: false,
            use_nchw: false,
            cpu_disabled: true,
            cpu_only: false,
        }
    }
}

impl NnapiOptions {
    /// The `flags` argument of `OrtSessionOptionsAppendExecutionProvider_Nnapi`
    /// (`nnapi_provider_factory.h`: USE_FP16 = 0x1, USE_NCHW = 0x2, CPU_DISABLED = 0x4,
    /// CPU_ONLY = 0x8).
    pub fn flags(&self) -> u32 {
        u32::from(self.use_fp16)
            | (u32::from(self.use_nchw) << 1)
            | (u32::from(self.cpu_disabled) << 2)
            | (u32::from(self.cpu_only) << 3)
    }
}

/// What to do when the requested provider cannot be used for a graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProviderFallback {
    /// Fail loading with [`Error::ExecutionProviderUnavailable`](crate::Error::ExecutionProviderUnavailable) (the default).
    #[default]
    Fail,
    /// Load that graph on CPU instead and report why in its [`SessionProvider`].
    Cpu,
}

/// Which provider one session asked for and which it got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionProvider {
    /// The graph.
    pub graph: ModelGraph,
    /// The provider the options asked for.
    pub requested: ExecutionProvider,
    /// The provider the session was created with (CPU after a fallback).
    pub active: ExecutionProvider,
    /// Why the requested provider was not used (`None` when `active == requested`).
    pub fallback_reason: Option<String>,
}

/// Provider settings for creating a session (part of
/// [`SessionOptions`](crate::session::SessionOptions), which checks them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProviderOptions {
    /// The provider to request.
    pub provider: ExecutionProvider,
    /// Used when `provider` is XNNPACK.
    pub xnnpack: XnnpackOptions,
    /// Used when `provider` is NNAPI.
    pub nnapi: NnapiOptions,
    /// Fail or fall back to CPU when `provider` cannot be used.
    pub fallback: ProviderFallback,
}

/// Number of performance ("big") cores: the cores whose maximum frequency is above the lowest
/// maximum frequency, read from `/sys/devices/system/cpu/cpu*/cpufreq/cpuinfo_max_freq`. On a
/// homogeneous CPU, or when the frequencies cannot be read (desktop containers, some kernels), every
/// core available to the process counts. Always at least 1.
pub fn performance_cores() -> usize {
    let available = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
    let mut max_freqs = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/sys/devices/system/cpu") {
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let is_cpu = name
                .strip_prefix("cpu")
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
            if !is_cpu {
                continue;
            }
            let freq = std::fs::read_to_string(entry.path().join("cpufreq/cpuinfo_max_freq"))
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok());
            max_freqs.push(freq);
        }
    }
    count_performance_cores(&max_freqs, available)
}

/// [`performance_cores`] over given per-core maximum frequencies (`None`: unreadable), capped at
/// `available` (the cores this process may use).
pub fn count_performance_cores(max_freqs: &[Option<u64>], available: usize) -> usize {
    let available = available.max(1);
    let known: Option<Vec<u64>> = max_freqs.iter().copied().collect();
    let Some(freqs) = known.filter(|f| !f.is_empty()) else {
        return available;
    };
    let lowest = freqs.iter().copied().min().unwrap_or(0);
    let big = freqs.iter().filter(|&&f| f > lowest).count();
    if big == 0 {
        freqs.len().min(available)
    } else {
        big.min(available)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nnapi_flags_match_the_c_header() {
        // nnapi_provider_factory.h: USE_FP16 0x001, USE_NCHW 0x002, CPU_DISABLED 0x004, CPU_ONLY 0x008.
        let none = NnapiOptions {
            use_fp16: false,
            use_nchw: false,
            cpu_disabled: false,
            cpu_only: false,
        };
        assert_eq!(none.flags(), 0);
        assert_eq!(
            NnapiOptions {
                use_fp16: true,
                ..none
            }
            .flags(),
            0x1
        );
        assert_eq!(
            NnapiOptions {
                use_nchw: true,
                ..none
            }
            .flags(),
            0x2
        );
        assert_eq!(
            NnapiOptions {
                cpu_disabled: true,
                ..none
            }
            .flags(),
            0x4
        );
        assert_eq!(
            NnapiOptions {
                cpu_only: true,
                ..none
            }
            .flags(),
            0x8
        );
        // The seed's configuration: only CPU_DISABLED.
        assert_eq!(NnapiOptions::default().flags(), 0x4);
    }

    #[test]
    fn performance_cores_count_the_faster_tiers() {
        let mhz = |v: &[u64]| v.iter().map(|&f| Some(f * 1000)).collect::<Vec<_>>();
        // Pixel-like 1 prime + 3 big + 4 little.
        assert_eq!(
            count_performance_cores(&mhz(&[1800, 1800, 1800, 1800, 2400, 2400, 2400, 3000]), 8),
            4
        );
        // 4 big + 4 little.
        assert_eq!(
            count_performance_cores(&mhz(&[2000, 2000, 2000, 2000, 2800, 2800, 2800, 2800]), 8),
            4
        );
        // Homogeneous: all of them, capped by the process's affinity.
        assert_eq!(count_performance_cores(&mhz(&[3000; 8]), 8), 8);
        assert_eq!(count_performance_cores(&mhz(&[3000; 8]), 2), 2);
        // Unknown frequencies: everything available.
        assert_eq!(count_performance_cores(&[None, Some(1), None], 6), 6);
        assert_eq!(count_performance_cores(&[], 3), 3);
        assert_eq!(count_performance_cores(&[], 0), 1);
        assert!(performance_cores() >= 1);
    }
}
