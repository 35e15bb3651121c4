//! Helpers shared by the SDK's integration tests: one tokio runtime, the fixture model loaded
//! once through the SDK, fixture images, and copies of the fixture folder to break.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use florence2_sdk::{
    BoundingBox, EncodedImage, Florence2Engine as Florence2, Florence2Error, Florence2Options, ImageInput,
    Task, TaskRequest, TaskResult, TokenListener,
};

/// The fixture-folder helpers of the core tests (`fixture_model`, `fixture_copy`).
#[path = "../../../core/tests/common/mod.rs"]
pub mod core_common;

/// The multi-threaded runtime the async SDK methods are driven on (as UniFFI does for Kotlin).
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    })
}

/// Runs an SDK future to completion.
pub fn block<F: std::future::Future>(future: F) -> F::Output {
    runtime().block_on(future)
}

/// The committed tiny-random fixture model folder.
pub fn fixture_dir() -> String {
    core_common::fixture_model().display().to_string()
}

/// `task` with `text` and the model's defaults.
pub fn request(task: Task, text: Option<String>) -> TaskRequest {
    TaskRequest {
        task,
        text,
        region: None,
        options: None,
    }
}

/// The task calls Kotlin's `Florence2` class offers, written over the engine's general ones
/// (the Rust tests drive the same FFI methods Kotlin does).
#[allow(async_fn_in_trait)]
pub trait Tasks {
    /// `run` of `task` with `text`.
    async fn run_task(
        &self,
        image: ImageInput,
        task: Task,
        text: Option<String>,
    ) -> Result<TaskResult, Florence2Error>;
    /// `run` with a listener.
    async fn run_streaming(
        &self,
        image: ImageInput,
        task: Task,
        text: Option<String>,
        listener: Arc<dyn TokenListener>,
    ) -> Result<TaskResult, Florence2Error>;
    /// `run` of a region task.
    async fn run_region(
        &self,
        image: ImageInput,
        task: Task,
        region: BoundingBox,
    ) -> Result<TaskResult, Florence2Error>;
    /// `runBatch` of `task` with `text`.
    async fn run_batch_task(
        &self,
        images: Vec<ImageInput>,
        task: Task,
        text: Option<String>,
    ) -> Result<Vec<TaskResult>, Florence2Error>;
    /// `runEncoded` of `task` with `text`.
    async fn run_encoded_task(
        &self,
        image: Arc<EncodedImage>,
        task: Task,
        text: Option<String>,
    ) -> Result<TaskResult, Florence2Error>;
    /// `<CAPTION>`.
    async fn caption(&self, image: ImageInput) -> Result<TaskResult, Florence2Error> {
        self.run_task(image, Task::Caption, None).await
    }
}

impl Tasks for Florence2 {
    async fn run_task(
        &self,
        image: ImageInput,
        task: Task,
        text: Option<String>,
    ) -> Result<TaskResult, Florence2Error> {
        self.run(image, request(task, text), None).await
    }

    async fn run_streaming(
        &self,
        image: ImageInput,
        task: Task,
        text: Option<String>,
        listener: Arc<dyn TokenListener>,
    ) -> Result<TaskResult, Florence2Error> {
        self.run(image, request(task, text), Some(listener)).await
    }

    async fn run_region(
        &self,
        image: ImageInput,
        task: Task,
        region: BoundingBox,
    ) -> Result<TaskResult, Florence2Error> {
        let request = TaskRequest {
            region: Some(region),
            ..request(task, None)
        };
        self.run(image, request, None).await
    }

    async fn run_batch_task(
        &self,
        images: Vec<ImageInput>,
        task: Task,
        text: Option<String>,
    ) -> Result<Vec<TaskResult>, Florence2Error> {
        self.run_batch(images, request(task, text)).await
    }

    async fn run_encoded_task(
        &self,
        image: Arc<EncodedImage>,
        task: Task,
        text: Option<String>,
    ) -> Result<TaskResult, Florence2Error> {
        self.run_encoded(image, request(task, text), None).await
    }
}

/// Options that keep the fixture's calls short (greedy, a few tokens).
pub fn quick_options() -> Florence2Options {
    Florence2Options {
        max_new_tokens: Some(8),
        num_beams: Some(1),
        ..Florence2Options::default()
    }
}

/// The fixture model, loaded once per test binary through the SDK.
pub fn shared_model() -> Arc<Florence2> {
    static MODEL: OnceLock<Arc<Florence2>> = OnceLock::new();
    Arc::clone(MODEL.get_or_init(|| block(Florence2::create(fixture_dir(), quick_options())).unwrap()))
}

/// A fixture image file.
pub fn image_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/images")
        .join(name)
}

/// The bytes of a fixture image file.
pub fn image_bytes(name: &str) -> Vec<u8> {
    std::fs::read(image_path(name)).unwrap()
}

/// A small PNG that every test can run a task on.
pub fn good_image() -> ImageInput {
    ImageInput::EncodedBytes {
        bytes: image_bytes("coffee_tiny_23x17.png"),
    }
}

/// A uniform RGBA image.
pub fn rgba(width: i32, height: i32) -> ImageInput {
    ImageInput::Rgba {
        bytes: vec![128; width as usize * height as usize * 4],
        width,
        height,
        row_stride: width * 4,
    }
}

/// A freshly loaded fixture model, for tests that count its vision-encoder runs (the shared model
/// is used by tests running in parallel).
pub fn fresh_model() -> Arc<Florence2> {
    block(Florence2::create(fixture_dir(), quick_options())).unwrap()
}

/// Bytes that are no image at all: a request that fails on them failed on the image, one that fails
/// otherwise was refused before the image was even decoded.
pub fn undecodable_image() -> ImageInput {
    ImageInput::EncodedBytes {
        bytes: b"not an image".to_vec(),
    }
}

/// A caption of the good image: the model must still work.
pub fn good_call(model: &Florence2) -> TaskResult {
    block(model.run_task(good_image(), Task::Caption, None)).expect("a good call after the bad one succeeds")
}

/// A short name of the error variant (for messages).
pub fn variant(error: &Florence2Error) -> &'static str {
    match error {
        Florence2Error::ModelLoad { .. } => "ModelLoad",
        Florence2Error::InvalidInput { .. } => "InvalidInput",
        Florence2Error::Inference { .. } => "Inference",
        Florence2Error::Cancelled => "Cancelled",
        Florence2Error::Closed => "Closed",
        Florence2Error::RuntimeUnavailable { .. } => "RuntimeUnavailable",
        Florence2Error::Internal { .. } => "Internal",
        Florence2Error::ListenerFailed { .. } => "ListenerFailed",
        _ => "other",
    }
}
