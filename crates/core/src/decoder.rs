//! One decoder step over ONNX Runtime: the merged-decoder protocol of the public Florence-2 files.
//!
//! Step 0 runs the first-step branch (`use_cache_branch = false`) with empty past tensors (batch
//! rows, every other symbolic dimension 0, the element type the graph declares); it returns the
//! self-attention cache and the cross-attention K/V, which are kept for the whole sequence. Later
//! steps feed the last token only, with `use_cache_branch = true`; the graph's `present.*.encoder.*`
//! outputs are placeholders there and are ignored. Tensors are bound by name, never by position.

use std::borrow::Cow;

use ort::memory::Allocator;
use ort::session::{Session, SessionInputValue};
use ort::value::{DynTensor, DynValue, Tensor, TensorElementType, ValueType};

use crate::error::{Error, Result};
use crate::generate::StepModel;
use crate::model_files::Component;

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
        stage: Component::Decoder,
        source,
    }
}

/// The ONNX Runtime implementation of [`StepModel`].
pub(crate) struct OrtStepModel<'a> {
    pub decoder: &'a mut Session,
    pub embed: &'a mut Session,
    pub layout: &'a DecoderLayout,
    pub encoder: EncoderState,
    /// Per layer: decoder key, decoder value (grow every step).
    self_kv: Vec<DynValue>,
    /// Per layer: encoder key, encoder value (from step 0).
    cross_kv: Vec<DynValue>,
    logits: Vec<f32>,
    steps: usize,
}

impl<'a> OrtStepModel<'a> {
    pub fn new(
        decoder: &'a mut Session,
        embed: &'a mut Session,
        layout: &'a DecoderLayout,
        encoder: EncoderState,
    ) -> Self {
        Self {
            decoder,
            embed,
            layout,
            encoder,
            self_kv: Vec::new(),
            cross_kv: Vec::new(),
            logits: Vec::new(),
            steps: 0,
        }
    }

    fn embed(&mut self, tokens: &[u32]) -> Result<DynValue> {
        let ids: Vec<i64> = tokens.iter().map(|&t| i64::from(t)).collect();
        let input = Tensor::from_array(([tokens.len(), 1usize], ids)).map_err(|source| Error::Inference {
            stage: Component::EmbedTokens,
            source,
        })?;
        let mut out = self
            .embed
            .run(ort::inputs!["input_ids" => input])
            .map_err(|source| Error::Inference {
                stage: Component::EmbedTokens,
                source,
            })?;
        out.remove("inputs_embeds")
            .ok_or_else(|| missing_output(Component::EmbedTokens, "inputs_embeds"))
    }

    /// Gathers the rows of the self-attention cache (`[rows, H, P, d]`) in `order`.
    fn reorder_cache(&mut self, order: &[usize]) -> Result<()> {
        if order.iter().enumerate().all(|(i, &src)| i == src) {
            return Ok(());
        }
        for value in self.self_kv.iter_mut() {
            let (shape, data) = value
                .try_extract_tensor::<f32>()
                .map_err(|_| Error::InvalidInput {
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

    fn empty_past(&self, rows: usize) -> Result<DynTensor> {
        let allocator = Allocator::default();
        DynTensor::new(
            &allocator,
            self.layout.cache_type,
            [rows, self.layout.heads, 0, self.layout.head_dim],
        )
        .map_err(inference)
    }
}

fn missing_output(stage: Component, name: &str) -> Error {
    Error::InvalidInput {
        detail: format!("the {stage} graph returned no `{name}` output"),
    }
}

impl StepModel for OrtStepModel<'_> {
    fn vocab_size(&self) -> usize {
        self.layout.vocab
    }

    fn step(&mut self, last_tokens: &[u32], reorder: Option<&[usize]>) -> Result<&[f32]> {
        let rows = last_tokens.len();
        if let Some(order) = reorder
            && self.steps > 0
        {
            self.reorder_cache(order)?;
        }
        let embeds = self.embed(last_tokens)?;
        let first = self.steps == 0;
        let empties: Vec<DynTensor> = if first {
            (0..4 * self.layout.layers.len())
                .map(|_| self.empty_past(rows))
                .collect::<Result<_>>()?
        } else {
            Vec::new()
        };
        let use_cache = Tensor::from_array(([1usize], vec![!first])).map_err(inference)?;

        let mut inputs: Vec<(Cow<'_, str>, SessionInputValue<'_>)> =
            Vec::with_capacity(4 + 4 * self.layout.layers.len());
        inputs.push(("encoder_attention_mask".into(), (&self.encoder.mask).into()));
        inputs.push(("encoder_hidden_states".into(), (&self.encoder.hidden).into()));
        inputs.push(("inputs_embeds".into(), embeds.into()));
        inputs.push(("use_cache_branch".into(), use_cache.into()));
        for (i, names) in self.layout.layers.iter().enumerate() {
            for (j, name) in names.past.iter().enumerate() {
                let value: SessionInputValue<'_> = if first {
                    (&empties[4 * i + j]).into()
                } else if j < 2 {
                    (&self.self_kv[2 * i + j]).into()
                } else {
                    (&self.cross_kv[2 * i + j - 2]).into()
                };
                inputs.push((Cow::Borrowed(name.as_str()), value));
            }
        }
        let mut outputs = self.decoder.run(inputs).map_err(inference)?;

        let logits = outputs
            .remove("logits")
            .ok_or_else(|| missing_output(Component::Decoder, "logits"))?;
        let (shape, data) = logits.try_extract_tensor::<f32>().map_err(inference)?;
        let (seq, vocab) = (
            usize::try_from(shape[1]).unwrap_or(0),
            usize::try_from(shape[2]).unwrap_or(0),
        );
        if vocab != self.layout.vocab || seq == 0 || shape[0] as usize != rows {
            return Err(Error::InvalidInput {
                detail: format!("decoder returned logits of shape {shape:?}"),
            });
        }
        self.logits.clear();
        for r in 0..rows {
            let start = (r * seq + seq - 1) * vocab;
            self.logits.extend_from_slice(&data[start..start + vocab]);
        }

        let mut self_kv = Vec::with_capacity(2 * self.layout.layers.len());
        let mut cross_kv = Vec::new();
        for names in &self.layout.layers {
            for (j, name) in names.present.iter().enumerate() {
                if j >= 2 && !first {
                    continue;
                }
                let value = outputs
                    .remove(name.as_str())
                    .ok_or_else(|| missing_output(Component::Decoder, name))?;
                if j < 2 {
                    self_kv.push(value)
                } else {
                    cross_kv.push(value)
                }
            }
        }
        drop(outputs);
        self.self_kv = self_kv;
        if first {
            self.cross_kv = cross_kv;
        }
        self.steps += 1;
        Ok(&self.logits)
    }
}
