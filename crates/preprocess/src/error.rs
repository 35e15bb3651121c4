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

    /// A YUV plane's row stride is smaller than the bytes one of its rows spans.
    #[error(
        "{plane} plane row stride {stride} bytes is below the {min_stride} bytes a row of {samples} samples (pixel stride {pixel_stride}) spans"
    )]
    PlaneStrideTooSmall {
        /// `"Y"`, `"U"` or `"V"`.
        plane: &'static str,
        /// The row stride that was passed, in bytes.
        stride: usize,
        /// The smallest valid row stride: `(samples - 1) * pixel_stride + 1`.
        min_stride: usize,
        /// Samples per row of this plane (`width` for Y, `ceil(width / 2)` for chroma).
        samples: u32,
        /// Distance between two samples of a row, in bytes.
        pixel_stride: usize,
    },

    /// A YUV plane's buffer is shorter than its geometry requires (the last row need not be
    /// padded to the full row stride).
    #[error("{plane} plane holds {received} bytes, but its geometry needs {expected}")]
    PlaneTooShort {
        /// `"Y"`, `"U"`, `"V"`, or `"NV21"`/`"NV12"`/`"I420"` for a single packed buffer.
        plane: &'static str,
        /// Bytes needed: `row_stride * (rows - 1) + (samples - 1) * pixel_stride + 1`.
        expected: usize,
        /// Bytes received.
        received: usize,
    },

    /// A YUV plane's pixel stride is not supported (1 = planar, 2 = interleaved chroma; the Y
    /// plane must be 1, and U and V must share one).
    #[error("{plane} plane pixel stride {pixel_stride} is not supported (expected {expected})")]
    PixelStride {
        /// `"Y"`, `"U"` or `"V"`.
        plane: &'static str,
        /// The pixel stride that was passed.
        pixel_stride: usize,
        /// What is accepted, e.g. `"1 or 2"`.
        expected: &'static str,
    },

    /// A rotation that is not a multiple of 90 degrees.
    #[error("rotation of {degrees} degrees is not a multiple of 90")]
    InvalidRotation {
        /// The rotation that was passed.
        degrees: i32,
    },

    /// A crop rectangle that is empty, reaches outside the frame, or starts at an odd position
    /// (4:2:0 chroma covers 2x2 pixel blocks, so a crop must start on an even column and row).
    #[error(
        "crop {crop_width}x{crop_height} at ({x}, {y}) is invalid for a {width}x{height} frame: {detail}"
    )]
    InvalidCrop {
        /// Left column of the crop.
        x: u32,
        /// Top row of the crop.
        y: u32,
        /// Crop width.
        crop_width: u32,
        /// Crop height.
        crop_height: u32,
        /// Frame width.
        width: u32,
        /// Frame height.
        height: u32,
        /// `"empty"`, `"outside the frame"` or `"odd origin"`.
        detail: &'static str,
    },

    /// The requested SIMD backend cannot run on this CPU (or is not built for this architecture).
    #[error("SIMD backend {backend} is not available on this CPU")]
    BackendUnavailable {
        /// The backend's name.
        backend: &'static str,
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
