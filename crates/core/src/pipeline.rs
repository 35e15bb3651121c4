//! The façade: load a model folder, encode images once, run any task on them.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use florence2_preprocess::{ImageView, PreprocessConfig, Preprocessor};
use ort::session::Session;
use ort::value::Tensor;

use crate::config::{GenerationConfig, ModelConfig};
use crate::decoder::{DecoderLayout, EncoderState, OrtStepModel};
use crate::error::{Error, Result};
use crate::generate::{self, CancelFlag, Generated, Processors, SearchOptions, TokenObserver};
use crate::model_files::{Component, ModelFiles, PrecisionPlan};
use crate::runtime::OnnxRuntime;
use crate::session::{SessionOptions, check_contract, load_session};
use crate::task::{Task, TaskOutput, post_process};
use crate::tokenizer::PromptTokenizer;

/// How to load a model.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Precision per component.
    pub precision: PrecisionPlan,
    /// Session settings (threads, optimisation, execution provider).
    pub session: SessionOptions,
    /// An explicit ONNX Runtime library (else the default lookup, see [`OnnxRuntime::init`]).
    pub onnx_runtime: Option<PathBuf>,
}

/// Per-call decoding settings; `None` fields take the model's `generation_config.json` values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GenerateOptions {
    /// Tokens to generate at most (default 1024, enough for segmentation polygons).
    pub max_new_tokens: Option<usize>,
    /// Beam width (default: generation_config's `num_beams`, 3 for Florence-2).
    pub num_beams: Option<usize>,
    /// Length penalty of beam search.
    pub length_penalty: Option<f32>,
    /// Stop beam search once `num_beams` hypotheses are finished.
    pub early_stopping: Option<bool>,
}

/// Default `max_new_tokens` when neither the call nor generation_config sets one: long enough for
/// polygons (shorter limits truncate segmentation masks, a common complaint).
pub const DEFAULT_MAX_NEW_TOKENS: usize = 1024;

/// An image after the vision encoder: reusable for any number of tasks.
#[derive(Debug, Clone)]
pub struct EncodedImage {
    /// Image tokens, `tokens * d_model` values.
    features: Vec<f32>,
    tokens: usize,
    /// The original image's width in pixels (for coordinates).
    pub width: u32,
    /// The original image's height in pixels.
    pub height: u32,
}

impl EncodedImage {
    /// Number of image tokens (`(H/32)*(W/32) + 1`).
    pub fn tokens(&self) -> usize {
        self.tokens
    }
}

/// Wall-clock time of each stage of a call, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Timings {
    /// Image decoding, resize and normalisation.
    pub preprocess: f64,
    /// Vision encoder.
    pub vision: f64,
    /// Prompt embedding and text encoder.
    pub encoder: f64,
    /// Decode loop.
    pub decoder: f64,
    /// Everything.
    pub total: f64,
}

/// Everything one task call produced.
#[derive(Debug, Clone)]
pub struct TaskRun {
    /// The task.
    pub task: Task,
    /// The prompt that was tokenised.
    pub prompt: String,
    /// Its token ids (`<s>` … `</s>`).
    pub input_ids: Vec<i64>,
    /// Generated ids (starting with the decoder start token), finish reason, steps.
    pub generated: Generated,
    /// The generated text, special tokens kept (`"</s><s>…</s>"`).
    pub text: String,
    /// The post-processed, typed result (coordinates in the original image's pixels).
    pub output: TaskOutput,
    /// Stage timings (preprocess and vision are filled by the caller that did them).
    pub timings: Timings,
}

impl TaskRun {
    /// New tokens per second of the decode loop.
    pub fn tokens_per_second(&self) -> f64 {
        let tokens = self.generated.ids.len().saturating_sub(1) as f64;
        if self.timings.decoder > 0.0 {
            tokens * 1e3 / self.timings.decoder
        } else {
            0.0
        }
    }
}

/// A loaded Florence-2 model (four ONNX sessions, configs, tokenizer).
pub struct Florence2 {
    files: ModelFiles,
    config: ModelConfig,
    generation: GenerationConfig,
    tokenizer: Arc<PromptTokenizer>,
    vision: Session,
    embed: Session,
    encoder: Session,
    decoder: Session,
    layout: DecoderLayout,
    preprocessor: Preprocessor,
    pixels: Vec<f32>,
}

impl std::fmt::Debug for Florence2 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Florence2")
            .field("root", &self.files.root)
            .field("config", &self.config)
            .finish()
    }
}

impl Florence2 {
    /// Loads and checks a model folder: configs, tokenizer, the four graphs (each checked against
    /// the tensor contract). Any problem is a typed error naming the file.
    pub fn load(folder: &Path, options: &LoadOptions) -> Result<Self> {
        let runtime = OnnxRuntime::init(options.onnx_runtime.as_deref())?;
        let files = ModelFiles::resolve(folder, &options.precision)?;
        let config = ModelConfig::load(&files.config)?;
        let generation = GenerationConfig::load(&files.generation_config)?;
        let tokenizer = Arc::new(PromptTokenizer::load(&files.tokenizer, config.vocab_size)?);
        let preprocessor = Preprocessor::new(PreprocessConfig::from_file(&files.preprocessor_config)?)?;
        let pixels = vec![0.0; preprocessor.output_len()];
        let open = |component: Component| -> Result<Session> {
            let path = files.graph(component);
            let session = load_session(&runtime, component, path, &options.session)?;
            check_contract(&session, component, path, &config)?;
            Ok(session)
        };
        let vision = open(Component::VisionEncoder)?;
        let embed = open(Component::EmbedTokens)?;
        let encoder = open(Component::TextEncoder)?;
        let decoder = open(Component::Decoder)?;
        let layout = DecoderLayout::new(
            &decoder,
            config.decoder_layers,
            config.decoder_attention_heads,
            config.decoder_head_dim(),
            config.vocab_size,
        );
        Ok(Self {
            files,
            config,
            generation,
            tokenizer,
            vision,
            embed,
            encoder,
            decoder,
            layout,
            preprocessor,
            pixels,
        })
    }

    /// The model's architecture numbers.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// The model's decoding defaults.
    pub fn generation_config(&self) -> &GenerationConfig {
        &self.generation
    }

    /// The tokenizer (shared: cheap to clone, e.g. for decoding in a streaming callback).
    pub fn tokenizer(&self) -> &Arc<PromptTokenizer> {
        &self.tokenizer
    }

    /// The resolved files.
    pub fn files(&self) -> &ModelFiles {
        &self.files
    }

    /// Preprocesses an image (resize and normalise exactly as the PyTorch reference does) and runs
    /// the vision encoder. Returns the encoded image and the preprocessing time in milliseconds.
    pub fn encode_image(&mut self, image: ImageView<'_>, cancel: &CancelFlag) -> Result<(EncodedImage, f64)> {
        let t0 = Instant::now();
        self.preprocessor.process(image, &mut self.pixels)?;
        let preprocess_ms = ms(t0.elapsed());
        let [_, h, w] = self.preprocessor.output_shape();
        let pixels = std::mem::take(&mut self.pixels);
        let encoded = self.encode_pixels(&pixels, h, w, image.width(), image.height(), cancel);
        self.pixels = pixels;
        Ok((encoded?, preprocess_ms))
    }

    /// Runs the vision encoder on normalised `pixel_values` (`[3, h, w]` channels-first, as the
    /// preprocessor writes them) of an image whose original size is `width` × `height`.
    pub fn encode_pixels(
        &mut self,
        pixel_values: &[f32],
        h: usize,
        w: usize,
        width: u32,
        height: u32,
        cancel: &CancelFlag,
    ) -> Result<EncodedImage> {
        if pixel_values.len() != 3 * h * w || h == 0 || w == 0 {
            return Err(Error::InvalidInput {
                detail: format!(
                    "pixel_values has {} values, expected 3 x {h} x {w} = {}",
                    pixel_values.len(),
                    3 * h * w
                ),
            });
        }
        let wrap = |source| Error::Inference {
            stage: Component::VisionEncoder,
            source,
        };
        let input = Tensor::from_array(([1usize, 3, h, w], pixel_values.to_vec())).map_err(wrap)?;
        let run_options = cancel.run_options()?;
        let outputs = self
            .vision
            .run_with_options(ort::inputs!["pixel_values" => input], &run_options)
            .map_err(|e| cancelled_or(wrap(e), cancel))?;
        let features = outputs.get("image_features").ok_or_else(|| Error::InvalidInput {
            detail: "vision encoder returned no image_features".into(),
        })?;
        let (shape, data) = features.try_extract_tensor::<f32>().map_err(wrap)?;
        let d = self.config.d_model;
        if shape.len() != 3 || usize::try_from(shape[2]).ok() != Some(d) {
            return Err(Error::InvalidInput {
                detail: format!("image_features has shape {shape:?}, expected [1, N, {d}]"),
            });
        }
        let tokens = usize::try_from(shape[1]).unwrap_or(0);
        Ok(EncodedImage {
            features: data.to_vec(),
            tokens,
            width,
            height,
        })
    }

    /// Tokenises a prompt string (`<s>` … `</s>`).
    pub fn encode_prompt(&self, prompt: &str) -> Result<Vec<i64>> {
        self.tokenizer.encode(prompt)
    }

    /// Text encoder over `[image tokens ; prompt embeddings]`: returns `(hidden, sequence length)`.
    fn encode_text(
        &mut self,
        image: &EncodedImage,
        input_ids: &[i64],
        cancel: &CancelFlag,
    ) -> Result<(Vec<f32>, usize)> {
        let run_options = cancel.run_options()?;
        let d = self.config.d_model;
        let seq = image.tokens + input_ids.len();
        if input_ids.is_empty() {
            return Err(Error::InvalidInput {
                detail: "empty prompt".into(),
            });
        }
        if seq > self.config.max_position_embeddings {
            return Err(Error::InvalidInput {
                detail: format!(
                    "prompt too long: {} image tokens + {} prompt tokens exceed the encoder's {} positions",
                    image.tokens,
                    input_ids.len(),
                    self.config.max_position_embeddings
                ),
            });
        }
        let embed_err = |source| Error::Inference {
            stage: Component::EmbedTokens,
            source,
        };
        let ids = Tensor::from_array(([1usize, input_ids.len()], input_ids.to_vec())).map_err(embed_err)?;
        let out = self
            .embed
            .run_with_options(ort::inputs!["input_ids" => ids], &run_options)
            .map_err(embed_err)?;
        let (_, text) = out
            .get("inputs_embeds")
            .ok_or_else(|| Error::InvalidInput {
                detail: "embed_tokens returned no inputs_embeds".into(),
            })?
            .try_extract_tensor::<f32>()
            .map_err(embed_err)?;
        let mut embeds = Vec::with_capacity(seq * d);
        embeds.extend_from_slice(&image.features);
        embeds.extend_from_slice(text);
        drop(out);
        let enc_err = |source| Error::Inference {
            stage: Component::TextEncoder,
            source,
        };
        let embeds = Tensor::from_array(([1usize, seq, d], embeds)).map_err(enc_err)?;
        let mask = Tensor::from_array(([1usize, seq], vec![1i64; seq])).map_err(enc_err)?;
        let out = self
            .encoder
            .run_with_options(
                ort::inputs!["inputs_embeds" => embeds, "attention_mask" => mask],
                &run_options,
            )
            .map_err(enc_err)?;
        let (_, hidden) = out
            .get("last_hidden_state")
            .ok_or_else(|| Error::InvalidInput {
                detail: "encoder returned no last_hidden_state".into(),
            })?
            .try_extract_tensor::<f32>()
            .map_err(enc_err)?;
        Ok((hidden.to_vec(), seq))
    }

    /// Resolves per-call options against generation_config and validates them.
    pub fn search_options(&self, options: &GenerateOptions) -> Result<SearchOptions> {
        let g = &self.generation;
        let max_new_tokens = options
            .max_new_tokens
            .or(g.max_new_tokens)
            .or(g.max_length.map(|l| l.saturating_sub(1)))
            .unwrap_or(DEFAULT_MAX_NEW_TOKENS);
        let num_beams = options.num_beams.unwrap_or(g.num_beams.max(1));
        if max_new_tokens == 0 {
            return Err(Error::InvalidInput {
                detail: "max_new_tokens must be at least 1".into(),
            });
        }
        if max_new_tokens + 1 > self.config.max_position_embeddings {
            return Err(Error::InvalidInput {
                detail: format!(
                    "max_new_tokens {max_new_tokens} exceeds the decoder's {} positions",
                    self.config.max_position_embeddings
                ),
            });
        }
        if num_beams == 0 || num_beams > 64 {
            return Err(Error::InvalidInput {
                detail: format!("num_beams must be 1..=64, got {num_beams}"),
            });
        }
        Ok(SearchOptions {
            max_new_tokens,
            num_beams,
            length_penalty: options.length_penalty.unwrap_or(g.length_penalty),
            early_stopping: options.early_stopping.unwrap_or(g.early_stopping),
            decoder_start_token_id: g.decoder_start_token_id,
            eos_token_id: g.eos_token_id,
            processors: Processors {
                no_repeat_ngram_size: g.no_repeat_ngram_size,
                forced_bos_token_id: g.forced_bos_token_id,
                forced_eos_token_id: g.forced_eos_token_id,
                max_length: max_new_tokens + 1,
            },
        })
    }

    /// Encodes the prompt with the image and decodes: greedy when `num_beams` is 1, else beam search.
    /// Returns the generated ids (starting with the decoder start token) and stage timings.
    pub fn generate(
        &mut self,
        image: &EncodedImage,
        input_ids: &[i64],
        options: &GenerateOptions,
        cancel: &CancelFlag,
        observer: &mut dyn TokenObserver,
    ) -> Result<(Generated, Timings)> {
        let search = self.search_options(options)?;
        let t0 = Instant::now();
        let (hidden, seq) = self
            .encode_text(image, input_ids, cancel)
            .map_err(|e| cancelled_or(e, cancel))?;
        let t1 = Instant::now();
        if cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        let rows = search.num_beams;
        let encoder = EncoderState::new(&hidden, seq, self.config.d_model, rows)?;
        let mut model = OrtStepModel::new(
            &mut self.decoder,
            &mut self.embed,
            &self.layout,
            encoder,
            rows,
            self.config.d_model,
            cancel.run_options()?,
        )?;
        let generated = if rows == 1 {
            generate::greedy_search(&mut model, &search, cancel, observer)
        } else {
            generate::beam_search(&mut model, &search, cancel, observer)
        }
        .map_err(|e| cancelled_or(e, cancel))?;
        let t2 = Instant::now();
        let timings = Timings {
            encoder: ms(t1 - t0),
            decoder: ms(t2 - t1),
            total: ms(t2 - t0),
            ..Timings::default()
        };
        Ok((generated, timings))
    }
}

impl Florence2 {
    /// Runs `task` (with its text input, if it takes one) on an encoded image: prompt, generation,
    /// decoding with special tokens kept, and post-processing into a typed result. `observer` sees the
    /// ids after every step (streaming); `cancel` is checked between steps.
    pub fn run(
        &mut self,
        image: &EncodedImage,
        task: Task,
        text: Option<&str>,
        options: &GenerateOptions,
        cancel: &CancelFlag,
        observer: &mut dyn TokenObserver,
    ) -> Result<TaskRun> {
        let prompt = task.prompt(text)?;
        let input_ids = self.tokenizer.encode(&prompt)?;
        let (generated, timings) = self.generate(image, &input_ids, options, cancel, observer)?;
        let text = self.tokenizer.decode(&generated.ids)?;
        let output = post_process(task, &text, image.width, image.height);
        Ok(TaskRun {
            task,
            prompt,
            input_ids,
            generated,
            text,
            output,
            timings,
        })
    }
}

/// Streams the decoded text so far to a callback after every step: `callback(text, newest_id)`,
/// special tokens kept; returning `false` cancels. For beam search the text is the best running
/// beam's, which may change more than its last token from one step to the next.
pub struct TextStream<F: FnMut(&str, u32) -> bool> {
    tokenizer: Arc<PromptTokenizer>,
    callback: F,
}

impl<F: FnMut(&str, u32) -> bool> TextStream<F> {
    /// Wraps `callback`, decoding with `tokenizer` (see [`Florence2::tokenizer`]).
    pub fn new(tokenizer: Arc<PromptTokenizer>, callback: F) -> Self {
        Self { tokenizer, callback }
    }
}

impl<F: FnMut(&str, u32) -> bool> TokenObserver for TextStream<F> {
    fn on_step(&mut self, ids: &[u32]) -> bool {
        let Some(&last) = ids.last() else { return true };
        match self.tokenizer.decode(ids) {
            Ok(text) => (self.callback)(&text, last),
            Err(_) => true,
        }
    }
}

/// An ONNX Runtime failure caused by a terminated run is reported as what it is: a cancellation.
fn cancelled_or(error: Error, cancel: &CancelFlag) -> Error {
    if cancel.is_cancelled() {
        Error::Cancelled
    } else {
        error
    }
}

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
