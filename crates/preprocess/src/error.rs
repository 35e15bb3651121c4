//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong between image bytes (or pixels) and `pixel_values`.
///
/// Size problems carry the numbers involved (what was expected and what was received), so a caller
/// can report them without parsing text. Every check happens in the safe entry points, before any
/// pixel is read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PreprocessError {
    /// The image has a zero width or height.
    #[error("image has zero size ({width}x{height})")]
    ZeroSize {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    },

    /// A row stride is smaller than one row of pixels.
    #[error(
        "row stride {stride} bytes is below the row size {min_stride} bytes ({width} pixels of {bytes_per_pixel} bytes)"
    )]
    StrideTooSmall {
        /// The stride that was passed, in bytes.
        stride: usize,
        /// The smallest valid stride: `width * bytes_per_pixel`.
        min_stride: usize,
        /// Width in pixels.
        width: u32,
        /// Bytes per pixel of the pixel format.
        bytes_per_pixel: usize,
    },

    /// The input pixel buffer is shorter than its geometry requires.
    #[error(
        "input buffer holds {received} bytes, but {width}x{height} with stride {stride} needs {expected}"
    )]
    InputTooShort {
        /// Bytes needed: `stride * (height - 1) + width * bytes_per_pixel` (the last row need not be padded).
        expected: usize,
        /// Bytes received.
        received: usize,
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// Row stride in bytes.
        stride: usize,
    },

    /// An owned image's pixel buffer does not have exactly `width * height * channels` bytes.
    #[error("pixel buffer of a {width}x{height} image holds {received} bytes, expected {expected}")]
    PixelBufferLength {
        /// Bytes expected.
        expected: usize,
        /// Bytes received.
        received: usize,
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    },

    /// The caller's output buffer does not have exactly the required number of elements.
    #[error("output buffer holds {received} elements, expected {expected}")]
    OutputLength {
        /// Elements expected (`3 * height * width` for `pixel_values`, `height * width * 3` for RGB8).
        expected: usize,
        /// Elements received.
        received: usize,
    },

    /// The image is larger than the configured pixel limit (checked from the file header, before
    /// any pixel memory is allocated).
    #[error("image of {width}x{height} pixels exceeds the limit of {max_pixels} pixels")]
    TooManyPixels {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// The limit in pixels.
        max_pixels: u64,
    },

    /// Sizes whose products do not fit in this platform's address space.
    #[error("image geometry {width}x{height} overflows the address space")]
    SizeOverflow {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    },

    /// The bytes are not a PNG or JPEG file (the only formats this crate decodes).
    #[error("unsupported image format: {detail}")]
    UnsupportedFormat {
        /// What was found instead.
        detail: String,
    },

    /// The file ends before the image data is complete.
    #[error("{format} data is truncated: {detail}")]
    Truncated {
        /// `"PNG"` or `"JPEG"`.
        format: &'static str,
        /// Where the data ended.
        detail: String,
    },

    /// The decoder rejected the data (corrupt, or a variant of the format it does not support).
    #[error("cannot decode {format}: {detail}")]
    Decode {
        /// `"PNG"` or `"JPEG"`.
        format: &'static str,
        /// The decoder's (image crate's) description of the problem.
        detail: String,
    },

    /// Reading an image file failed.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// A preprocessing configuration value is invalid or unsupported.
    #[error("invalid preprocessor config field `{field}`: {detail}")]
    InvalidConfig {
        /// The `preprocessor_config.json` field (or config struct field).
        field: &'static str,
        /// What is wrong with it.
        detail: String,
    },

    /// `preprocessor_config.json` is not valid JSON of the expected shape.
    #[error("cannot parse preprocessor config: {detail}")]
    ConfigJson {
        /// The JSON parser's description of the problem.
        detail: String,
    },
}

/// `Result` with [`PreprocessError`].
pub type Result<T, E = PreprocessError> = std::result::Result<T, E>;
