//! Scalar references of the fast path's two kernels; every SIMD backend reproduces them bit for
//! bit (tests in `tests.rs`).

use super::table::{BITS, ROUND, Taps16};
use crate::normalize::Affine;
use crate::yuv::scalar as bt601;

/// Horizontal pass of one plane row, outputs `start..`: `src` holds samples `pixel_stride`
/// bytes apart (1 planar, 2 interleaved chroma), `dst` one byte per output sample.
pub(crate) fn horizontal_row(src: &[u8], pixel_stride: usize, dst: &mut [u8], table: &Taps16, start: usize) {
    let n = dst.len().min(table.out_size());
    for (i, out) in dst.iter_mut().enumerate().take(n).skip(start) {
        let (first, weights) = table.taps(i);
        let taps = weights.len().min(table.in_size() - first);
        let mut acc = ROUND;
        for (j, &w) in weights[..taps].iter().enumerate() {
            acc += i32::from(src[(first + j) * pixel_stride]) * i32::from(w);
        }
        *out = (acc >> BITS).clamp(0, 255) as u8;
    }
}

/// BT.601 conversion (the `yuv` module's fixed-point formula) and normalisation of one output
/// row, pixels `start..`: `y` full width, `u`/`v` half width (pixel `x` uses sample `x / 2`),
/// into the three channel rows.
pub(crate) fn yuv_to_planes(y: &[u8], u: &[u8], v: &[u8], norm: &Affine, out: [&mut [f32]; 3], start: usize) {
    let [r, g, b] = out;
    for (x, &yv) in y.iter().enumerate().skip(start) {
        let px = bt601::pixel(bt601::luma(yv), u[x / 2], v[x / 2]);
        r[x] = norm.apply(0, px[0]);
        g[x] = norm.apply(1, px[1]);
        b[x] = norm.apply(2, px[2]);
    }
}
