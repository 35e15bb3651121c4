//! NEON twins of the fast path's kernels (`scalar.rs`): `vmlal_s16` against the 16-bit weights
//! (interleaved chroma de-interleaved by `vld2`), and the output rows eight pixels per step in
//! 16-bit lanes, converted to `f32` with a separate multiply and add (never `vfma`, which would
//! round once and differ from the scalar code).

use std::arch::aarch64::{
    int16x8_t, vaddq_f32, vaddq_s16, vaddvq_s32, vcvtq_f32_s32, vdup_n_u8, vdup_n_u32, vdupq_n_f32,
    vdupq_n_s16, vdupq_n_s32, vget_low_s16, vld1_u8, vld1q_s16, vld2_u8, vmaxq_s16, vminq_s16,
    vmlal_high_s16, vmlal_s16, vmovl_high_s16, vmovl_s16, vmovl_u8, vmulq_f32, vmulq_n_s16, vqaddq_s16,
    vreinterpret_u8_u32, vreinterpretq_s16_u16, vshrq_n_s16, vst1q_f32, vsubl_u8, vsubq_s16, vzip1_u8,
};

use super::table::{BITS, ROUND, Taps16};
use crate::normalize::Affine;

/// Resamples outputs from the start while their reads stay inside `src`; returns the number
/// written (the caller finishes with scalar code).
pub(super) fn horizontal_row(src: &[u8], pixel_stride: usize, dst: &mut [u8], table: &Taps16) -> usize {
    // SAFETY: NEON is part of the aarch64 baseline; the kernel checks every bound itself.
    unsafe { horizontal(src, pixel_stride, dst, table) }
}

#[target_feature(enable = "neon")]
unsafe fn horizontal(src: &[u8], ps: usize, dst: &mut [u8], table: &Taps16) -> usize {
    let k = table.k();
    let n = dst.len().min(table.out_size());
    let mut i = 0;
    while i < n {
        let (first, w) = table.taps(i);
        if (first + k) * ps > src.len() {
            break;
        }
        let mut acc = vdupq_n_s32(0);
        for c in 0..k / 8 {
            let at = first + 8 * c;
            // SAFETY: `(at + 8) * ps <= (first + k) * ps <= src.len()` (checked above); `w`
            // holds `k` weights.
            let (px, wv) = unsafe {
                let px = if ps == 1 {
                    vld1_u8(src.as_ptr().add(at))
                } else {
                    vld2_u8(src.as_ptr().add(2 * at)).0
                };
                (
                    vreinterpretq_s16_u16(vmovl_u8(px)),
                    vld1q_s16(w.as_ptr().add(8 * c)),
                )
            };
            acc = vmlal_s16(acc, vget_low_s16(px), vget_low_s16(wv));
            acc = vmlal_high_s16(acc, px, wv);
        }
        let sum = vaddvq_s32(acc) + ROUND;
        dst[i] = (sum >> BITS).clamp(0, 255) as u8;
        i += 1;
    }
    i
}

/// Converts and normalises the longest prefix of 8-pixel blocks it can read in bounds into the
/// three rows; returns the number of pixels written.
pub(super) fn yuv_to_planes(y: &[u8], u: &[u8], v: &[u8], norm: &Affine, out: [&mut [f32]; 3]) -> usize {
    // SAFETY: NEON is part of the aarch64 baseline; the kernel checks every bound itself.
    unsafe { planes(y, u, v, norm, out) }
}

#[target_feature(enable = "neon")]
unsafe fn planes(y: &[u8], u: &[u8], v: &[u8], norm: &Affine, out: [&mut [f32]; 3]) -> usize {
    let [r_out, g_out, b_out] = out;
    let n = y.len().min(r_out.len()).min(g_out.len()).min(b_out.len());
    let (c16, c128, c32) = (vdup_n_u8(16), vdup_n_u8(128), vdupq_n_s16(32));
    let (zero, max) = (vdupq_n_s16(0), vdupq_n_s16(255));
    let chroma = |p: &[u8], c: usize| -> int16x8_t {
        // SAFETY: the caller checked `c + 4 <= p.len()`.
        let word = unsafe { p.as_ptr().add(c).cast::<u32>().read_unaligned() };
        let s = vreinterpret_u8_u32(vdup_n_u32(word));
        vreinterpretq_s16_u16(vsubl_u8(vzip1_u8(s, s), c128))
    };
    let store = |row: &mut [f32], x: usize, v: int16x8_t, c: usize| {
        let (scale, offset) = (vdupq_n_f32(norm.scale[c]), vdupq_n_f32(norm.offset[c]));
        let lo = vaddq_f32(
            vmulq_f32(vcvtq_f32_s32(vmovl_s16(vget_low_s16(v))), scale),
            offset,
        );
        let hi = vaddq_f32(vmulq_f32(vcvtq_f32_s32(vmovl_high_s16(v)), scale), offset);
        // SAFETY: the caller checked `x + 8 <= row.len()`.
        unsafe {
            vst1q_f32(row.as_mut_ptr().add(x), lo);
            vst1q_f32(row.as_mut_ptr().add(x + 4), hi);
        }
    };
    let clamp = |x: int16x8_t| vminq_s16(vmaxq_s16(vshrq_n_s16::<6>(x), zero), max);
    let mut x = 0;
    while x + 8 <= n {
        let c = x / 2;
        if c + 4 > u.len() || c + 4 > v.len() {
            break;
        }
        // SAFETY: `x + 8 <= n <= y.len()` (loop condition).
        let l = unsafe { vld1_u8(y.as_ptr().add(x)) };
        let t = vreinterpretq_s16_u16(vsubl_u8(l, c16));
        let yl = vaddq_s16(vaddq_s16(vmulq_n_s16(t, 74), vshrq_n_s16::<1>(t)), c32);
        let d = chroma(u, c);
        let e = chroma(v, c);
        let r = clamp(vqaddq_s16(yl, vmulq_n_s16(e, 102)));
        let g = clamp(vsubq_s16(vsubq_s16(yl, vmulq_n_s16(d, 25)), vmulq_n_s16(e, 52)));
        let b = clamp(vqaddq_s16(yl, vmulq_n_s16(d, 129)));
        store(r_out, x, r, 0);
        store(g_out, x, g, 1);
        store(b_out, x, b, 2);
        x += 8;
    }
    x
}
