//! NEON twin of `scalar::horizontal_row::<1>`: eight output pixels at a time, taps eight at a
//! time, in 32-bit lanes. Integer addition is associative, so summing in another order gives
//! exactly the scalar result.

use std::arch::aarch64::{
    int32x4_t, vaddq_s32, vcombine_s16, vdupq_n_s32, vget_high_u16, vget_low_u16, vld1_u8, vld1q_s32,
    vmovl_u8, vmovl_u16, vmulq_s32, vpaddq_s32, vqmovn_s32, vqmovun_s16, vreinterpretq_s32_u32, vshrq_n_s32,
    vst1_u8,
};

use super::pillow::{Coefficients, PRECISION_BITS, ROUNDING};

/// Resamples the longest prefix of 8-pixel blocks whose reads stay inside `src`; returns the
/// number of output pixels written (the caller finishes with scalar code).
pub(crate) fn horizontal_row_c1(src: &[u8], dst: &mut [u8], coeffs: &Coefficients) -> usize {
    // SAFETY: NEON is part of the aarch64 baseline; the kernel checks every bound itself.
    unsafe { kernel(src, dst, coeffs) }
}

#[target_feature(enable = "neon")]
unsafe fn kernel(src: &[u8], dst: &mut [u8], coeffs: &Coefficients) -> usize {
    let k8 = coeffs.padded_len();
    let n = dst.len().min(coeffs.out_size());
    let rounding = vdupq_n_s32(ROUNDING);
    let mut i = 0;
    while i + 8 <= n {
        if coeffs.padded_taps(i + 7).0 + k8 > src.len() {
            break;
        }
        let mut acc = [vdupq_n_s32(0); 8];
        for (k, a) in acc.iter_mut().enumerate() {
            let (first, weights) = coeffs.padded_taps(i + k);
            for (chunk, w) in weights.chunks_exact(8).enumerate() {
                let at = first + 8 * chunk;
                // SAFETY: `at + 8 <= first + k8 <= src.len()` (checked for the block's last,
                // largest `first`); `w` holds 8 `i32`.
                let (px, w0, w1) = unsafe {
                    (
                        vmovl_u8(vld1_u8(src.as_ptr().add(at))),
                        vld1q_s32(w.as_ptr()),
                        vld1q_s32(w.as_ptr().add(4)),
                    )
                };
                let lo = vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(px)));
                let hi = vreinterpretq_s32_u32(vmovl_u16(vget_high_u16(px)));
                *a = vaddq_s32(*a, vaddq_s32(vmulq_s32(lo, w0), vmulq_s32(hi, w1)));
            }
        }
        let sums = |a: &[int32x4_t]| -> int32x4_t {
            let p01 = vpaddq_s32(a[0], a[1]);
            let p23 = vpaddq_s32(a[2], a[3]);
            vshrq_n_s32::<{ PRECISION_BITS as i32 }>(vaddq_s32(vpaddq_s32(p01, p23), rounding))
        };
        let words = vcombine_s16(vqmovn_s32(sums(&acc[..4])), vqmovn_s32(sums(&acc[4..])));
        // SAFETY: `i + 8 <= n <= dst.len()`.
        unsafe { vst1_u8(dst.as_mut_ptr().add(i), vqmovun_s16(words)) };
        i += 8;
    }
    i
}
