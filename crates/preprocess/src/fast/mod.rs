//! [`ResizeMode::Fast`](crate::ResizeMode::Fast) for camera frames: resize in YUV space, then
//! convert and normalise, all in one pass over the output rows.
//!
//! 1. Horizontal pass, once per input row that an output row reads: the Y plane to the target
//!    width, each chroma plane to half of it (rounded up), with Pillow's antialiased triangle
//!    (`BILINEAR`) kernel rounded to 14-bit `i16` weights (`table.rs`), read straight from the
//!    frame (interleaved chroma included: no de-interleaving copy).
//! 2. Per output row: the vertical pass of Y, U and V (Pillow's fixed-point triangle weights; Y
//!    to the target height, chroma too, from its half-height plane), then one kernel that converts
//!    the three rows (BT.601, chroma replicated to pairs of pixels as in any 4:2:0 frame),
//!    normalises with a multiply-add and writes the three `f32` channel rows of the tensor
//!    (straight into the CHW planes, or through a scratch row when rotating).
//!
//! No full-resolution RGB image is ever made: the colour conversion runs on the output pixels
//! only (590k instead of 2M for 1080p → 768²). The price against the reference (convert, then
//! bicubic in RGB) is the kernel (triangle, not bicubic), chroma at half the output resolution
//! horizontally, and rounding to `u8` between the passes in YUV rather than RGB; the deviation is
//! measured in `tests/fast_mode.rs` and documented in the crate docs (`lib.rs`).
//!
//! Kernels: `scalar.rs` (the reference), `avx2.rs`, `sse41.rs`, `neon.rs`, each tested against
//! it (`tests.rs`).

mod scalar;
mod table;

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod avx2;
#[cfg(target_arch = "aarch64")]
#[allow(unsafe_code)]
mod neon;
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod sse41;

#[cfg(test)]
mod tests;

use crate::backend::Backend;
use crate::error::{PreprocessError, Result};
use crate::normalize::{Affine, NormalizeTable};
use crate::resize::pillow::{Coefficients, Filter};
use crate::resize::vertical_row;
use crate::yuv::{Plane, Rotation, YuvView};
use table::Taps16;

/// One plane row through the horizontal pass on `backend` (bit-identical to
/// [`scalar::horizontal_row`]).
pub(crate) fn horizontal_row(
    backend: Backend,
    src: &[u8],
    pixel_stride: usize,
    dst: &mut [u8],
    table: &Taps16,
) {
    let done = match backend {
        #[cfg(target_arch = "x86_64")]
        Backend::Avx2 => avx2::horizontal_row(src, pixel_stride, dst, table),
        #[cfg(target_arch = "x86_64")]
        Backend::Sse41 => sse41::horizontal_row(src, pixel_stride, dst, table),
        #[cfg(target_arch = "aarch64")]
        Backend::Neon => neon::horizontal_row(src, pixel_stride, dst, table),
        _ => 0,
    };
    scalar::horizontal_row(src, pixel_stride, dst, table, done);
}

/// One output row converted and normalised on `backend` (bit-identical to
/// [`scalar::yuv_to_planes`]).
pub(crate) fn yuv_to_planes(
    backend: Backend,
    y: &[u8],
    u: &[u8],
    v: &[u8],
    norm: &Affine,
    out: [&mut [f32]; 3],
) {
    let [r, g, b] = out;
    let done = match backend {
        #[cfg(target_arch = "x86_64")]
        Backend::Avx2 => avx2::yuv_to_planes(y, u, v, norm, [&mut *r, &mut *g, &mut *b]),
        #[cfg(target_arch = "x86_64")]
        Backend::Sse41 => sse41::yuv_to_planes(y, u, v, norm, [&mut *r, &mut *g, &mut *b]),
        #[cfg(target_arch = "aarch64")]
        Backend::Neon => neon::yuv_to_planes(y, u, v, norm, [&mut *r, &mut *g, &mut *b]),
        _ => 0,
    };
    scalar::yuv_to_planes(y, u, v, norm, [r, g, b], done);
}

/// One plane's two coefficient tables and its horizontally resampled rows.
#[derive(Debug, Default)]
struct PlaneResizer {
    horizontal: Coefficients,
    /// `horizontal` as 16-bit weights.
    horizontal16: Taps16,
    vertical: Coefficients,
    /// Rows `span.0..span.1` of the plane, resampled to the output width.
    rows: Vec<u8>,
    span: (usize, usize),
    out_w: usize,
}

impl PlaneResizer {
    /// Prepares the tables for a `(in_w, in_h)` plane covering `(ext_w, ext_h)` samples of its
    /// own grid, resampled to `out_w x out_h`.
    fn prepare(&mut self, in_w: usize, in_h: usize, ext: (f32, f32), out_w: usize, out_h: usize) -> bool {
        if !self.horizontal.is_for_box(in_w, ext.0, out_w, Filter::Bilinear) {
            if !self.horizontal.ensure(in_w, ext.0, out_w, Filter::Bilinear) {
                return false;
            }
            self.horizontal16.build(&self.horizontal, in_w);
        }
        if !self.vertical.ensure(in_h, ext.1, out_h, Filter::Bilinear) {
            return false;
        }
        self.span = self.vertical.input_span();
        self.out_w = out_w;
        (self.span.1 - self.span.0)
            .checked_mul(out_w)
            .map(|len| self.rows.resize(len, 0))
            .is_some()
    }

    /// The horizontal pass over every row the vertical pass reads, straight from the plane
    /// (pixel stride 1 or 2).
    fn horizontal_pass(&mut self, backend: Backend, plane: &Plane<'_>) {
        for (r, out) in (self.span.0..self.span.1).zip(self.rows.chunks_exact_mut(self.out_w)) {
            // With the row's padding, interleaved chroma can be read 16 bytes at a time up to its
            // last sample (the kernels mask the other plane's bytes off).
            horizontal_row(
                backend,
                plane.row_with_padding(r),
                plane.pixel_stride,
                out,
                &self.horizontal16,
            );
        }
    }

    /// Output row `i` of the vertical pass into `dst` (`out_w` bytes).
    fn vertical_row(&self, backend: Backend, i: usize, acc: &mut Vec<i32>, dst: &mut [u8]) {
        let (first, weights) = self.vertical.taps(i);
        acc.resize(dst.len(), 0);
        vertical_row(
            backend,
            &self.rows,
            self.out_w,
            first - self.span.0,
            weights,
            acc,
            dst,
        );
    }
}

/// Source rows gathered before a rotated block is written out.
const BLOCK: usize = 16;

/// Writes `n` normalised source rows `i0..i0 + n` (each `tw` values, `tw` apart in `src`) of a
/// `tw x th` source-orientation image into `plane` (`out_w = th` wide), turned 90° or 270°
/// clockwise: 90° sends `(x, i)` to `(th - 1 - i, x)`, 270° to `(i, tw - 1 - x)`.
#[allow(clippy::too_many_arguments)]
fn transpose_block(
    src: &[f32],
    tw: usize,
    n: usize,
    i0: usize,
    th: usize,
    out_w: usize,
    rotation: Rotation,
    plane: &mut [f32],
) {
    // Tiles of 8 columns: contiguous reads of each source row, then one run of `n` values per
    // output row.
    let mut tile = [[0f32; 8]; BLOCK];
    for x in (0..tw).step_by(8) {
        let m = (tw - x).min(8);
        for (j, t) in tile.iter_mut().enumerate().take(n) {
            t[..m].copy_from_slice(&src[j * tw + x..j * tw + x + m]);
        }
        for dx in 0..m {
            if rotation == Rotation::Clockwise90 {
                // Output row x + dx, columns th - i0 - n .. th - i0 hold rows i0 + n - 1 .. i0.
                let start = (x + dx) * out_w + th - i0 - n;
                for (o, t) in plane[start..start + n].iter_mut().zip(tile[..n].iter().rev()) {
                    *o = t[dx];
                }
            } else {
                let start = (tw - 1 - x - dx) * out_w + i0;
                for (o, t) in plane[start..start + n].iter_mut().zip(&tile[..n]) {
                    *o = t[dx];
                }
            }
        }
    }
}

/// Scratch of the fast YUV path, kept between frames.
#[derive(Debug, Default)]
pub(crate) struct FastYuv {
    y: PlaneResizer,
    u: PlaneResizer,
    v: PlaneResizer,
    acc: Vec<i32>,
    /// One output row: Y, U, V (chroma half width).
    y_row: Vec<u8>,
    u_row: Vec<u8>,
    v_row: Vec<u8>,
    /// Normalised rows before rotation (rotated frames only): one row per channel for 180°, a
    /// block of [`BLOCK`] rows per channel for 90° and 270° (written out as a block transpose).
    rotated: Vec<f32>,
}

impl FastYuv {
    /// Writes the `[3, out_h, out_w]` tensor of `frame` turned by `rotation` into `out`
    /// (`3 * out_w * out_h` values).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn process(
        &mut self,
        backend: Backend,
        table: &NormalizeTable,
        frame: &YuvView<'_>,
        rotation: Rotation,
        (out_w, out_h): (usize, usize),
        out: &mut [f32],
    ) -> Result<()> {
        debug_assert_eq!(out.len(), 3 * out_w * out_h);
        let (w, h) = frame.dims();
        // Resize in the sensor's orientation; the rotation is applied when storing.
        let (tw, th) = if rotation.swaps_axes() {
            (out_h, out_w)
        } else {
            (out_w, out_h)
        };
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        let ctw = tw.div_ceil(2);
        // Chroma sample k covers luma pixels 2k, 2k + 1: the `w` luma pixels span `w / 2` chroma
        // samples, and the `ctw` output chroma samples cover `2 ctw` output pixels.
        let chroma_ext_w = (w as f64 / 2.0 * (2 * ctw) as f64 / tw as f64) as f32;
        let chroma_ext_h = (h as f64 / 2.0) as f32;
        let ok = self.y.prepare(w, h, (w as f32, h as f32), tw, th)
            && self.u.prepare(cw, ch, (chroma_ext_w, chroma_ext_h), ctw, th)
            && self.v.prepare(cw, ch, (chroma_ext_w, chroma_ext_h), ctw, th);
        if !ok {
            return Err(PreprocessError::SizeOverflow {
                width: frame.width(),
                height: frame.height(),
            });
        }
        self.y.horizontal_pass(backend, &frame.y);
        self.u.horizontal_pass(backend, &frame.u);
        self.v.horizontal_pass(backend, &frame.v);

        self.y_row.resize(tw, 0);
        self.u_row.resize(ctw, 0);
        self.v_row.resize(ctw, 0);
        let block = if rotation.swaps_axes() { BLOCK } else { 1 };
        if rotation != Rotation::None {
            self.rotated.resize(3 * block * tw, 0.0);
        }
        let norm = table.affine();
        let plane = out_w * out_h;
        let (r_plane, rest) = out.split_at_mut(plane);
        let (g_plane, b_plane) = rest.split_at_mut(plane);
        for i in 0..th {
            self.y.vertical_row(backend, i, &mut self.acc, &mut self.y_row);
            self.u.vertical_row(backend, i, &mut self.acc, &mut self.u_row);
            self.v.vertical_row(backend, i, &mut self.acc, &mut self.v_row);
            let (y, u, v) = (&self.y_row, &self.u_row, &self.v_row);
            if rotation == Rotation::None {
                let rows = [
                    &mut r_plane[i * out_w..][..tw],
                    &mut g_plane[i * out_w..][..tw],
                    &mut b_plane[i * out_w..][..tw],
                ];
                yuv_to_planes(backend, y, u, v, norm, rows);
                continue;
            }
            let (r_rows, rest) = self.rotated.split_at_mut(block * tw);
            let (g_rows, b_rows) = rest.split_at_mut(block * tw);
            if rotation == Rotation::Rotate180 {
                yuv_to_planes(backend, y, u, v, norm, [&mut *r_rows, &mut *g_rows, &mut *b_rows]);
                let start = (th - 1 - i) * out_w;
                for (src, plane) in [
                    (&*r_rows, &mut *r_plane),
                    (&*g_rows, &mut *g_plane),
                    (&*b_rows, &mut *b_plane),
                ] {
                    for (o, &v) in plane[start..start + tw].iter_mut().zip(src.iter().rev()) {
                        *o = v;
                    }
                }
                continue;
            }
            // 90° / 270°: collect `BLOCK` source rows, then write each output row's run of
            // `BLOCK` consecutive values at once (a block transpose: contiguous stores instead of
            // one scattered store per value).
            let k = i % BLOCK;
            let span = k * tw..(k + 1) * tw;
            let rows = [
                &mut r_rows[span.clone()],
                &mut g_rows[span.clone()],
                &mut b_rows[span],
            ];
            yuv_to_planes(backend, y, u, v, norm, rows);
            if k + 1 == BLOCK || i + 1 == th {
                let (i0, n) = (i - k, k + 1);
                for (src, plane) in [
                    (&*r_rows, &mut *r_plane),
                    (&*g_rows, &mut *g_plane),
                    (&*b_rows, &mut *b_plane),
                ] {
                    transpose_block(src, tw, n, i0, th, out_w, rotation, plane);
                }
            }
        }
        Ok(())
    }
}
