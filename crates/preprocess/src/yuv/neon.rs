//! NEON twin of `scalar::row`: 16 pixels per step in 16-bit lanes (see the module docs for why
//! saturating 16-bit arithmetic gives exactly the scalar bytes).

use std::arch::aarch64::{
    int16x8_t, uint8x8_t, uint8x16x3_t, vaddq_s16, vcombine_u8, vdup_n_u8, vdupq_n_s16, vget_high_u8,
    vget_low_u8, vld1_u8, vld1q_u8, vld2_u8, vmulq_n_s16, vqaddq_s16, vqshrun_n_s16, vreinterpretq_s16_u16,
    vshrq_n_s16, vst3q_u8, vsubl_u8, vsubq_s16, vzip1_u8, vzip2_u8,
};

/// Converts the longest prefix of whole 16-pixel blocks it can read in bounds; returns the
/// number of pixels written (a multiple of 16; the caller finishes the row with scalar code).
pub(super) fn row(y: &[u8], u: &[u8], v: &[u8], pixel_stride: usize, dst: &mut [u8]) -> usize {
    // SAFETY: NEON is part of the aarch64 baseline; the kernel checks every bound itself.
    unsafe { row_neon(y, u, v, pixel_stride, dst) }
}

#[target_feature(enable = "neon")]
unsafe fn row_neon(y: &[u8], u: &[u8], v: &[u8], pixel_stride: usize, dst: &mut [u8]) -> usize {
    let chroma_bytes = if pixel_stride == 1 { 8 } else { 16 };
    let c128 = vdup_n_u8(128);
    let c16 = vdup_n_u8(16);
    let c32 = vdupq_n_s16(32);
    // Eight chroma samples minus 128, duplicated to 16 pixels: (pixels 0..8, pixels 8..16).
    let chroma = |p: &[u8], c: usize| -> (int16x8_t, int16x8_t) {
        // SAFETY: the caller checked `c + chroma_bytes <= p.len()`.
        let s: uint8x8_t = unsafe {
            if pixel_stride == 1 {
                vld1_u8(p.as_ptr().add(c))
            } else {
                vld2_u8(p.as_ptr().add(c)).0
            }
        };
        (
            vreinterpretq_s16_u16(vsubl_u8(vzip1_u8(s, s), c128)),
            vreinterpretq_s16_u16(vsubl_u8(vzip2_u8(s, s), c128)),
        )
    };
    let luma = |l: uint8x8_t| -> int16x8_t {
        let t = vreinterpretq_s16_u16(vsubl_u8(l, c16));
        vaddq_s16(vaddq_s16(vmulq_n_s16(t, 74), vshrq_n_s16::<1>(t)), c32)
    };
    let mut x = 0;
    while x + 16 <= y.len() && 3 * (x + 16) <= dst.len() {
        let c = x / 2 * pixel_stride;
        if c + chroma_bytes > u.len() || c + chroma_bytes > v.len() {
            break;
        }
        // SAFETY: `x + 16 <= y.len()` (loop condition).
        let l = unsafe { vld1q_u8(y.as_ptr().add(x)) };
        let yl = [luma(vget_low_u8(l)), luma(vget_high_u8(l))];
        let (d0, d1) = chroma(u, c);
        let (e0, e1) = chroma(v, c);
        let px = |yl: int16x8_t, d: int16x8_t, e: int16x8_t| {
            (
                vqshrun_n_s16::<6>(vqaddq_s16(yl, vmulq_n_s16(e, 102))),
                vqshrun_n_s16::<6>(vsubq_s16(vsubq_s16(yl, vmulq_n_s16(d, 25)), vmulq_n_s16(e, 52))),
                vqshrun_n_s16::<6>(vqaddq_s16(yl, vmulq_n_s16(d, 129))),
            )
        };
        let (r0, g0, b0) = px(yl[0], d0, e0);
        let (r1, g1, b1) = px(yl[1], d1, e1);
        let rgb = uint8x16x3_t(vcombine_u8(r0, r1), vcombine_u8(g0, g1), vcombine_u8(b0, b1));
        // SAFETY: `3 * (x + 16) <= dst.len()` (loop condition): 48 bytes from `3x` are in bounds.
        unsafe { vst3q_u8(dst.as_mut_ptr().add(3 * x), rgb) };
        x += 16;
    }
    x
}
