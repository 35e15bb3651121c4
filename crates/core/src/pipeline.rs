//! The façade: load a model folder, encode images once, run any task on them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use florence2_preprocess::{ImageSource, PreprocessConfig, Preprocessor};
use ort::session::Session;

use crate::cancel::CancelFlag;
use crate::config::{GenerationConfig, ModelConfig};
use crate::embedding::{EmbeddingLookup, EmbeddingSource, TokenEmbeddings};
use crate::error::{Error, Result};
use crate::execution_provider::{ExecutionProvider, SessionProvider};
use crate::generate::{Generated, ListenerError, ListenerReply, SearchOptions, TokenObserver};
use crate::model_files::{Component, ModelFiles, PrecisionPlan};
pub use crate::request::{DEFAULT_MAX_NEW_TOKENS, GenerateOptions};
use crate::request::{TaskPlan, TaskPlanner, TaskRequest};
use crate::runtime::OnnxRuntime;
use crate::session::{SessionOptions, check_contract, load_session};
use crate::task::{Task, TaskOutput};
use crate::text::TextGenerator;
use crate::tokenizer::PromptTokenizer;
use crate::vision::{EncodedImage, VisionEncoder};

/// How to load a model.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Precision per component.
    pub precision: PrecisionPlan,
    /// Session settings (threads, optimisation, execution provider).
    pub session: SessionOptions,
    /// An explicit ONNX Runtime library (else the default lookup, see [`OnnxRuntime::init`]).
    pub onnx_runtime: Option<PathBuf>,
    /// How token embeddings are looked up (default: straight from the file, no resident table).
    pub embeddings: EmbeddingLookup,
    /// Load the vision graph on a second thread while the text graphs load. Off by default: the
    /// two graphs' load transients then overlap. On the base model that made loading 1.5–1.7×
    /// faster but raised the process's peak RSS by ≈ 230 MB (fp32) and ≈ 120 MB (int8).
    pub parallel_load: bool,
}

/// The text graphs other than the decoder, and their provider reports, as loaded.
struct TextRest {
    embed: (TokenEmbeddings, EmbeddingSource),
    encoder: Session,
    /// Embeddings, text encoder.
    reports: [SessionProvider; 2],
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
///
/// It is made of two independent halves, [`VisionEncoder`] and [`TextGenerator`]; take them apart
/// with [`Florence2::into_parts`] (or borrow both with [`Florence2::parts_mut`]) to encode one image
/// while another is being decoded.
pub struct Florence2 {
    files: ModelFiles,
    vision: VisionEncoder,
    text: TextGenerator,
    providers: Vec<SessionProvider>,
}

impl std::fmt::Debug for Florence2 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Florence2")
            .field("root", &self.files.root)
            .field("config", self.text.config())
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
        let generation: GenerationConfig = GenerationConfig::load(&files.generation_config)?;
        let tokenizer = Arc::new(PromptTokenizer::load(&files.tokenizer, config.vocab_size)?);
        // A bad preprocessor_config.json is a broken model folder (naming the file), not bad input.
        let bad_preprocessor = |e: florence2_preprocess::PreprocessError| Error::Config {
            path: files.preprocessor_config.clone(),
            detail: e.to_string(),
        };
        let preprocessor = PreprocessConfig::from_file(&files.preprocessor_config)
            .and_then(Preprocessor::new)
            .map_err(bad_preprocessor)?;
        let open = |component: Component| -> Result<(Session, SessionProvider)> {
            let path = files.graph(component);
            let (session, provider) = load_session(&runtime, component, path, &options.session)?;
            check_contract(&session, component, path, &config)?;
            Ok((session, provider))
        };
        // The merged decoder first: loading a graph briefly takes about twice its file size
        // (parsed protobuf + initialisers + prepacked weights), so the largest graph is loaded while
        // nothing else is resident, which lowers the process's peak (docs/memory.md). Then the
        // vision graph, then the smaller text graphs (this order measured lowest).
        let load_text_rest = || -> Result<TextRest> {
            let embed_path = files.graph(Component::EmbedTokens);
            let (embed, embed_source, embed_report) =
                match TokenEmbeddings::plan_table(embed_path, options.embeddings) {
                    Ok(table) => {
                        TokenEmbeddings::check_table(&table, embed_path, config.d_model, config.vocab_size)?;
                        let path = table.path().to_path_buf();
                        (
                            TokenEmbeddings::Table(table),
                            EmbeddingSource::File { path },
                            file_lookup_report(options.session.provider.provider),
                        )
                    }
                    Err(reason) => {
                        let (session, report) = open(Component::EmbedTokens)?;
                        (
                            TokenEmbeddings::Session(session),
                            EmbeddingSource::Session { reason },
                            report,
                        )
                    }
                };
            let (encoder, encoder_report) = open(Component::TextEncoder)?;
            Ok(TextRest {
                embed: (embed, embed_source),
                encoder,
                reports: [embed_report, encoder_report],
            })
        };
        // With `parallel_load`, the vision graph loads on its own thread meanwhile. Errors are
        // reported in the sequential order either way (decoder, vision, embeddings, text encoder).
        let (decoder, vision, text) = if options.parallel_load {
            std::thread::scope(|scope| {
                let vision = scope.spawn(|| open(Component::VisionEncoder));
                let text = open(Component::Decoder).map(|decoder| (decoder, load_text_rest()));
                let vision = vision
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                let (decoder, rest) = text?;
                let vision = vision?;
                Ok::<_, Error>((decoder, vision, rest?))
            })?
        } else {
            let decoder = open(Component::Decoder)?;
            let vision = open(Component::VisionEncoder)?;
            (decoder, vision, load_text_rest()?)
        };
        let (vision, vision_report) = vision;
        let vision = VisionEncoder::new(
            vision,
            preprocessor,
            config.d_model,
            options.session.release_vision_memory,
        );
        let (decoder, decoder_report) = decoder;
        let [embed_report, encoder_report] = text.reports;
        // Pipeline order: vision, embed, encoder, decoder.
        let providers = vec![vision_report, embed_report, encoder_report, decoder_report];
        let (embed, encoder) = (text.embed, text.encoder);
        let [_, h, w] = vision.preprocessor().output_shape();
        let planner = Arc::new(TaskPlanner::new(
            tokenizer,
            &config,
            generation,
            config.image_tokens(h, w),
        ));
        let text = TextGenerator::new(config, planner, embed, encoder, decoder);
        Ok(Self {
            files,
            vision,
            text,
            providers,
        })
    }

    /// The execution provider each graph's session got, in pipeline order (see
    /// [`SessionProvider`]; CPU after a fallback, with the reason).
    pub fn execution_providers(&self) -> &[SessionProvider] {
        &self.providers
    }

    /// The model's architecture numbers.
    pub fn config(&self) -> &ModelConfig {
        self.text.config()
    }

    /// Where the token embeddings come from (the file, or a session and why).
    pub fn embedding_source(&self) -> &EmbeddingSource {
        self.text.embedding_source()
    }

    /// The model's decoding defaults.
    pub fn generation_config(&self) -> &GenerationConfig {
        self.text.generation_config()
    }

    /// The tokenizer (shared: cheap to clone, e.g. for decoding in a streaming callback).
    pub fn tokenizer(&self) -> &Arc<PromptTokenizer> {
        self.text.tokenizer()
    }

    /// The resolved files.
    pub fn files(&self) -> &ModelFiles {
        &self.files
    }

    /// Both halves, borrowed separately.
    pub fn parts_mut(&mut self) -> (&mut VisionEncoder, &mut TextGenerator) {
        (&mut self.vision, &mut self.text)
    }

    /// Takes the model apart into its files, vision half and text half (e.g. to put each behind
    /// its own lock).
    pub fn into_parts(self) -> (ModelFiles, VisionEncoder, TextGenerator) {
        (self.files, self.vision, self.text)
    }

    /// See [`VisionEncoder::encode_image`].
    pub fn encode_image<'a>(
        &mut self,
        image: impl Into<ImageSource<'a>>,
        cancel: &CancelFlag,
    ) -> Result<(EncodedImage, f64)> {
        self.vision.encode_image(image, cancel)
    }

    /// See [`VisionEncoder::encode_pixels`].
    pub fn encode_pixels(
        &mut self,
        pixel_values: &[f32],
        h: usize,
        w: usize,
        width: u32,
        height: u32,
        cancel: &CancelFlag,
    ) -> Result<EncodedImage> {
        self.vision
            .encode_pixels(pixel_values, h, w, width, height, cancel)
    }

    /// See [`TextGenerator::encode_prompt`].
    pub fn encode_prompt(&self, prompt: &str) -> Result<Vec<i64>> {
        self.text.encode_prompt(prompt)
    }

    /// See [`TaskPlanner::search_options`].
    pub fn search_options(&self, options: &GenerateOptions) -> Result<SearchOptions> {
        self.text.search_options(options)
    }

    /// The planner that checks requests against this model (see [`TaskPlanner::plan`]).
    pub fn planner(&self) -> &Arc<TaskPlanner> {
        self.text.planner()
    }

    /// See [`TaskPlanner::plan`].
    pub fn plan(&self, request: &TaskRequest, image_size: Option<(u32, u32)>) -> Result<TaskPlan> {
        self.text.planner().plan(request, image_size)
    }

    /// How many times the vision encoder has been started (see [`VisionEncoder::runs`]).
    pub fn vision_runs(&self) -> u64 {
        self.vision.runs()
    }

    /// See [`TextGenerator::generate`].
    pub fn generate(
        &mut self,
        image: &EncodedImage,
        input_ids: &[i64],
        search: &SearchOptions,
        cancel: &CancelFlag,
        observer: &mut dyn TokenObserver,
    ) -> Result<(Generated, Timings)> {
        self.text.generate(image, input_ids, search, cancel, observer)
    }

    /// See [`TextGenerator::run_plan`].
    pub fn run_plan(
        &mut self,
        image: &EncodedImage,
        plan: &TaskPlan,
        cancel: &CancelFlag,
        observer: &mut dyn TokenObserver,
    ) -> Result<TaskRun> {
        self.text.run_plan(image, plan, cancel, observer)
    }

    /// See [`TextGenerator::run`].
    pub fn run(
        &mut self,
        image: &EncodedImage,
        task: Task,
        text: Option<&str>,
        options: &GenerateOptions,
        cancel: &CancelFlag,
        observer: &mut dyn TokenObserver,
    ) -> Result<TaskRun> {
        self.text.run(image, task, text, options, cancel, observer)
    }
}

/// Streams the decoded text so far to a callback after every step: `callback(text, newest_id)`,
/// special tokens kept; the callback returns `true` to go on, `false` to cancel, or (as a
/// `Result`) a [`ListenerError`] to fail the call. For beam search the text is the best running
/// beam's, which may change more than its last token from one step to the next.
pub struct TextStream<F> {
    tokenizer: Arc<PromptTokenizer>,
    callback: F,
}

impl<F, R> TextStream<F>
where
    F: FnMut(&str, u32) -> R,
    R: ListenerReply,
{
    /// Wraps `callback`, decoding with `tokenizer` (see [`Florence2::tokenizer`]).
    pub fn new(tokenizer: Arc<PromptTokenizer>, callback: F) -> Self {
        Self { tokenizer, callback }
    }
}

impl<F, R> TokenObserver for TextStream<F>
where
    F: FnMut(&str, u32) -> R,
    R: ListenerReply,
{
    fn on_step(&mut self, ids: &[u32]) -> std::result::Result<bool, ListenerError> {
        let Some(&last) = ids.last() else {
            return Ok(true);
        };
        match self.tokenizer.decode(ids) {
            Ok(text) => (self.callback)(&text, last).into_reply(),
            Err(_) => Ok(true),
        }
    }
}

/// An ONNX Runtime failure caused by a terminated run is reported as what it is: a cancellation.
pub(crate) fn cancelled_or(error: Error, cancel: &CancelFlag) -> Error {
    if cancel.is_cancelled() {
        Error::Cancelled
    } else {
        error
    }
}

pub(crate) fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The provider report for embeddings read from the file: CPU, no ONNX Runtime session.
fn file_lookup_report(requested: ExecutionProvider) -> SessionProvider {
    SessionProvider {
        component: Component::EmbedTokens,
        requested,
        active: ExecutionProvider::Cpu,
        fallback_reason: (requested != ExecutionProvider::Cpu).then(|| {
            format!(
                "{}: a table lookup, read row by row from the model file on the CPU (no ONNX Runtime session)",
                Component::EmbedTokens
            )
        }),
    }
}
