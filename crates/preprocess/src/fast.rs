//! [`ResizeMode::Fast`](crate::ResizeMode::Fast) for camera frames: resize in YUV space, then
//! convert and normalise, all in one pass over the output rows.
//!
//! 1. Horizontal pass, once per input row that an output row reads: the Y plane to the target
//!    width, each chroma plane to half of it (rounded up), with Pillow's antialiased triangle
//!    (`BILINEAR`) kernel in fixed point (module `resize`).
//! 2. Per output row: the vertical pass of Y, U and V (Y to the target height, chroma too, from
//!    its half-height plane), the BT.601 row kernel on the three rows (SIMD, chroma replicated to
//!    pairs of pixels as in any 4:2:0 frame), and the normalisation table, written straight into
//!    the CHW planes, rotated by index arithmetic.
//!
//! No full-resolution RGB image is ever made: the colour conversion runs on the output pixels
//! only (590k instead of 2M for 1080p → 768²). The price against the reference (convert, then
//! bicubic in RGB) is the kernel (triangle, not bicubic), chroma at half the output resolution
//! horizontally, and rounding to `u8` between the passes in YUV rather than RGB; the deviation is
//! measured in `tests/fast_mode.rs` and documented in the crate README section of `lib.rs`.

use crate::backend::Backend;
use crate::error::{PreprocessError, Result};
use crate::normalize::NormalizeTable;
use crate::resize::pillow::{Coefficients, Filter};
use crate::resize::{horizontal_row_c1, vertical_row};
use crate::yuv::{Plane, Rotation, YuvView, yuv_row_to_rgb8};

/// One plane's two coefficient tables and its horizontally resampled rows.
#[derive(Debug, Default)]
struct PlaneResizer {
    horizontal: Coefficients,
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
        if !self.horizontal.ensure(in_w, ext.0, out_w, Filter::Bilinear)
            || !self.vertical.ensure(in_h, ext.1, out_h, Filter::Bilinear)
        {
            return false;
        }
        self.span = self.vertical.input_span();
        self.out_w = out_w;
        (self.span.1 - self.span.0)
            .checked_mul(out_w)
            .map(|len| self.rows.resize(len, 0))
            .is_some()
    }

    /// The horizontal pass over every row the vertical pass reads. `gather` is scratch for
    /// de-interleaving a plane with pixel stride 2.
    fn horizontal_pass(&mut self, backend: Backend, plane: &Plane<'_>, samples: usize, gather: &mut Vec<u8>) {
        for (r, out) in (self.span.0..self.span.1).zip(self.rows.chunks_exact_mut(self.out_w)) {
            let row = plane.row(r);
            let row = if plane.pixel_stride == 1 {
                row
            } else {
                // Pixel stride 2 (validated: the only other value): every other byte.
                gather.resize(samples, 0);
                for (g, pair) in gather.iter_mut().zip(row.chunks(2)) {
                    *g = pair[0];
                }
                gather.as_slice()
            };
            horizontal_row_c1(backend, row, out, &self.horizontal);
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

/// Scratch of the fast YUV path, kept between frames.
#[derive(Debug, Default)]
pub(crate) struct FastYuv {
    y: PlaneResizer,
    u: PlaneResizer,
    v: PlaneResizer,
    gather: Vec<u8>,
    acc: Vec<i32>,
    /// One output row: Y, U, V (chroma half width) and RGB.
    y_row: Vec<u8>,
    u_row: Vec<u8>,
    v_row: Vec<u8>,
    rgb_row: Vec<u8>,
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
        self.y.horizontal_pass(backend, &frame.y, w, &mut self.gather);
        self.u.horizontal_pass(backend, &frame.u, cw, &mut self.gather);
        self.v.horizontal_pass(backend, &frame.v, cw, &mut self.gather);

        self.y_row.resize(tw, 0);
        self.u_row.resize(ctw, 0);
        self.v_row.resize(ctw, 0);
        self.rgb_row.resize(3 * tw, 0);
        let plane = out_w * out_h;
        let (r_plane, rest) = out.split_at_mut(plane);
        let (g_plane, b_plane) = rest.split_at_mut(plane);
        for i in 0..th {
            self.y.vertical_row(backend, i, &mut self.acc, &mut self.y_row);
            self.u.vertical_row(backend, i, &mut self.acc, &mut self.u_row);
            self.v.vertical_row(backend, i, &mut self.acc, &mut self.v_row);
            yuv_row_to_rgb8(
                backend,
                &self.y_row,
                &self.u_row,
                &self.v_row,
                1,
                &mut self.rgb_row,
            );
            // Where pixel x of this source-orientation row lands: start + x * step.
            let (start, step): (usize, isize) = match rotation {
                Rotation::None => (i * out_w, 1),
                Rotation::Rotate180 => ((th - 1 - i) * out_w + tw - 1, -1),
                Rotation::Clockwise90 => (th - 1 - i, out_w as isize),
                Rotation::Clockwise270 => ((tw - 1) * out_w + i, -(out_w as isize)),
            };
            if step == 1 {
                table.rgb8_to_planes(
                    &self.rgb_row,
                    [
                        &mut r_plane[start..start + tw],
                        &mut g_plane[start..start + tw],
                        &mut b_plane[start..start + tw],
                    ],
                );
            } else {
                for (x, px) in self.rgb_row.chunks_exact(3).enumerate() {
                    let o = start.wrapping_add_signed(x as isize * step);
                    let [r, g, b] = table.pixel(px);
                    r_plane[o] = r;
                    g_plane[o] = g;
                    b_plane[o] = b;
                }
            }
        }
        Ok(())
    }
}
