//! The error type of `florence2-core`.

use std::fmt::Write as _;
use std::path::PathBuf;

use crate::runtime::LibrarySource;

/// Result alias used throughout `florence2-core`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in `florence2-core`.
///
/// Variants carry the data needed to act on them (paths, versions), not pre-formatted text; the
/// `Display` output is written for a developer reading a log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A path that was asked for explicitly (by the caller or through `ORT_DYLIB_PATH`) does not
    /// name an existing file. Explicit requests never fall back to other locations.
    #[error("{} points at a missing file: {}", describe_request(*.origin), .path.display())]
    OnnxRuntimeFileMissing {
        /// The path that was requested.
        path: PathBuf,
        /// Who requested it.
        origin: LibrarySource,
    },

    /// No ONNX Runtime library was found in any of the default locations.
    #[error("{}", not_found_message(.searched))]
    OnnxRuntimeNotFound {
        /// Every path that was tried, in lookup order.
        searched: Vec<PathBuf>,
    },

    /// The file exists but could not be loaded as ONNX Runtime (not a shared library, wrong
    /// architecture, missing `OrtGetApiBase`, unreadable version string).
    #[error("could not load ONNX Runtime from {}: {detail}", .path.display())]
    OnnxRuntimeLoad {
        /// The library that failed to load.
        path: PathBuf,
        /// The loader's explanation (e.g. the `dlopen` error text).
        detail: String,
    },

    /// The library loaded but its version is older than the C API this build needs.
    #[error(
        "ONNX Runtime at {} is version {found}, but this build needs 1.{required_minor} or newer \
         (run scripts/setup.sh, or point ORT_DYLIB_PATH at a newer libonnxruntime)",
        .path.display()
    )]
    OnnxRuntimeVersion {
        /// The library that was loaded.
        path: PathBuf,
        /// The version string the library reported.
        found: String,
        /// The minimum minor version (`1.<minor>`) required by this build.
        required_minor: u32,
    },

    /// ONNX Runtime was already initialised in this process from a different library file;
    /// a process can hold only one.
    #[error(
        "ONNX Runtime is already initialised from {}; cannot switch to {} in the same process",
        .loaded.display(),
        .requested.display()
    )]
    OnnxRuntimeAlreadyInitialized {
        /// The library in use.
        loaded: PathBuf,
        /// The library that was asked for afterwards.
        requested: PathBuf,
    },

    /// ONNX Runtime loaded but creating its environment failed.
    #[error("creating the ONNX Runtime environment failed: {source}")]
    Environment {
        /// The error reported by ONNX Runtime.
        #[source]
        source: ort::Error,
    },

    /// The model folder does not exist or is not a directory.
    #[error("model folder {}: {detail}", .path.display())]
    ModelFolder {
        /// The folder that was given.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },

    /// A component's ONNX file for the requested precision is not in the model folder.
    #[error(
        "{component} ({precision}) not found: {} does not exist; the folder's onnx/ holds: {}",
        .path.display(),
        if .available.is_empty() { "nothing".to_string() } else { .available.join(", ") }
    )]
    ModelFileMissing {
        /// Which graph.
        component: crate::model_files::Component,
        /// The precision asked for.
        precision: crate::model_files::Precision,
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
    #[error("loading {component} from {} failed: {source}", .path.display())]
    SessionLoad {
        /// Which graph.
        component: crate::model_files::Component,
        /// The file.
        path: PathBuf,
        /// ONNX Runtime's error.
        #[source]
        source: ort::Error,
    },

    /// The requested execution provider cannot be used for a graph: not compiled into this build,
    /// not part of the loaded ONNX Runtime, ONNX Runtime failed to register it, or creating the
    /// session with it failed while the same graph loads on CPU. Returned under the
    /// [`ProviderFallback::Fail`](crate::execution_provider::ProviderFallback::Fail) policy.
    #[error("the {provider} execution provider is unavailable for the {component} ({}): {detail}", .path.display())]
    ExecutionProviderUnavailable {
        /// The provider that was requested.
        provider: crate::execution_provider::ExecutionProvider,
        /// Which graph.
        component: crate::model_files::Component,
        /// The graph's file.
        path: PathBuf,
        /// Why (the build, the runtime, or ONNX Runtime's error text).
        detail: String,
    },

    /// A graph loaded but its inputs/outputs do not match the Florence-2 contract (wrong names,
    /// element types, ranks or sizes, or a file of one component put in place of another).
    #[error("{component} at {} does not match the Florence-2 contract: {detail}", .path.display())]
    Contract {
        /// Which graph.
        component: crate::model_files::Component,
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

    /// Running a graph failed.
    #[error("{stage} failed: {source}")]
    Inference {
        /// Which stage of the pipeline.
        stage: crate::model_files::Component,
        /// ONNX Runtime's error.
        #[source]
        source: ort::Error,
    },

    /// A graph's weights could not be read from its file while running (the file was truncated,
    /// replaced or became unreadable after loading), or a token id fell outside the table.
    #[error("{component} {}: {detail}", .path.display())]
    ModelRead {
        /// Which graph.
        component: crate::model_files::Component,
        /// The file read.
        path: PathBuf,
        /// What failed.
        detail: String,
    },

    /// The caller's input cannot be processed (wrong tensor size, prompt too long, bad options).
    #[error("invalid input: {detail}")]
    InvalidInput {
        /// What is wrong and what was expected.
        detail: String,
    },

    /// A decoding option cannot be honoured by this model (a token limit beyond the decoder's
    /// positions, zero or too many beams, a non-finite length penalty).
    #[error("invalid option {option}: {detail}")]
    InvalidOption {
        /// The option's name (`max_new_tokens`, `num_beams`, …).
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

    /// The caller's streaming listener failed (threw an exception, in Kotlin); generation was
    /// stopped at that step.
    #[error("the token listener failed: {reason}")]
    Listener {
        /// The listener's own description of the failure (the exception and its message).
        reason: String,
    },

    /// The caller cancelled the generation.
    #[error("cancelled")]
    Cancelled,

    /// The image could not be decoded or preprocessed (corrupt data, unsupported format, bad
    /// geometry, too many pixels).
    #[error(transparent)]
    Image(#[from] florence2_preprocess::PreprocessError),

    /// A task request is invalid (unknown task, missing or unexpected text input, bad region).
    #[error(transparent)]
    Task(#[from] crate::task::TaskError),
}

fn describe_request(origin: LibrarySource) -> &'static str {
    match origin {
        LibrarySource::EnvVar => "the ORT_DYLIB_PATH environment variable",
        LibrarySource::Explicit => "the ONNX Runtime library path passed by the caller",
        LibrarySource::SetupCache => "the ONNX Runtime setup cache",
        LibrarySource::ExecutableDir => "the directory of the current executable",
        LibrarySource::SystemLoader => "the system library loader",
    }
}

fn not_found_message(searched: &[PathBuf]) -> String {
    let mut text = String::from("ONNX Runtime shared library not found. Searched:");
    for path in searched {
        // Writing to a String cannot fail.
        let _ = write!(text, "\n  - {}", path.display());
    }
    text.push_str(
        "\nFix: run scripts/setup.sh, or set ORT_DYLIB_PATH=/abs/path/libonnxruntime.so.1.31.1 \
         (or FLORENCE2_ORT_CACHE=<directory containing libonnxruntime.so>)",
    );
    text
}
