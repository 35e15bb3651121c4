//! Florence-2 inference on ONNX Runtime, in plain Rust.
//!
//! This crate holds everything a Kotlin user never sees directly; the `florence2-sdk` crate is a
//! thin UniFFI layer over it. Today it provides:
//!
//! - [`runtime`]: finding the ONNX Runtime shared library and initialising it once per process;
//! - [`Error`]: the crate's error type.
//!
//! Model loading, the generation loop and the task post-processing arrive in later modules.

#![forbid(unsafe_code)]

pub mod config;
mod decoder;
pub mod error;
pub mod generate;
pub mod model_files;
pub mod pipeline;
pub mod runtime;
pub mod session;
pub mod task;
pub mod tokenizer;

pub use config::{GenerationConfig, ModelConfig};
pub use error::{Error, Result};
pub use generate::{CancelFlag, FinishReason, Generated, TokenObserver};
pub use model_files::{Component, Precision, PrecisionPlan};
pub use pipeline::{EncodedImage, Florence2, GenerateOptions, LoadOptions, TaskRun, TextStream, Timings};
pub use runtime::{LibrarySource, OnnxRuntime, OrtLibrary};
pub use session::{ExecutionProvider, OptimizationLevel, SessionOptions};
pub use task::{Task, TaskError, TaskOutput};
