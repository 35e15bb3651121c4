//! PNG and JPEG files to [`RgbImage`], converted to RGB as Pillow's `Image.open(...).convert("RGB")`.
//!
//! Sizes are checked from the file header before anything is decoded, so a 20000 x 20000 image
//! is refused without allocating its pixels ([`DecodeLimits`]). Decoding uses the `image` crate;
//! the conversion to 8-bit RGB follows Pillow rather than the `image` crate where they differ:
//!
//! | file | Pillow mode | RGB |
//! |---|---|---|
//! | 8-bit gray (and 1/2/4-bit, expanded) | `L`, `1` | value replicated |
//! | gray + alpha, RGBA, palette + transparency | `LA`, `RGBA`, `P` | alpha dropped, not composited |
//! | 16-bit gray | `I;16` | `min(value, 255)` replicated (Pillow clips; it does not scale) |
//! | 16-bit RGB, RGBA, gray + alpha | `RGB`, `RGBA` | high byte of each sample (`value >> 8`) |
//!
//! PNG pixels are therefore exactly Pillow's. JPEG pixels are not: the `image` crate decodes with
//! zune-jpeg, whose IDCT, chroma upsampling and YCbCr conversion differ from libjpeg-turbo
//! (Pillow) by a few grey levels (measured up to ±4 on 4:2:0 photos; see the crate tests).
//!
//! EXIF orientation (JPEG `APP1`, PNG `eXIf`) is applied by default, as Pillow's
//! `ImageOps.exif_transpose` does, so a phone photo comes out upright (tested on the 8
//! orientations against Pillow-made files in `tests/data/exif`). The PyTorch reference opens
//! images without it; [`DecodeLimits::with_exif_orientation`]`(false)` reproduces that for files
//! that carry an orientation. A malformed EXIF block is ignored (the image is kept as stored).

mod header;

use std::io::Cursor;
use std::path::Path;

use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};

use crate::error::{PreprocessError, Result};
use crate::pixels::RgbImage;
use header::{Header, JpegScan};

/// Limits and options applied while decoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeLimits {
    max_pixels: u64,
    exif_orientation: bool,
}

impl DecodeLimits {
    /// Default pixel limit: 64 Mi pixels (8192 x 8192), about 200 MB of RGB.
    pub const DEFAULT_MAX_PIXELS: u64 = 1 << 26;

    /// Refuse images of more than `max_pixels` pixels (width × height).
    #[must_use]
    pub fn with_max_pixels(mut self, max_pixels: u64) -> Self {
        self.max_pixels = max_pixels;
        self
    }

    /// The pixel limit.
    #[must_use]
    pub fn max_pixels(&self) -> u64 {
        self.max_pixels
    }

    /// Whether the EXIF orientation tag is applied (default `true`): the decoded image is turned
    /// and mirrored upright, as Pillow's `ImageOps.exif_transpose`. `false` keeps the stored
    /// pixels, as the PyTorch reference (`Image.open(...).convert("RGB")`) sees them.
    #[must_use]
    pub fn with_exif_orientation(mut self, apply: bool) -> Self {
        self.exif_orientation = apply;
        self
    }

    /// Whether the EXIF orientation is applied.
    #[must_use]
    pub fn exif_orientation(&self) -> bool {
        self.exif_orientation
    }

    fn check(&self, header: Header) -> Result<()> {
        let Header { width, height } = header;
        if width == 0 || height == 0 {
            return Err(PreprocessError::ZeroSize { width, height });
        }
        if u64::from(width) * u64::from(height) > self.max_pixels {
            return Err(PreprocessError::TooManyPixels {
                width,
                height,
                max_pixels: self.max_pixels,
            });
        }
        Ok(())
    }
}

impl Default for DecodeLimits {
    fn default() -> Self {
        Self {
            max_pixels: Self::DEFAULT_MAX_PIXELS,
            exif_orientation: true,
        }
    }
}

/// Decodes a PNG or JPEG file's bytes to 8-bit RGB, with the default [`DecodeLimits`].
///
/// # Errors
/// [`PreprocessError::UnsupportedFormat`], [`PreprocessError::ZeroSize`],
/// [`PreprocessError::TooManyPixels`], [`PreprocessError::Truncated`] or
/// [`PreprocessError::Decode`]. Malformed data never panics.
pub fn decode(bytes: &[u8]) -> Result<RgbImage> {
    decode_with_limits(bytes, &DecodeLimits::default())
}

/// Reads and decodes a PNG or JPEG file, with the default [`DecodeLimits`].
///
/// # Errors
/// [`PreprocessError::Io`] if the file cannot be read, otherwise as [`decode`].
pub fn open(path: impl AsRef<Path>) -> Result<RgbImage> {
    open_with_limits(path, &DecodeLimits::default())
}

/// [`open`] with explicit limits.
///
/// # Errors
/// As [`open`].
pub fn open_with_limits(path: impl AsRef<Path>, limits: &DecodeLimits) -> Result<RgbImage> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| PreprocessError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    decode_with_limits(&bytes, limits)
}

/// [`decode`] with explicit limits.
///
/// # Errors
/// As [`decode`].
pub fn decode_with_limits(bytes: &[u8], limits: &DecodeLimits) -> Result<RgbImage> {
    let format = match image::guess_format(bytes) {
        Ok(ImageFormat::Png) => "PNG",
        Ok(ImageFormat::Jpeg) => "JPEG",
        Ok(other) => {
            return Err(PreprocessError::UnsupportedFormat {
                detail: format!("{other:?} (only PNG and JPEG are decoded)"),
            });
        }
        Err(_) => {
            return Err(PreprocessError::UnsupportedFormat {
                detail: "not a PNG or JPEG file".to_owned(),
            });
        }
    };
    // Size check from the header, before the decoder allocates anything.
    if format == "PNG" {
        if let Some(header) = header::png_header(bytes) {
            limits.check(header)?;
        }
        if let Some(detail) = header::png_palette_problem(bytes) {
            return Err(PreprocessError::Decode { format, detail });
        }
    } else {
        match header::scan_jpeg(bytes) {
            JpegScan::Complete(header) => limits.check(header)?,
            JpegScan::Truncated { header, detail } => {
                if let Some(header) = header {
                    limits.check(header)?;
                }
                return Err(PreprocessError::Truncated {
                    format,
                    detail: detail.to_owned(),
                });
            }
            JpegScan::Corrupt(detail) => {
                return Err(PreprocessError::Decode {
                    format,
                    detail: detail.to_owned(),
                });
            }
        }
    }

    let decode_error = |e: image::ImageError| {
        let detail = e.to_string();
        if matches!(&e, image::ImageError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof) {
            PreprocessError::Truncated { format, detail }
        } else {
            PreprocessError::Decode { format, detail }
        }
    };
    let mut reader = ImageReader::new(Cursor::new(bytes));
    reader.set_format(if format == "PNG" {
        ImageFormat::Png
    } else {
        ImageFormat::Jpeg
    });
    let mut image_limits = image::Limits::default();
    // 8 bytes per pixel (16-bit RGBA) for the largest image we accept, plus decoder overhead.
    image_limits.max_alloc = Some(limits.max_pixels.saturating_mul(8).saturating_add(64 << 20));
    reader.limits(image_limits);
    let mut decoder = reader.into_decoder().map_err(decode_error)?;
    let (width, height) = decoder.dimensions();
    limits.check(Header { width, height })?;
    // A malformed EXIF block leaves the image as stored (Pillow's `exif_transpose` also ignores
    // an unreadable orientation).
    let orientation = if limits.exif_orientation {
        decoder.orientation().unwrap_or(Orientation::NoTransforms)
    } else {
        Orientation::NoTransforms
    };
    // The decoders are third-party code fed untrusted bytes. The header checks above refuse every
    // input the fuzz target found them panicking on; should another one slip through, its panic
    // becomes this call's typed error instead of unwinding into the caller (the host app).
    let decoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        DynamicImage::from_decoder(decoder)
    }));
    let mut image = match decoded {
        Ok(result) => result.map_err(decode_error)?,
        Err(_) => {
            return Err(PreprocessError::Decode {
                format,
                detail: "the decoder failed on malformed data".to_owned(),
            });
        }
    };
    image.apply_orientation(orientation);
    to_rgb8_like_pillow(image, format)
}

/// Converts a decoded image to 8-bit RGB the way Pillow opens and converts the same file.
fn to_rgb8_like_pillow(image: DynamicImage, format: &'static str) -> Result<RgbImage> {
    let (width, height) = (image.width(), image.height());
    fn map<const N: usize, T: Copy>(src: &[T], f: impl Fn(&[T]) -> [u8; 3]) -> Vec<u8> {
        let mut out = Vec::with_capacity(src.len() / N * 3);
        for px in src.chunks_exact(N) {
            out.extend_from_slice(&f(px));
        }
        out
    }
    let high = |v: u16| v.to_be_bytes()[0];
    let rgb = match image {
        DynamicImage::ImageRgb8(buf) => buf.into_raw(),
        DynamicImage::ImageRgba8(buf) => map::<4, u8>(buf.as_raw(), |p| [p[0], p[1], p[2]]),
        DynamicImage::ImageLuma8(buf) => map::<1, u8>(buf.as_raw(), |p| [p[0]; 3]),
        DynamicImage::ImageLumaA8(buf) => map::<2, u8>(buf.as_raw(), |p| [p[0]; 3]),
        DynamicImage::ImageLuma16(buf) => {
            map::<1, u16>(buf.as_raw(), |p| [u8::try_from(p[0]).unwrap_or(u8::MAX); 3])
        }
        DynamicImage::ImageLumaA16(buf) => map::<2, u16>(buf.as_raw(), |p| [high(p[0]); 3]),
        DynamicImage::ImageRgb16(buf) => {
            map::<3, u16>(buf.as_raw(), |p| [high(p[0]), high(p[1]), high(p[2])])
        }
        DynamicImage::ImageRgba16(buf) => {
            map::<4, u16>(buf.as_raw(), |p| [high(p[0]), high(p[1]), high(p[2])])
        }
        other => {
            return Err(PreprocessError::Decode {
                format,
                detail: format!("unsupported pixel type {:?}", other.color()),
            });
        }
    };
    RgbImage::new(width, height, rgb)
}
