//! The scalar reference passes of Pillow's two-pass resampler.
//!
//! Integer arithmetic only: each output byte is `clip8(ROUNDING + Σ pixel·weight)` with the
//! fixed-point weights of [`Coefficients`]. Sums are taken in tap order, as Pillow does; they
//! cannot overflow an `i32` (|Σ weight| ≤ 1.25 · 2^22 for the bicubic kernel, times 255 < 2^31),
//! and wrapping arithmetic keeps even a hypothetical overflow panic-free and equal to C's.

use super::pillow::{Coefficients, ROUNDING, clip8};

/// Resamples one row of `C` interleaved channels to the table's output size.
///
/// `src` holds the input row (`in_size * C` bytes), `dst` the output row (`out_size * C`).
pub(crate) fn horizontal_row<const C: usize>(src: &[u8], dst: &mut [u8], coeffs: &Coefficients) {
    horizontal_row_from::<C>(src, dst, coeffs, 0);
}

/// [`horizontal_row`] for output pixels `start..` only (SIMD kernels leave the tail to it).
pub(crate) fn horizontal_row_from<const C: usize>(
    src: &[u8],
    dst: &mut [u8],
    coeffs: &Coefficients,
    start: usize,
) {
    for (i, out) in dst.chunks_exact_mut(C).enumerate().skip(start) {
        let (first, weights) = coeffs.taps(i);
        horizontal_pixel::<C>(src, out, first, weights);
    }
}

/// One output pixel of the horizontal pass: `C` channels from input pixels `first..`.
#[inline]
pub(crate) fn horizontal_pixel<const C: usize>(src: &[u8], out: &mut [u8], first: usize, weights: &[i32]) {
    let pixels = &src[first * C..(first + weights.len()) * C];
    let mut acc = [ROUNDING; C];
    for (px, &k) in pixels.chunks_exact(C).zip(weights) {
        for (a, &p) in acc.iter_mut().zip(px) {
            *a = a.wrapping_add(i32::from(p).wrapping_mul(k));
        }
    }
    for (o, &a) in out.iter_mut().zip(&acc) {
        *o = clip8(a);
    }
}

/// Computes one output row of the vertical pass.
///
/// Input row `r` is `src[r * stride..][..dst.len()]`; the output row reads rows
/// `first..first + weights.len()`. The pass is channel-agnostic (every byte is a sample). `acc` is
/// scratch of `dst.len()` accumulators. Accumulating a whole row per tap gives each sample the
/// same sum, in the same order, as Pillow's per-pixel loop.
#[inline(always)]
pub(crate) fn vertical_row(
    src: &[u8],
    stride: usize,
    first: usize,
    weights: &[i32],
    acc: &mut [i32],
    dst: &mut [u8],
) {
    let row_len = dst.len();
    acc.fill(ROUNDING);
    for (j, &k) in weights.iter().enumerate() {
        let start = (first + j) * stride;
        let row = &src[start..start + row_len];
        for (a, &p) in acc.iter_mut().zip(row) {
            *a = a.wrapping_add(i32::from(p).wrapping_mul(k));
        }
    }
    for (d, &a) in dst.iter_mut().zip(acc.iter()) {
        *d = clip8(a);
    }
}
