//! What a caller asks for, checked against the model before any model runs.
//!
//! A [`TaskRequest`] (task, its input, decoding options) becomes a [`TaskPlan`] (prompt ids and
//! resolved search settings) through the model's [`TaskPlanner`]. Planning only tokenises a prompt
//! and compares numbers, so the CLI and the SDK plan every request before they decode an image or
//! run the vision encoder: a missing text, a bad region, a prompt that cannot fit or an impossible
//! option is reported at once, for the price of a few microseconds.

use std::sync::Arc;

use florence2_preprocess::ResizeMode;

use crate::config::{GenerationConfig, ModelConfig};
use crate::error::{Error, Result};
use crate::generate::{Processors, SearchOptions};
use crate::task::{PixelBox, Task};
use crate::tokenizer::PromptTokenizer;

/// Per-call settings; `None` fields take the model's defaults (`generation_config.json` for
/// decoding, the load options for the resize mode).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunOptions {
    /// Tokens to generate at most (default: `generation_config.json`'s limit, else
    /// [`DEFAULT_MAX_NEW_TOKENS`], never more than the decoder has positions).
    pub max_new_tokens: Option<usize>,
    /// Beam width (default: generation_config's `num_beams`, 3 for Florence-2).
    pub num_beams: Option<usize>,
    /// How the image is brought to the model's size (default: the model's, see
    /// [`LoadOptions::resize_mode`](crate::LoadOptions::resize_mode)): `Reference` is exact with
    /// transformers, `Fast` is for camera frames.
    pub resize_mode: Option<ResizeMode>,
}

/// Default `max_new_tokens` when neither the call nor generation_config sets one: long enough for
/// polygons (shorter limits truncate segmentation masks, a common complaint), and what Microsoft's
/// samples pass. Models with fewer decoder positions get their number of positions instead.
pub const DEFAULT_MAX_NEW_TOKENS: usize = 1024;

/// The widest beam search accepted (each beam is one decoder row per step).
pub const MAX_BEAMS: usize = 64;

/// The input a task takes besides the image.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskInput {
    /// No input (captions, `<OD>`, OCR, …).
    None,
    /// A phrase, expression or query (grounding, segmentation, open-vocabulary detection), or
    /// a region as four `<loc_N>` tokens.
    Text(String),
    /// A region in the image's pixels (region tasks); turned into `<loc_N>` tokens once the image
    /// size is known.
    Region(PixelBox),
}

/// One task call: the task, its input and the decoding options.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRequest {
    /// The task.
    pub task: Task,
    /// Its input.
    pub input: TaskInput,
    /// Decoding settings (`None` fields: the model's defaults).
    pub options: RunOptions,
}

impl TaskRequest {
    /// A request with no text input and the model's default options.
    pub fn new(task: Task) -> Self {
        Self {
            task,
            input: TaskInput::None,
            options: RunOptions::default(),
        }
    }

    /// A request with an optional text input (`None` or `""`: no input).
    pub fn with_text(task: Task, text: Option<&str>) -> Self {
        let input = match text {
            Some(text) => TaskInput::Text(text.to_owned()),
            None => TaskInput::None,
        };
        Self {
            input,
            ..Self::new(task)
        }
    }

    /// This request with other decoding options.
    #[must_use]
    pub fn with_options(mut self, options: RunOptions) -> Self {
        self.options = options;
        self
    }
}

/// A request checked against the model: the prompt, its ids and the resolved search settings.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskPlan {
    /// The task.
    pub task: Task,
    /// The prompt that is tokenised.
    pub prompt: String,
    /// Its ids, `<s>` … `</s>`.
    pub input_ids: Vec<i64>,
    /// Decoding settings with every default resolved.
    pub search: SearchOptions,
}

/// Checks requests against one model and turns them into [`TaskPlan`]s. Cheap to share: the
/// vision and text halves of a model, the CLI and the SDK all use the same one.
#[derive(Debug, Clone)]
pub struct TaskPlanner {
    tokenizer: Arc<PromptTokenizer>,
    generation: GenerationConfig,
    /// Decoder positions = text encoder positions (`max_position_embeddings`).
    max_positions: usize,
    /// Image tokens the vision encoder produces at the preprocessor's output size.
    image_tokens: usize,
}

impl TaskPlanner {
    /// A planner for a model with these configs, whose vision encoder yields `image_tokens` tokens.
    pub fn new(
        tokenizer: Arc<PromptTokenizer>,
        config: &ModelConfig,
        generation: GenerationConfig,
        image_tokens: usize,
    ) -> Self {
        Self {
            tokenizer,
            generation,
            max_positions: config.max_position_embeddings,
            image_tokens,
        }
    }

    /// The tokenizer (shared).
    pub fn tokenizer(&self) -> &Arc<PromptTokenizer> {
        &self.tokenizer
    }

    /// The model's decoding defaults.
    pub fn generation_config(&self) -> &GenerationConfig {
        &self.generation
    }

    /// Image tokens per encoded image.
    pub fn image_tokens(&self) -> usize {
        self.image_tokens
    }

    /// The most new tokens a call may ask for: one decoder position per generated token (the
    /// last token is predicted from position `n - 1`), so exactly the decoder's positions.
    pub fn max_new_tokens_limit(&self) -> usize {
        self.max_positions
    }

    /// The longest prompt, in tokens, that fits next to the image tokens in the text encoder.
    pub fn max_prompt_tokens(&self) -> usize {
        self.max_positions.saturating_sub(self.image_tokens)
    }

    /// Resolves per-call options against generation_config and checks them.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for `max_new_tokens` of 0 or beyond the decoder's positions, or
    /// `num_beams` outside `1..=64`. (Length penalty and early stopping are the model's, from
    /// `generation_config.json`.)
    pub fn search_options(&self, options: &RunOptions) -> Result<SearchOptions> {
        let g = &self.generation;
        let limit = self.max_new_tokens_limit();
        let max_new_tokens = match options.max_new_tokens {
            Some(0) => {
                return Err(Error::InvalidOption {
                    option: "max_new_tokens",
                    detail: "must be at least 1".into(),
                });
            }
            Some(n) if n > limit => {
                return Err(Error::InvalidOption {
                    option: "max_new_tokens",
                    detail: format!(
                        "{n} exceeds the decoder's {limit} positions (max_position_embeddings): at most {limit}"
                    ),
                });
            }
            Some(n) => n,
            // A model's own default never fails a call: it is capped at the positions.
            None => g
                .max_new_tokens
                .or(g.max_length.map(|l| l.saturating_sub(1)))
                .unwrap_or(DEFAULT_MAX_NEW_TOKENS)
                .clamp(1, limit.max(1)),
        };
        let num_beams = options.num_beams.unwrap_or(g.num_beams.max(1));
        if num_beams == 0 || num_beams > MAX_BEAMS {
            return Err(Error::InvalidOption {
                option: "num_beams",
                detail: format!("must be 1..={MAX_BEAMS}, got {num_beams}"),
            });
        }
        Ok(SearchOptions {
            max_new_tokens,
            num_beams,
            length_penalty: g.length_penalty,
            early_stopping: g.early_stopping,
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

    /// Checks `request` and builds its prompt ids and search settings.
    ///
    /// `image_size` (width, height in pixels) places a [`TaskInput::Region`] in the image; without
    /// it, the region is checked for finite coordinates and the prompt is measured with a
    /// placeholder of the same length (four `<loc_N>` tokens), so a request can be checked before
    /// its image is even decoded. Plan again with the size before running.
    ///
    /// # Errors
    /// [`Error::Task`] for a missing, unexpected or malformed input; [`Error::PromptTooLong`] when
    /// the prompt and the image tokens exceed the text encoder's positions; the errors of
    /// [`TaskPlanner::search_options`]; [`Error::Tokenizer`] if the tokenizer fails.
    pub fn plan(&self, request: &TaskRequest, image_size: Option<(u32, u32)>) -> Result<TaskPlan> {
        let task = request.task;
        let search = self.search_options(&request.options)?;
        let prompt = match (&request.input, image_size) {
            (TaskInput::None, _) => task.prompt(None)?,
            (TaskInput::Text(text), _) => task.prompt(Some(text))?,
            (TaskInput::Region(region), Some((width, height))) => {
                task.region_prompt(*region, width, height)?
            }
            (TaskInput::Region(region), None) => {
                // Same token count as any real region; the coordinates are checked on a 1x1 image.
                region.to_bins(1, 1)?;
                task.region_prompt(PixelBox::new(0.0, 0.0, 0.0, 0.0), 1, 1)?
            }
        };
        let input_ids = self.tokenizer.encode(&prompt)?;
        if input_ids.len() > self.max_prompt_tokens() {
            return Err(Error::PromptTooLong {
                prompt_tokens: input_ids.len(),
                image_tokens: self.image_tokens,
                max_positions: self.max_positions,
            });
        }
        Ok(TaskPlan {
            task,
            prompt,
            input_ids,
            search,
        })
    }
}
