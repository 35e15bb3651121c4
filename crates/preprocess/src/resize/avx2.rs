//! AVX2 twin of `scalar::horizontal_row::<1>`: eight output pixels at a time, taps eight at a time,
//! in 32-bit lanes. Integer addition is associative, so summing in another order gives exactly
//! the scalar result (and Pillow's, for the bicubic tables).

use std::arch::x86_64::{
    __m256i, _mm_loadl_epi64, _mm_packs_epi32, _mm_packus_epi16, _mm_storel_epi64, _mm256_add_epi32,
    _mm256_castsi256_si128, _mm256_cvtepu8_epi32, _mm256_extracti128_si256, _mm256_hadd_epi32,
    _mm256_loadu_si256, _mm256_mullo_epi32, _mm256_permute2x128_si256, _mm256_set1_epi32,
    _mm256_setzero_si256, _mm256_srai_epi32,
};

use super::pillow::{Coefficients, PRECISION_BITS, ROUNDING};

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
