//! NEON twin of `scalar::horizontal_row::<1>`: eight output pixels at a time, taps eight at a
//! time, in 32-bit lanes. Integer addition is associative, so summing in another order gives
//! exactly the scalar result.

use std::arch::aarch64::{
    int32x4_t, vaddq_s32, vcombine_s16, vdupq_n_s32, vget_high_u16, vget_low_u16, vld1_u8, vld1q_s32,
    vmovl_u8, vmovl_u16, vmulq_s32, vpaddq_s32, vqmovn_s32, vqmovun_s16, vreinterpretq_s32_u32, vshrq_n_s32,
    vst1_u8,
};

use std::arch::aarch64::{vdupq_n_s32 as splat, vget_lane_u32, vmulq_n_s32, vreinterpret_u32_u8, vtbl1_u8};

use super::pillow::{Coefficients, PRECISION_BITS, ROUNDING};
use super::scalar;

/// The horizontal pass of one interleaved RGB row (`3 * in` bytes to `3 * out`), two taps per
/// step in 32-bit lanes; pixels whose 8-byte loads would leave `src` go through the scalar code.
pub(crate) fn horizontal_row_c3(src: &[u8], dst: &mut [u8], coeffs: &Coefficients) -> bool {
    // SAFETY: NEON is part of the aarch64 baseline; the kernel checks every bound itself.
    unsafe { kernel_c3(src, dst, coeffs) };
    true
}

#[target_feature(enable = "neon")]
unsafe fn kernel_c3(src: &[u8], dst: &mut [u8], coeffs: &Coefficients) {
    // Bytes 0..6 of a load = two RGB pixels -> [R0 G0 B0 0 R1 G1 B1 0] (index 255 gives 0).
    let spread_bytes: [u8; 8] = [0, 1, 2, 255, 3, 4, 5, 255];
    // SAFETY: reading 8 bytes from an 8-byte array.
    let spread = unsafe { vld1_u8(spread_bytes.as_ptr()) };
    let rounding = splat(ROUNDING);
    for (i, out) in dst.chunks_exact_mut(3).enumerate().take(coeffs.out_size()) {
        let (first, weights) = coeffs.taps(i);
        let pairs = weights.len().div_ceil(2);
        let base = 3 * first;
        if pairs == 0 || base + 6 * (pairs - 1) + 8 > src.len() {
            scalar::horizontal_pixel::<3>(src, out, first, weights);
            continue;
        }
        let (mut acc0, mut acc1) = (splat(0), splat(0));
        for p in 0..pairs {
            // SAFETY: `base + 6p + 8 <= src.len()` (checked above).
            let raw = unsafe { vld1_u8(src.as_ptr().add(base + 6 * p)) };
            let px = vmovl_u8(vtbl1_u8(raw, spread));
            let w0 = weights[2 * p];
            let w1 = weights.get(2 * p + 1).copied().unwrap_or(0);
            acc0 = vaddq_s32(
                acc0,
                vmulq_n_s32(vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(px))), w0),
            );
            acc1 = vaddq_s32(
                acc1,
                vmulq_n_s32(vreinterpretq_s32_u32(vmovl_u16(vget_high_u16(px))), w1),
            );
        }
        let shifted = vshrq_n_s32::<{ PRECISION_BITS as i32 }>(vaddq_s32(vaddq_s32(acc0, acc1), rounding));
        let words = vqmovn_s32(shifted);
        let bytes = vqmovun_s16(vcombine_s16(words, words));
        let packed = vget_lane_u32::<0>(vreinterpret_u32_u8(bytes)).to_le_bytes();
        out.copy_from_slice(&packed[..3]);
    }
}

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
