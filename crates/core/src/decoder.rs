//! One decoder step over ONNX Runtime: the merged-decoder protocol of the public Florence-2 files.
//!
//! Step 0 runs the first-step branch (`use_cache_branch = false`) with empty past tensors (batch
//! rows, every other symbolic dimension 0, the element type the graph declares); it returns the
//! self-attention cache and the cross-attention K/V, which are kept for the whole sequence. Later
//! steps feed the last token only, with `use_cache_branch = true`; the graph's `present.*.encoder.*`
//! outputs are placeholders there and are ignored. Tensors are bound by name, never by position.

use ort::memory::{Allocator, MemoryInfo};
use std::sync::Arc;

use ort::session::{IoBinding, RunOptions, Session};
use ort::value::{DynTensor, DynValue, Tensor, TensorElementType, ValueType};

use crate::embedding::TokenEmbeddings;
use crate::error::{Error, Result};
use crate::generate::StepModel;
use crate::graph::ModelGraph;

/// Input/output names of one decoder layer's cache, precomputed once.
#[derive(Debug, Clone)]
pub(crate) struct LayerNames {
    past: [String; 4],
    present: [String; 4],
}

/// What the decoder needs to know about its graph, computed when the model loads.
#[derive(Debug, Clone)]
pub(crate) struct DecoderLayout {
    pub layers: Vec<LayerNames>,
    pub heads: usize,
    pub head_dim: usize,
    pub vocab: usize,
    pub cache_type: TensorElementType,
}

impl DecoderLayout {
    pub fn new(session: &Session, layers: usize, heads: usize, head_dim: usize, vocab: usize) -> Self {
        let names = (0..layers)
            .map(|i| {
                let n = |prefix: &str, kind: &str, kv: &str| format!("{prefix}.{i}.{kind}.{kv}");
                LayerNames {
                    past: [
                        n("past_key_values", "decoder", "key"),
                        n("past_key_values", "decoder", "value"),
                        n("past_key_values", "encoder", "key"),
                        n("past_key_values", "encoder", "value"),
                    ],
                    present: [
                        n("present", "decoder", "key"),
                        n("present", "decoder", "value"),
                        n("present", "encoder", "key"),
                        n("present", "encoder", "value"),
                    ],
                }
            })
            .collect();
        let cache_type = session
            .inputs()
            .iter()
            .find(|o| o.name().starts_with("past_key_values."))
            .and_then(|o| match o.dtype() {
                ValueType::Tensor { ty, .. } => Some(*ty),
                _ => None,
            })
            .unwrap_or(TensorElementType::Float32);
        Self {
            layers: names,
            heads,
            head_dim,
            vocab,
            cache_type,
        }
    }
}

/// The encoder's output, as the decoder consumes it for `rows` parallel sequences.
pub(crate) struct EncoderState {
    pub hidden: DynValue,
    pub mask: DynValue,
}

impl EncoderState {
    /// Repeats one encoder output (`[1, S, D]` data) for `rows` rows.
    pub fn new(hidden: &[f32], seq_len: usize, d_model: usize, rows: usize) -> Result<Self> {
        let mut data = Vec::with_capacity(rows * hidden.len());
        for _ in 0..rows {
            data.extend_from_slice(hidden);
        }
        let hidden = Tensor::from_array(([rows, seq_len, d_model], data))
            .map_err(inference)?
            .into_dyn();
        let mask = Tensor::from_array(([rows, seq_len], vec![1i64; rows * seq_len]))
            .map_err(inference)?
            .into_dyn();
        Ok(Self { hidden, mask })
    }
}

fn inference(source: ort::Error) -> Error {
    Error::Inference {
        graph: ModelGraph::Decoder,
        source,
    }
}

/// The ONNX Runtime implementation of [`StepModel`], with I/O bound once where shapes allow.
///
/// Bound once per sequence, no per-step tensors: the decoder's `inputs_embeds` (written in place
/// each step, by a row read from the embedding table or by the `embed_tokens` session bound to the
/// same buffer), the encoder states and mask, the logits output (`[rows, 1, vocab]`) and the step-0
/// cross-attention K/V. Rebound
/// every step: the self-attention cache, whose length grows by one per step, so ONNX Runtime
/// allocates it (from its arena) and the previous step's outputs are passed on without copying.
pub(crate) struct OrtStepModel<'a> {
    decoder: &'a mut Session,
    embed: &'a mut TokenEmbeddings,
    layout: &'a DecoderLayout,
    decoder_binding: IoBinding,
    /// Bound to `ids` and `embeds` when the embeddings run as a session.
    embed_binding: Option<IoBinding>,
    ids: Tensor<i64>,
    embeds: Tensor<f32>,
    logits: Tensor<f32>,
    cpu: MemoryInfo<'static>,
    rows: usize,
    /// Per layer: decoder key, decoder value (grow every step).
    self_kv: Vec<DynValue>,
    steps: usize,
    run_options: Arc<RunOptions>,
}

impl<'a> OrtStepModel<'a> {
    pub fn new(
        decoder: &'a mut Session,
        embed: &'a mut TokenEmbeddings,
        layout: &'a DecoderLayout,
        encoder: EncoderState,
        rows: usize,
        d_model: usize,
        run_options: Arc<RunOptions>,
    ) -> Result<Self> {
        let allocator = Allocator::default();
        let cpu = allocator.memory_info().to_owned();
        let ids = Tensor::<i64>::new(&allocator, [rows, 1usize]).map_err(embed_err)?;
        let mut embeds = Tensor::<f32>::new(&allocator, [rows, 1usize, d_model]).map_err(embed_err)?;
        let mut logits = Tensor::<f32>::new(&allocator, [rows, 1usize, layout.vocab]).map_err(inference)?;

        let embed_binding = match embed {
            TokenEmbeddings::Session(session) => {
                let mut binding = session.create_binding().map_err(embed_err)?;
                binding.bind_input("input_ids", &ids).map_err(embed_err)?;
                binding
                    .bind_output("inputs_embeds", &mut embeds)
                    .map_err(embed_err)?;
                Some(binding)
            }
            TokenEmbeddings::Table(_) => None,
        };

        let mut binding = decoder.create_binding().map_err(inference)?;
        binding
            .bind_input("encoder_attention_mask", &encoder.mask)
            .map_err(inference)?;
        binding
            .bind_input("encoder_hidden_states", &encoder.hidden)
            .map_err(inference)?;
        binding.bind_input("inputs_embeds", &embeds).map_err(inference)?;
        binding.bind_output("logits", &mut logits).map_err(inference)?;
        let no_cache = Tensor::from_array(([1usize], vec![false])).map_err(inference)?;
        binding
            .bind_input("use_cache_branch", &no_cache)
            .map_err(inference)?;
        for names in &layout.layers {
            for (j, name) in names.past.iter().enumerate() {
                let _ = j;
                let empty = DynTensor::new(
                    &allocator,
                    layout.cache_type,
                    [rows, layout.heads, 0, layout.head_dim],
                )
                .map_err(inference)?;
                binding.bind_input(name.as_str(), &empty).map_err(inference)?;
            }
            for name in &names.present {
                binding
                    .bind_output_to_device(name.as_str(), &cpu)
                    .map_err(inference)?;
            }
        }
        Ok(Self {
            decoder,
            embed,
            layout,
            decoder_binding: binding,
            embed_binding,
            ids,
            embeds,
            logits,
            cpu,
            rows,
            self_kv: Vec::with_capacity(2 * layout.layers.len()),
            steps: 0,
            run_options,
        })
    }

    /// Gathers the rows of the self-attention cache (`[rows, H, P, d]`) in `order`.
    fn reorder_cache(&mut self, order: &[usize]) -> Result<()> {
        if order.iter().enumerate().all(|(i, &src)| i == src) {
            return Ok(());
        }
        for value in self.self_kv.iter_mut() {
            let (shape, data) = value
                .try_extract_tensor::<f32>()
                .map_err(|_| Error::ModelOutput {
                    graph: ModelGraph::Decoder,
                    detail: "beam search needs a float32 decoder cache; this decoder's cache is not float32"
                        .into(),
                })?;
            let dims: Vec<usize> = shape.iter().map(|&d| usize::try_from(d).unwrap_or(0)).collect();
            let row = dims.iter().skip(1).product::<usize>();
            let mut gathered = Vec::with_capacity(order.len() * row);
            for &src in order {
                gathered.extend_from_slice(&data[src * row..(src + 1) * row]);
            }
            let mut new_dims = dims.clone();
            new_dims[0] = order.len();
            *value = Tensor::from_array((new_dims, gathered))
                .map_err(inference)?
                .into_dyn();
        }
        Ok(())
    }

    /// After step 0: the cache branch from now on, with the step-0 cross-attention K/V bound for
    /// good. The branch's `present.*.encoder.*` outputs are placeholders: they are left unbound, so
    /// ONNX Runtime does not hand them back.
    fn switch_to_cache_branch(&mut self, cross_kv: Vec<DynValue>) -> Result<()> {
        let use_cache = Tensor::from_array(([1usize], vec![true])).map_err(inference)?;
        self.decoder_binding
            .bind_input("use_cache_branch", &use_cache)
            .map_err(inference)?;
        self.decoder_binding.clear_outputs();
        self.decoder_binding
            .bind_output("logits", &mut self.logits)
            .map_err(inference)?;
        let layout = self.layout;
        for (i, names) in layout.layers.iter().enumerate() {
            for j in 0..2 {
                self.decoder_binding
                    .bind_input(names.past[2 + j].as_str(), &cross_kv[2 * i + j])
                    .map_err(inference)?;
            }
        }
        Ok(())
    }
}

fn embed_err(source: ort::Error) -> Error {
    Error::Inference {
        graph: ModelGraph::EmbedTokens,
        source,
    }
}

fn missing_output(graph: ModelGraph, name: &str) -> Error {
    Error::ModelOutput {
        graph,
        detail: format!("no `{name}` output"),
    }
}

impl StepModel for OrtStepModel<'_> {
    fn vocab_size(&self) -> usize {
        self.layout.vocab
    }

    fn step(&mut self, last_tokens: &[u32], reorder: Option<&[usize]>) -> Result<&[f32]> {
        if last_tokens.len() != self.rows {
            return Err(Error::InvalidInput {
                detail: format!(
                    "{} tokens for a decoder set up for {} rows",
                    last_tokens.len(),
                    self.rows
                ),
            });
        }
        if let Some(order) = reorder
            && self.steps > 0
        {
            self.reorder_cache(order)?;
        }
        let first = self.steps == 0;
        let layout = self.layout;
        if !first {
            for (i, names) in layout.layers.iter().enumerate() {
                for j in 0..2 {
                    self.decoder_binding
                        .bind_input(names.past[j].as_str(), &self.self_kv[2 * i + j])
                        .map_err(inference)?;
                    self.decoder_binding
                        .bind_output_to_device(names.present[j].as_str(), &self.cpu)
                        .map_err(inference)?;
                }
            }
        }

        // Token ids -> embeddings, written straight into the decoder's bound `inputs_embeds`.
        for (slot, &t) in self.ids.extract_tensor_mut().1.iter_mut().zip(last_tokens) {
            *slot = i64::from(t);
        }
        match (&mut *self.embed, &self.embed_binding) {
            (TokenEmbeddings::Session(session), Some(binding)) => drop(
                session
                    .run_binding_with_options(binding, &self.run_options)
                    .map_err(embed_err)?,
            ),
            (embed, _) => {
                let ids = self.ids.extract_tensor().1;
                embed.embed_into(ids, self.embeds.extract_tensor_mut().1, &self.run_options)?;
            }
        }

        let mut outputs = self
            .decoder
            .run_binding_with_options(&self.decoder_binding, &self.run_options)
            .map_err(inference)?;
        self.self_kv.clear();
        let mut cross_kv = Vec::new();
        for names in &layout.layers {
            for (j, name) in names.present.iter().enumerate() {
                if j >= 2 && !first {
                    continue;
                }
                let value = outputs
                    .remove(name.as_str())
                    .ok_or_else(|| missing_output(ModelGraph::Decoder, name))?;
                if j < 2 {
                    self.self_kv.push(value)
                } else {
                    cross_kv.push(value)
                }
            }
        }
        drop(outputs);
        if first {
            self.switch_to_cache_branch(cross_kv)?;
        }

        self.steps += 1;
        // The bound `[rows, 1, vocab]` output itself: only the last position exists, nothing is copied.
        Ok(self.logits.extract_tensor().1)
    }
}
