//! Resizing to the model's input size.
//!
//! The reference mode reproduces Pillow 13's `Image.resize(size, Image.BICUBIC)` on 8-bit images
//! bit for bit. Pillow resamples in two passes, each rounding to `u8`, so the order matters:
//!
//! - A pass is skipped when its dimension does not change (an image already of the target size is
//!   copied).
//! - Normally the horizontal pass runs first, over only the input rows the vertical pass reads.
//! - Pillow 13 runs the **vertical pass first** when the height shrinks by more than twice as many
//!   pixels as the width does: `in_h - out_h > 2 * (in_w - out_w)` with `in_h > out_h` (tall
//!   strips, portrait photos to a square, any upscale in width with a downscale in height). Found
//!   by disassembling `ImagingResample` in Pillow 13.0.0's `_imaging` module (the reference's
//!   version) and confirmed on 589 random size pairs and the fixture images.
//!
//! The order is version-dependent, so results are pinned to Pillow 13.0.0: Pillow ≤ 12.1 always
//! ran the horizontal pass first; 12.2 and 12.3 also did in C, but split images taller than 100x
//! their width (when shrinking the height) into two Python-level resizes, vertical first. For
//! the same geometry those versions give different bytes than 13.0.0.
//!
//! Layout: [`pillow`] builds the fixed-point tables every backend shares; [`scalar`] is the
//! reference implementation of the two passes. SIMD twins (`neon.rs`, `avx2.rs`, `sse41.rs`) sit
//! beside it, dispatched on [`Backend`], and match it exactly (tests below).

pub(crate) mod pillow;
pub(crate) mod scalar;

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod avx2;
#[cfg(target_arch = "aarch64")]
#[allow(unsafe_code)]
mod neon;
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod sse41;

use crate::backend::Backend;

/// One row of one channel through the horizontal pass, on `backend`'s kernel (bit-identical to
/// [`scalar::horizontal_row`]).
pub(crate) fn horizontal_row_c1(backend: Backend, src: &[u8], dst: &mut [u8], coeffs: &Coefficients) {
    let done = match backend {
        #[cfg(target_arch = "x86_64")]
        Backend::Avx2 => avx2::horizontal_row_c1(src, dst, coeffs),
        #[cfg(target_arch = "x86_64")]
        Backend::Sse41 => sse41::horizontal_row_c1(src, dst, coeffs),
        #[cfg(target_arch = "aarch64")]
        Backend::Neon => neon::horizontal_row_c1(src, dst, coeffs),
        _ => 0,
    };
    scalar::horizontal_row_from::<1>(src, dst, coeffs, done);
}

/// One output row of the vertical pass (see [`scalar::vertical_row`]) on `backend`.
pub(crate) fn vertical_row(
    backend: Backend,
    src: &[u8],
    stride: usize,
    first: usize,
    weights: &[i32],
    acc: &mut [i32],
    dst: &mut [u8],
) {
    #[cfg(target_arch = "x86_64")]
    if backend == Backend::Avx2 && avx2::vertical_row(src, stride, first, weights, acc, dst) {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if backend == Backend::Sse41 && sse41::vertical_row(src, stride, first, weights, acc, dst) {
        return;
    }
    let _ = backend;
    scalar::vertical_row(src, stride, first, weights, acc, dst);
}

/// One interleaved RGB row through the horizontal pass, on `backend`'s kernel (bit-identical to
/// [`scalar::horizontal_row`], hence to Pillow for the bicubic tables).
pub(crate) fn horizontal_row_c3(backend: Backend, src: &[u8], dst: &mut [u8], coeffs: &Coefficients) {
    let done = match backend {
        #[cfg(target_arch = "x86_64")]
        Backend::Avx2 => avx2::horizontal_row_c3(src, dst, coeffs),
        #[cfg(target_arch = "x86_64")]
        Backend::Sse41 => sse41::horizontal_row_c3(src, dst, coeffs),
        #[cfg(target_arch = "aarch64")]
        Backend::Neon => neon::horizontal_row_c3(src, dst, coeffs),
        _ => false,
    };
    if !done {
        scalar::horizontal_row::<3>(src, dst, coeffs);
    }
}

use crate::convert::{working_channels, working_row};
use crate::error::{PreprocessError, Result};
use crate::pixels::ImageView;
use pillow::{Coefficients, Filter};

/// Whether Pillow 13 runs the vertical pass before the horizontal one (both passes needed).
fn vertical_first(in_w: usize, in_h: usize, out_w: usize, out_h: usize) -> bool {
    // Sizes are below 2^32, so the i64 arithmetic is exact (Pillow's is 32-bit `int`).
    let shrink_h = in_h as i64 - out_h as i64;
    let shrink_w = in_w as i64 - out_w as i64;
    shrink_h > 0 && shrink_h > 2 * shrink_w
}

/// Pillow-exact bicubic resizer that keeps its coefficient tables and scratch rows between calls.
///
/// The tables are recomputed only when the input or output size changes, into the same buffers;
/// once the buffers have grown to the largest size seen, resizing allocates nothing.
#[derive(Debug, Default)]
pub(crate) struct Resizer {
    horizontal: Coefficients,
    vertical: Coefficients,
    /// One row converted to the working layout.
    row: Vec<u8>,
    /// The intermediate image between the two passes.
    temp: Vec<u8>,
    /// Accumulators of one vertical output row.
    acc: Vec<i32>,
}

impl Resizer {
    /// Resizes `src` to `out_w x out_h`, writing `out_w * out_h * C` interleaved bytes to `dst`,
    /// where `C` is [`working_channels`] of the source format (1 for gray, else 3, in RGB order).
    ///
    /// `dst` must have exactly that length (the caller checks).
    pub(crate) fn resize(
        &mut self,
        src: &ImageView<'_>,
        out_w: usize,
        out_h: usize,
        dst: &mut [u8],
        filter: Filter,
        backend: Backend,
    ) -> Result<()> {
        let (in_w, in_h) = src.dims();
        let format = src.format();
        let channels = working_channels(format);
        debug_assert_eq!(dst.len(), out_w * out_h * channels);
        let overflow = || PreprocessError::SizeOverflow {
            width: src.width(),
            height: src.height(),
        };
        let need_horizontal = in_w != out_w;
        let need_vertical = in_h != out_h;
        if need_horizontal && !self.horizontal.ensure(in_w, in_w as f32, out_w, filter) {
            return Err(overflow());
        }
        if need_vertical && !self.vertical.ensure(in_h, in_h as f32, out_h, filter) {
            return Err(overflow());
        }
        let in_row_len = in_w.checked_mul(channels).ok_or_else(overflow)?;
        let out_row_len = out_w * channels;
        self.row.resize(in_row_len, 0);

        if need_horizontal && need_vertical && vertical_first(in_w, in_h, out_w, out_h) {
            // Vertical pass on the source bytes as they are (any format: the pass treats every
            // byte as a sample), then conversion and the horizontal pass row by row.
            let raw_row_len = in_w * format.bytes_per_pixel();
            let len = out_h.checked_mul(raw_row_len).ok_or_else(overflow)?;
            self.temp.resize(len, 0);
            self.acc.resize(raw_row_len, 0);
            for (i, temp_row) in self.temp.chunks_exact_mut(raw_row_len).enumerate() {
                let (first, weights) = self.vertical.taps(i);
                vertical_row(
                    backend,
                    src.data(),
                    src.stride(),
                    first,
                    weights,
                    &mut self.acc,
                    temp_row,
                );
            }
            for (temp_row, out_row) in self
                .temp
                .chunks_exact(raw_row_len)
                .zip(dst.chunks_exact_mut(out_row_len))
            {
                let row = working_row(format, temp_row, &mut self.row);
                Self::horizontal_into(backend, &self.horizontal, channels, row, out_row);
            }
            return Ok(());
        }

        // Horizontal pass first, over the rows that contribute to the output (all of them
        // without a vertical pass, in which case it writes the output directly).
        let (row_first, row_end) = if need_vertical {
            self.vertical.input_span()
        } else {
            (0, in_h)
        };
        let rows: &mut [u8] = if need_vertical {
            let len = (row_end - row_first)
                .checked_mul(out_row_len)
                .ok_or_else(overflow)?;
            self.temp.resize(len, 0);
            &mut self.temp
        } else {
            dst
        };
        for (y, out_row) in (row_first..row_end).zip(rows.chunks_exact_mut(out_row_len)) {
            let row = working_row(format, src.row(y), &mut self.row);
            if need_horizontal {
                Self::horizontal_into(backend, &self.horizontal, channels, row, out_row);
            } else {
                out_row.copy_from_slice(row);
            }
        }
        if need_vertical {
            self.acc.resize(out_row_len, 0);
            for (i, out_row) in dst.chunks_exact_mut(out_row_len).enumerate() {
                let (first, weights) = self.vertical.taps(i);
                vertical_row(
                    backend,
                    &self.temp,
                    out_row_len,
                    first - row_first,
                    weights,
                    &mut self.acc,
                    out_row,
                );
            }
        }
        Ok(())
    }

    fn horizontal_into(
        backend: Backend,
        coeffs: &Coefficients,
        channels: usize,
        row: &[u8],
        out_row: &mut [u8],
    ) {
        if channels == 1 {
            horizontal_row_c1(backend, row, out_row, coeffs);
        } else {
            horizontal_row_c3(backend, row, out_row, coeffs);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::pillow::{Coefficients, Filter};
    use super::{Backend, horizontal_row_c1, horizontal_row_c3, scalar, vertical_first};

    #[test]
    fn horizontal_kernels_match_scalar() {
        let backends = Backend::simd_available();
        let src: Vec<u8> = (0..1200u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
            .collect();
        let mut c = Coefficients::default();
        for in_size in (1..=67).chain([100, 191, 400]) {
            for out_size in [1, 2, 7, 8, 9, 15, 16, 17, 33, 64, 67, 150, 768] {
                for filter in [Filter::Bicubic, Filter::Bilinear] {
                    assert!(c.ensure(in_size, in_size as f32, out_size, filter));
                    let row = &src[..in_size];
                    let mut expected = vec![0u8; out_size];
                    scalar::horizontal_row::<1>(row, &mut expected, &c);
                    let rgb = &src[..3 * in_size];
                    let mut expected3 = vec![0u8; 3 * out_size];
                    scalar::horizontal_row::<3>(rgb, &mut expected3, &c);
                    for &b in &backends {
                        let mut got = vec![0u8; out_size];
                        horizontal_row_c1(b, row, &mut got, &c);
                        assert_eq!(got, expected, "{b:?} {in_size} -> {out_size} {filter:?}");
                        let mut got3 = vec![0u8; 3 * out_size];
                        horizontal_row_c3(b, rgb, &mut got3, &c);
                        assert_eq!(got3, expected3, "{b:?} RGB {in_size} -> {out_size} {filter:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn vertical_kernels_match_scalar() {
        let backends = Backend::simd_available();
        let mut c = Coefficients::default();
        for row_len in (1..=67).chain([100, 768 * 3]) {
            for (in_h, out_h) in [(1, 3), (9, 4), (40, 17), (5, 5)] {
                assert!(c.ensure(in_h, in_h as f32, out_h, Filter::Bicubic));
                let stride = row_len + 3;
                let src: Vec<u8> = (0..stride * in_h).map(|i| (i * 7919 % 256) as u8).collect();
                for i in 0..out_h {
                    let (first, weights) = c.taps(i);
                    let mut acc = vec![0; row_len];
                    let mut expected = vec![0u8; row_len];
                    scalar::vertical_row(&src, stride, first, weights, &mut acc, &mut expected);
                    for &b in &backends {
                        let mut got = vec![0u8; row_len];
                        super::vertical_row(b, &src, stride, first, weights, &mut acc, &mut got);
                        assert_eq!(got, expected, "{b:?} {row_len} {in_h}->{out_h} row {i}");
                    }
                }
            }
        }
    }

    #[test]
    fn pass_order_rule() {
        // (in_w, in_h, out_w, out_h) -> vertical first, as Pillow 13.0.0 resizes them.
        assert!(vertical_first(31, 517, 160, 160));
        assert!(vertical_first(220, 300, 160, 160));
        assert!(vertical_first(200, 300, 300, 100));
        assert!(!vertical_first(200, 300, 100, 100)); // 200 > 200 is false
        assert!(!vertical_first(300, 220, 160, 160));
        assert!(!vertical_first(50, 60, 100, 100));
        assert!(!vertical_first(517, 31, 160, 160));
    }
}
