//! Florence-2 inference on ONNX Runtime, in plain Rust.
//!
//! This crate holds everything a Kotlin user never sees directly; the `florence2-sdk` crate is a
//! thin UniFFI layer over it.
//!
//! ```no_run
//! use florence2_core::generate::NoObserver;
//! use florence2_core::{CancelFlag, Florence2, GenerateOptions, LoadOptions, Task};
//!
//! let mut model = Florence2::load("models/out/base-ft".as_ref(), &LoadOptions::default())?;
//! let image = florence2_preprocess::open("photo.jpg")?;
//! let (encoded, _) = model.encode_image(image.view(), &CancelFlag::new())?; // once per image
//! for task in [Task::Caption, Task::ObjectDetection] {
//!     let run = model.run(&encoded, task, None, &GenerateOptions::default(), &CancelFlag::new(), &mut NoObserver)?;
//!     println!("{}", run.output.to_json(task));
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Modules: [`runtime`] (finding and initialising ONNX Runtime), [`model_files`] (the folder layout
//! and precision variants), [`config`], [`session`] (loading and contract checks),
//! [`execution_provider`] (CPU, XNNPACK, NNAPI; fallback policy and per-session report), [`tokenizer`],
//! [`generate`] (greedy and beam search, processors, cancellation, streaming), [`task`] (the 15
//! tasks, prompts, post-processing), [`vision`] and [`text`] (the two
//! independent halves of a model), [`pipeline`] (the [`Florence2`] façade), [`error`].

#![forbid(unsafe_code)]

mod cancel;
pub mod config;
mod decoder;
pub mod download;
pub mod embedding;
pub mod error;
pub mod execution_provider;
pub mod generate;
pub mod model_files;
pub mod pipeline;
pub mod request;
pub mod runtime;
pub mod session;
pub mod task;
pub mod text;
pub mod tokenizer;
pub mod vision;

pub use cancel::{CancelFlag, CancelOnDrop};
pub use config::{GenerationConfig, ModelConfig};
pub use embedding::{EmbeddingLookup, EmbeddingSource};
pub use error::{Error, Result};
pub use execution_provider::{
    ExecutionProvider, NnapiOptions, ProviderFallback, ProviderOptions, SessionProvider, XnnpackOptions,
};
pub use generate::{FinishReason, Generated, ListenerError, TokenObserver};
pub use model_files::{Component, Precision, PrecisionPlan};
pub use pipeline::{Florence2, LoadOptions, TaskRun, TextStream, Timings};
pub use request::{GenerateOptions, TaskInput, TaskPlan, TaskPlanner, TaskRequest};
pub use runtime::{LibrarySource, OnnxRuntime, OrtLibrary};
pub use session::{OptimizationLevel, SessionOptions};
pub use task::{Task, TaskError, TaskOutput};
pub use text::TextGenerator;
pub use vision::{EncodedImage, VisionEncoder};
