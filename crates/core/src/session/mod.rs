//! Loading the four ONNX sessions: options, the execution provider (`providers.rs`), and the
//! check of each graph against the Florence-2 tensor contract (`contract.rs`).

mod contract;
mod providers;

use std::path::Path;

use ort::memory::{AllocationDevice, Allocator, AllocatorType, MemoryInfo, MemoryType};
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;

pub use contract::{StepGraph, check_contract, check_step_contract};
use providers::{register, thread_plan};

use crate::error::{Error, Result};
use crate::graph::ModelGraph;
use crate::provider::{ExecutionProvider, ProviderFallback, ProviderOptions, SessionProvider};
use crate::runtime::OnnxRuntime;

/// How much graph optimisation ONNX Runtime applies when loading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OptimizationLevel {
    /// None.
    Disabled,
    /// Constant folding and redundant-node removal.
    Basic,
    /// Plus operator fusions.
    Extended,
    /// Everything, including layout changes (the default).
    #[default]
    All,
}

impl std::str::FromStr for OptimizationLevel {
    type Err = Error;

    /// `disabled`, `basic`, `extended` or `all`.
    fn from_str(name: &str) -> Result<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "disabled" | "none" => Ok(Self::Disabled),
            "basic" => Ok(Self::Basic),
            "extended" => Ok(Self::Extended),
            "all" => Ok(Self::All),
            _ => Err(Error::InvalidOption {
                option: "optimization_level",
                detail: format!("unknown level {name:?}; known: disabled, basic, extended, all"),
            }),
        }
    }
}

/// The most intra-op threads accepted (far above any phone's cores; a larger value is a bug in
/// the caller, and ONNX Runtime would try to start them all).
pub const MAX_THREADS: usize = 256;

/// Options for creating the sessions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionOptions {
    /// Intra-op threads per session; 0 lets ONNX Runtime choose (one per core).
    pub intra_threads: usize,
    /// Graph optimisation level (default: all). Lower levels load faster and help to tell an
    /// optimiser problem from a model problem.
    pub optimization_level: OptimizationLevel,
    /// Execution provider, its settings, and the fallback policy.
    pub provider: ProviderOptions,
}

impl SessionOptions {
    /// Rejects settings no session could honour, before anything is loaded.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for more than [`MAX_THREADS`] threads, or NNAPI with both
    /// `cpu_only` and `cpu_disabled`.
    pub fn validate(&self) -> Result<()> {
        if self.intra_threads > MAX_THREADS {
            return Err(Error::InvalidOption {
                option: "threads",
                detail: format!(
                    "{} threads; use 0 (one per core) or 1..={MAX_THREADS}",
                    self.intra_threads
                ),
            });
        }
        let p = &self.provider;
        if p.provider == ExecutionProvider::Nnapi && p.nnapi.cpu_only && p.nnapi.cpu_disabled {
            return Err(Error::InvalidOption {
                option: "nnapi",
                detail: "cpu_only and cpu_disabled contradict each other (set at most one)".into(),
            });
        }
        Ok(())
    }
}

/// Opens `path` as `graph` with `options`, and reports which execution provider it got.
///
/// The requested provider is registered with `error_on_failure`. If it cannot be used (not
/// compiled in, not part of the loaded ONNX Runtime, registration or graph compilation fails), the
/// [`ProviderFallback`] policy decides: fail with [`Error::ExecutionProviderUnavailable`], or load
/// the graph on CPU and give the reason in the report. A graph that fails on CPU as well (a corrupt
/// file) is reported with that error, not as a provider problem.
pub fn load_session(
    runtime: &OnnxRuntime,
    graph: ModelGraph,
    path: &Path,
    options: &SessionOptions,
) -> Result<(Session, SessionProvider)> {
    options.validate()?;
    let requested = options.provider.provider;
    let report = |active, fallback_reason| SessionProvider {
        graph,
        requested,
        active,
        fallback_reason,
    };
    let error = match open(runtime, graph, path, options, requested) {
        Ok(session) => return Ok((session, report(requested, None))),
        Err(error) if requested == ExecutionProvider::Cpu => return Err(error),
        Err(error) => error,
    };
    // A provider that cannot even be registered fails right away under the fail policy (no CPU
    // session is built just to be dropped).
    if matches!(error, Error::ExecutionProviderUnavailable { .. })
        && options.provider.fallback == ProviderFallback::Fail
    {
        return Err(error);
    }
    // Creating the session with the accelerator failed, or the policy falls back: load the same
    // graph on CPU. That also tells a provider problem from a model problem (a corrupt file fails on
    // CPU too, and that error is the one to report).
    let session = open(runtime, graph, path, options, ExecutionProvider::Cpu)?;
    let error = match error {
        Error::SessionLoad { source, .. } => Error::ExecutionProviderUnavailable {
            provider: requested,
            graph,
            path: path.to_path_buf(),
            detail: format!("creating the session failed: {source}"),
        },
        other => other,
    };
    match options.provider.fallback {
        ProviderFallback::Cpu => Ok((session, report(ExecutionProvider::Cpu, Some(error.to_string())))),
        ProviderFallback::Fail => Err(error),
    }
}

/// Builds one session with `provider` (no fallback).
fn open(
    runtime: &OnnxRuntime,
    graph: ModelGraph,
    path: &Path,
    options: &SessionOptions,
    provider: ExecutionProvider,
) -> Result<Session> {
    let wrap = |source: ort::Error| Error::SessionLoad {
        graph,
        path: path.to_path_buf(),
        source,
    };
    let level = match options.optimization_level {
        OptimizationLevel::Disabled => GraphOptimizationLevel::Disable,
        OptimizationLevel::Basic => GraphOptimizationLevel::Level1,
        OptimizationLevel::Extended => GraphOptimizationLevel::Level2,
        OptimizationLevel::All => GraphOptimizationLevel::All,
    };
    let builder = Session::builder(runtime.environment()).map_err(wrap)?;
    let mut builder = register(builder, &options.provider, provider, graph, path)?
        .with_optimization_level(level)
        .map_err(|e| wrap(e.into()))?
        // No memory pattern: from its second run ONNX Runtime would serve a fixed-shape graph's
        // activations from one block planned for its peak, on top of the arena's regions: with
        // the standard mode's pipelining, three base int8 captions peaked at 512 MB with it and
        // 487 MB without, at the same speed (docs/memory.md).
        .with_memory_pattern(false)
        .map_err(|e| wrap(e.into()))?
        .with_inter_threads(1)
        .map_err(|e| wrap(e.into()))?;
    let plan = thread_plan(provider);
    let intra_threads = plan.intra_threads.unwrap_or(options.intra_threads);
    if intra_threads > 0 {
        builder = builder
            .with_intra_threads(intra_threads)
            .map_err(|e| wrap(e.into()))?;
    }
    if let Some(spinning) = plan.intra_spinning {
        builder = builder
            .with_intra_op_spinning(spinning)
            .map_err(|e| wrap(e.into()))?;
    }
    let session = builder.commit_from_file(path).map_err(wrap)?;
    // Best effort: a session without a CPU arena (none of ours today) still works, it only keeps
    // its first region; a memory optimisation is no reason to refuse a model.
    let _ = prime_cpu_arena(&session);
    Ok(session)
}

/// Makes the session's CPU arena start with a small first region.
///
/// ONNX Runtime's arena never hands its first region back when it shrinks
/// (`memory.enable_memory_arena_shrinkage`), and that region is created by the first allocation
/// of the first run, sized for it: 32 MB for the vision encoder's first activation at 768².
/// Allocating one byte right after the session is built makes that region the arena's initial
/// chunk (1 MB) instead, so the shrink after each image returns all of the vision encoder's (and
/// the text encoder's) activation memory (docs/memory.md).
fn prime_cpu_arena(session: &Session) -> ort::Result<()> {
    let cpu_arena = MemoryInfo::new(
        AllocationDevice::CPU,
        0,
        AllocatorType::Arena,
        MemoryType::Default,
    )?;
    let allocator = Allocator::new(session, cpu_arena)?;
    // Freed when dropped; the region it created stays, as the arena's first.
    drop(allocator.alloc::<u8>(1)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::NnapiOptions;

    #[test]
    fn contradictory_nnapi_flags_are_invalid_input() {
        let options = ProviderOptions {
            provider: ExecutionProvider::Nnapi,
            nnapi: NnapiOptions {
                cpu_only: true,
                cpu_disabled: true,
                ..NnapiOptions::default()
            },
            ..ProviderOptions::default()
        };
        let err = SessionOptions {
            provider: options,
            ..SessionOptions::default()
        }
        .validate()
        .unwrap_err();
        assert!(
            matches!(err, Error::InvalidOption { option: "nnapi", .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("cpu_only"), "{err}");
        // The same flags do not matter when NNAPI is not requested.
        let cpu = ProviderOptions {
            provider: ExecutionProvider::Cpu,
            ..options
        };
        assert!(
            SessionOptions {
                provider: cpu,
                ..SessionOptions::default()
            }
            .validate()
            .is_ok()
        );
    }

    #[test]
    fn thread_counts_are_bounded_and_levels_parse() {
        let too_many = SessionOptions {
            intra_threads: MAX_THREADS + 1,
            ..SessionOptions::default()
        };
        assert!(matches!(
            too_many.validate(),
            Err(Error::InvalidOption {
                option: "threads",
                ..
            })
        ));
        assert_eq!(
            "Basic".parse::<OptimizationLevel>().unwrap(),
            OptimizationLevel::Basic
        );
        assert!("fast".parse::<OptimizationLevel>().is_err());
    }
}
