//! Camera frames: 4:2:0 YUV (NV21, NV12, I420, Android's three-plane `YUV_420_888`) to RGB8.
//!
//! # Colour conversion
//!
//! Android cameras deliver BT.601 **limited range** ("studio swing": Y in 16..=235, Cb/Cr in
//! 16..=240, centred at 128). With `d = U - 128`, `e = V - 128`:
//!
//! ```text
//! R = 1.164 (Y - 16)             + 1.596 e
//! G = 1.164 (Y - 16) - 0.391 d   - 0.813 e
//! B = 1.164 (Y - 16) + 2.018 d
//! ```
//!
//! computed in integers with 6 fractional bits (the coefficients ×64: 74.5, 102, 25, 52, 129),
//! `+ 32` then an arithmetic shift right by 6 (round half up), clamped to 0..=255:
//!
//! ```text
//! t = Y - 16,   y' = 74 t + (t >> 1) + 32       (t >> 1: arithmetic shift, i.e. floor(t / 2))
//! R = clamp((y' + 102 e) >> 6)   G = clamp((y' - 25 d - 52 e) >> 6)   B = clamp((y' + 129 d) >> 6)
//! ```
//!
//! Every intermediate fits in `i16` except `y' + 129 d` above 32767, which only happens when the
//! result clamps to 255 anyway; so 16-bit SIMD lanes with saturating adds give exactly the scalar
//! bytes. Against the real-valued matrix (clamped) the result is within 0.81 grey levels
//! (unit test `scalar_is_within_two_levels_of_the_real_matrix`).
//!
//! Chroma is upsampled by replication (pixel `x, y` uses chroma sample `x / 2, y / 2`); odd widths
//! and heights have `ceil(n / 2)` chroma samples.
//!
//! # Geometry
//!
//! A [`YuvView`] is validated once ([`YuvView::new`] and friends): strides, pixel strides and
//! buffer lengths, the last row of each plane not padded. [`YuvView::crop`] narrows it (in sensor
//! coordinates, before rotation); [`Rotation`] turns the converted image clockwise.
//!
//! [`YuvView`]: crate::YuvView

pub(crate) mod scalar;

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
pub(crate) mod avx2;
#[cfg(target_arch = "aarch64")]
#[allow(unsafe_code)]
mod neon;
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
pub(crate) mod sse41;

#[cfg(test)]
mod tests;

use crate::backend::Backend;
use crate::error::{PreprocessError, Result};

/// The single-buffer 4:2:0 layouts (tightly packed rows: Y rows of `width` bytes, then chroma).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum YuvFormat {
    /// Y plane, then interleaved V/U rows (`ceil(w/2)` pairs per row): Android's
    /// `ImageFormat.NV21`, the camera1 preview default.
    Nv21,
    /// Y plane, then interleaved U/V rows.
    Nv12,
    /// Y plane, then the U plane, then the V plane (each chroma plane `ceil(w/2)` wide).
    I420,
}

impl YuvFormat {
    /// Bytes of a packed `width x height` frame: `w * h + 2 * ceil(w/2) * ceil(h/2)`.
    #[must_use]
    pub fn frame_len(self, width: u32, height: u32) -> u64 {
        let (cw, ch) = (u64::from(width.div_ceil(2)), u64::from(height.div_ceil(2)));
        u64::from(width) * u64::from(height) + 2 * cw * ch
    }

    /// The format's name, as in error messages.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Nv21 => "NV21",
            Self::Nv12 => "NV12",
            Self::I420 => "I420",
        }
    }
}

/// One plane of a YUV frame as Android's `Image.Plane` describes it.
#[derive(Clone, Copy)]
pub struct YuvPlane<'a> {
    /// The plane's bytes, starting at its first sample. The last row need not be padded.
    pub data: &'a [u8],
    /// Distance between the starts of two rows, in bytes.
    pub row_stride: usize,
    /// Distance between two samples of a row, in bytes: 1 (planar) or, for chroma, 2
    /// (interleaved with the other chroma plane).
    pub pixel_stride: usize,
}

impl std::fmt::Debug for YuvPlane<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("YuvPlane")
            .field("len", &self.data.len())
            .field("row_stride", &self.row_stride)
            .field("pixel_stride", &self.pixel_stride)
            .finish()
    }
}

impl<'a> YuvPlane<'a> {
    /// A plane description.
    #[must_use]
    pub fn new(data: &'a [u8], row_stride: usize, pixel_stride: usize) -> Self {
        Self {
            data,
            row_stride,
            pixel_stride,
        }
    }
}

/// Clockwise rotation applied after conversion (Android's `ImageInfo.rotationDegrees`: what
/// turns the sensor image upright).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Rotation {
    /// As the sensor delivers it.
    #[default]
    None,
    /// 90° clockwise (width and height swap).
    Clockwise90,
    /// 180°.
    Rotate180,
    /// 270° clockwise = 90° counter-clockwise (width and height swap).
    Clockwise270,
}

impl Rotation {
    /// From degrees clockwise; any multiple of 90, negative values turn counter-clockwise.
    ///
    /// # Errors
    /// [`PreprocessError::InvalidRotation`] if `degrees` is not a multiple of 90.
    pub fn from_degrees(degrees: i32) -> Result<Self> {
        if degrees % 90 != 0 {
            return Err(PreprocessError::InvalidRotation { degrees });
        }
        Ok(match degrees.rem_euclid(360) {
            0 => Self::None,
            90 => Self::Clockwise90,
            180 => Self::Rotate180,
            _ => Self::Clockwise270,
        })
    }

    /// Degrees clockwise: 0, 90, 180 or 270.
    #[must_use]
    pub fn degrees(self) -> u32 {
        match self {
            Self::None => 0,
            Self::Clockwise90 => 90,
            Self::Rotate180 => 180,
            Self::Clockwise270 => 270,
        }
    }

    /// Whether width and height swap.
    #[must_use]
    pub fn swaps_axes(self) -> bool {
        matches!(self, Self::Clockwise90 | Self::Clockwise270)
    }

    /// Size of a `width x height` image after the rotation.
    #[must_use]
    pub fn rotated_size(self, width: u32, height: u32) -> (u32, u32) {
        if self.swaps_axes() {
            (height, width)
        } else {
            (width, height)
        }
    }
}

/// A rectangle of a frame, in pixels of the unrotated (sensor) image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CropRect {
    /// Left column (even for YUV frames).
    pub x: u32,
    /// Top row (even for YUV frames).
    pub y: u32,
    /// Width in pixels (≥ 1).
    pub width: u32,
    /// Height in pixels (≥ 1).
    pub height: u32,
}

impl CropRect {
    /// A rectangle.
    #[must_use]
    pub fn new(x: u32, y: u32, width: u32, height: u32) -> Self {
        Self { x, y, width, height }
    }

    /// Checks that the rectangle is non-empty and inside a `width x height` frame.
    pub(crate) fn check(&self, width: u32, height: u32, even_origin: bool) -> Result<()> {
        let err = |detail| PreprocessError::InvalidCrop {
            x: self.x,
            y: self.y,
            crop_width: self.width,
            crop_height: self.height,
            width,
            height,
            detail,
        };
        if self.width == 0 || self.height == 0 {
            return Err(err("empty"));
        }
        let inside = |o: u32, n: u32, total: u32| o.checked_add(n).is_some_and(|end| end <= total);
        if !inside(self.x, self.width, width) || !inside(self.y, self.height, height) {
            return Err(err("outside the frame"));
        }
        if even_origin && !(self.x.is_multiple_of(2) && self.y.is_multiple_of(2)) {
            return Err(err("odd origin"));
        }
        Ok(())
    }
}

/// A validated plane: rows `row_stride` apart, samples `pixel_stride` apart.
#[derive(Clone, Copy)]
pub(crate) struct Plane<'a> {
    pub(crate) data: &'a [u8],
    pub(crate) row_stride: usize,
    pub(crate) pixel_stride: usize,
    /// Bytes one row spans: `(samples - 1) * pixel_stride + 1`.
    pub(crate) row_span: usize,
}

impl std::fmt::Debug for Plane<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plane")
            .field("len", &self.data.len())
            .field("row_stride", &self.row_stride)
            .field("pixel_stride", &self.pixel_stride)
            .finish()
    }
}

impl<'a> Plane<'a> {
    /// The bytes of row `r` (`row_span` long).
    #[inline]
    pub(crate) fn row(&self, r: usize) -> &'a [u8] {
        let start = r * self.row_stride;
        &self.data[start..start + self.row_span]
    }

    /// Row `r` with whatever follows it up to the next row's start (stride padding or, for
    /// interleaved chroma, the other plane's last sample), as far as the buffer goes: at least
    /// `row_span` bytes. SIMD kernels may load these extra bytes, never use them.
    #[inline]
    pub(crate) fn row_with_padding(&self, r: usize) -> &'a [u8] {
        let start = r * self.row_stride;
        let end = (start + self.row_stride).min(self.data.len());
        &self.data[start..end.max(start + self.row_span)]
    }

    fn validate(name: &'static str, p: YuvPlane<'a>, samples: u32, rows: u32, chroma: bool) -> Result<Self> {
        let ok_stride = if chroma {
            matches!(p.pixel_stride, 1 | 2)
        } else {
            p.pixel_stride == 1
        };
        if !ok_stride {
            return Err(PreprocessError::PixelStride {
                plane: name,
                pixel_stride: p.pixel_stride,
                expected: if chroma { "1 or 2" } else { "1" },
            });
        }
        // samples, rows ≥ 1 and pixel_stride ≤ 2: the products below fit in u64; `usize`
        // conversion is what can fail (32-bit targets).
        let span = (u64::from(samples) - 1) * p.pixel_stride as u64 + 1;
        let row_span = usize::try_from(span).map_err(|_| PreprocessError::SizeOverflow {
            width: samples,
            height: rows,
        })?;
        if p.row_stride < row_span {
            return Err(PreprocessError::PlaneStrideTooSmall {
                plane: name,
                stride: p.row_stride,
                min_stride: row_span,
                samples,
                pixel_stride: p.pixel_stride,
            });
        }
        let expected = usize::try_from(rows - 1)
            .ok()
            .and_then(|r| r.checked_mul(p.row_stride))
            .and_then(|b| b.checked_add(row_span))
            .ok_or(PreprocessError::SizeOverflow {
                width: samples,
                height: rows,
            })?;
        if p.data.len() < expected {
            return Err(PreprocessError::PlaneTooShort {
                plane: name,
                expected,
                received: p.data.len(),
            });
        }
        Ok(Self {
            data: p.data,
            row_stride: p.row_stride,
            pixel_stride: p.pixel_stride,
            row_span,
        })
    }

    /// The plane starting at sample `(x, y)` (in range).
    fn offset(&self, x: usize, y: usize) -> YuvPlane<'a> {
        YuvPlane {
            data: &self.data[y * self.row_stride + x * self.pixel_stride..],
            row_stride: self.row_stride,
            pixel_stride: self.pixel_stride,
        }
    }
}

/// A validated, borrowed 4:2:0 frame: a full-resolution Y plane and two chroma planes of
/// `ceil(width / 2) x ceil(height / 2)` samples.
#[derive(Clone, Copy, Debug)]
pub struct YuvView<'a> {
    width: u32,
    height: u32,
    pub(crate) y: Plane<'a>,
    pub(crate) u: Plane<'a>,
    pub(crate) v: Plane<'a>,
}

impl<'a> YuvView<'a> {
    /// The general three-plane form (Android `YUV_420_888`, as CameraX's `ImageProxy.planes`
    /// delivers it): each plane with its row stride and pixel stride (Y: 1; chroma: 1 = planar,
    /// 2 = interleaved). With pixel stride 2 the U and V buffers overlap in memory; pass each as
    /// its own slice starting at its first sample, and the order (NV12 or NV21) does not matter.
    ///
    /// # Errors
    /// [`PreprocessError::ZeroSize`], [`PreprocessError::PixelStride`] (also when U and V
    /// differ), [`PreprocessError::PlaneStrideTooSmall`], [`PreprocessError::PlaneTooShort`] or
    /// [`PreprocessError::SizeOverflow`].
    pub fn new(width: u32, height: u32, y: YuvPlane<'a>, u: YuvPlane<'a>, v: YuvPlane<'a>) -> Result<Self> {
        if width == 0 || height == 0 {
            return Err(PreprocessError::ZeroSize { width, height });
        }
        let (cw, ch) = (width.div_ceil(2), height.div_ceil(2));
        let (y, u, v) = (
            Plane::validate("Y", y, width, height, false)?,
            Plane::validate("U", u, cw, ch, true)?,
            Plane::validate("V", v, cw, ch, true)?,
        );
        // The kernels read both chroma planes with one pixel stride (Android guarantees that
        // they share it).
        if u.pixel_stride != v.pixel_stride {
            return Err(PreprocessError::PixelStride {
                plane: "V",
                pixel_stride: v.pixel_stride,
                expected: "the U plane's pixel stride",
            });
        }
        Ok(Self {
            width,
            height,
            y,
            u,
            v,
        })
    }

    /// A tightly packed single-buffer frame ([`YuvFormat::frame_len`] bytes; more are ignored).
    ///
    /// # Errors
    /// [`PreprocessError::ZeroSize`], [`PreprocessError::PlaneTooShort`] (named after the
    /// format) or [`PreprocessError::SizeOverflow`].
    pub fn from_packed(data: &'a [u8], width: u32, height: u32, format: YuvFormat) -> Result<Self> {
        if width == 0 || height == 0 {
            return Err(PreprocessError::ZeroSize { width, height });
        }
        let overflow = PreprocessError::SizeOverflow { width, height };
        let expected = usize::try_from(format.frame_len(width, height)).map_err(|_| overflow)?;
        if data.len() < expected {
            return Err(PreprocessError::PlaneTooShort {
                plane: format.name(),
                expected,
                received: data.len(),
            });
        }
        let (w, cw) = (width as usize, width.div_ceil(2) as usize);
        let luma_len = w * height as usize;
        let (luma, chroma) = data[..expected].split_at(luma_len);
        let y = YuvPlane::new(luma, w, 1);
        match format {
            YuvFormat::Nv21 | YuvFormat::Nv12 => {
                let first = YuvPlane::new(chroma, 2 * cw, 2);
                let second = YuvPlane::new(&chroma[1..], 2 * cw, 2);
                if format == YuvFormat::Nv21 {
                    Self::new(width, height, y, second, first)
                } else {
                    Self::new(width, height, y, first, second)
                }
            }
            YuvFormat::I420 => {
                let (u, v) = chroma.split_at(chroma.len() / 2);
                Self::new(width, height, y, YuvPlane::new(u, cw, 1), YuvPlane::new(v, cw, 1))
            }
        }
    }

    /// The part of the frame inside `crop` (sensor coordinates; the origin must be even so the
    /// 2x2 chroma blocks stay aligned).
    ///
    /// # Errors
    /// [`PreprocessError::InvalidCrop`].
    pub fn crop(&self, crop: CropRect) -> Result<Self> {
        crop.check(self.width, self.height, true)?;
        let (x, y) = (crop.x as usize, crop.y as usize);
        Self::new(
            crop.width,
            crop.height,
            self.y.offset(x, y),
            self.u.offset(x / 2, y / 2),
            self.v.offset(x / 2, y / 2),
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

    /// Width and height as `usize`.
    pub(crate) fn dims(&self) -> (usize, usize) {
        (self.width as usize, self.height as usize)
    }
}

/// Converts one row: `y.len()` pixels to `3 * y.len()` RGB bytes in `dst`; pixel `x` uses chroma
/// bytes `u[x / 2 * pixel_stride]`, `v[...]`.
#[inline]
pub(crate) fn yuv_row_to_rgb8(
    backend: Backend,
    y: &[u8],
    u: &[u8],
    v: &[u8],
    pixel_stride: usize,
    dst: &mut [u8],
) {
    let done = match backend {
        #[cfg(target_arch = "x86_64")]
        Backend::Avx2 => avx2::row(y, u, v, pixel_stride, dst),
        #[cfg(target_arch = "x86_64")]
        Backend::Sse41 => sse41::row(y, u, v, pixel_stride, dst),
        #[cfg(target_arch = "aarch64")]
        Backend::Neon => neon::row(y, u, v, pixel_stride, dst),
        _ => 0,
    };
    scalar::row(y, u, v, pixel_stride, dst, done);
}

/// Converts a camera frame to packed RGB8 (BT.601 limited range, see [`YuvView`]), turned
/// clockwise by `rotation`, into `dst`: `width * height * 3` bytes of the rotated size.
///
/// # Errors
/// [`PreprocessError::OutputLength`] if `dst` has another length.
pub fn yuv420_to_rgb8(frame: &YuvView<'_>, rotation: Rotation, dst: &mut [u8]) -> Result<()> {
    let expected = frame.width() as usize * frame.height() as usize * 3;
    if dst.len() != expected {
        return Err(PreprocessError::OutputLength {
            expected,
            received: dst.len(),
        });
    }
    convert(Backend::detect(), frame, rotation, dst, &mut Vec::new());
    Ok(())
}

/// Converts `frame` to packed RGB8 turned by `rotation` into `dst`
/// (`width * height * 3` bytes of the rotated size). `row` is scratch, grown as needed.
pub(crate) fn convert(
    backend: Backend,
    frame: &YuvView<'_>,
    rotation: Rotation,
    dst: &mut [u8],
    row: &mut Vec<u8>,
) {
    let (w, h) = frame.dims();
    debug_assert_eq!(dst.len(), w * h * 3);
    let ps = frame.u.pixel_stride;
    if rotation != Rotation::None {
        row.resize(w * 3, 0);
    }
    for r in 0..h {
        let (yr, ur, vr) = (frame.y.row(r), frame.u.row(r / 2), frame.v.row(r / 2));
        match rotation {
            Rotation::None => yuv_row_to_rgb8(backend, yr, ur, vr, ps, &mut dst[r * w * 3..][..w * 3]),
            Rotation::Rotate180 => {
                yuv_row_to_rgb8(backend, yr, ur, vr, ps, row);
                let out = &mut dst[(h - 1 - r) * w * 3..][..w * 3];
                for (o, p) in out.chunks_exact_mut(3).zip(row.chunks_exact(3).rev()) {
                    o.copy_from_slice(p);
                }
            }
            Rotation::Clockwise90 | Rotation::Clockwise270 => {
                yuv_row_to_rgb8(backend, yr, ur, vr, ps, row);
                // Output is h wide. 90° cw: (x, r) -> (h - 1 - r, x); 270°: (x, r) -> (r, w - 1 - x).
                let out_stride = h * 3;
                if rotation == Rotation::Clockwise90 {
                    let col = (h - 1 - r) * 3;
                    for (x, p) in row.chunks_exact(3).enumerate() {
                        dst[x * out_stride + col..][..3].copy_from_slice(p);
                    }
                } else {
                    let col = r * 3;
                    for (x, p) in row.chunks_exact(3).enumerate() {
                        dst[(w - 1 - x) * out_stride + col..][..3].copy_from_slice(p);
                    }
                }
            }
        }
    }
}
