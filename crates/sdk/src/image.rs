//! Images as Kotlin hands them over ([`ImageInput`]), moved into core's owned input. Sizes are
//! Kotlin `Int`s, checked here: a negative one is `InvalidInput` naming the field.

use florence2_core as core;
use florence2_preprocess::{PixelFormat, Rotation};

use crate::error::Florence2Error;

/// An image to run a task on.
///
/// Channel order matters: a Kotlin `Bitmap` (`ARGB_8888`) gives **RGBA** bytes through
/// `copyPixelsToBuffer`, so use [`ImageInput::Rgba`] (or `Pixels` with `PixelLayout.RGBA`) for it;
/// [`ImageInput::Bgra`] is for buffers whose bytes really are blue, green, red, alpha (e.g. the
/// `IntArray` of `Bitmap.getPixels` written out little-endian, or Windows/`TYPE_INT_ARGB` images).
#[derive(Debug, Clone, uniffi::Enum)]
pub enum ImageInput {
    /// A PNG or JPEG file's bytes (turned upright by its EXIF orientation).
    EncodedBytes {
        /// The file's content.
        bytes: Vec<u8>,
    },
    /// A PNG or JPEG file on disk.
    FilePath {
        /// Absolute or working-directory-relative path.
        path: String,
    },
    /// RGBA pixels (byte order R, G, B, A: what `Bitmap.copyPixelsToBuffer` writes for
    /// `ARGB_8888`), rows `row_stride` bytes apart; alpha is ignored.
    Rgba {
        /// `row_stride * (height - 1) + 4 * width` bytes at least.
        bytes: Vec<u8>,
        /// Width in pixels.
        width: i32,
        /// Height in pixels.
        height: i32,
        /// Bytes from one row to the next (≥ `4 * width`).
        row_stride: i32,
    },
    /// BGRA pixels (byte order B, G, R, A, e.g. `Bitmap.getPixels`' ints stored little-endian),
    /// rows `row_stride` bytes apart; alpha is ignored. Not what `copyPixelsToBuffer` gives: that
    /// is [`ImageInput::Rgba`].
    Bgra {
        /// `row_stride * (height - 1) + 4 * width` bytes at least.
        bytes: Vec<u8>,
        /// Width in pixels.
        width: i32,
        /// Height in pixels.
        height: i32,
        /// Bytes from one row to the next (≥ `4 * width`).
        row_stride: i32,
    },
    /// A camera frame in Android's `YUV_420_888` layout (CameraX `ImageProxy` planes; NV21, NV12
    /// and I420 buffers are special cases), optionally cropped (even offsets; e.g. the
    /// `ImageProxy.cropRect`), converted with BT.601 limited range and turned clockwise by
    /// `rotation_degrees`; coordinates in results refer to the cropped, rotated image. On Android,
    /// `ImageProxy.toImageInput()` builds it.
    Yuv420 {
        /// Luma plane.
        y: Vec<u8>,
        /// Cb plane.
        u: Vec<u8>,
        /// Cr plane.
        v: Vec<u8>,
        /// Width in pixels.
        width: i32,
        /// Height in pixels.
        height: i32,
        /// Bytes between luma rows.
        y_row_stride: i32,
        /// Bytes between chroma rows.
        uv_row_stride: i32,
        /// Bytes between chroma samples in a row (1 planar, 2 semi-planar).
        uv_pixel_stride: i32,
        /// Clockwise rotation to apply (a multiple of 90), as `ImageInfo.rotationDegrees`.
        #[uniffi(default = 0)]
        rotation_degrees: i32,
        /// The part of the frame to use, in pixels of the unrotated frame (`null`: all of it).
        #[uniffi(default = None)]
        crop: Option<CropRect>,
    },
    /// Packed pixels in any [`PixelLayout`] (e.g. a `Bitmap`'s or an RGBA camera frame's
    /// buffer), optionally cropped, then turned clockwise by `rotation_degrees`; coordinates in
    /// results refer to the cropped, rotated image. Rotation and crop cost no extra copy of the
    /// caller's buffer.
    Pixels {
        /// `row_stride * (height - 1) + width * bytes per pixel` bytes at least.
        bytes: Vec<u8>,
        /// Width in pixels.
        width: i32,
        /// Height in pixels.
        height: i32,
        /// Bytes from one row to the next (≥ `width * bytes per pixel`).
        row_stride: i32,
        /// Layout of one pixel.
        layout: PixelLayout,
        /// Clockwise rotation to apply (a multiple of 90), e.g. the camera's `rotationDegrees`.
        #[uniffi(default = 0)]
        rotation_degrees: i32,
        /// The part of the image to use, in pixels of the unrotated image (`null`: all of it).
        #[uniffi(default = None)]
        crop: Option<CropRect>,
    },
}

/// Layout of one pixel of [`ImageInput::Pixels`]: 8 bits per channel, interleaved, named in
/// byte order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PixelLayout {
    /// Bytes R, G, B, A (alpha ignored): `Bitmap.copyPixelsToBuffer` of an `ARGB_8888` bitmap.
    Rgba,
    /// Bytes B, G, R, A (alpha ignored): e.g. `Bitmap.getPixels` ints stored little-endian.
    Bgra,
    /// Bytes R, G, B.
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
    pub x: i32,
    /// Top row.
    pub y: i32,
    /// Width in pixels (≥ 1).
    pub width: i32,
    /// Height in pixels (≥ 1).
    pub height: i32,
}

/// `value` as an unsigned size, or `InvalidInput` naming the field.
pub(crate) fn non_negative(field: &str, value: i32) -> Result<u32, Florence2Error> {
    u32::try_from(value).map_err(|_| Florence2Error::InvalidInput {
        detail: format!("{field} is {value}; it must not be negative"),
    })
}

impl CropRect {
    fn to_core(self) -> Result<florence2_preprocess::CropRect, Florence2Error> {
        Ok(florence2_preprocess::CropRect::new(
            non_negative("CropRect.x", self.x)?,
            non_negative("CropRect.y", self.y)?,
            non_negative("CropRect.width", self.width)?,
            non_negative("CropRect.height", self.height)?,
        ))
    }
}

/// A clockwise rotation in degrees (a multiple of 90, negative allowed) as the preprocessor's
/// [`Rotation`].
fn rotation(degrees: i32) -> Result<Rotation, Florence2Error> {
    Rotation::from_degrees(degrees).map_err(|e| core::Error::from(e).into())
}

impl TryFrom<ImageInput> for core::ImageInput {
    type Error = Florence2Error;

    /// Moves the buffers over (no copy), checking every size and the rotation.
    fn try_from(input: ImageInput) -> Result<Self, Florence2Error> {
        let pixels = |kind: &str,
                      bytes,
                      (width, height, row_stride): (i32, i32, i32),
                      format,
                      degrees: i32,
                      crop: Option<CropRect>| {
            Ok(core::ImageInput::Pixels {
                bytes,
                width: non_negative(&format!("ImageInput.{kind}.width"), width)?,
                height: non_negative(&format!("ImageInput.{kind}.height"), height)?,
                row_stride: non_negative(&format!("ImageInput.{kind}.rowStride"), row_stride)? as usize,
                format,
                rotation: rotation(degrees)?,
                crop: crop.map(CropRect::to_core).transpose()?,
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
            } => pixels(
                "Rgba",
                bytes,
                (width, height, row_stride),
                PixelFormat::Rgba8,
                0,
                None,
            ),
            ImageInput::Bgra {
                bytes,
                width,
                height,
                row_stride,
            } => pixels(
                "Bgra",
                bytes,
                (width, height, row_stride),
                PixelFormat::Bgra8,
                0,
                None,
            ),
            ImageInput::Pixels {
                bytes,
                width,
                height,
                row_stride,
                layout,
                rotation_degrees,
                crop,
            } => pixels(
                "Pixels",
                bytes,
                (width, height, row_stride),
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
                crop,
            } => Ok(core::ImageInput::Yuv {
                y,
                u,
                v,
                width: non_negative("ImageInput.Yuv420.width", width)?,
                height: non_negative("ImageInput.Yuv420.height", height)?,
                y_row_stride: non_negative("ImageInput.Yuv420.yRowStride", y_row_stride)? as usize,
                uv_row_stride: non_negative("ImageInput.Yuv420.uvRowStride", uv_row_stride)? as usize,
                uv_pixel_stride: non_negative("ImageInput.Yuv420.uvPixelStride", uv_pixel_stride)? as usize,
                rotation: rotation(rotation_degrees)?,
                crop: crop.map(CropRect::to_core).transpose()?,
            }),
        }
    }
}
