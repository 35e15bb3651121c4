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
//! JPEG files are decoded by libjpeg-turbo's decoder (built from source by `mozjpeg-sys`, see
//! [`libjpeg`]) with Pillow's settings, so their pixels are Pillow's too, bit for bit:
//!
//! | JPEG | Pillow mode | RGB |
//! |---|---|---|
//! | grayscale | `L` | value replicated |
//! | YCbCr (any subsampling), RGB | `RGB` | libjpeg's conversion (ISLOW IDCT, fancy upsampling) |
//! | CMYK, YCCK (4 components) | `CMYK` (inverted: Adobe convention) | `nk - nk * c / 255` per channel, `nk = 255 - k` (Pillow's `cmyk2rgb`, rounding included) |
//! | 12-bit, 2 components, arithmetic-coded | — | 12-bit and 2-component files are refused as by Pillow; arithmetic coding is decoded |
//!
//! Bit-exactness with Pillow 13 (libjpeg-turbo 3.2 inside its wheel) is checked on a generated
//! corpus of every subsampling, baseline and progressive, restart intervals, quality 30 to 100,
//! sizes 1x1 to 4000x3000, CMYK/YCCK and damaged scans (`models/tests/test_decode_parity.py`).
//! A file whose data ends before its end-of-image marker is refused as truncated, as Pillow does
//! by default (with `ImageFile.LOAD_TRUNCATED_IMAGES` Pillow would keep the rows it decoded).
//! Damage libjpeg only warns about (corrupt entropy-coded data in a complete file) decodes to the
//! same pixels as Pillow's. One deliberate difference: a progressive file of more than 500 scans
//! is refused (TurboJPEG's scan limit against CPU exhaustion; encoders write about 10), where
//! Pillow would decode it.
//!
//! EXIF orientation (JPEG `APP1`, PNG `eXIf`, XMP `tiff:Orientation`: see [`orientation`]) is
//! applied by default, as transformers' `load_image` does with Pillow's
//! `ImageOps.exif_transpose`, so a phone photo comes out upright (tested on the 8 orientations
//! against Pillow). [`DecodeLimits::with_exif_orientation`]`(false)` keeps the stored pixels, as
//! `Image.open(...).convert("RGB")` alone sees them. A malformed EXIF block is ignored (the image
//! is kept as stored).

mod header;
mod libjpeg;
mod orientation;

use std::io::Cursor;
use std::path::Path;

use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};

use crate::error::{PreprocessError, Result};
use crate::pixels::RgbImage;
use header::{Header, JpegInfo, JpegScan};
use libjpeg::Output;

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
        decode_png(bytes, limits)
    } else {
        match header::scan_jpeg(bytes) {
            JpegScan::Complete(info) => {
                limits.check(info.header)?;
                decode_jpeg(bytes, &info, limits)
            }
            JpegScan::Truncated { header, detail } => {
                if let Some(header) = header {
                    limits.check(header)?;
                }
                Err(PreprocessError::Truncated {
                    format,
                    detail: detail.to_owned(),
                })
            }
            JpegScan::Corrupt(detail) => Err(PreprocessError::Decode {
                format,
                detail: detail.to_owned(),
            }),
        }
    }
}

/// A complete JPEG (size already checked) to RGB, oriented, as Pillow decodes and converts it.
fn decode_jpeg(bytes: &[u8], info: &JpegInfo<'_>, limits: &DecodeLimits) -> Result<RgbImage> {
    let refuse = |detail: String| PreprocessError::Decode {
        format: "JPEG",
        detail,
    };
    // Pillow's JPEG plugin accepts 8-bit frames of 1, 3 or 4 components only.
    if info.precision != 8 {
        return Err(refuse(format!(
            "{}-bit samples (only 8-bit JPEG is supported, as in Pillow)",
            info.precision
        )));
    }
    let output = match info.components {
        1 | 3 => Output::Rgb,
        4 => Output::Cmyk,
        n => {
            return Err(refuse(format!(
                "{n} colour components (1, 3 or 4 are supported, as in Pillow)"
            )));
        }
    };
    let Header { width, height } = info.header;
    let pixels = libjpeg::decompress(bytes, width, height, output).map_err(refuse)?;
    let rgb = match output {
        Output::Rgb => pixels,
        Output::Cmyk => cmyk_to_rgb_like_pillow(&pixels),
    };
    let orientation = if limits.exif_orientation {
        orientation::resolve(info.exif, info.xmp)
    } else {
        1
    };
    orient(RgbImage::new(width, height, rgb)?, orientation)
}

/// Pillow's CMYK JPEG path: libjpeg's CMYK output is inverted (Pillow's `CMYK;I` raw mode, the
/// Adobe convention, assumed for every 4-component JPEG), then `Image.convert("RGB")` computes
/// `255 - k' - (c' * (255 - k') / 255)` per channel with its `MULDIV255` rounding, where `c'`
/// and `k'` are the inverted values. With `nk = 255 - k' = k`: `nk - muldiv255(255 - c, nk)`.
fn cmyk_to_rgb_like_pillow(cmyk: &[u8]) -> Vec<u8> {
    fn muldiv255(a: u32, b: u32) -> u32 {
        let t = a * b + 128;
        ((t >> 8) + t) >> 8
    }
    let mut rgb = Vec::with_capacity(cmyk.len() / 4 * 3);
    for px in cmyk.chunks_exact(4) {
        let nk = u32::from(px[3]);
        for &c in &px[..3] {
            // nk - muldiv255(..) is in 0..=255: muldiv255(a, nk) <= nk for a <= 255.
            let v = nk.saturating_sub(muldiv255(255 - u32::from(c), nk));
            rgb.push(u8::try_from(v).unwrap_or(u8::MAX));
        }
    }
    rgb
}

/// Turns an image upright by its EXIF orientation value (2..=8; anything else leaves it as is),
/// as Pillow's `ImageOps.exif_transpose`.
fn orient(image: RgbImage, orientation: u32) -> Result<RgbImage> {
    let transform = match orientation {
        2 => Orientation::FlipHorizontal,
        3 => Orientation::Rotate180,
        4 => Orientation::FlipVertical,
        5 => Orientation::Rotate90FlipH,
        6 => Orientation::Rotate90,
        7 => Orientation::Rotate270FlipH,
        8 => Orientation::Rotate270,
        _ => return Ok(image),
    };
    let (width, height) = (image.width(), image.height());
    let buffer = image::RgbImage::from_raw(width, height, image.into_bytes())
        .ok_or(PreprocessError::SizeOverflow { width, height })?;
    let mut dynamic = DynamicImage::ImageRgb8(buffer);
    dynamic.apply_orientation(transform);
    RgbImage::new(dynamic.width(), dynamic.height(), dynamic.into_rgb8().into_raw())
}

/// A PNG (by the `image` crate's PNG decoder) to RGB, oriented, as Pillow converts it.
fn decode_png(bytes: &[u8], limits: &DecodeLimits) -> Result<RgbImage> {
    let format = "PNG";
    if let Some(header) = header::png_header(bytes) {
        limits.check(header)?;
    }
    if let Some(detail) = header::png_palette_problem(bytes) {
        return Err(PreprocessError::Decode { format, detail });
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
    reader.set_format(ImageFormat::Png);
    let mut image_limits = image::Limits::default();
    // 8 bytes per pixel (16-bit RGBA) for the largest image we accept, plus decoder overhead.
    image_limits.max_alloc = Some(limits.max_pixels.saturating_mul(8).saturating_add(64 << 20));
    reader.limits(image_limits);
    let decoder = reader.into_decoder().map_err(decode_error)?;
    let (width, height) = decoder.dimensions();
    limits.check(Header { width, height })?;
    // The decoder is third-party code fed untrusted bytes. The header checks above refuse every
    // input the fuzz target found it panicking on; should another one slip through, its panic
    // becomes this call's typed error instead of unwinding into the caller (the host app).
    let decoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        DynamicImage::from_decoder(decoder)
    }));
    let image = match decoded {
        Ok(result) => result.map_err(decode_error)?,
        Err(_) => {
            return Err(PreprocessError::Decode {
                format,
                detail: "the decoder failed on malformed data".to_owned(),
            });
        }
    };
    let rgb = to_rgb8_like_pillow(image, format)?;
    let orientation = if limits.exif_orientation {
        orientation::png_orientation(bytes)
    } else {
        1
    };
    orient(rgb, orientation)
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
