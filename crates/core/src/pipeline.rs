//! The façade: load a model folder, then run any task on any image, from any number of threads.
//!
//! A [`Florence2`] holds the two halves of a model behind their own locks: the vision encoder
//! (preprocessing included) and the text generator (embeddings, text encoder, decoder). A call
//! holds one half at a time, so one call's image is encoded while another call decodes, and
//! [`Florence2::run_batch`] pipelines its images the same way. Every request is planned (checked
//! against the model) before its image is decoded, and placed in the image (regions) before the
//! vision encoder runs.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use florence2_preprocess::{DecodeLimits, ImageInput, ImageSource, ResizeMode};

use crate::cancel::CancelFlag;
use crate::config::{GenerationConfig, ModelConfig};
use crate::embedding::EmbeddingSource;
use crate::error::{Error, Result};
use crate::generate::{Generated, NoObserver, SearchOptions, TokenObserver};
use crate::load::{LoadOptions, load};
use crate::memory::MemoryMode;
use crate::model_files::ModelFiles;
use crate::provider::SessionProvider;
use crate::request::{RunOptions, TaskInput, TaskPlan, TaskPlanner, TaskRequest};
use crate::run::{TaskRun, Timings, ms};
use crate::text::TextGenerator;
use crate::tokenizer::PromptTokenizer;
use crate::vision::{EncodedImage, VisionEncoder};

/// A loaded Florence-2 model: configs, tokenizer and four ONNX sessions, shareable across threads
/// (`Arc<Florence2>`).
pub struct Florence2 {
    files: ModelFiles,
    vision: Mutex<VisionEncoder>,
    text: Mutex<TextGenerator>,
    planner: Arc<TaskPlanner>,
    config: ModelConfig,
    embedding_source: EmbeddingSource,
    providers: Vec<SessionProvider>,
    image_limits: DecodeLimits,
    resize_mode: ResizeMode,
    memory_mode: MemoryMode,
}

/// Which halves of a model are loaded right now ([`Florence2::resident_halves`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResidentHalves {
    /// The vision encoder's session.
    pub vision: bool,
    /// The text graphs (embeddings, text encoder, decoder).
    pub text: bool,
}

/// The vision half, held for a call; in the low-memory mode with the text half unloaded and held
/// so that no other call reloads it meanwhile.
struct VisionPhase<'a> {
    vision: MutexGuard<'a, VisionEncoder>,
    _text: Option<MutexGuard<'a, TextGenerator>>,
}

impl std::fmt::Debug for Florence2 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Florence2")
            .field("root", &self.files.root)
            .field("config", &self.config)
            .finish()
    }
}

/// Locks a half of the model. A panic inside a call poisons nothing that matters: every call
/// rebuilds its per-call state, so the data is taken as is.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Florence2 {
    /// Loads and checks a model folder: configs, tokenizer, the four graphs (each checked against
    /// the tensor contract). Any problem is a typed error naming the file.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for options no session could honour, [`Error::Runtime`] if ONNX
    /// Runtime cannot be loaded, and the model-folder errors ([`Error::ModelFolder`],
    /// [`Error::ModelFileMissing`], [`Error::Config`], [`Error::Tokenizer`],
    /// [`Error::SessionLoad`], [`Error::Contract`], [`Error::ExecutionProviderUnavailable`]).
    pub fn load(folder: &Path, options: &LoadOptions) -> Result<Self> {
        let loaded = load(folder, options)?;
        Ok(Self {
            files: loaded.files,
            vision: Mutex::new(loaded.vision),
            text: Mutex::new(loaded.text),
            planner: loaded.planner,
            config: loaded.config,
            embedding_source: loaded.embedding_source,
            providers: loaded.providers,
            image_limits: options.image_limits,
            resize_mode: options.resize_mode,
            memory_mode: options.memory_mode,
        })
    }

    /// The memory mode the model was loaded with.
    pub fn memory_mode(&self) -> MemoryMode {
        self.memory_mode
    }

    /// Which halves are loaded now. Always both in [`MemoryMode::Standard`]; in
    /// [`MemoryMode::Low`] at most one: the vision half after `load` and after encoding an image,
    /// the text half after generating. Waits for a call that holds a half.
    pub fn resident_halves(&self) -> ResidentHalves {
        let text = lock(&self.text);
        let vision = lock(&self.vision);
        ResidentHalves {
            vision: vision.is_loaded(),
            text: text.is_loaded(),
        }
    }

    /// The execution provider each graph's session got, in pipeline order (see
    /// [`SessionProvider`]; CPU after a fallback, with the reason).
    pub fn execution_providers(&self) -> &[SessionProvider] {
        &self.providers
    }

    /// The model's architecture numbers.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// Where the token embeddings come from (the file, or a session and why).
    pub fn embedding_source(&self) -> &EmbeddingSource {
        &self.embedding_source
    }

    /// The model's decoding defaults.
    pub fn generation_config(&self) -> &GenerationConfig {
        self.planner.generation_config()
    }

    /// The tokenizer (shared: cheap to clone, e.g. for decoding in a streaming callback).
    pub fn tokenizer(&self) -> &Arc<PromptTokenizer> {
        self.planner.tokenizer()
    }

    /// The planner that checks requests against this model (see [`TaskPlanner::plan`]).
    pub fn planner(&self) -> &Arc<TaskPlanner> {
        &self.planner
    }

    /// Whether the decoder runs in the optimised layout of `models/optimize.py`
    /// (`decoder_step` + `decoder_cross_kv`, docs/decoder-layout.md) rather than the stock merged
    /// decoder. Chosen at load from the folder's files, no option.
    pub fn uses_decoder_step(&self) -> bool {
        lock(&self.text).uses_step_decoder()
    }

    /// The resolved files.
    pub fn files(&self) -> &ModelFiles {
        &self.files
    }

    /// How many times the vision encoder has been started: a causal witness for tests (a request
    /// refused before any model ran leaves it unchanged).
    pub fn vision_runs(&self) -> u64 {
        lock(&self.vision).runs()
    }

    /// See [`TaskPlanner::plan`].
    pub fn plan(&self, request: &TaskRequest, image_size: Option<(u32, u32)>) -> Result<TaskPlan> {
        self.planner.plan(request, image_size)
    }

    /// See [`TaskPlanner::search_options`].
    pub fn search_options(&self, options: &RunOptions) -> Result<SearchOptions> {
        self.planner.search_options(options)
    }

    /// Runs `request` on `image`: plan, decode, preprocess, vision encoder, text encoder,
    /// generation, post-processing. `observer` sees the ids after every step (streaming);
    /// `cancel` stops the call before its next step, terminates the graph that runs, and gates
    /// every delivery to `observer`.
    ///
    /// Everything that needs no pixels (the task's input, the prompt's length, the options) is
    /// checked before the image is decoded; a region is placed once the image's size is known,
    /// before the vision encoder runs.
    ///
    /// # Errors
    /// The planning errors of [`TaskPlanner::plan`], [`Error::Image`], [`Error::Inference`],
    /// [`Error::ModelOutput`], [`Error::Listener`], [`Error::Cancelled`].
    pub fn run(
        &self,
        image: &ImageInput,
        request: &TaskRequest,
        cancel: &CancelFlag,
        observer: &mut dyn TokenObserver,
    ) -> Result<TaskRun> {
        let plan = self.plan(request, None)?;
        let (encoded, plan) = self.encode_for(image, request, plan, cancel)?;
        self.run_image_plan(&encoded, &plan, cancel, observer)
    }

    /// Runs `request` on an image encoded earlier (by [`Florence2::encode`]), without running
    /// the vision encoder again. Its timings count no preprocessing or vision time.
    ///
    /// # Errors
    /// As [`Florence2::run`], without the image errors.
    pub fn run_encoded(
        &self,
        image: &EncodedImage,
        request: &TaskRequest,
        cancel: &CancelFlag,
        observer: &mut dyn TokenObserver,
    ) -> Result<TaskRun> {
        let plan = self.plan(request, Some((image.width, image.height)))?;
        self.run_plan(image, &plan, cancel, observer)
    }

    /// Runs `request` on every image, results in input order, pipelined: a second thread encodes
    /// image `i + 1` while this one decodes image `i` (at most one encoded image waits, bounding
    /// memory). The request is checked before the first image is touched; the first image that
    /// fails stops the batch with [`Error::BatchItem`] naming its index.
    ///
    /// # Errors
    /// The planning errors of [`TaskPlanner::plan`]; [`Error::BatchItem`] around any error of
    /// [`Florence2::run`]; [`Error::Cancelled`].
    pub fn run_batch(
        &self,
        images: &[ImageInput],
        request: &TaskRequest,
        cancel: &CancelFlag,
    ) -> Result<Vec<TaskRun>> {
        let plan = self.plan(request, None)?;
        let at = |index: usize| {
            move |source: Error| Error::BatchItem {
                index,
                source: Box::new(source),
            }
        };
        let mut runs = Vec::with_capacity(images.len());
        if self.memory_mode.swaps_halves() {
            // One half at a time: no pipeline (it would only alternate the halves' loads).
            for (index, image) in images.iter().enumerate() {
                let run = self
                    .encode_for(image, request, plan.clone(), cancel)
                    .and_then(|(encoded, plan)| self.run_image_plan(&encoded, &plan, cancel, &mut NoObserver))
                    .map_err(at(index))?;
                runs.push(run);
            }
            return Ok(runs);
        }
        std::thread::scope(|scope| {
            let (sender, receiver) = std::sync::mpsc::sync_channel(1);
            let plan = &plan;
            scope.spawn(move || {
                for (index, image) in images.iter().enumerate() {
                    let encoded = self
                        .encode_for(image, request, plan.clone(), cancel)
                        .map_err(at(index));
                    let failed = encoded.is_err();
                    // The receiver is gone once decoding failed: stop encoding.
                    if sender.send(encoded).is_err() || failed {
                        break;
                    }
                }
            });
            for (index, encoded) in receiver.iter().enumerate() {
                let (encoded, plan) = encoded?;
                let run = self
                    .run_image_plan(&encoded, &plan, cancel, &mut NoObserver)
                    .map_err(at(index))?;
                runs.push(run);
            }
            Ok::<(), Error>(())
        })?;
        Ok(runs)
    }

    /// Decodes and preprocesses `image` and runs the vision encoder, once: pass the result to
    /// [`Florence2::run_encoded`] for any number of tasks. `resize_mode` `None` is the model's.
    /// Holds only the vision half, and only after the image is decoded.
    ///
    /// # Errors
    /// [`Error::Image`], [`Error::Inference`], [`Error::ModelOutput`], [`Error::Cancelled`].
    pub fn encode(
        &self,
        image: &ImageInput,
        resize_mode: Option<ResizeMode>,
        cancel: &CancelFlag,
    ) -> Result<EncodedImage> {
        let started = Instant::now();
        let mode = resize_mode.unwrap_or(self.resize_mode);
        image.with_source(&self.image_limits, |source| {
            self.encode_decoded(source, mode, started, cancel)
        })
    }

    /// Preprocesses an image given as a view (pixels or a camera frame, with a rotation) with the
    /// model's resize mode and runs the vision encoder.
    ///
    /// # Errors
    /// As [`Florence2::encode`].
    pub fn encode_image<'a>(
        &self,
        image: impl Into<ImageSource<'a>>,
        cancel: &CancelFlag,
    ) -> Result<EncodedImage> {
        self.encode_decoded(image.into(), self.resize_mode, Instant::now(), cancel)
    }

    /// The resize mode images get unless a call says otherwise.
    pub fn resize_mode(&self) -> ResizeMode {
        self.resize_mode
    }

    /// Runs the vision encoder on normalised `pixel_values` (`[3, height, width]`, as the
    /// preprocessor writes them) of an image whose original size is `image_size`. Both sizes are
    /// `(width, height)`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] if the buffer does not hold `3 * width * height` values; as
    /// [`Florence2::encode`].
    pub fn encode_pixels(
        &self,
        pixel_values: &[f32],
        tensor_size: (usize, usize),
        image_size: (u32, u32),
        cancel: &CancelFlag,
    ) -> Result<EncodedImage> {
        self.vision_phase()
            .vision
            .encode_pixels(pixel_values, tensor_size, image_size, cancel)
    }

    /// Generates from prompt ids on an encoded image with resolved search settings, without
    /// post-processing: the engine's lowest level (parity tests, benchmarks).
    ///
    /// # Errors
    /// As [`Florence2::run_encoded`].
    pub fn generate(
        &self,
        image: &EncodedImage,
        input_ids: &[i64],
        search: &SearchOptions,
        cancel: &CancelFlag,
        observer: &mut dyn TokenObserver,
    ) -> Result<(Generated, Timings)> {
        self.holding_text(cancel, |text| {
            text.generate(image, input_ids, search, cancel, observer)
        })
    }

    /// Runs a plan (from [`Florence2::plan`], placed in this image) on an encoded image.
    ///
    /// # Errors
    /// As [`Florence2::run_encoded`].
    pub fn run_plan(
        &self,
        image: &EncodedImage,
        plan: &TaskPlan,
        cancel: &CancelFlag,
        observer: &mut dyn TokenObserver,
    ) -> Result<TaskRun> {
        self.holding_text(cancel, |text| text.run_plan(image, plan, cancel, observer))
    }

    /// Decodes `image`, places the plan's region in it, and encodes it.
    fn encode_for(
        &self,
        image: &ImageInput,
        request: &TaskRequest,
        plan: TaskPlan,
        cancel: &CancelFlag,
    ) -> Result<(EncodedImage, TaskPlan)> {
        let started = Instant::now();
        let mode = request.options.resize_mode.unwrap_or(self.resize_mode);
        image.with_source(&self.image_limits, |source| {
            let plan = match request.input {
                TaskInput::Region(_) => self.plan(request, Some(source.size()))?,
                _ => plan,
            };
            Ok((self.encode_decoded(source, mode, started, cancel)?, plan))
        })
    }

    /// Preprocesses and encodes a decoded image (holding only the vision half); its preprocessing
    /// time counts from `started`, so decoding a file or bytes is included.
    fn encode_decoded(
        &self,
        source: ImageSource<'_>,
        mode: ResizeMode,
        started: Instant,
        cancel: &CancelFlag,
    ) -> Result<EncodedImage> {
        let decode_ms = ms(started.elapsed());
        let mut phase = self.vision_phase();
        let mut encoded = phase.vision.encode_image(source, mode, cancel)?;
        encoded.preprocess_ms += decode_ms;
        Ok(encoded)
    }

    /// Runs a plan on an image encoded by this call: the timings include the image's stages.
    fn run_image_plan(
        &self,
        image: &EncodedImage,
        plan: &TaskPlan,
        cancel: &CancelFlag,
        observer: &mut dyn TokenObserver,
    ) -> Result<TaskRun> {
        let mut run = self.run_plan(image, plan, cancel, observer)?;
        let t = run.timings;
        run.timings = Timings::of_stages(image.preprocess_ms, image.vision_ms, t.encoder, t.decoder);
        Ok(run)
    }

    /// Runs `job` holding the text half, unless the call was cancelled while it waited. In the
    /// low-memory mode the vision half is unloaded first (the text half, holding its lock, is
    /// reloaded by the job if it was unloaded).
    fn holding_text<T>(
        &self,
        cancel: &CancelFlag,
        job: impl FnOnce(&mut TextGenerator) -> Result<T>,
    ) -> Result<T> {
        let mut text = lock(&self.text);
        if cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        if self.memory_mode.swaps_halves() {
            // Lock order everywhere: text, then vision.
            lock(&self.vision).unload();
        }
        job(&mut text)
    }

    /// The vision half for a call. In the low-memory mode the text half is locked first (lock
    /// order: text, then vision) and unloaded.
    fn vision_phase(&self) -> VisionPhase<'_> {
        let text = self.memory_mode.swaps_halves().then(|| {
            let mut text = lock(&self.text);
            text.unload();
            text
        });
        VisionPhase {
            vision: lock(&self.vision),
            _text: text,
        }
    }
}
