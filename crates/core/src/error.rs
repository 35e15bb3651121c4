//! The error type of `florence2-core`.
//!
//! It sits below the modules that return it: it names their vocabulary ([`ModelGraph`],
//! [`Precision`], [`ExecutionProvider`]) and wraps the errors of the self-contained layers
//! ([`RuntimeError`], [`TaskError`], the preprocessor's), and imports nothing else of this crate.

use std::path::PathBuf;

use crate::graph::{ModelGraph, Precision, UnknownPrecision};
use crate::provider::ExecutionProvider;
use crate::runtime::RuntimeError;
use crate::task::TaskError;

/// Result alias used throughout `florence2-core`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in `florence2-core`.
///
/// Variants carry the data needed to act on them (paths, graphs, providers), not pre-formatted
/// text; the `Display` output is written for a developer reading a log. Grouped by what a caller
/// does about them: the runtime (ship a library), the model folder (fix or replace it), the
/// caller's input (fix it), running (retry or report), cancellation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// ONNX Runtime could not be found, loaded or initialised.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),

    /// The model folder does not exist or is not a directory.
    #[error("model folder {}: {detail}", .path.display())]
    ModelFolder {
        /// The folder that was given.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },

    /// A graph's ONNX file for the requested precision is not in the model folder.
    #[error(
        "{graph} ({precision}) not found: {} does not exist; the folder's onnx/ holds: {}",
        .path.display(),
        if .available.is_empty() { "nothing".to_string() } else { .available.join(", ") }
    )]
    ModelFileMissing {
        /// Which graph.
        graph: ModelGraph,
        /// The precision asked for.
        precision: Precision,
        /// The file that was looked for.
        path: PathBuf,
        /// The `.onnx` files the folder does hold.
        available: Vec<String>,
    },

    /// A JSON configuration file is missing, unreadable, invalid or inconsistent with the model.
    #[error("{}: {detail}", .path.display())]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },

    /// ONNX Runtime could not load a graph (truncated, corrupt, not ONNX, unsupported operator).
    #[error("loading the {graph} from {} failed: {source}", .path.display())]
    SessionLoad {
        /// Which graph.
        graph: ModelGraph,
        /// The file.
        path: PathBuf,
        /// ONNX Runtime's error.
        #[source]
        source: ort::Error,
    },

    /// The requested execution provider cannot be used for a graph: not compiled into this build,
    /// not part of the loaded ONNX Runtime, ONNX Runtime failed to register it, or creating the
    /// session with it failed while the same graph loads on CPU. Returned under the
    /// [`ProviderFallback::Fail`](crate::provider::ProviderFallback::Fail) policy.
    #[error("the {provider} execution provider is unavailable for the {graph} ({}): {detail}", .path.display())]
    ExecutionProviderUnavailable {
        /// The provider that was requested.
        provider: ExecutionProvider,
        /// Which graph.
        graph: ModelGraph,
        /// The graph's file.
        path: PathBuf,
        /// Why (the build, the runtime, or ONNX Runtime's error text).
        detail: String,
    },

    /// A graph loaded but its inputs/outputs do not match the Florence-2 contract (wrong names,
    /// element types, ranks or sizes, or a file of one graph put in place of another).
    #[error("the {graph} at {} does not match the Florence-2 contract: {detail}", .path.display())]
    Contract {
        /// Which graph.
        graph: ModelGraph,
        /// The file.
        path: PathBuf,
        /// The first mismatch found.
        detail: String,
    },

    /// `tokenizer.json` is missing or cannot be used.
    #[error("tokenizer {}: {detail}", .path.display())]
    Tokenizer {
        /// The tokenizer file.
        path: PathBuf,
        /// What failed.
        detail: String,
    },

    /// Running a graph failed inside ONNX Runtime (out of memory, a kernel error).
    #[error("the {graph} failed: {source}")]
    Inference {
        /// Which graph.
        graph: ModelGraph,
        /// ONNX Runtime's error.
        #[source]
        source: ort::Error,
    },

    /// A graph ran but its output breaks the Florence-2 contract (a missing or misshapen
    /// output, ids the tokenizer cannot decode). The model files are wrong; retrying will not help.
    #[error("the {graph} produced unusable output: {detail}")]
    ModelOutput {
        /// Which graph.
        graph: ModelGraph,
        /// What is wrong with it.
        detail: String,
    },

    /// A graph's weights could not be read from its file while running (the file was truncated,
    /// replaced or became unreadable after loading), or a token id fell outside the table.
    #[error("the {graph} {}: {detail}", .path.display())]
    ModelRead {
        /// Which graph.
        graph: ModelGraph,
        /// The file read.
        path: PathBuf,
        /// What failed.
        detail: String,
    },

    /// The caller's input cannot be processed (a tensor of the wrong size, a prompt the tokenizer
    /// refuses).
    #[error("invalid input: {detail}")]
    InvalidInput {
        /// What is wrong and what was expected.
        detail: String,
    },

    /// An option cannot be honoured (a token limit beyond the decoder's positions, zero or too
    /// many beams, too many threads, contradictory provider flags, an unknown name).
    #[error("invalid option {option}: {detail}")]
    InvalidOption {
        /// The option's name (`max_new_tokens`, `num_beams`, `threads`, …).
        option: &'static str,
        /// What is wrong and what is allowed.
        detail: String,
    },

    /// The prompt and the image tokens together exceed the text encoder's positions.
    #[error(
        "prompt too long: {prompt_tokens} prompt tokens + {image_tokens} image tokens exceed the \
         text encoder's {max_positions} positions (at most {} prompt tokens)",
        .max_positions.saturating_sub(*.image_tokens)
    )]
    PromptTooLong {
        /// Tokens of the prompt, `<s>` and `</s>` included.
        prompt_tokens: usize,
        /// Tokens of the encoded image.
        image_tokens: usize,
        /// The text encoder's positions (`max_position_embeddings`).
        max_positions: usize,
    },

    /// The image could not be decoded or preprocessed (corrupt data, unsupported format, bad
    /// geometry, too many pixels).
    #[error(transparent)]
    Image(#[from] florence2_preprocess::PreprocessError),

    /// A task request is invalid (unknown task, missing or unexpected text input, bad region).
    #[error(transparent)]
    Task(#[from] TaskError),

    /// One image of a batch failed; `source` says how.
    #[error("image {index} of the batch: {source}")]
    BatchItem {
        /// The image's index in the batch.
        index: usize,
        /// Its error.
        #[source]
        source: Box<Error>,
    },

    /// The caller's streaming listener failed (threw an exception, in Kotlin); generation was
    /// stopped at that step.
    #[error("the token listener failed: {reason}")]
    Listener {
        /// The listener's own description of the failure (the exception and its message).
        reason: String,
    },

    /// The caller cancelled the call.
    #[error("cancelled")]
    Cancelled,

    /// The object was closed before this call (a live session after `close`).
    #[error("closed")]
    Closed,
}

impl From<UnknownPrecision> for Error {
    fn from(error: UnknownPrecision) -> Self {
        Error::InvalidOption {
            option: "precision",
            detail: error.to_string(),
        }
    }
}

impl Error {
    /// The error an item of a batch failed with, without its batch position.
    pub fn without_batch_index(&self) -> &Error {
        match self {
            Error::BatchItem { source, .. } => source.without_batch_index(),
            other => other,
        }
    }
}
