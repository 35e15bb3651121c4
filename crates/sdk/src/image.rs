//! Images as Kotlin hands them over ([`ImageInput`]), moved into core's owned input.

use florence2_core as core;
use florence2_preprocess::{PixelFormat, PreprocessError, Rotation};

/// An image to run a task on.
#[derive(Debug, Clone, uniffi::Enum)]
pub enum ImageInput {
    /// A PNG or JPEG file's bytes.
    EncodedBytes {
        /// The file's content.
        bytes: Vec<u8>,
    },
    /// A PNG or JPEG file on disk.
    FilePath {
        /// Absolute or working-directory-relative path.
        path: String,
    },
    /// RGBA pixels, 4 bytes each, rows `row_stride` bytes apart (alpha is ignored).
    Rgba {
        /// `row_stride * (height - 1) + 4 * width` bytes at least.
        bytes: Vec<u8>,
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// Bytes from one row to the next (≥ `4 * width`).
        row_stride: u32,
    },
    /// BGRA pixels (Android `Bitmap.Config.ARGB_8888` copied to a buffer), 4 bytes each.
    Bgra {
        /// `row_stride * (height - 1) + 4 * width` bytes at least.
        bytes: Vec<u8>,
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// Bytes from one row to the next (≥ `4 * width`).
        row_stride: u32,
    },
    /// A camera frame in Android's `YUV_420_888` layout (CameraX `ImageProxy` planes; NV21, NV12
    /// and I420 buffers are special cases), converted with BT.601 limited range and turned
    /// clockwise by `rotation_degrees`; coordinates in results refer to the rotated image.
    Yuv420 {
        /// Luma plane.
        y: Vec<u8>,
        /// Cb plane.
        u: Vec<u8>,
        /// Cr plane.
        v: Vec<u8>,
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// Bytes between luma rows.
        y_row_stride: u32,
        /// Bytes between chroma rows.
        uv_row_stride: u32,
        /// Bytes between chroma samples in a row (1 planar, 2 semi-planar).
        uv_pixel_stride: u32,
        /// Clockwise rotation to apply (a multiple of 90), as `ImageInfo.rotationDegrees`.
        rotation_degrees: u32,
    },
    /// Packed pixels in any [`PixelLayout`] (e.g. a `Bitmap`'s or an RGBA camera frame's
    /// buffer), optionally cropped, then turned clockwise by `rotation_degrees`; coordinates in
    /// results refer to the cropped, rotated image. Rotation and crop cost no extra copy of the
    /// caller's buffer.
    Pixels {
        /// `row_stride * (height - 1) + width * bytes per pixel` bytes at least.
        bytes: Vec<u8>,
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// Bytes from one row to the next (≥ `width * bytes per pixel`).
        row_stride: u32,
        /// Layout of one pixel.
        layout: PixelLayout,
        /// Clockwise rotation to apply (a multiple of 90), e.g. the camera's `rotationDegrees`.
        #[uniffi(default = 0)]
        rotation_degrees: u32,
        /// The part of the image to use, in pixels of the unrotated image (`null`: all of it).
        #[uniffi(default = None)]
        crop: Option<CropRect>,
    },
}

/// Layout of one pixel of [`ImageInput::Pixels`]: 8 bits per channel, interleaved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PixelLayout {
    /// Red, green, blue, alpha (alpha ignored).
    Rgba,
    /// Blue, green, red, alpha (Android `ARGB_8888` as little-endian ints; alpha ignored).
    Bgra,
    /// Red, green, blue.
    Rgb,
    /// One grey byte.
    Gray,
}

impl From<PixelLayout> for PixelFormat {
    fn from(layout: PixelLayout) -> Self {
        match layout {
            PixelLayout::Rgba => Self::Rgba8,
            PixelLayout::Bgra => Self::Bgra8,
            PixelLayout::Rgb => Self::Rgb8,
            PixelLayout::Gray => Self::Gray8,
        }
    }
}

/// A rectangle of an image in pixels: `x`, `y` its top-left corner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct CropRect {
    /// Left column.
    pub x: u32,
    /// Top row.
    pub y: u32,
    /// Width in pixels (≥ 1).
    pub width: u32,
    /// Height in pixels (≥ 1).
    pub height: u32,
}

impl From<CropRect> for florence2_preprocess::CropRect {
    fn from(c: CropRect) -> Self {
        Self::new(c.x, c.y, c.width, c.height)
    }
}

/// A clockwise rotation in degrees (a multiple of 90) as the preprocessor's [`Rotation`].
fn rotation(degrees: u32) -> Result<Rotation, PreprocessError> {
    Rotation::from_degrees(i32::try_from(degrees).unwrap_or(i32::MAX))
}

impl TryFrom<ImageInput> for core::ImageInput {
    type Error = PreprocessError;

    /// Moves the buffers over (no copy); a rotation that is not a multiple of 90 is refused.
    fn try_from(input: ImageInput) -> Result<Self, PreprocessError> {
        let pixels = |bytes, width, height, row_stride: u32, format, degrees, crop: Option<CropRect>| {
            Ok(core::ImageInput::Pixels {
                bytes,
                width,
                height,
                row_stride: row_stride as usize,
                format,
                rotation: rotation(degrees)?,
                crop: crop.map(Into::into),
            })
        };
        match input {
            ImageInput::EncodedBytes { bytes } => Ok(core::ImageInput::Encoded(bytes)),
            ImageInput::FilePath { path } => Ok(core::ImageInput::File(path.into())),
            ImageInput::Rgba {
                bytes,
                width,
                height,
                row_stride,
            } => pixels(bytes, width, height, row_stride, PixelFormat::Rgba8, 0, None),
            ImageInput::Bgra {
                bytes,
                width,
                height,
                row_stride,
            } => pixels(bytes, width, height, row_stride, PixelFormat::Bgra8, 0, None),
            ImageInput::Pixels {
                bytes,
                width,
                height,
                row_stride,
                layout,
                rotation_degrees,
                crop,
            } => pixels(
                bytes,
                width,
                height,
                row_stride,
                layout.into(),
                rotation_degrees,
                crop,
            ),
            ImageInput::Yuv420 {
                y,
                u,
                v,
                width,
                height,
                y_row_stride,
                uv_row_stride,
                uv_pixel_stride,
                rotation_degrees,
            } => Ok(core::ImageInput::Yuv {
                y,
                u,
                v,
                width,
                height,
                y_row_stride: y_row_stride as usize,
                uv_row_stride: uv_row_stride as usize,
                uv_pixel_stride: uv_pixel_stride as usize,
                rotation: rotation(rotation_degrees)?,
                crop: None,
            }),
        }
    }
}
