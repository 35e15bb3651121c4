//! The model object Kotlin's `Florence2` class wraps (`Florence2Engine`): a few general async
//! calls over core's model, with cancellation, unloading and live mode. Each converts its
//! arguments, runs core off the caller's thread, and maps the result. The task conveniences
//! (`caption`, `detectObjects`, …), `Flow`s and Java futures are the hand-written Kotlin façade's
//! (`bindings/kotlin/src/ai/florence2/Florence2.kt`).

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use florence2_core::{self as core, CancelFlag, CancelOnDrop, TaskInput, TextStream, task::PixelBox};

use crate::error::Florence2Error;
use crate::image::ImageInput;
use crate::live::{LiveListener, LiveSession};
use crate::options::{Florence2Options, RunOptions};
use crate::provider::SessionProvider;
use crate::result::{BoundingBox, TaskResult};
use crate::task::Task;

/// Receives the generated text while a task runs (`Florence2.runStreaming`; the `Florence2.stream`
/// flow uses one).
#[uniffi::export(foreign)]
pub trait TokenListener: Send + Sync {
    /// Called after every generated token with the whole text so far (special tokens kept) and the
    /// newest token id. Runs on a background thread; return `false` to cancel the call (it then
    /// fails with `Florence2Exception.Cancelled`). An exception thrown here stops generation and
    /// the call fails with `Florence2Exception.ListenerFailed`, carrying the exception's text.
    ///
    /// Never called once the call's coroutine has been cancelled: cancelling waits for a callback
    /// already running to return, so do not block in here on the cancellation of the same call.
    fn on_token(&self, text_so_far: String, token_id: i32) -> Result<bool, TokenListenerError>;
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

/// What to run: the task, its input (text, or a region in pixels, or neither) and per-call
/// options.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct TaskRequest {
    /// The task.
    pub task: Task,
    /// Its text input: a phrase for grounding, an expression for segmentation, `<loc_..>` tokens
    /// for region tasks (`null` for tasks without one).
    #[uniffi(default = None)]
    pub text: Option<String>,
    /// A region in image pixels, for the region tasks (instead of `text`).
    #[uniffi(default = None)]
    pub region: Option<BoundingBox>,
    /// Overrides of the model's defaults for this call.
    #[uniffi(default = None)]
    pub options: Option<RunOptions>,
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
    pub fn width(&self) -> i32 {
        i32::try_from(self.inner.width).unwrap_or(i32::MAX)
    }

    /// Height of the original image in pixels.
    pub fn height(&self) -> i32 {
        i32::try_from(self.inner.height).unwrap_or(i32::MAX)
    }

    /// Number of image tokens the vision encoder produced.
    pub fn tokens(&self) -> i32 {
        i32::try_from(self.inner.tokens()).unwrap_or(i32::MAX)
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

/// The loaded model and the defaults of every call.
pub(crate) struct Model {
    pub engine: Arc<core::Florence2>,
    defaults: core::RunOptions,
}

impl Model {
    /// Core's request for `request`, its options over the model's defaults.
    pub(crate) fn core_request(&self, request: TaskRequest) -> Result<core::TaskRequest, Florence2Error> {
        let input = match (request.text, request.region) {
            (Some(_), Some(_)) => {
                return Err(Florence2Error::InvalidInput {
                    detail: "a request takes a text or a region, not both".into(),
                });
            }
            (Some(text), None) => TaskInput::Text(text),
            (None, Some(r)) => TaskInput::Region(PixelBox::new(r.x1, r.y1, r.x2, r.y2)),
            (None, None) => TaskInput::None,
        };
        Ok(core::TaskRequest {
            task: request.task.into(),
            input,
            options: request.options.unwrap_or_default().over(&self.defaults)?,
        })
    }
}

/// The native model behind Kotlin's `Florence2` class (use that: it adds the task methods,
/// `Flow`s, Java futures and `close()` semantics). Calls may be made from many coroutines at
/// once: the vision encoder and the decoder each serve one call at a time, so one call's image is
/// encoded while another call decodes. Cancelling a call's coroutine stops it before its next
/// decoder step, and no token reaches a listener once the cancellation has returned.
#[derive(uniffi::Object)]
pub struct Florence2Engine {
    model: Mutex<Option<Arc<Model>>>,
}

impl std::fmt::Debug for Florence2Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Florence2Engine")
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

impl Florence2Engine {
    fn slot(&self) -> Option<Arc<Model>> {
        lock(&self.model).clone()
    }

    fn model(&self) -> Result<Arc<Model>, Florence2Error> {
        self.slot().ok_or(Florence2Error::Closed)
    }

    /// Runs `job` on the model off the caller's thread, cancelling it if the future is dropped.
    async fn with_model<T, F>(&self, job: F) -> Result<T, Florence2Error>
    where
        T: Send + 'static,
        F: FnOnce(&Model, &CancelFlag) -> Result<T, Florence2Error> + Send + 'static,
    {
        let model = self.model()?;
        blocking(move |cancel| {
            if cancel.is_cancelled() {
                return Err(Florence2Error::Cancelled);
            }
            job(&model, cancel)
        })
        .await
    }

    /// Wraps a loaded model (for `ModelDownloader.open`).
    pub(crate) fn from_model(model: Model) -> Arc<Self> {
        Arc::new(Self {
            model: Mutex::new(Some(Arc::new(model))),
        })
    }

    /// Loads a model folder with `options` (blocking).
    pub(crate) fn load(model_dir: &str, options: &Florence2Options) -> Result<Model, Florence2Error> {
        let load = options.load_options()?;
        let defaults = options.run_defaults()?;
        let engine = core::Florence2::load(&PathBuf::from(model_dir), &load)?;
        // Defaults the model cannot honour (a token limit beyond its positions, 0 beams) fail
        // here, not on every later call.
        engine.search_options(&defaults)?;
        Ok(Model {
            engine: Arc::new(engine),
            defaults,
        })
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
                    .on_token(so_far.to_owned(), i32::try_from(id).unwrap_or(i32::MAX))
                    .map_err(|TokenListenerError::Failed { detail }| core::ListenerError { reason: detail })
            }))
        }
        None => run(&mut core::generate::NoObserver),
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl Florence2Engine {
    /// Loads a model folder (`config.json`, `tokenizer.json`, the `onnx` folder of graphs, …) on a
    /// background thread.
    ///
    /// # Errors
    /// `ModelLoad` for a missing, incomplete or inconsistent folder, `RuntimeUnavailable` if ONNX
    /// Runtime cannot be loaded, `ExecutionProviderUnavailable`, `InvalidInput` for options the
    /// model cannot honour.
    #[uniffi::constructor]
    pub async fn create(model_dir: String, options: Florence2Options) -> Result<Arc<Self>, Florence2Error> {
        let model = blocking(move |_| Self::load(&model_dir, &options)).await?;
        Ok(Self::from_model(model))
    }

    /// Runs `request` on `image`, streaming the text to `listener` if there is one. Every check
    /// that needs no pixels runs before the image is decoded.
    ///
    /// # Errors
    /// `InvalidInput` (bad image, text given to a task without input or missing, bad options),
    /// `Inference`, `ModelFault`, `Cancelled`, `ListenerFailed`, `Closed`.
    pub async fn run(
        &self,
        image: ImageInput,
        request: TaskRequest,
        listener: Option<Arc<dyn TokenListener>>,
    ) -> Result<TaskResult, Florence2Error> {
        let model = self.model()?;
        let request = model.core_request(request)?;
        let image = core::ImageInput::try_from(image)?;
        self.with_model(move |model, cancel| {
            Ok(stream_to(model, listener.as_deref(), |observer| {
                model.engine.run(&image, &request, cancel, observer)
            })?)
        })
        .await
        .map(TaskResult::from)
    }

    /// Runs the vision encoder once; pass the result to `runEncoded` for any number of tasks.
    ///
    /// # Errors
    /// `InvalidInput`, `Inference`, `ModelFault`, `Cancelled`, `Closed`.
    pub async fn encode(
        &self,
        image: ImageInput,
        options: Option<RunOptions>,
    ) -> Result<Arc<EncodedImage>, Florence2Error> {
        let mode = options.and_then(|o| o.resize_mode).map(Into::into);
        let image = core::ImageInput::try_from(image)?;
        self.with_model(move |model, cancel| Ok(model.engine.encode(&image, mode, cancel)?))
            .await
            .map(|inner| Arc::new(EncodedImage { inner }))
    }

    /// Runs `request` on an image encoded by `encode` (of this model).
    ///
    /// # Errors
    /// As `run`.
    pub async fn run_encoded(
        &self,
        image: Arc<EncodedImage>,
        request: TaskRequest,
        listener: Option<Arc<dyn TokenListener>>,
    ) -> Result<TaskResult, Florence2Error> {
        let request = self.model()?.core_request(request)?;
        self.with_model(move |model, cancel| {
            Ok(stream_to(model, listener.as_deref(), |observer| {
                model.engine.run_encoded(&image.inner, &request, cancel, observer)
            })?)
        })
        .await
        .map(TaskResult::from)
    }

    /// Runs `request` on every image; results are in input order. The request is checked before
    /// the first image is touched; the batch is pipelined (the next image is encoded while the
    /// current one decodes; at most one encoded image waits).
    ///
    /// # Errors
    /// As `run`, for the first image that fails (the detail names its index); cancelling the
    /// coroutine cancels the rest of the batch.
    pub async fn run_batch(
        &self,
        images: Vec<ImageInput>,
        request: TaskRequest,
    ) -> Result<Vec<TaskResult>, Florence2Error> {
        let request = self.model()?.core_request(request)?;
        let images = images
            .into_iter()
            .enumerate()
            .map(|(index, image)| core::ImageInput::try_from(image).map_err(|e| e.in_batch_item(index)))
            .collect::<Result<Vec<_>, _>>()?;
        self.with_model(move |model, cancel| Ok(model.engine.run_batch(&images, &request, cancel)?))
            .await
            .map(|runs| runs.into_iter().map(TaskResult::from).collect())
    }

    /// Starts a live session: submit camera frames at camera rate, and `listener` gets a result
    /// for the newest frame each time the model is free (older waiting frames are dropped). The
    /// request is checked here.
    ///
    /// # Errors
    /// `InvalidInput` for a bad request, `Closed`.
    pub fn live(
        &self,
        request: TaskRequest,
        listener: Arc<dyn LiveListener>,
    ) -> Result<Arc<LiveSession>, Florence2Error> {
        let model = self.model()?;
        let request = model.core_request(request)?;
        LiveSession::start(&model.engine, request, listener)
    }

    /// Releases the model now: calls in flight finish normally, later calls fail with
    /// `Florence2Exception.Closed`, and the memory is freed when the last call in flight ends.
    /// Idempotent.
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
        Ok(self
            .model()?
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

impl Florence2Engine {
    /// How many times this model's vision encoder has been started (Rust only: lets tests prove
    /// that a bad request failed before the expensive work). `None` after `unload()`.
    pub fn vision_runs(&self) -> Option<u64> {
        self.slot().map(|model| model.engine.vision_runs())
    }
}
