//! Loading the four ONNX sessions and checking each one against the Florence-2 tensor contract.

use std::path::Path;

use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::{TensorElementType, ValueType};

use crate::config::ModelConfig;
use crate::error::{Error, Result};
pub use crate::execution_provider::ExecutionProvider;
use crate::execution_provider::{ProviderFallback, ProviderOptions, SessionProvider, register, thread_plan};
use crate::model_files::Component;
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

/// Options for creating the sessions.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionOptions {
    /// Intra-op threads per session; 0 lets ONNX Runtime choose (one per core).
    pub intra_threads: usize,
    /// Graph optimisation level.
    pub optimization_level: OptimizationLevel,
    /// ONNX Runtime's memory-pattern planning for the fixed-shape graphs (vision, embeddings, text
    /// encoder); never used for the decoder, whose shapes grow every step.
    pub memory_pattern: bool,
    /// ONNX Runtime's CPU memory arena: faster repeated allocations, but memory it grabs is kept
    /// for the session's lifetime. Turn off to lower the resident set on memory-tight devices.
    pub cpu_arena: bool,
    /// Execution provider, its settings, and the fallback policy.
    pub provider: ProviderOptions,
    /// Hand the vision encoder's activation memory (≈ 0.3 GB at 768², base or large) back to the
    /// system after each image instead of keeping it reserved in ONNX Runtime's arena while the
    /// text half runs and while the model sits idle. Costs the page faults of touching that
    /// memory again on the next image (a few percent of the vision time). On by default: an app's
    /// resident memory matters more on a phone than those milliseconds.
    pub release_vision_memory: bool,
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self {
            intra_threads: 0,
            optimization_level: OptimizationLevel::All,
            memory_pattern: true,
            cpu_arena: true,
            provider: ProviderOptions::default(),
            release_vision_memory: true,
        }
    }
}

/// Opens `path` as `component` with `options`, and reports which execution provider it got.
///
/// The requested provider is registered with `error_on_failure`. If it cannot be used (not
/// compiled in, not part of the loaded ONNX Runtime, registration or graph compilation fails), the
/// [`ProviderFallback`] policy decides: fail with [`Error::ExecutionProviderUnavailable`], or load
/// the graph on CPU and give the reason in the report. A graph that fails on CPU as well (a corrupt
/// file) is reported with that error, not as a provider problem.
pub fn load_session(
    runtime: &OnnxRuntime,
    component: Component,
    path: &Path,
    options: &SessionOptions,
) -> Result<(Session, SessionProvider)> {
    options.provider.validate()?;
    let requested = options.provider.provider;
    let report = |active, fallback_reason| SessionProvider {
        component,
        requested,
        active,
        fallback_reason,
    };
    let error = match open(runtime, component, path, options, requested) {
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
    let session = open(runtime, component, path, options, ExecutionProvider::Cpu)?;
    let error = match error {
        Error::SessionLoad { source, .. } => Error::ExecutionProviderUnavailable {
            provider: requested,
            component,
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
    component: Component,
    path: &Path,
    options: &SessionOptions,
    provider: ExecutionProvider,
) -> Result<Session> {
    let wrap = |source: ort::Error| Error::SessionLoad {
        component,
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
    let mut builder = register(
        builder,
        &options.provider,
        provider,
        options.cpu_arena,
        component,
        path,
    )?
    .with_optimization_level(level)
    .map_err(|e| wrap(e.into()))?
    .with_memory_pattern(options.memory_pattern && component != Component::Decoder)
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
    builder.commit_from_file(path).map_err(wrap)
}

/// One tensor the contract expects.
struct Expect {
    name: String,
    types: &'static [TensorElementType],
    rank: usize,
    /// (axis, size) pairs that must hold when the graph states a fixed size.
    fixed: Vec<(usize, i64)>,
}

impl Expect {
    fn new(name: impl Into<String>, types: &'static [TensorElementType], rank: usize) -> Self {
        Self {
            name: name.into(),
            types,
            rank,
            fixed: Vec::new(),
        }
    }

    fn with_dim(mut self, axis: usize, size: usize) -> Self {
        self.fixed.push((axis, i64::try_from(size).unwrap_or(i64::MAX)));
        self
    }
}

const F32: &[TensorElementType] = &[TensorElementType::Float32];
const I64: &[TensorElementType] = &[TensorElementType::Int64];
const BOOL: &[TensorElementType] = &[TensorElementType::Bool];
const KV: &[TensorElementType] = &[TensorElementType::Float32, TensorElementType::Float16];

fn contract(component: Component, config: &ModelConfig) -> (Vec<Expect>, Vec<Expect>) {
    let d = config.d_model;
    match component {
        Component::VisionEncoder => (
            vec![Expect::new("pixel_values", F32, 4).with_dim(1, 3)],
            vec![Expect::new("image_features", F32, 3).with_dim(2, d)],
        ),
        Component::EmbedTokens => (
            vec![Expect::new("input_ids", I64, 2)],
            vec![Expect::new("inputs_embeds", F32, 3).with_dim(2, d)],
        ),
        Component::TextEncoder => (
            vec![
                Expect::new("attention_mask", I64, 2),
                Expect::new("inputs_embeds", F32, 3).with_dim(2, d),
            ],
            vec![Expect::new("last_hidden_state", F32, 3).with_dim(2, d)],
        ),
        Component::Decoder => {
            let heads = config.decoder_attention_heads;
            let head_dim = config.decoder_head_dim();
            let mut inputs = vec![
                Expect::new("encoder_attention_mask", I64, 2),
                Expect::new("encoder_hidden_states", F32, 3).with_dim(2, d),
                Expect::new("inputs_embeds", F32, 3).with_dim(2, d),
            ];
            let mut outputs = vec![Expect::new("logits", F32, 3).with_dim(2, config.vocab_size)];
            for i in 0..config.decoder_layers {
                for kind in ["decoder", "encoder"] {
                    for kv in ["key", "value"] {
                        inputs.push(
                            Expect::new(format!("past_key_values.{i}.{kind}.{kv}"), KV, 4)
                                .with_dim(1, heads)
                                .with_dim(3, head_dim),
                        );
                        outputs.push(Expect::new(format!("present.{i}.{kind}.{kv}"), KV, 4));
                    }
                }
            }
            inputs.push(Expect::new("use_cache_branch", BOOL, 1));
            (inputs, outputs)
        }
    }
}

/// Checks a loaded session's inputs and outputs: names, element types, ranks, and the sizes the
/// config implies. Extra inputs are refused (we could not feed them); extra outputs are allowed.
pub fn check_contract(
    session: &Session,
    component: Component,
    path: &Path,
    config: &ModelConfig,
) -> Result<()> {
    let fail = |detail: String| Error::Contract {
        component,
        path: path.to_path_buf(),
        detail,
    };
    let (inputs, outputs) = contract(component, config);
    for (kind, expected, actual) in [
        ("input", &inputs, session.inputs()),
        ("output", &outputs, session.outputs()),
    ] {
        for exp in expected.iter() {
            let Some(outlet) = actual.iter().find(|o| o.name() == exp.name) else {
                let names: Vec<&str> = actual.iter().map(|o| o.name()).collect();
                return Err(fail(format!(
                    "{kind} `{}` is missing; the graph has {}",
                    exp.name,
                    names.join(", ")
                )));
            };
            let ValueType::Tensor { ty, shape, .. } = outlet.dtype() else {
                return Err(fail(format!("{kind} `{}` is not a tensor", exp.name)));
            };
            if !exp.types.contains(ty) {
                return Err(fail(format!(
                    "{kind} `{}` has element type {ty:?}, expected {:?}",
                    exp.name, exp.types
                )));
            }
            if shape.len() != exp.rank {
                return Err(fail(format!(
                    "{kind} `{}` has rank {}, expected {}",
                    exp.name,
                    shape.len(),
                    exp.rank
                )));
            }
            for &(axis, size) in &exp.fixed {
                let dim = shape[axis];
                if dim >= 0 && dim != size {
                    return Err(fail(format!(
                        "{kind} `{}` has size {dim} on axis {axis}, but config.json implies {size}",
                        exp.name
                    )));
                }
            }
        }
    }
    if let Some(extra) = session
        .inputs()
        .iter()
        .find(|o| !inputs.iter().any(|e| e.name == o.name()))
    {
        return Err(fail(format!(
            "unexpected input `{}` (is this the right file for the {component}?)",
            extra.name()
        )));
    }
    Ok(())
}
