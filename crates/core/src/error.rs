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
