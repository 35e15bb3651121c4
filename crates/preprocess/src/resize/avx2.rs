//! AVX2 twin of `scalar::horizontal_row::<1>`: eight output pixels at a time, taps eight at a time,
//! in 32-bit lanes. Integer addition is associative, so summing in another order gives exactly
//! the scalar result (and Pillow's, for the bicubic tables).

use std::arch::x86_64::{
    __m256i, _mm_loadl_epi64, _mm_packs_epi32, _mm_packus_epi16, _mm_storel_epi64, _mm256_add_epi32,
    _mm256_castsi256_si128, _mm256_cvtepu8_epi32, _mm256_extracti128_si256, _mm256_hadd_epi32,
    _mm256_loadu_si256, _mm256_mullo_epi32, _mm256_permute2x128_si256, _mm256_set1_epi32,
    _mm256_setzero_si256, _mm256_srai_epi32,
};

use std::arch::x86_64::{
    _mm_add_epi32, _mm_cvtsi128_si32, _mm_set1_epi32, _mm_setr_epi8, _mm_shuffle_epi8, _mm_srai_epi32,
    _mm256_castsi128_si256, _mm256_permutevar8x32_epi32, _mm256_setr_epi32,
};

use super::pillow::{Coefficients, PRECISION_BITS, ROUNDING};
use super::scalar;

/// [`scalar::vertical_row`] compiled for AVX2: the same safe code, which the compiler vectorises
/// 8 lanes wide instead of SSE2's 4 (integer arithmetic, so the bytes are identical). Returns
/// `false` (nothing written) without AVX2.
pub(crate) fn vertical_row(
    src: &[u8],
    stride: usize,
    first: usize,
    weights: &[i32],
    acc: &mut [i32],
    dst: &mut [u8],
) -> bool {
    if !std::arch::is_x86_feature_detected!("avx2") {
        return false;
    }
    // SAFETY: AVX2 is available (checked above); the body is safe, bounds-checked code.
    unsafe { vertical_row_avx2(src, stride, first, weights, acc, dst) };
    true
}

#[target_feature(enable = "avx2")]
unsafe fn vertical_row_avx2(
    src: &[u8],
    stride: usize,
    first: usize,
    weights: &[i32],
    acc: &mut [i32],
    dst: &mut [u8],
) {
    scalar::vertical_row(src, stride, first, weights, acc, dst);
}

/// The horizontal pass of one interleaved RGB row (`3 * in` bytes to `3 * out`), two taps per
/// step in 32-bit lanes; pixels whose 8-byte loads would leave `src` go through the scalar code.
/// Returns `false` (nothing written) without AVX2.
pub(crate) fn horizontal_row_c3(src: &[u8], dst: &mut [u8], coeffs: &Coefficients) -> bool {
    if !std::arch::is_x86_feature_detected!("avx2") {
        return false;
    }
    // SAFETY: AVX2 is available (checked above); the kernel checks every bound itself.
    unsafe { kernel_c3(src, dst, coeffs) };
    true
}

#[target_feature(enable = "avx2")]
unsafe fn kernel_c3(src: &[u8], dst: &mut [u8], coeffs: &Coefficients) {
    // Bytes 0..6 of a load = two RGB pixels -> [R0 G0 B0 0 R1 G1 B1 0].
    let spread = _mm_setr_epi8(
        0, 1, 2, -128, 3, 4, 5, -128, -128, -128, -128, -128, -128, -128, -128, -128,
    );
    let two_weights = _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1);
    let rounding = _mm_set1_epi32(ROUNDING);
    for (i, out) in dst.chunks_exact_mut(3).enumerate().take(coeffs.out_size()) {
        let (first, weights) = coeffs.taps(i);
        let (_, padded) = coeffs.padded_taps(i);
        let pairs = weights.len().div_ceil(2);
        let base = 3 * first;
        // The last load reads bytes `base + 6 (pairs - 1) .. + 8`; `padded` holds ≥ 2 pairs' weights.
        if pairs == 0 || base + 6 * (pairs - 1) + 8 > src.len() || 2 * pairs > padded.len() {
            scalar::horizontal_pixel::<3>(src, out, first, weights);
            continue;
        }
        let mut acc = _mm256_setzero_si256();
        for p in 0..pairs {
            // SAFETY: `base + 6p + 8 <= src.len()` and `2p + 2 <= padded.len()` (checked above).
            let (px, w) = unsafe {
                (
                    _mm_loadl_epi64(src.as_ptr().add(base + 6 * p).cast()),
                    _mm_loadl_epi64(padded.as_ptr().add(2 * p).cast()),
                )
            };
            let px = _mm256_cvtepu8_epi32(_mm_shuffle_epi8(px, spread));
            let w = _mm256_permutevar8x32_epi32(_mm256_castsi128_si256(w), two_weights);
            acc = _mm256_add_epi32(acc, _mm256_mullo_epi32(px, w));
        }
        let sum = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256::<1>(acc));
        let shifted = _mm_srai_epi32::<{ PRECISION_BITS as i32 }>(_mm_add_epi32(sum, rounding));
        let words = _mm_packs_epi32(shifted, shifted);
        let bytes = (_mm_cvtsi128_si32(_mm_packus_epi16(words, words)) as u32).to_le_bytes();
        out.copy_from_slice(&bytes[..3]);
    }
}

/// Resamples the longest prefix of 8-pixel blocks whose reads stay inside `src`; returns the
/// number of output pixels written (the caller finishes with scalar code). Returns 0 without
/// AVX2.
pub(crate) fn horizontal_row_c1(src: &[u8], dst: &mut [u8], coeffs: &Coefficients) -> usize {
    if !std::arch::is_x86_feature_detected!("avx2") {
        return 0;
    }
    // SAFETY: AVX2 is available (checked above); the kernel checks every bound itself.
    unsafe { kernel(src, dst, coeffs) }
}

#[target_feature(enable = "avx2")]
unsafe fn kernel(src: &[u8], dst: &mut [u8], coeffs: &Coefficients) -> usize {
    let k8 = coeffs.padded_len();
    let n = dst.len().min(coeffs.out_size());
    let rounding = _mm256_set1_epi32(ROUNDING);
    let mut i = 0;
    while i + 8 <= n {
        // Firsts grow with i: if the last pixel of the block reads in bounds, all do.
        if coeffs.padded_taps(i + 7).0 + k8 > src.len() {
            break;
        }
        let mut acc = [_mm256_setzero_si256(); 8];
        for (k, a) in acc.iter_mut().enumerate() {
            let (first, weights) = coeffs.padded_taps(i + k);
            for (chunk, w) in weights.chunks_exact(8).enumerate() {
                let at = first + 8 * chunk;
                // SAFETY: `at + 8 <= first + k8 <= src.len()` (checked for the block's last,
                // largest `first`); `w` holds 8 `i32`.
                let (px, wv) = unsafe {
                    (
                        _mm256_cvtepu8_epi32(_mm_loadl_epi64(src.as_ptr().add(at).cast())),
                        _mm256_loadu_si256(w.as_ptr().cast()),
                    )
                };
                *a = _mm256_add_epi32(*a, _mm256_mullo_epi32(px, wv));
            }
        }
        // Horizontal sums of the eight accumulators, in pixel order.
        let t0 = _mm256_hadd_epi32(acc[0], acc[1]);
        let t1 = _mm256_hadd_epi32(acc[2], acc[3]);
        let t2 = _mm256_hadd_epi32(acc[4], acc[5]);
        let t3 = _mm256_hadd_epi32(acc[6], acc[7]);
        let u0 = _mm256_hadd_epi32(t0, t1);
        let u1 = _mm256_hadd_epi32(t2, t3);
        let sum: __m256i = _mm256_add_epi32(
            _mm256_permute2x128_si256::<0x20>(u0, u1),
            _mm256_permute2x128_si256::<0x31>(u0, u1),
        );
        let shifted = _mm256_srai_epi32::<{ PRECISION_BITS as i32 }>(_mm256_add_epi32(sum, rounding));
        let words = _mm_packs_epi32(
            _mm256_castsi256_si128(shifted),
            _mm256_extracti128_si256::<1>(shifted),
        );
        let bytes = _mm_packus_epi16(words, words);
        // SAFETY: `i + 8 <= n <= dst.len()`.
        unsafe { _mm_storel_epi64(dst.as_mut_ptr().add(i).cast(), bytes) };
        i += 8;
    }
    i
}
