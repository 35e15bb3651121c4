//! The text half of the model: prompt embedding, text encoder and the decode loop.
//!
//! Independent of the vision half ([`crate::vision::VisionEncoder`]): it takes an
//! [`EncodedImage`] from any thread.

use std::sync::Arc;
use std::time::Instant;

use ort::session::{RunOptions, Session};
use ort::value::Tensor;

use crate::cancel::CancelFlag;
use crate::config::ModelConfig;
use crate::decoder::{DecoderLayout, EncoderState, OrtStepModel};
use crate::decoder_step::StepDecoder;
use crate::embedding::TokenEmbeddings;
use crate::error::{Error, Result};
use crate::generate::{self, Generated, SearchOptions, TokenObserver};
use crate::graph::ModelGraph;
use crate::request::{TaskPlan, TaskPlanner};
use crate::run::{TaskRun, Timings, cancelled_or, ms};
use crate::task::post_process;
use crate::tokenizer::PromptTokenizer;
use crate::vision::EncodedImage;

/// The decoder of a model folder, in one of its two layouts.
pub(crate) enum TextDecoder {
    /// The stock merged decoder (`decoder_model_merged*.onnx`).
    Merged {
        /// Its session.
        session: Session,
        /// Its cache names and sizes.
        layout: DecoderLayout,
    },
    /// The optimised layout (`decoder_cross_kv*` + `decoder_step*`, docs/decoder-layout.md).
    Step {
        /// Both graphs (boxed: far larger than the merged variant).
        decoder: Box<StepDecoder>,
        /// The step's token rows when they come from another `embed_tokens` file than the
        /// prompt's (another precision); `None` shares the prompt's.
        embed: Option<TokenEmbeddings>,
    },
}

/// Opens the text graphs again (and checks them), for a model that unloads them between calls.
pub(crate) type ReopenText = Arc<dyn Fn() -> Result<TextParts> + Send + Sync>;

/// The text half's graphs: embeddings, text encoder, decoder.
pub(crate) struct TextParts {
    /// Token embeddings of the prompt (and of the decoder's tokens unless it has its own).
    pub embed: TokenEmbeddings,
    /// The text encoder.
    pub encoder: Session,
    /// The decoder.
    pub decoder: TextDecoder,
}

/// Configs, tokenizer and the text sessions (embeddings, text encoder, decoder).
pub struct TextGenerator {
    config: ModelConfig,
    planner: Arc<TaskPlanner>,
    /// `None` while unloaded (low-memory mode: the vision half runs).
    parts: Option<TextParts>,
    /// Whether the decoder is the optimised layout (known while unloaded too).
    step_decoder: bool,
    /// Reopens the parts after [`TextGenerator::unload`] (low-memory mode only).
    reopen: Option<ReopenText>,
}

impl std::fmt::Debug for TextGenerator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextGenerator")
            .field("config", &self.config)
            .finish()
    }
}

impl TextGenerator {
    /// Wraps loaded, contract-checked sessions.
    pub(crate) fn new(
        config: ModelConfig,
        planner: Arc<TaskPlanner>,
        parts: Option<TextParts>,
        step_decoder: bool,
        reopen: Option<ReopenText>,
    ) -> Self {
        Self {
            config,
            planner,
            parts,
            step_decoder,
            reopen,
        }
    }

    /// Whether the decoder is the optimised layout (`decoder_step`) rather than the merged one.
    pub fn uses_step_decoder(&self) -> bool {
        self.step_decoder
    }

    /// Drops the text graphs when they can be reopened (low-memory mode); returns whether it did.
    pub(crate) fn unload(&mut self) -> bool {
        self.reopen.is_some() && self.parts.take().is_some()
    }

    /// Whether the text graphs are loaded.
    pub(crate) fn is_loaded(&self) -> bool {
        self.parts.is_some()
    }

    /// The text graphs opened again by `reopen` (there is none outside the low-memory mode,
    /// where they are never unloaded).
    fn reopen(reopen: Option<&ReopenText>) -> Result<TextParts> {
        let reopen = reopen.ok_or_else(|| Error::InvalidInput {
            detail: "the text graphs were unloaded and cannot be reopened".into(),
        })?;
        reopen()
    }

    /// The tokenizer.
    fn tokenizer(&self) -> &Arc<PromptTokenizer> {
        self.planner.tokenizer()
    }

    /// Text encoder over `[image tokens ; prompt embeddings]`: returns `(hidden, sequence length)`.
    fn encode_text(
        config: &ModelConfig,
        parts: &mut TextParts,
        image: &EncodedImage,
        input_ids: &[i64],
        run_options: &RunOptions,
    ) -> Result<(Vec<f32>, usize)> {
        let d = config.d_model;
        let seq = image.tokens() + input_ids.len();
        if input_ids.is_empty() {
            return Err(Error::InvalidInput {
                detail: "empty prompt".into(),
            });
        }
        // Planned against the expected image tokens; an image encoded elsewhere may differ.
        if seq > config.max_position_embeddings {
            return Err(Error::PromptTooLong {
                prompt_tokens: input_ids.len(),
                image_tokens: image.tokens(),
                max_positions: config.max_position_embeddings,
            });
        }
        // `[image tokens ; prompt embeddings]`, the prompt's rows written in place.
        let mut embeds = vec![0.0f32; seq * d];
        let image_values = image.features().len();
        if image_values != image.tokens() * d {
            return Err(Error::ModelOutput {
                graph: ModelGraph::VisionEncoder,
                detail: format!(
                    "the encoded image holds {image_values} values, {} tokens of width {d} need {}",
                    image.tokens(),
                    image.tokens() * d
                ),
            });
        }
        embeds[..image_values].copy_from_slice(image.features());
        parts
            .embed
            .embed_into(input_ids, &mut embeds[image_values..], run_options)?;
        let enc_err = |source| Error::Inference {
            graph: ModelGraph::TextEncoder,
            source,
        };
        let embeds = Tensor::from_array(([1usize, seq, d], embeds)).map_err(enc_err)?;
        let mask = Tensor::from_array(([1usize, seq], vec![1i64; seq])).map_err(enc_err)?;
        let out = parts
            .encoder
            .run_with_options(
                ort::inputs!["inputs_embeds" => embeds, "attention_mask" => mask],
                run_options,
            )
            .map_err(enc_err)?;
        let (_, hidden) = out
            .get("last_hidden_state")
            .ok_or_else(|| Error::ModelOutput {
                graph: ModelGraph::TextEncoder,
                detail: "no last_hidden_state output".into(),
            })?
            .try_extract_tensor::<f32>()
            .map_err(enc_err)?;
        Ok((hidden.to_vec(), seq))
    }

    /// Encodes the prompt with the image and decodes: greedy when `num_beams` is 1, else beam search.
    /// Returns the generated ids (starting with the decoder start token) and graph timings.
    pub fn generate(
        &mut self,
        image: &EncodedImage,
        input_ids: &[i64],
        search: &SearchOptions,
        cancel: &CancelFlag,
        observer: &mut dyn TokenObserver,
    ) -> Result<(Generated, Timings)> {
        if cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        let run_options = cancel.track(RunOptions::new().map_err(|source| Error::Inference {
            graph: ModelGraph::TextEncoder,
            source,
        })?);
        // Reopened here if unloaded (low-memory mode): counted in the encoder's time.
        let t0 = Instant::now();
        let config = &self.config;
        let parts = match &mut self.parts {
            Some(parts) => parts,
            None => {
                let loaded = Self::reopen(self.reopen.as_ref())?;
                self.parts.insert(loaded)
            }
        };
        if cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        // The text encoder runs once per request: its activations (≈ 40 MB at base size) go back
        // to the system at the end of its run instead of staying reserved in its arena through
        // the decode loop, where the request's peak would otherwise be (docs/memory.md).
        let encoder_options = RunOptions::new()
            .and_then(|mut options| {
                options.set("memory.enable_memory_arena_shrinkage", "cpu:0")?;
                Ok(options)
            })
            .map_err(|source| Error::Inference {
                graph: ModelGraph::TextEncoder,
                source,
            })?;
        let encoder_options = cancel.track(encoder_options);
        let (hidden, seq) = Self::encode_text(config, parts, image, input_ids, &encoder_options)
            .map_err(|e| cancelled_or(e, cancel))?;
        let t1 = Instant::now();
        if cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        let rows = search.num_beams;
        let search_with = |model: &mut dyn generate::StepModel, observer: &mut dyn TokenObserver| {
            if rows == 1 {
                generate::greedy_search(model, search, cancel, observer)
            } else {
                generate::beam_search(model, search, cancel, observer)
            }
        };
        let generated = match &mut parts.decoder {
            TextDecoder::Merged { session, layout } => {
                let encoder = EncoderState::new(&hidden, seq, config.d_model, rows)?;
                drop(hidden);
                let mut model = OrtStepModel::new(
                    session,
                    &mut parts.embed,
                    layout,
                    encoder,
                    rows,
                    config.d_model,
                    run_options,
                )?;
                search_with(&mut model, observer)
            }
            TextDecoder::Step { decoder, embed } => {
                let embed = embed.as_mut().unwrap_or(&mut parts.embed);
                // The cache holds the request's positions: `max_new_tokens` (the planner has
                // refused more than the decoder's positions).
                let mut model = decoder
                    .start(embed, hidden, seq, rows, search.max_new_tokens, run_options)
                    .map_err(|e| cancelled_or(e, cancel))?;
                search_with(&mut model, observer)
            }
        }
        .map_err(|e| cancelled_or(e, cancel))?;
        let t2 = Instant::now();
        let timings = Timings::of_stages(0.0, 0.0, ms(t1 - t0), ms(t2 - t1));
        Ok((generated, timings))
    }

    /// Runs a planned task on an encoded image: generation, decoding with special tokens kept,
    /// and post-processing into a typed result. `observer` sees the ids after every step
    /// (streaming); `cancel` is checked before every step and gates every delivery.
    pub fn run_plan(
        &mut self,
        image: &EncodedImage,
        plan: &TaskPlan,
        cancel: &CancelFlag,
        observer: &mut dyn TokenObserver,
    ) -> Result<TaskRun> {
        let (generated, timings) = self.generate(image, &plan.input_ids, &plan.search, cancel, observer)?;
        let text = self.tokenizer().decode(&generated.ids)?;
        let output = post_process(plan.task, &text, image.width, image.height);
        Ok(TaskRun {
            task: plan.task,
            prompt: plan.prompt.clone(),
            input_ids: plan.input_ids.clone(),
            generated,
            text,
            output,
            timings,
        })
    }
}
