//! Loading a model folder: configs, tokenizer, preprocessor and the four graphs, each checked
//! against the tensor contract, assembled into the two halves of a model.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use florence2_preprocess::{DecodeLimits, PreprocessConfig, PreprocessError, Preprocessor, ResizeMode};
use ort::session::Session;

use crate::config::{GenerationConfig, ModelConfig};
use crate::decoder::DecoderLayout;
use crate::decoder_step::{StepDecoder, check_max_positions, check_metadata};
use crate::embedding::{EmbeddingLookup, EmbeddingSource, TokenEmbeddings};
use crate::error::{Error, Result};
use crate::graph::{ModelGraph, PrecisionPlan};
use crate::memory::MemoryMode;
use crate::model_files::ModelFiles;
use crate::provider::{ExecutionProvider, SessionProvider};
use crate::request::TaskPlanner;
use crate::runtime::OnnxRuntime;
use crate::session::{SessionOptions, StepGraph, check_contract, check_step_contract, load_session};
use crate::text::{ReopenText, TextDecoder, TextGenerator, TextParts};
use crate::tokenizer::PromptTokenizer;
use crate::vision::{ReopenVision, VisionEncoder};

/// How to load a model.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Precision per graph.
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
    /// Hand the vision encoder's activation memory (≈ 0.3 GB at 768², base or large) back to the
    /// system after each image instead of keeping it reserved in ONNX Runtime's arena while the
    /// text half runs and while the model sits idle. Costs the page faults of touching that
    /// memory again on the next image (a few percent of the vision time). On by default: an app's
    /// resident memory matters more on a phone than those milliseconds.
    pub release_vision_memory: bool,
    /// The largest image accepted (pixels, EXIF handling) for every image input: encoded images
    /// are refused from their header, raw buffers from their declared size, before anything of
    /// their size is allocated.
    pub image_limits: DecodeLimits,
    /// How images are brought to the model's size unless a call says otherwise
    /// ([`RunOptions::resize_mode`](crate::RunOptions::resize_mode)). `Reference` (the default)
    /// is exact with transformers; `Fast` suits camera frames (about half the preprocessing time,
    /// about one grey level of deviation; see `florence2_preprocess`).
    pub resize_mode: ResizeMode,
    /// How much memory the loaded model keeps resident ([`MemoryMode::Standard`] by default;
    /// [`MemoryMode::Low`] never keeps the vision and text halves resident together, at the cost
    /// of loading them again for every image). `Low` cannot be combined with `parallel_load`
    /// (which holds both halves' load transients at once) nor with `release_vision_memory` off
    /// (the vision half is unloaded after each image anyway).
    pub memory_mode: MemoryMode,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            precision: PrecisionPlan::default(),
            session: SessionOptions::default(),
            onnx_runtime: None,
            embeddings: EmbeddingLookup::default(),
            parallel_load: false,
            release_vision_memory: true,
            image_limits: DecodeLimits::default(),
            resize_mode: ResizeMode::Reference,
            memory_mode: MemoryMode::Standard,
        }
    }
}

impl LoadOptions {
    /// Rejects options that contradict each other or that no session could honour, before
    /// anything is loaded.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] naming the option.
    pub fn validate(&self) -> Result<()> {
        self.session.validate()?;
        if self.image_limits.max_pixels() == 0 {
            return Err(Error::InvalidOption {
                option: "max_image_pixels",
                detail: "0 would refuse every image".into(),
            });
        }
        if self.memory_mode == MemoryMode::Low {
            if self.parallel_load {
                return Err(Error::InvalidOption {
                    option: "memory_mode",
                    detail: "the low-memory mode loads one half of the model at a time; \
                             parallel_load would load both at once (turn one of them off)"
                        .into(),
                });
            }
            if !self.release_vision_memory {
                return Err(Error::InvalidOption {
                    option: "memory_mode",
                    detail: "the low-memory mode unloads the vision graph after each image; \
                             keeping its memory (release_vision_memory off) contradicts it"
                        .into(),
                });
            }
        }
        Ok(())
    }
}

/// A loaded model, in parts.
pub(crate) struct Loaded {
    pub files: ModelFiles,
    pub vision: VisionEncoder,
    pub text: TextGenerator,
    pub planner: Arc<TaskPlanner>,
    pub config: ModelConfig,
    pub embedding_source: EmbeddingSource,
    /// In pipeline order: vision, embeddings, text encoder, decoder.
    pub providers: Vec<SessionProvider>,
}

/// What the graphs of a model folder need besides their files: everything to open any graph
/// again later (the low-memory mode reloads a half on demand).
struct Loader {
    runtime: OnnxRuntime,
    files: ModelFiles,
    config: ModelConfig,
    options: LoadOptions,
}

impl Loader {
    /// Opens one graph and checks it against the contract.
    fn open(&self, graph: ModelGraph) -> Result<(Session, SessionProvider)> {
        let path = self.files.graph(graph);
        let (session, provider) = load_session(&self.runtime, graph, path, &self.options.session)?;
        check_contract(&session, graph, path, &self.config)?;
        Ok((session, provider))
    }

    /// The vision graph, opened and checked.
    fn vision_session(&self) -> Result<Session> {
        Ok(self.open(ModelGraph::VisionEncoder)?.0)
    }

    /// The text half's graphs, opened and checked (decoder first: the largest load transient
    /// while the least is resident).
    fn text_parts(&self) -> Result<TextParts> {
        let (decoder, _) = self.decoder()?;
        let (embed, _, _) = self.embeddings()?;
        let (encoder, _) = self.open(ModelGraph::TextEncoder)?;
        Ok(TextParts {
            embed,
            encoder,
            decoder,
        })
    }

    /// The decoder: the optimised layout when the folder holds it (metadata and both graphs'
    /// contracts checked), else the merged decoder.
    fn decoder(&self) -> Result<(TextDecoder, SessionProvider)> {
        let Some(files) = &self.files.decoder_step else {
            let (session, report) = self.open(ModelGraph::Decoder)?;
            let layout = DecoderLayout::new(
                &session,
                self.config.decoder_layers,
                self.config.decoder_attention_heads,
                self.config.decoder_head_dim(),
                self.config.vocab_size,
            );
            return Ok((TextDecoder::Merged { session, layout }, report));
        };
        let session_options = &self.options.session;
        let (step, report) = load_session(&self.runtime, ModelGraph::Decoder, &files.step, session_options)?;
        check_metadata(&step, &files.step, "decoder_step")?;
        check_max_positions(&step, &files.step, &self.config)?;
        check_step_contract(&step, StepGraph::Step, &files.step, &self.config)?;
        let (cross, _) = load_session(
            &self.runtime,
            ModelGraph::Decoder,
            &files.cross_kv,
            session_options,
        )?;
        check_metadata(&cross, &files.cross_kv, "decoder_cross_kv")?;
        check_step_contract(&cross, StepGraph::CrossKv, &files.cross_kv, &self.config)?;
        // The step's token rows come from the `embed_tokens` of the decoder's precision; when that
        // is the prompt's embedding file too, the text generator shares one.
        let own_embed = if files.embed_tokens == self.files.graph(ModelGraph::EmbedTokens) {
            None
        } else {
            if !files.embed_tokens.is_file() {
                return Err(Error::ModelFileMissing {
                    graph: ModelGraph::EmbedTokens,
                    precision: self.options.precision.get(ModelGraph::Decoder),
                    path: files.embed_tokens.clone(),
                    available: Vec::new(),
                });
            }
            Some(self.embeddings_at(&files.embed_tokens)?.0)
        };
        let decoder = StepDecoder::new(step, cross, files.step.clone(), &self.config);
        Ok((
            TextDecoder::Step {
                decoder: Box::new(decoder),
                embed: own_embed,
            },
            report,
        ))
    }

    /// The token embeddings: read from the file when the graph is a plain lookup, else a session.
    fn embeddings(&self) -> Result<(TokenEmbeddings, EmbeddingSource, SessionProvider)> {
        self.embeddings_at(self.files.graph(ModelGraph::EmbedTokens))
    }

    /// [`Loader::embeddings`] of the `embed_tokens` file at `path`.
    fn embeddings_at(&self, path: &Path) -> Result<(TokenEmbeddings, EmbeddingSource, SessionProvider)> {
        match TokenEmbeddings::plan_table(path, self.options.embeddings) {
            Ok(table) => {
                TokenEmbeddings::check_table(&table, path, self.config.d_model, self.config.vocab_size)?;
                let source = EmbeddingSource::File {
                    path: table.path().to_path_buf(),
                };
                let report = file_lookup_report(self.options.session.provider.provider);
                Ok((TokenEmbeddings::Table(table), source, report))
            }
            Err(reason) => {
                let (session, report) = load_session(
                    &self.runtime,
                    ModelGraph::EmbedTokens,
                    path,
                    &self.options.session,
                )?;
                check_contract(&session, ModelGraph::EmbedTokens, path, &self.config)?;
                Ok((
                    TokenEmbeddings::Session(session),
                    EmbeddingSource::Session { reason },
                    report,
                ))
            }
        }
    }
}

/// The sessions of a model after `load`, with their provider reports.
struct Sessions {
    vision: Session,
    /// `None` when the text half was checked and unloaded (low-memory mode).
    text: Option<TextParts>,
    /// Whether the decoder is the optimised layout.
    step_decoder: bool,
    embedding_source: EmbeddingSource,
    /// In pipeline order: vision, embeddings, text encoder, decoder.
    providers: Vec<SessionProvider>,
}

impl Sessions {
    /// Assembles the loaded graphs.
    fn new(
        vision: (Session, SessionProvider),
        embed: (TokenEmbeddings, EmbeddingSource, SessionProvider),
        encoder: (Session, SessionProvider),
        decoder: (TextDecoder, SessionProvider),
    ) -> Self {
        let step_decoder = matches!(decoder.0, TextDecoder::Step { .. });
        Self {
            vision: vision.0,
            text: Some(TextParts {
                embed: embed.0,
                encoder: encoder.0,
                decoder: decoder.0,
            }),
            step_decoder,
            embedding_source: embed.1,
            providers: vec![vision.1, embed.2, encoder.1, decoder.1],
        }
    }
}

/// Loads and checks a model folder (see [`crate::Florence2::load`]).
pub(crate) fn load(folder: &Path, options: &LoadOptions) -> Result<Loaded> {
    options.validate()?;
    let runtime = OnnxRuntime::init(options.onnx_runtime.as_deref())?;
    let files = ModelFiles::resolve(folder, &options.precision)?;
    let config = ModelConfig::load(&files.config)?;
    let generation = GenerationConfig::load(&files.generation_config)?;
    let tokenizer = Arc::new(PromptTokenizer::load(&files.tokenizer, config.vocab_size)?);
    // A bad preprocessor_config.json is a broken model folder (naming the file), not bad input.
    let preprocessor = PreprocessConfig::from_file(&files.preprocessor_config)
        .and_then(Preprocessor::new)
        .map_err(|e: PreprocessError| Error::Config {
            path: files.preprocessor_config.clone(),
            detail: e.to_string(),
        })?;
    let loader = Loader {
        runtime,
        files,
        config,
        options: options.clone(),
    };
    let swap_halves = options.memory_mode.swaps_halves();
    let sessions = if options.parallel_load {
        load_in_parallel(&loader)?
    } else if swap_halves {
        load_halves_apart(&loader)?
    } else {
        load_in_sequence(&loader)?
    };
    let (files, config) = (loader.files.clone(), loader.config.clone());
    let Sessions {
        vision,
        text,
        step_decoder,
        embedding_source,
        providers,
    } = sessions;
    // The halves reopen their graphs through the loader (low-memory mode only).
    let loader = swap_halves.then(|| Arc::new(loader));
    let reopen_vision = loader
        .clone()
        .map(|loader| -> ReopenVision { Arc::new(move || loader.vision_session()) });
    let reopen_text = loader.map(|loader| -> ReopenText { Arc::new(move || loader.text_parts()) });
    let vision = VisionEncoder::new(
        vision,
        preprocessor,
        config.d_model,
        options.release_vision_memory,
        reopen_vision,
    );
    let [_, h, w] = vision.preprocessor().output_shape();
    let planner = Arc::new(TaskPlanner::new(
        tokenizer,
        &config,
        generation,
        config.image_tokens(h, w),
    ));
    let text = TextGenerator::new(
        config.clone(),
        Arc::clone(&planner),
        text,
        step_decoder,
        reopen_text,
    );
    Ok(Loaded {
        files,
        vision,
        text,
        planner,
        config,
        embedding_source,
        providers,
    })
}

/// The merged decoder first: loading a graph briefly takes about twice its file size (parsed
/// protobuf + initialisers + prepacked weights), so the largest graph is loaded while nothing
/// else is resident, which lowers the process's peak (docs/memory.md). Then the vision graph,
/// then the smaller text graphs (this order measured lowest).
fn load_in_sequence(loader: &Loader) -> Result<Sessions> {
    let decoder = loader.decoder()?;
    let vision = loader.open(ModelGraph::VisionEncoder)?;
    let embed = loader.embeddings()?;
    let encoder = loader.open(ModelGraph::TextEncoder)?;
    Ok(Sessions::new(vision, embed, encoder, decoder))
}

/// The low-memory mode: the text graphs are opened and checked (decoder first), then unloaded
/// before the vision graph is opened; the vision half stays loaded for the first image.
fn load_halves_apart(loader: &Loader) -> Result<Sessions> {
    let decoder = loader.decoder()?;
    let embed = loader.embeddings()?;
    let encoder = loader.open(ModelGraph::TextEncoder)?;
    let step_decoder = matches!(decoder.0, TextDecoder::Step { .. });
    let (embedding_source, embed_report) = (embed.1, embed.2);
    let (encoder_report, decoder_report) = (encoder.1, decoder.1);
    drop((decoder.0, embed.0, encoder.0));
    let (vision, vision_report) = loader.open(ModelGraph::VisionEncoder)?;
    Ok(Sessions {
        vision,
        text: None,
        step_decoder,
        embedding_source,
        providers: vec![vision_report, embed_report, encoder_report, decoder_report],
    })
}

/// The vision graph on its own thread while the text graphs load. Errors are reported in the
/// sequential order (decoder, vision, embeddings, text encoder).
fn load_in_parallel(loader: &Loader) -> Result<Sessions> {
    std::thread::scope(|scope| {
        let vision = scope.spawn(|| loader.open(ModelGraph::VisionEncoder));
        let text = loader.decoder().map(|decoder| {
            let rest = loader
                .embeddings()
                .and_then(|embed| Ok((embed, loader.open(ModelGraph::TextEncoder)?)));
            (decoder, rest)
        });
        let vision = vision
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        let (decoder, rest) = text?;
        let vision = vision?;
        let (embed, encoder) = rest?;
        Ok(Sessions::new(vision, embed, encoder, decoder))
    })
}

/// The provider report for embeddings read from the file: CPU, no ONNX Runtime session.
fn file_lookup_report(requested: ExecutionProvider) -> SessionProvider {
    SessionProvider {
        graph: ModelGraph::EmbedTokens,
        requested,
        active: ExecutionProvider::Cpu,
        fallback_reason: (requested != ExecutionProvider::Cpu).then(|| {
            format!(
                "{}: a table lookup, read row by row from the model file on the CPU (no ONNX Runtime session)",
                ModelGraph::EmbedTokens
            )
        }),
    }
}
