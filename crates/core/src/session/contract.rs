//! The Florence-2 tensor contract of each graph, checked on every session at load: names, element
//! types, ranks, and the sizes `config.json` implies.

use std::path::Path;

use ort::session::Session;
use ort::value::{TensorElementType, ValueType};

use crate::config::ModelConfig;
use crate::error::{Error, Result};
use crate::graph::ModelGraph;

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
const I32: &[TensorElementType] = &[TensorElementType::Int32];
const KV: &[TensorElementType] = &[TensorElementType::Float32, TensorElementType::Float16];

fn contract(graph: ModelGraph, config: &ModelConfig) -> (Vec<Expect>, Vec<Expect>) {
    let d = config.d_model;
    match graph {
        ModelGraph::VisionEncoder => (
            vec![Expect::new("pixel_values", F32, 4).with_dim(1, 3)],
            vec![Expect::new("image_features", F32, 3).with_dim(2, d)],
        ),
        ModelGraph::EmbedTokens => (
            vec![Expect::new("input_ids", I64, 2)],
            vec![Expect::new("inputs_embeds", F32, 3).with_dim(2, d)],
        ),
        ModelGraph::TextEncoder => (
            vec![
                Expect::new("attention_mask", I64, 2),
                Expect::new("inputs_embeds", F32, 3).with_dim(2, d),
            ],
            vec![Expect::new("last_hidden_state", F32, 3).with_dim(2, d)],
        ),
        ModelGraph::Decoder => {
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

/// A graph of the optimised decoder layout (docs/decoder-layout.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepGraph {
    /// `decoder_cross_kv*.onnx`: encoder states → every layer's cross K and Vᵀ.
    CrossKv,
    /// `decoder_step*.onnx`: one token per row over the in-place cache.
    Step,
}

fn step_contract(graph: StepGraph, config: &ModelConfig) -> (Vec<Expect>, Vec<Expect>) {
    let d = config.d_model;
    let heads = config.decoder_attention_heads;
    let hd = config.decoder_head_dim();
    let cross = |i: usize| {
        [
            Expect::new(format!("cross.{i}.key"), F32, 4)
                .with_dim(1, heads)
                .with_dim(3, hd),
            Expect::new(format!("cross.{i}.value_t"), F32, 4)
                .with_dim(1, heads)
                .with_dim(2, hd),
        ]
    };
    match graph {
        StepGraph::CrossKv => (
            vec![Expect::new("encoder_hidden_states", F32, 3).with_dim(2, d)],
            (0..config.decoder_layers).flat_map(cross).collect(),
        ),
        StepGraph::Step => {
            let mut inputs = vec![
                Expect::new("inputs_embeds", F32, 3).with_dim(1, 1).with_dim(2, d),
                Expect::new("past_sequence_length", I32, 1).with_dim(0, 1),
            ];
            let mut outputs = vec![Expect::new("logits", F32, 2).with_dim(1, config.vocab_size)];
            for i in 0..config.decoder_layers {
                for kv in ["key", "value"] {
                    let cache = |name: String| Expect::new(name, F32, 4).with_dim(1, heads).with_dim(3, hd);
                    inputs.push(cache(format!("past.{i}.{kv}")));
                    outputs.push(cache(format!("present.{i}.{kv}")));
                }
                inputs.extend(cross(i).into_iter().map(|e| e.with_dim(0, 1)));
            }
            (inputs, outputs)
        }
    }
}

/// Checks a loaded session's inputs and outputs: names, element types, ranks, and the sizes the
/// config implies. Extra inputs are refused (we could not feed them); extra outputs are allowed.
pub fn check_contract(session: &Session, graph: ModelGraph, path: &Path, config: &ModelConfig) -> Result<()> {
    let (inputs, outputs) = contract(graph, config);
    check_expectations(session, graph, path, &inputs, &outputs)
}

/// [`check_contract`] for a graph of the optimised decoder layout (reported as the decoder).
pub fn check_step_contract(
    session: &Session,
    graph: StepGraph,
    path: &Path,
    config: &ModelConfig,
) -> Result<()> {
    let (inputs, outputs) = step_contract(graph, config);
    check_expectations(session, ModelGraph::Decoder, path, &inputs, &outputs)
}

fn check_expectations(
    session: &Session,
    graph: ModelGraph,
    path: &Path,
    inputs: &[Expect],
    outputs: &[Expect],
) -> Result<()> {
    let fail = |detail: String| Error::Contract {
        graph,
        path: path.to_path_buf(),
        detail,
    };
    for (kind, expected, actual) in [
        ("input", inputs, session.inputs()),
        ("output", outputs, session.outputs()),
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
            "unexpected input `{}` (is this the right file for the {graph}?)",
            extra.name()
        )));
    }
    Ok(())
}
