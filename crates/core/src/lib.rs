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

pub mod error;
pub mod runtime;

pub use error::{Error, Result};
pub use runtime::{LibrarySource, OnnxRuntime, OrtLibrary};
