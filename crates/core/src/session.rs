//! Loading the four ONNX sessions and checking each one against the Florence-2 tensor contract.

use std::path::Path;

use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::{TensorElementType, ValueType};

use crate::config::ModelConfig;
use crate::error::{Error, Result};
use crate::model_files::Component;
use crate::runtime::OnnxRuntime;

/// Where the graphs run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ExecutionProvider {
    /// ONNX Runtime's CPU kernels (MLAS). Available everywhere.
    #[default]
    Cpu,
}

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
    /// Execution provider.
    pub execution_provider: ExecutionProvider,
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self {
            intra_threads: 0,
            optimization_level: OptimizationLevel::All,
            memory_pattern: true,
            cpu_arena: true,
            execution_provider: ExecutionProvider::Cpu,
        }
    }
}

/// Opens `path` as `component` with `options`.
pub fn load_session(
    runtime: &OnnxRuntime,
    component: Component,
    path: &Path,
    options: &SessionOptions,
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
    let provider = match options.execution_provider {
        ExecutionProvider::Cpu => ort::ep::CPU::default()
            .with_arena_allocator(options.cpu_arena)
            .build()
            .error_on_failure(),
    };
    let mut builder = Session::builder(runtime.environment())
        .map_err(wrap)?
        .with_execution_providers([provider])
        .map_err(|e| wrap(e.into()))?
        .with_optimization_level(level)
        .map_err(|e| wrap(e.into()))?
        .with_memory_pattern(options.memory_pattern && component != Component::Decoder)
        .map_err(|e| wrap(e.into()))?
        .with_inter_threads(1)
        .map_err(|e| wrap(e.into()))?;
    if options.intra_threads > 0 {
        builder = builder
            .with_intra_threads(options.intra_threads)
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
