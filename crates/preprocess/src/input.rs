//! [`ImageInput`]: an image as a caller owns it (encoded bytes, a file, packed pixels or a camera
//! frame), turned into an [`ImageSource`] on demand, with the pixel limit checked before anything
//! of the image's size is allocated.

use std::path::PathBuf;

use crate::decode::{DecodeLimits, decode_with_limits, open_with_limits};
use crate::error::{PreprocessError, Result};
use crate::pixels::{ImageView, PixelFormat, RgbImage};
use crate::source::ImageSource;
use crate::yuv::{CropRect, Rotation, YuvPlane, YuvView};

/// An image to run a task on, owned by the caller.
#[derive(Debug, Clone)]
pub enum ImageInput {
    /// A PNG or JPEG file's bytes (turned upright by its EXIF orientation, see [`DecodeLimits`]).
    Encoded(Vec<u8>),
    /// A PNG or JPEG file on disk.
    File(PathBuf),
    /// An image decoded already.
    Decoded(RgbImage),
    /// Packed pixels, optionally cropped (in the unrotated image), then turned by `rotation`.
    Pixels {
        /// `row_stride * (height - 1) + width * bytes per pixel` bytes at least.
        bytes: Vec<u8>,
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// Bytes from one row to the next.
        row_stride: usize,
        /// Layout of one pixel.
        format: PixelFormat,
        /// Applied after the crop.
        rotation: Rotation,
        /// The part of the image to use (`None`: all of it).
        crop: Option<CropRect>,
    },
    /// A 4:2:0 camera frame (Android `YUV_420_888`: any strides), optionally cropped (even
    /// offsets), then turned by `rotation`.
    Yuv {
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
        y_row_stride: usize,
        /// Bytes between chroma rows.
        uv_row_stride: usize,
        /// Bytes between chroma samples in a row (1 planar, 2 semi-planar).
        uv_pixel_stride: usize,
        /// Applied after the crop.
        rotation: Rotation,
        /// The part of the frame to use (`None`: all of it).
        crop: Option<CropRect>,
    },
}

impl ImageInput {
    /// Width and height the caller declared for a raw input (`None` for encoded images, whose
    /// header says).
    pub fn declared_size(&self) -> Option<(u32, u32)> {
        match self {
            Self::Encoded(_) | Self::File(_) | Self::Decoded(_) => None,
            Self::Pixels { width, height, .. } | Self::Yuv { width, height, .. } => Some((*width, *height)),
        }
    }

    /// Decodes or wraps the input and hands it to `f` as an [`ImageSource`] (camera frames as
    /// they are: the preprocessor converts them without an intermediate RGB buffer).
    ///
    /// Images of more than `limits` pixels are refused before anything of their size is
    /// allocated: encoded ones from their header, raw buffers from their declared size.
    ///
    /// # Errors
    /// [`PreprocessError`] for an image that cannot be decoded, a buffer that does not match its
    /// geometry, a bad crop, or too many pixels; and whatever `f` returns.
    pub fn with_source<R, E: From<PreprocessError>>(
        &self,
        limits: &DecodeLimits,
        f: impl FnOnce(ImageSource<'_>) -> std::result::Result<R, E>,
    ) -> std::result::Result<R, E> {
        if let Some((width, height)) = self.declared_size() {
            check_pixels(width, height, limits)?;
        }
        let decoded: RgbImage;
        let source = match self {
            Self::Encoded(bytes) => {
                decoded = decode_with_limits(bytes, limits)?;
                decoded.view().into()
            }
            Self::File(path) => {
                decoded = open_with_limits(path, limits)?;
                decoded.view().into()
            }
            Self::Decoded(image) => {
                check_pixels(image.width(), image.height(), limits)?;
                image.view().into()
            }
            Self::Pixels {
                bytes,
                width,
                height,
                row_stride,
                format,
                rotation,
                crop,
            } => {
                let view = ImageView::new(bytes, *width, *height, *row_stride, *format)?;
                let view = match crop {
                    Some(crop) => view.crop(*crop)?,
                    None => view,
                };
                ImageSource::pixels(view, *rotation)
            }
            Self::Yuv {
                y,
                u,
                v,
                width,
                height,
                y_row_stride,
                uv_row_stride,
                uv_pixel_stride,
                rotation,
                crop,
            } => {
                let frame = YuvView::new(
                    *width,
                    *height,
                    YuvPlane::new(y, *y_row_stride, 1),
                    YuvPlane::new(u, *uv_row_stride, *uv_pixel_stride),
                    YuvPlane::new(v, *uv_row_stride, *uv_pixel_stride),
                )?;
                let frame = match crop {
                    Some(crop) => frame.crop(*crop)?,
                    None => frame,
                };
                ImageSource::yuv(frame, *rotation)
            }
        };
        f(source)
    }
}

/// Refuses an image of more than `limits` pixels (the same error as an encoded one).
fn check_pixels(width: u32, height: u32, limits: &DecodeLimits) -> Result<()> {
    if u64::from(width) * u64::from(height) > limits.max_pixels() {
        return Err(PreprocessError::TooManyPixels {
            width,
            height,
            max_pixels: limits.max_pixels(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_op(_: ImageSource<'_>) -> Result<()> {
        Ok(())
    }

    #[test]
    fn raw_inputs_over_the_limit_are_refused_from_their_declared_size() {
        let limits = DecodeLimits::default().with_max_pixels(100);
        // The buffer is far too short for 11 x 10: the size is refused before it is looked at.
        let pixels = ImageInput::Pixels {
            bytes: vec![0; 4],
            width: 11,
            height: 10,
            row_stride: 44,
            format: PixelFormat::Rgba8,
            rotation: Rotation::None,
            crop: None,
        };
        assert!(matches!(
            pixels.with_source(&limits, no_op),
            Err(PreprocessError::TooManyPixels {
                width: 11,
                height: 10,
                max_pixels: 100
            })
        ));
        let within = ImageInput::Pixels {
            bytes: vec![0; 400],
            width: 10,
            height: 10,
            row_stride: 40,
            format: PixelFormat::Rgba8,
            rotation: Rotation::Clockwise90,
            crop: Some(CropRect::new(2, 0, 4, 6)),
        };
        let size = within.with_source(&limits, |source| Ok::<_, PreprocessError>(source.size()));
        assert_eq!(size.unwrap(), (6, 4), "cropped to 4 x 6, then turned");
    }

    #[test]
    fn yuv_frames_can_be_cropped() {
        let (w, h) = (8u32, 4u32);
        let frame = |crop| ImageInput::Yuv {
            y: vec![16; (w * h) as usize],
            u: vec![128; (w * h / 4) as usize],
            v: vec![128; (w * h / 4) as usize],
            width: w,
            height: h,
            y_row_stride: w as usize,
            uv_row_stride: (w / 2) as usize,
            uv_pixel_stride: 1,
            rotation: Rotation::None,
            crop,
        };
        let size = |input: ImageInput| {
            input.with_source(&DecodeLimits::default(), |source| {
                Ok::<_, PreprocessError>(source.size())
            })
        };
        assert_eq!(size(frame(None)).unwrap(), (8, 4));
        assert_eq!(size(frame(Some(CropRect::new(2, 0, 4, 2)))).unwrap(), (4, 2));
        assert!(
            size(frame(Some(CropRect::new(6, 0, 4, 2)))).is_err(),
            "outside the frame"
        );
    }
}
