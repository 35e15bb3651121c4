//! The `Florence2` object: async task methods over a core model, with cancellation and unloading.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use florence2_core::{
    self as core, CancelFlag, CancelOnDrop, TaskInput, TaskPlan, TextStream, task::PixelBox,
};
use florence2_preprocess::DecodeLimits;

use crate::Florence2Error;
use crate::types::{BoundingBox, Florence2Options, ImageInput, SessionProvider, Task, TaskResult};

/// Receives the generated text while a task runs (see `Florence2.runStreaming`, and the
/// `Florence2.stream` extension that turns it into a `Flow<String>`).
#[uniffi::export(foreign)]
pub trait TokenListener: Send + Sync {
    /// Called after every generated token with the whole text so far (special tokens kept) and the
    /// newest token id. Runs on a background thread; return `false` to cancel the call (it then
    /// fails with `Florence2Exception.Cancelled`). An exception thrown here stops generation and
    /// the call fails with `Florence2Exception.ListenerFailed`, carrying the exception's text.
    ///
    /// Never called once the call's coroutine has been cancelled: cancelling waits for a callback
    /// already running to return, so do not block in here on the cancellation of the same call.
    fn on_token(&self, text_so_far: String, token_id: u32) -> Result<bool, TokenListenerError>;
}

/// An exception thrown by a [`TokenListener`] (any exception: UniFFI passes its text here).
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum TokenListenerError {
    /// The listener failed.
    #[error("{reason}")]
    Failed {
        /// The exception's text (its class and message).
        reason: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for TokenListenerError {
    fn from(error: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Failed { reason: error.reason }
    }
}

/// An image after the vision encoder: run any number of tasks on it with `Florence2.runEncoded`
/// without paying for the vision encoder again.
#[derive(Debug, uniffi::Object)]
pub struct EncodedImage {
    inner: core::EncodedImage,
    preprocess_ms: f64,
    vision_ms: f64,
}

#[uniffi::export]
impl EncodedImage {
    /// Width of the original image in pixels.
    pub fn width(&self) -> u32 {
        self.inner.width
    }

    /// Height of the original image in pixels.
    pub fn height(&self) -> u32 {
        self.inner.height
    }

    /// Number of image tokens the vision encoder produced.
    pub fn tokens(&self) -> u32 {
        u32::try_from(self.inner.tokens()).unwrap_or(u32::MAX)
    }

    /// Milliseconds spent decoding, resizing and normalising the image.
    pub fn preprocess_ms(&self) -> f64 {
        self.preprocess_ms
    }

    /// Milliseconds spent in the vision encoder.
    pub fn vision_ms(&self) -> f64 {
        self.vision_ms
    }
}

/// The loaded model and the defaults of every call.
///
/// The vision half and the text half sit behind separate locks: one call's image can be encoded
/// while another call decodes, and `runBatch` pipelines its images the same way.
struct Model {
    vision: Mutex<core::VisionEncoder>,
    text: Mutex<core::TextGenerator>,
    /// Checks requests against the model, without either lock.
    planner: Arc<core::TaskPlanner>,
    defaults: core::GenerateOptions,
    /// The execution provider each graph got.
    providers: Vec<SessionProvider>,
    /// The pixel limit of every image input (`Florence2Options.maxImagePixels`).
    limits: DecodeLimits,
}

impl Model {
    fn new(engine: core::Florence2, defaults: core::GenerateOptions) -> Self {
        let planner = Arc::clone(engine.planner());
        let providers = engine
            .execution_providers()
            .iter()
            .map(SessionProvider::from)
            .collect();
        let (_, vision, text) = engine.into_parts();
        Self {
            vision: Mutex::new(vision),
            text: Mutex::new(text),
            planner,
            defaults,
            providers,
            limits: DecodeLimits::default(),
        }
    }

    /// Preprocesses and encodes `view` (holding only the vision lock); returns the preprocessing
    /// time (counted from `started`, so decoding a file or bytes is included) and the vision
    /// encoder's time, in milliseconds.
    fn encode(
        &self,
        view: florence2_preprocess::ImageSource<'_>,
        cancel: &CancelFlag,
        started: Instant,
    ) -> Result<(core::EncodedImage, f64, f64), Florence2Error> {
        let mut vision = lock(&self.vision);
        if cancel.is_cancelled() {
            return Err(Florence2Error::Cancelled);
        }
        let t0 = Instant::now();
        let decode_ms = t0.duration_since(started).as_secs_f64() * 1e3;
        let (encoded, preprocess_ms) = vision.encode_image(view, cancel)?;
        let vision_ms = (t0.elapsed().as_secs_f64() * 1e3 - preprocess_ms).max(0.0);
        Ok((encoded, decode_ms + preprocess_ms, vision_ms))
    }

    /// The plan of `request`, checked against the model; `image_size` places a region.
    fn plan(&self, request: &Request, image_size: Option<(u32, u32)>) -> Result<TaskPlan, Florence2Error> {
        let task_request = core::TaskRequest {
            task: request.task.into(),
            input: request.input.clone(),
            options: self.defaults.clone(),
        };
        Ok(self.planner.plan(&task_request, image_size)?)
    }

    /// Encodes `image` and runs the task on it. Every check that needs no image (the task's
    /// input, the prompt's length, the options) runs before the image is decoded, and the region
    /// is placed before the vision encoder runs.
    fn run_image(
        &self,
        cancel: &CancelFlag,
        image: &ImageInput,
        request: &Request,
    ) -> Result<TaskResult, Florence2Error> {
        let mut plan = self.plan(request, None)?;
        let started = Instant::now();
        let (encoded, preprocess_ms, vision_ms) = image.with_view(&self.limits, |view| {
            if request.has_region() {
                plan = self.plan(request, Some(view.size()))?;
            }
            self.encode(view, cancel, started)
        })?;
        self.run_plan(cancel, &encoded, &plan, request)
            .map(|run| TaskResult::from_run(run, preprocess_ms, vision_ms))
    }

    /// Runs the task of `request` on an encoded image (holding only the text lock).
    fn run_encoded(
        &self,
        cancel: &CancelFlag,
        image: &core::EncodedImage,
        request: &Request,
    ) -> Result<core::TaskRun, Florence2Error> {
        let plan = self.plan(request, Some((image.width, image.height)))?;
        self.run_plan(cancel, image, &plan, request)
    }

    /// Runs a planned task on an encoded image (holding only the text lock).
    fn run_plan(
        &self,
        cancel: &CancelFlag,
        image: &core::EncodedImage,
        plan: &TaskPlan,
        request: &Request,
    ) -> Result<core::TaskRun, Florence2Error> {
        let mut engine = lock(&self.text);
        if cancel.is_cancelled() {
            return Err(Florence2Error::Cancelled);
        }
        let run = match &request.listener {
            // Core delivers each step through the call's cancellation gate: once the call is
            // cancelled (the Kotlin coroutine's future was dropped), nothing reaches Kotlin.
            Some(listener) => {
                let mut stream =
                    TextStream::new(Arc::clone(self.planner.tokenizer()), |so_far: &str, id: u32| {
                        listener
                            .on_token(so_far.to_owned(), id)
                            .map_err(|TokenListenerError::Failed { reason }| core::ListenerError { reason })
                    });
                engine.run_plan(image, plan, cancel, &mut stream)?
            }
            None => engine.run_plan(image, plan, cancel, &mut core::generate::NoObserver)?,
        };
        Ok(run)
    }

    /// Runs `request` on every image, in input order: a vision thread encodes image `i + 1` while
    /// this thread decodes image `i` (at most one encoded image waits, bounding memory). The
    /// request is checked before the first image is touched.
    fn run_batch(
        &self,
        cancel: &CancelFlag,
        images: Vec<ImageInput>,
        request: &Request,
    ) -> Result<Vec<TaskResult>, Florence2Error> {
        let plan = self.plan(request, None)?;
        let mut results = Vec::with_capacity(images.len());
        std::thread::scope(|scope| {
            let (sender, receiver) = std::sync::mpsc::sync_channel(1);
            scope.spawn(move || {
                for (index, image) in images.into_iter().enumerate() {
                    let started = Instant::now();
                    let encoded = image
                        .with_view(&self.limits, |view| {
                            let plan = if request.has_region() {
                                self.plan(request, Some(view.size()))?
                            } else {
                                plan.clone()
                            };
                            let (encoded, preprocess_ms, vision_ms) = self.encode(view, cancel, started)?;
                            Ok((encoded, plan, preprocess_ms, vision_ms))
                        })
                        .map_err(|error| error.for_batch_item(index));
                    let failed = encoded.is_err();
                    // The receiver is gone once decoding failed: stop encoding.
                    if sender.send(encoded).is_err() || failed {
                        break;
                    }
                }
            });
            for (index, encoded) in receiver.iter().enumerate() {
                let (encoded, plan, preprocess_ms, vision_ms) = encoded?;
                let run = self
                    .run_plan(cancel, &encoded, &plan, request)
                    .map_err(|error| error.for_batch_item(index))?;
                results.push(TaskResult::from_run(run, preprocess_ms, vision_ms));
            }
            Ok::<(), Florence2Error>(())
        })?;
        Ok(results)
    }
}

/// What to run on an image: the task, its text or region input, and the streaming listener.
struct Request {
    task: Task,
    input: TaskInput,
    listener: Option<Arc<dyn TokenListener>>,
}

/// A Florence-2 model loaded from a folder in the onnx-community layout.
///
/// Every task method is a `suspend` function: the work runs on a background thread, never on the
/// caller's. Calls may be made from many coroutines at once: the vision encoder and the decoder
/// each serve one call at a time, so one call's image is encoded while another call decodes.
/// Cancelling a call's coroutine stops it within one decoder step.
///
/// `close()` (it is `AutoCloseable`) releases the native object once in-flight calls finish;
/// `unload()` releases the model right away for later calls, which then fail with
/// `Florence2Exception.Closed`.
#[derive(uniffi::Object)]
pub struct Florence2 {
    model: Mutex<Option<Arc<Model>>>,
}

impl std::fmt::Debug for Florence2 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Florence2")
            .field("loaded", &self.slot().is_some())
            .finish()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic inside a call is reported as an error by UniFFI; the model stays usable.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Florence2 {
    fn slot(&self) -> Option<Arc<Model>> {
        lock(&self.model).clone()
    }

    /// Runs `job` on the blocking pool, cancelling it if the future is dropped.
    async fn with_model<T, F>(&self, job: F) -> Result<T, Florence2Error>
    where
        T: Send + 'static,
        F: FnOnce(&Model, &CancelFlag) -> Result<T, Florence2Error> + Send + 'static,
    {
        let model = self.slot().ok_or(Florence2Error::Closed)?;
        let cancel = CancelFlag::new();
        // The future of an exported method is dropped when its Kotlin coroutine is cancelled: the
        // guard then cancels the call, which terminates the running graph, stops generation before
        // its next step and lets no token reach Kotlin any more. Harmless after the job finished.
        let guard = CancelOnDrop(cancel.clone());
        let handle = tokio::task::spawn_blocking(move || {
            if cancel.is_cancelled() {
                return Err(Florence2Error::Cancelled);
            }
            job(&model, &cancel)
        });
        let result = handle.await.map_err(|e| Florence2Error::Internal {
            reason: format!("the worker thread failed: {e}"),
        })?;
        drop(guard);
        result
    }

    async fn run_impl(&self, image: ImageInput, request: Request) -> Result<TaskResult, Florence2Error> {
        self.with_model(move |model, cancel| model.run_image(cancel, &image, &request))
            .await
    }

    async fn run_encoded_impl(
        &self,
        image: Arc<EncodedImage>,
        request: Request,
    ) -> Result<TaskResult, Florence2Error> {
        self.with_model(move |model, cancel| {
            model
                .run_encoded(cancel, &image.inner, &request)
                .map(|run| TaskResult::from_run(run, 0.0, 0.0))
        })
        .await
    }
}

impl Request {
    fn new(task: Task, text: Option<String>) -> Self {
        let input = match text {
            Some(text) => TaskInput::Text(text),
            None => TaskInput::None,
        };
        Self {
            task,
            input,
            listener: None,
        }
    }

    fn has_region(&self) -> bool {
        matches!(self.input, TaskInput::Region(_))
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl Florence2 {
    /// Loads a model folder (`config.json`, `tokenizer.json`, the `onnx` folder of graphs, …) on a background
    /// thread. Kotlin: `Florence2.create(modelDir, Florence2Options())`.
    ///
    /// # Errors
    /// `ModelLoad` for a missing, incomplete or inconsistent folder, `RuntimeUnavailable` if ONNX
    /// Runtime cannot be loaded.
    #[uniffi::constructor]
    pub async fn create(model_dir: String, options: Florence2Options) -> Result<Arc<Self>, Florence2Error> {
        options.validate()?;
        let load = options.load_options();
        let defaults = options.generate_options();
        let engine =
            tokio::task::spawn_blocking(move || core::Florence2::load(&PathBuf::from(model_dir), &load))
                .await
                .map_err(|e| Florence2Error::Internal {
                    reason: format!("the loading thread failed: {e}"),
                })??;
        // Defaults the model cannot honour (a token limit beyond its positions, 0 beams) fail
        // here, not on every later call.
        engine.search_options(&defaults)?;
        let mut model = Model::new(engine, defaults);
        model.limits = options.decode_limits();
        Ok(Arc::new(Self {
            model: Mutex::new(Some(Arc::new(model))),
        }))
    }

    /// Runs `task` on `image`. `text` is the task's input (a phrase for grounding, an expression
    /// for segmentation, `<loc_..>` tokens for region tasks) or `null` for tasks without one.
    ///
    /// # Errors
    /// `InvalidInput` (bad image, text given to a task without input or missing), `Inference`,
    /// `Cancelled`, `Closed`.
    pub async fn run(
        &self,
        image: ImageInput,
        task: Task,
        text: Option<String>,
    ) -> Result<TaskResult, Florence2Error> {
        self.run_impl(image, Request::new(task, text)).await
    }

    /// Like `run`, calling `listener` with the text so far after every generated token.
    ///
    /// # Errors
    /// As `run`; `Cancelled` if the listener returns false.
    pub async fn run_streaming(
        &self,
        image: ImageInput,
        task: Task,
        text: Option<String>,
        listener: Arc<dyn TokenListener>,
    ) -> Result<TaskResult, Florence2Error> {
        self.run_impl(
            image,
            Request {
                listener: Some(listener),
                ..Request::new(task, text)
            },
        )
        .await
    }

    /// Runs the vision encoder once; pass the result to `runEncoded` for any number of tasks.
    ///
    /// # Errors
    /// `InvalidInput`, `Inference`, `Cancelled`, `Closed`.
    pub async fn encode(&self, image: ImageInput) -> Result<Arc<EncodedImage>, Florence2Error> {
        self.with_model(move |model, cancel| {
            let started = Instant::now();
            let (inner, preprocess_ms, vision_ms) =
                image.with_view(&model.limits, |view| model.encode(view, cancel, started))?;
            Ok(Arc::new(EncodedImage {
                inner,
                preprocess_ms,
                vision_ms,
            }))
        })
        .await
    }

    /// Runs `task` on an image encoded by `encode` (of this model).
    ///
    /// # Errors
    /// As `run`.
    pub async fn run_encoded(
        &self,
        image: Arc<EncodedImage>,
        task: Task,
        text: Option<String>,
    ) -> Result<TaskResult, Florence2Error> {
        self.run_encoded_impl(image, Request::new(task, text)).await
    }

    /// Like `runEncoded`, calling `listener` after every generated token.
    ///
    /// # Errors
    /// As `runStreaming`.
    pub async fn run_encoded_streaming(
        &self,
        image: Arc<EncodedImage>,
        task: Task,
        text: Option<String>,
        listener: Arc<dyn TokenListener>,
    ) -> Result<TaskResult, Florence2Error> {
        self.run_encoded_impl(
            image,
            Request {
                listener: Some(listener),
                ..Request::new(task, text)
            },
        )
        .await
    }

    /// Runs `task` (with `text`, as in `run`) on every image; results are in input order.
    ///
    /// The batch is pipelined: the vision encoder works on the next image while the decoder
    /// generates for the current one (at most one encoded image waits, so memory stays bounded).
    /// Calls from other coroutines may interleave with the batch on either half of the model.
    ///
    /// # Errors
    /// As `run`, for the first image that fails (the message names its index); cancelling the
    /// coroutine cancels the rest of the batch.
    pub async fn run_batch(
        &self,
        images: Vec<ImageInput>,
        task: Task,
        text: Option<String>,
    ) -> Result<Vec<TaskResult>, Florence2Error> {
        self.with_model(move |model, cancel| model.run_batch(cancel, images, &Request::new(task, text)))
            .await
    }

    /// Runs a region task (`REGION_TO_SEGMENTATION`, `REGION_TO_CATEGORY`,
    /// `REGION_TO_DESCRIPTION`, `REGION_TO_OCR`) on the box `region`, given in image pixels.
    ///
    /// # Errors
    /// As `run`; `InvalidInput` if `task` does not take a region.
    pub async fn run_region(
        &self,
        image: ImageInput,
        task: Task,
        region: BoundingBox,
    ) -> Result<TaskResult, Florence2Error> {
        self.run_impl(
            image,
            Request {
                input: TaskInput::Region(PixelBox::new(region.x1, region.y1, region.x2, region.y2)),
                ..Request::new(task, None)
            },
        )
        .await
    }

    /// `<CAPTION>`: a one-sentence caption (`TaskOutput.Text`).
    ///
    /// # Errors
    /// As `run`.
    pub async fn caption(&self, image: ImageInput) -> Result<TaskResult, Florence2Error> {
        self.run(image, Task::Caption, None).await
    }

    /// `<DETAILED_CAPTION>`: a caption of a few sentences (`TaskOutput.Text`).
    ///
    /// # Errors
    /// As `run`.
    pub async fn detailed_caption(&self, image: ImageInput) -> Result<TaskResult, Florence2Error> {
        self.run(image, Task::DetailedCaption, None).await
    }

    /// `<MORE_DETAILED_CAPTION>`: a paragraph (`TaskOutput.Text`).
    ///
    /// # Errors
    /// As `run`.
    pub async fn more_detailed_caption(&self, image: ImageInput) -> Result<TaskResult, Florence2Error> {
        self.run(image, Task::MoreDetailedCaption, None).await
    }

    /// `<OD>`: objects with category names (`TaskOutput.Boxes`).
    ///
    /// # Errors
    /// As `run`.
    pub async fn detect_objects(&self, image: ImageInput) -> Result<TaskResult, Florence2Error> {
        self.run(image, Task::ObjectDetection, None).await
    }

    /// `<DENSE_REGION_CAPTION>`: boxes with short descriptions (`TaskOutput.Boxes`).
    ///
    /// # Errors
    /// As `run`.
    pub async fn dense_region_caption(&self, image: ImageInput) -> Result<TaskResult, Florence2Error> {
        self.run(image, Task::DenseRegionCaption, None).await
    }

    /// `<REGION_PROPOSAL>`: unlabelled boxes (`TaskOutput.Boxes`).
    ///
    /// # Errors
    /// As `run`.
    pub async fn propose_regions(&self, image: ImageInput) -> Result<TaskResult, Florence2Error> {
        self.run(image, Task::RegionProposal, None).await
    }

    /// `<OCR>`: all text as one string (`TaskOutput.Text`).
    ///
    /// # Errors
    /// As `run`.
    pub async fn ocr(&self, image: ImageInput) -> Result<TaskResult, Florence2Error> {
        self.run(image, Task::Ocr, None).await
    }

    /// `<OCR_WITH_REGION>`: text lines with their quadrilaterals (`TaskOutput.Quads`).
    ///
    /// # Errors
    /// As `run`.
    pub async fn ocr_with_regions(&self, image: ImageInput) -> Result<TaskResult, Florence2Error> {
        self.run(image, Task::OcrWithRegion, None).await
    }

    /// `<CAPTION_TO_PHRASE_GROUNDING>`: boxes for the phrases of `caption` (`TaskOutput.Boxes`).
    ///
    /// # Errors
    /// As `run`.
    pub async fn ground_phrases(
        &self,
        image: ImageInput,
        caption: String,
    ) -> Result<TaskResult, Florence2Error> {
        self.run(image, Task::CaptionToPhraseGrounding, Some(caption))
            .await
    }

    /// `<REFERRING_EXPRESSION_SEGMENTATION>`: the mask of what `expression` refers to
    /// (`TaskOutput.Polygons`).
    ///
    /// # Errors
    /// As `run`.
    pub async fn segment(&self, image: ImageInput, expression: String) -> Result<TaskResult, Florence2Error> {
        self.run(image, Task::ReferringExpressionSegmentation, Some(expression))
            .await
    }

    /// `<OPEN_VOCABULARY_DETECTION>`: boxes (or polygons) of the objects `query` names.
    ///
    /// # Errors
    /// As `run`.
    pub async fn detect_open_vocabulary(
        &self,
        image: ImageInput,
        query: String,
    ) -> Result<TaskResult, Florence2Error> {
        self.run(image, Task::OpenVocabularyDetection, Some(query)).await
    }

    /// `<REGION_TO_SEGMENTATION>`: the mask of the object inside `region` (`TaskOutput.Polygons`).
    ///
    /// # Errors
    /// As `run`.
    pub async fn segment_region(
        &self,
        image: ImageInput,
        region: BoundingBox,
    ) -> Result<TaskResult, Florence2Error> {
        self.run_region(image, Task::RegionToSegmentation, region).await
    }

    /// `<REGION_TO_CATEGORY>`: the category of `region` (`TaskOutput.Text`).
    ///
    /// # Errors
    /// As `run`.
    pub async fn classify_region(
        &self,
        image: ImageInput,
        region: BoundingBox,
    ) -> Result<TaskResult, Florence2Error> {
        self.run_region(image, Task::RegionToCategory, region).await
    }

    /// `<REGION_TO_DESCRIPTION>`: a description of `region` (`TaskOutput.Text`).
    ///
    /// # Errors
    /// As `run`.
    pub async fn describe_region(
        &self,
        image: ImageInput,
        region: BoundingBox,
    ) -> Result<TaskResult, Florence2Error> {
        self.run_region(image, Task::RegionToDescription, region).await
    }

    /// `<REGION_TO_OCR>`: the text inside `region` (`TaskOutput.Text`).
    ///
    /// # Errors
    /// As `run`.
    pub async fn ocr_region(
        &self,
        image: ImageInput,
        region: BoundingBox,
    ) -> Result<TaskResult, Florence2Error> {
        self.run_region(image, Task::RegionToOcr, region).await
    }

    /// Releases the model now: calls in flight finish normally, later calls fail with
    /// `Florence2Exception.Closed`, and the memory is freed when the last call in flight ends.
    /// Idempotent. (`close()` additionally frees the native object itself.)
    pub fn unload(&self) {
        lock(&self.model).take();
    }

    /// The execution provider each graph runs on, in pipeline order (vision encoder, token
    /// embeddings, text encoder, decoder): the requested one, or CPU after a fallback, with the
    /// reason. Does not wait for calls in flight.
    ///
    /// # Errors
    /// `Closed` after `unload()`.
    pub fn execution_providers(&self) -> Result<Vec<SessionProvider>, Florence2Error> {
        Ok(self.slot().ok_or(Florence2Error::Closed)?.providers.clone())
    }

    /// Whether `unload()` has been called.
    pub fn is_unloaded(&self) -> bool {
        self.slot().is_none()
    }
}

impl Florence2 {
    /// How many times this model's vision encoder has been started (Rust only: lets tests prove
    /// that a bad request failed before the expensive work). `None` after `unload()`.
    pub fn vision_runs(&self) -> Option<u64> {
        self.slot().map(|model| lock(&model.vision).runs())
    }
}
