//! Florence-2 inference on ONNX Runtime, in plain Rust.
//!
//! This crate holds everything a Kotlin user never sees directly; the `florence2-sdk` crate is a
//! thin UniFFI layer over it, and `florence2-download` delivers model folders to it.
//!
//! ```no_run
//! use florence2_core::generate::NoObserver;
//! use florence2_core::{CancelFlag, Florence2, ImageInput, LoadOptions, Task, TaskRequest};
//!
//! let model = Florence2::load("models/out/base-ft".as_ref(), &LoadOptions::default())?;
//! let image = ImageInput::File("photo.jpg".into());
//! let encoded = model.encode(&image, None, &CancelFlag::new())?; // the vision encoder, once per image
//! for task in [Task::Caption, Task::ObjectDetection] {
//!     let run = model.run_encoded(&encoded, &TaskRequest::new(task), &CancelFlag::new(), &mut NoObserver)?;
//!     println!("{}", run.output.to_json(task));
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Modules, in the order data flows through them (each imports only modules above it, the
//! façade last; `error` names the vocabulary of the leaves and imports nothing else):
//!
//! | module | job |
//! |---|---|
//! | [`graph`], [`provider`] | vocabulary: the four graphs, precisions, execution providers |
//! | [`runtime`] | finding and initialising ONNX Runtime (its own [`RuntimeError`]) |
//! | [`error`] | the crate's [`Error`] |
//! | [`model_files`], [`config`] | the folder layout, `config.json`, `generation_config.json` |
//! | [`session`] | session options, provider registration, the tensor contract |
//! | [`tokenizer`], [`embedding`] | prompt ids and token embeddings |
//! | `cancel` | [`CancelFlag`]: cancellation and the delivery gate |
//! | `vision` | the vision half: preprocessing and the vision encoder → [`EncodedImage`] |
//! | [`request`] | [`TaskRequest`] → [`TaskPlan`], checked before any model runs |
//! | [`generate`], `decoder`, `decoder_step` | greedy and beam search over a step model; the ONNX decoder step (merged decoder, or the optimised layout) |
//! | `text` | the text half: text encoder, decode loop, decoding, post-processing |
//! | [`task`] | the 15 tasks, prompts, `<loc_N>`, parsers, typed results |
//! | [`run`] | what a call produces ([`TaskRun`], [`Timings`]) and [`TextStream`] |
//! | `load`, [`pipeline`] | loading a folder; the thread-safe [`Florence2`] façade |
//! | [`live`] | [`LiveSession`]: camera frames at camera rate, the newest processed, older dropped |

#![forbid(unsafe_code)]

pub mod graph;
pub mod provider;
pub mod runtime;
pub mod error;
pub mod model_files;
pub mod config;
pub mod session;
pub mod tokenizer;
pub mod embedding;
mod cancel;
mod vision;
pub mod request;
pub mod generate;
mod decoder;
mod decoder_step;
mod text;
pub mod task;
pub mod run;
mod load;
mod memory;
pub mod pipeline;
pub mod live;

pub use cancel::{CancelFlag, CancelOnDrop};
pub use config::{GenerationConfig, ModelConfig};
pub use decoder_step::INITIAL_CACHE_POSITIONS;
pub use embedding::{EmbeddingLookup, EmbeddingSource};
pub use error::{Error, Result};
pub use florence2_preprocess::{DecodeLimits, ImageInput, ResizeMode};
pub use generate::{FinishReason, Generated, ListenerError, TokenObserver};
pub use graph::{ModelGraph, Precision, PrecisionPlan, UnknownPrecision};
pub use live::{LiveResult, LiveSession, LiveStats};
pub use load::LoadOptions;
pub use memory::MemoryMode;
pub use pipeline::{Florence2, ResidentHalves};
pub use provider::{
    ExecutionProvider, NnapiOptions, ProviderFallback, ProviderOptions, SessionProvider, XnnpackOptions,
};
pub use request::{RunOptions, TaskInput, TaskPlan, TaskPlanner, TaskRequest};
pub use run::{TaskRun, TextStream, Timings};
pub use runtime::{LibrarySource, OnnxRuntime, OrtLibrary, RuntimeError};
pub use session::{OptimizationLevel, SessionOptions};
pub use task::{Task, TaskError, TaskOutput};
pub use vision::EncodedImage;
