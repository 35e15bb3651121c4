//! The `Florence2` object: async task methods over core's model, with cancellation and unloading.
//! Each method converts its arguments, runs core off the caller's thread, and maps the result.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use florence2_core::{
    self as core, CancelFlag, CancelOnDrop, TaskInput, TaskRequest, TextStream, task::PixelBox,
};

use crate::error::Florence2Error;
use crate::image::ImageInput;
use crate::options::Florence2Options;
use crate::provider::SessionProvider;
use crate::result::{BoundingBox, TaskResult};
use crate::task::Task;

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
    #[error("{detail}")]
    Failed {
        /// The exception's text (its class and message).
        detail: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for TokenListenerError {
    fn from(error: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Failed { detail: error.reason }
    }
}

/// An image after the vision encoder: run any number of tasks on it with `Florence2.runEncoded`
/// without paying for the vision encoder again.
#[derive(Debug, uniffi::Object)]
pub struct EncodedImage {
    inner: core::EncodedImage,
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
        self.inner.preprocess_ms
    }

    /// Milliseconds spent in the vision encoder.
    pub fn vision_ms(&self) -> f64 {
        self.inner.vision_ms
    }
}

/// The loaded model and the decoding defaults of every call.
struct Model {
    engine: core::Florence2,
    defaults: core::GenerateOptions,
}

impl Model {
    /// `task` with its input and this model's defaults.
    fn request(&self, task: Task, input: TaskInput) -> TaskRequest {
        TaskRequest {
            task: task.into(),
            input,
            options: self.defaults.clone(),
        }
    }
}

/// A Florence-2 model loaded from a folder in the onnx-community layout.
///
/// Every task method is a `suspend` function: the work runs on a background thread, never on the
/// caller's. Calls may be made from many coroutines at once: the vision encoder and the decoder
/// each serve one call at a time, so one call's image is encoded while another call decodes.
/// Cancelling a call's coroutine stops it before its next decoder step, and no token reaches a
/// listener once the cancellation has returned.
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
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs `job` on the blocking pool with a flag that dropping the future (its Kotlin coroutine
/// was cancelled) sets, waiting for a callback in flight, so that nothing reaches Kotlin after
/// the cancellation.
pub(crate) async fn blocking<T, E, F>(job: F) -> Result<T, E>
where
    T: Send + 'static,
    E: Send + 'static + From<InternalFailure>,
    F: FnOnce(&CancelFlag) -> Result<T, E> + Send + 'static,
{
    let cancel = CancelFlag::new();
    let guard = CancelOnDrop(cancel.clone());
    let result = tokio::task::spawn_blocking(move || job(&cancel))
        .await
        .map_err(|e| E::from(InternalFailure(format!("the worker thread failed: {e}"))))?;
    drop(guard);
    result
}

/// A failure of the SDK's own machinery (a worker thread that panicked).
#[derive(Debug)]
pub(crate) struct InternalFailure(pub String);

impl Florence2 {
    fn slot(&self) -> Option<Arc<Model>> {
        lock(&self.model).clone()
    }

    /// Runs `job` on the model off the caller's thread, cancelling it if the future is dropped.
    async fn with_model<T, F>(&self, job: F) -> Result<T, Florence2Error>
    where
        T: Send + 'static,
        F: FnOnce(&Model, &CancelFlag) -> core::Result<T> + Send + 'static,
    {
        let model = self.slot().ok_or(Florence2Error::Closed)?;
        blocking(move |cancel| {
            if cancel.is_cancelled() {
                return Err(Florence2Error::Cancelled);
            }
            Ok(job(&model, cancel)?)
        })
        .await
    }

    /// Runs `task` with `input` on `image`, streaming to `listener` if there is one.
    async fn run_task(
        &self,
        image: ImageInput,
        task: Task,
        input: TaskInput,
        listener: Option<Arc<dyn TokenListener>>,
    ) -> Result<TaskResult, Florence2Error> {
        let image = core::ImageInput::try_from(image).map_err(core::Error::from)?;
        self.with_model(move |model, cancel| {
            let request = model.request(task, input);
            stream_to(model, listener.as_deref(), |observer| {
                model.engine.run(&image, &request, cancel, observer)
            })
        })
        .await
        .map(TaskResult::from)
    }

    /// Runs `task` with `input` on an encoded image, streaming to `listener` if there is one.
    async fn run_encoded_task(
        &self,
        image: Arc<EncodedImage>,
        task: Task,
        input: TaskInput,
        listener: Option<Arc<dyn TokenListener>>,
    ) -> Result<TaskResult, Florence2Error> {
        self.with_model(move |model, cancel| {
            let request = model.request(task, input);
            stream_to(model, listener.as_deref(), |observer| {
                model.engine.run_encoded(&image.inner, &request, cancel, observer)
            })
        })
        .await
        .map(TaskResult::from)
    }
}

/// Calls `run` with an observer that streams the text to `listener` (or ignores every step).
fn stream_to(
    model: &Model,
    listener: Option<&dyn TokenListener>,
    run: impl FnOnce(&mut dyn core::TokenObserver) -> core::Result<core::TaskRun>,
) -> core::Result<core::TaskRun> {
    match listener {
        Some(listener) => {
            let tokenizer = Arc::clone(model.engine.tokenizer());
            run(&mut TextStream::new(tokenizer, |so_far: &str, id: u32| {
                listener
                    .on_token(so_far.to_owned(), id)
                    .map_err(|TokenListenerError::Failed { detail }| core::ListenerError { reason: detail })
            }))
        }
        None => run(&mut core::generate::NoObserver),
    }
}

/// A region in pixels as core's task input.
fn region_input(region: BoundingBox) -> TaskInput {
    TaskInput::Region(PixelBox::new(region.x1, region.y1, region.x2, region.y2))
}

/// Text (or none) as core's task input.
fn text_input(text: Option<String>) -> TaskInput {
    text.map_or(TaskInput::None, TaskInput::Text)
}

#[uniffi::export(async_runtime = "tokio")]
impl Florence2 {
    /// Loads a model folder (`config.json`, `tokenizer.json`, the `onnx` folder of graphs, …) on a
    /// background thread. Kotlin: `Florence2.create(modelDir, Florence2Options())`.
    ///
    /// # Errors
    /// `ModelLoad` for a missing, incomplete or inconsistent folder, `RuntimeUnavailable` if ONNX
    /// Runtime cannot be loaded, `ExecutionProviderUnavailable`, `InvalidInput` for options the
    /// model cannot honour.
    #[uniffi::constructor]
    pub async fn create(model_dir: String, options: Florence2Options) -> Result<Arc<Self>, Florence2Error> {
        let load = options.load_options();
        let defaults = options.generate_options();
        let engine = blocking(move |_| {
            let engine = core::Florence2::load(&PathBuf::from(model_dir), &load)?;
            // Defaults the model cannot honour (a token limit beyond its positions, 0 beams) fail
            // here, not on every later call.
            engine.search_options(&defaults)?;
            Ok::<_, Florence2Error>(Model { engine, defaults })
        })
        .await?;
        Ok(Arc::new(Self {
            model: Mutex::new(Some(Arc::new(engine))),
        }))
    }

    /// Runs `task` on `image`. `text` is the task's input (a phrase for grounding, an expression
    /// for segmentation, `<loc_..>` tokens for region tasks) or `null` for tasks without one.
    ///
    /// # Errors
    /// `InvalidInput` (bad image, text given to a task without input or missing), `Inference`,
    /// `ModelFault`, `Cancelled`, `Closed`.
    pub async fn run(
        &self,
        image: ImageInput,
        task: Task,
        text: Option<String>,
    ) -> Result<TaskResult, Florence2Error> {
        self.run_task(image, task, text_input(text), None).await
    }

    /// Like `run`, calling `listener` with the text so far after every generated token.
    ///
    /// # Errors
    /// As `run`; `Cancelled` if the listener returns false, `ListenerFailed` if it throws.
    pub async fn run_streaming(
        &self,
        image: ImageInput,
        task: Task,
        text: Option<String>,
        listener: Arc<dyn TokenListener>,
    ) -> Result<TaskResult, Florence2Error> {
        self.run_task(image, task, text_input(text), Some(listener)).await
    }

    /// Runs the vision encoder once; pass the result to `runEncoded` for any number of tasks.
    ///
    /// # Errors
    /// `InvalidInput`, `Inference`, `ModelFault`, `Cancelled`, `Closed`.
    pub async fn encode(&self, image: ImageInput) -> Result<Arc<EncodedImage>, Florence2Error> {
        let image = core::ImageInput::try_from(image).map_err(core::Error::from)?;
        self.with_model(move |model, cancel| model.engine.encode(&image, cancel))
            .await
            .map(|inner| Arc::new(EncodedImage { inner }))
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
        self.run_encoded_task(image, task, text_input(text), None).await
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
        self.run_encoded_task(image, task, text_input(text), Some(listener))
            .await
    }

    /// Runs `task` (with `text`, as in `run`) on every image; results are in input order.
    ///
    /// The request is checked before the first image is touched. The batch is pipelined: the
    /// vision encoder works on the next image while the decoder generates for the current one (at
    /// most one encoded image waits, so memory stays bounded). Calls from other coroutines may
    /// interleave with the batch on either half of the model.
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
        let images = images
            .into_iter()
            .enumerate()
            .map(|(index, image)| {
                core::ImageInput::try_from(image).map_err(|e| core::Error::BatchItem {
                    index,
                    source: Box::new(e.into()),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.with_model(move |model, cancel| {
            model
                .engine
                .run_batch(&images, &model.request(task, text_input(text)), cancel)
        })
        .await
        .map(|runs| runs.into_iter().map(TaskResult::from).collect())
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
        self.run_task(image, task, region_input(region), None).await
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
        let model = self.slot().ok_or(Florence2Error::Closed)?;
        Ok(model
            .engine
            .execution_providers()
            .iter()
            .map(SessionProvider::from)
            .collect())
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
        self.slot().map(|model| model.engine.vision_runs())
    }
}
