//! Borrowed views of caller pixels ([`ImageView`]) and the owned decoded image ([`RgbImage`]).

use crate::error::{PreprocessError, Result};
use crate::yuv::CropRect;

/// Layout of one pixel in an [`ImageView`]: 8 bits per channel, channels interleaved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PixelFormat {
    /// Red, green, blue (3 bytes).
    Rgb8,
    /// Red, green, blue, alpha (4 bytes). Alpha is dropped, not composited (as Pillow's
    /// `convert("RGB")` does).
    Rgba8,
    /// Blue, green, red, alpha (4 bytes; Android `ARGB_8888` as read from a little-endian `int`,
    /// Windows DIBs). Channels are swapped to RGB and alpha is dropped.
    Bgra8,
    /// One luminance byte, replicated to red, green and blue.
    Gray8,
}

impl PixelFormat {
    /// Bytes per pixel.
    #[must_use]
    pub const fn bytes_per_pixel(self) -> usize {
        match self {
            Self::Gray8 => 1,
            Self::Rgb8 => 3,
            Self::Rgba8 | Self::Bgra8 => 4,
        }
    }
}

/// A validated, borrowed image: `height` rows of `width` pixels, rows `stride` bytes apart.
///
/// Only the first `width * bytes_per_pixel` bytes of each row are read; the last row need not be
/// padded to the full stride (camera buffers often end right after the last pixel).
#[derive(Clone, Copy, Debug)]
pub struct ImageView<'a> {
    data: &'a [u8],
    width: u32,
    height: u32,
    stride: usize,
    format: PixelFormat,
}

impl<'a> ImageView<'a> {
    /// Checks the geometry against the buffer and wraps it.
    ///
    /// # Errors
    /// [`PreprocessError::ZeroSize`], [`PreprocessError::StrideTooSmall`],
    /// [`PreprocessError::InputTooShort`] or [`PreprocessError::SizeOverflow`].
    pub fn new(data: &'a [u8], width: u32, height: u32, stride: usize, format: PixelFormat) -> Result<Self> {
        if width == 0 || height == 0 {
            return Err(PreprocessError::ZeroSize { width, height });
        }
        let bytes_per_pixel = format.bytes_per_pixel();
        let overflow = || PreprocessError::SizeOverflow { width, height };
        let row_bytes = usize::try_from(width)
            .ok()
            .and_then(|w| w.checked_mul(bytes_per_pixel))
            .ok_or_else(overflow)?;
        if stride < row_bytes {
            return Err(PreprocessError::StrideTooSmall {
                stride,
                min_stride: row_bytes,
                width,
                bytes_per_pixel,
            });
        }
        let expected = usize::try_from(height - 1)
            .ok()
            .and_then(|h| h.checked_mul(stride))
            .and_then(|b| b.checked_add(row_bytes))
            .ok_or_else(overflow)?;
        if data.len() < expected {
            return Err(PreprocessError::InputTooShort {
                expected,
                received: data.len(),
                width,
                height,
                stride,
            });
        }
        Ok(Self {
            data,
            width,
            height,
            stride,
            format,
        })
    }

    /// A view of tightly packed rows (`stride = width * bytes_per_pixel`).
    ///
    /// # Errors
    /// As [`ImageView::new`].
    pub fn packed(data: &'a [u8], width: u32, height: u32, format: PixelFormat) -> Result<Self> {
        let stride = usize::try_from(width)
            .ok()
            .and_then(|w| w.checked_mul(format.bytes_per_pixel()))
            .ok_or(PreprocessError::SizeOverflow { width, height })?;
        Self::new(data, width, height, stride, format)
    }

    /// The part of the image inside `crop` (any origin; the rows keep their stride). Borrowed:
    /// nothing is copied.
    ///
    /// # Errors
    /// [`PreprocessError::InvalidCrop`] if the rectangle is empty or leaves the image.
    pub fn crop(&self, crop: CropRect) -> Result<Self> {
        crop.check(self.width, self.height, false)?;
        let start = crop.y as usize * self.stride + crop.x as usize * self.format.bytes_per_pixel();
        Self::new(
            &self.data[start..],
            crop.width,
            crop.height,
            self.stride,
            self.format,
        )
    }

    /// Width in pixels (never 0).
    #[must_use]
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels (never 0).
    #[must_use]
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Distance between the starts of two rows, in bytes.
    #[must_use]
    pub fn stride(&self) -> usize {
        self.stride
    }

    /// Pixel layout.
    #[must_use]
    pub fn format(&self) -> PixelFormat {
        self.format
    }

    /// Width and height as `usize` (validated to fit in `new`).
    pub(crate) fn dims(&self) -> (usize, usize) {
        (self.width as usize, self.height as usize)
    }

    /// The whole buffer (rows `stride` apart; the last row may end without padding).
    pub(crate) fn data(&self) -> &'a [u8] {
        self.data
    }

    /// The pixels of row `y` (without padding). `y < height`.
    pub(crate) fn row(&self, y: usize) -> &'a [u8] {
        let start = y * self.stride;
        &self.data[start..start + self.width as usize * self.format.bytes_per_pixel()]
    }
}

/// An owned 8-bit RGB image with tightly packed rows, as [`decode`](crate::decode) returns it.
#[derive(Clone, PartialEq, Eq)]
pub struct RgbImage {
    width: u32,
    height: u32,
    data: Vec<u8>,
}

impl RgbImage {
    /// Wraps `width * height * 3` bytes of interleaved RGB.
    ///
    /// # Errors
    /// [`PreprocessError::ZeroSize`], [`PreprocessError::SizeOverflow`] or
    /// [`PreprocessError::PixelBufferLength`].
    pub fn new(width: u32, height: u32, data: Vec<u8>) -> Result<Self> {
        if width == 0 || height == 0 {
            return Err(PreprocessError::ZeroSize { width, height });
        }
        let expected = (width as usize)
            .checked_mul(height as usize)
            .and_then(|n| n.checked_mul(3))
            .ok_or(PreprocessError::SizeOverflow { width, height })?;
        if data.len() != expected {
            return Err(PreprocessError::PixelBufferLength {
                expected,
                received: data.len(),
                width,
                height,
            });
        }
        Ok(Self { width, height, data })
    }

    /// Width in pixels.
    #[must_use]
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    #[must_use]
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The interleaved RGB bytes, row after row.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.data
    }

    /// The interleaved RGB bytes, row after row.
    #[must_use]
    pub fn into_bytes(self) -> Vec<u8> {
        self.data
    }

    /// A borrowed [`ImageView`] of this image ([`PixelFormat::Rgb8`], packed rows).
    #[must_use]
    pub fn view(&self) -> ImageView<'_> {
        ImageView {
            data: &self.data,
            width: self.width,
            height: self.height,
            stride: self.width as usize * 3,
            format: PixelFormat::Rgb8,
        }
    }
}

impl std::fmt::Debug for RgbImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RgbImage")
            .field("width", &self.width)
            .field("height", &self.height)
            .finish_non_exhaustive()
    }
}
