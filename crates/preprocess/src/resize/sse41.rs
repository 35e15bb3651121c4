//! SSE4.1 twins of the Pillow-exact passes (`scalar.rs`), for x86_64 CPUs without AVX2: the
//! AVX2 kernels' arithmetic in 128-bit registers (four 32-bit lanes). Integer addition is
//! associative, so the bytes equal the scalar ones (and Pillow's, for the bicubic tables).

use std::arch::x86_64::{
    __m128i, _mm_add_epi32, _mm_cvtepu8_epi32, _mm_cvtsi32_si128, _mm_cvtsi128_si32, _mm_hadd_epi32,
    _mm_loadl_epi64, _mm_loadu_si128, _mm_mullo_epi32, _mm_packs_epi32, _mm_packus_epi16, _mm_set1_epi32,
    _mm_setr_epi8, _mm_setzero_si128, _mm_shuffle_epi8, _mm_shuffle_epi32, _mm_srai_epi32, _mm_srli_si128,
};

use super::pillow::{Coefficients, PRECISION_BITS, ROUNDING};
use super::scalar;

/// [`scalar::vertical_row`] compiled for SSE4.1 (`pmulld`): the same safe code, vectorised four
/// lanes wide. Returns `false` (nothing written) without SSE4.1.
pub(crate) fn vertical_row(
    src: &[u8],
    stride: usize,
    first: usize,
    weights: &[i32],
    acc: &mut [i32],
    dst: &mut [u8],
) -> bool {
    if !std::arch::is_x86_feature_detected!("sse4.1") {
        return false;
    }
    // SAFETY: SSE4.1 is available (checked above); the body is safe, bounds-checked code.
    unsafe { vertical_row_sse41(src, stride, first, weights, acc, dst) };
    true
}

#[target_feature(enable = "sse4.1")]
unsafe fn vertical_row_sse41(
    src: &[u8],
    stride: usize,
    first: usize,
    weights: &[i32],
    acc: &mut [i32],
    dst: &mut [u8],
) {
    scalar::vertical_row(src, stride, first, weights, acc, dst);
}

/// Four bytes at `at` zero-extended to four `i32` lanes.
///
/// # Safety
/// `at + 4 <= src.len()`; SSE4.1 available.
#[inline]
#[target_feature(enable = "sse4.1")]
unsafe fn load4(src: &[u8], at: usize) -> __m128i {
    // SAFETY: the caller guarantees `at + 4 <= src.len()`.
    let word = unsafe { src.as_ptr().add(at).cast::<i32>().read_unaligned() };
    _mm_cvtepu8_epi32(_mm_cvtsi32_si128(word))
}

/// Resamples the longest prefix of 4-pixel blocks whose reads stay inside `src`; returns the
/// number of output pixels written (the caller finishes with scalar code). 0 without SSE4.1.
pub(crate) fn horizontal_row_c1(src: &[u8], dst: &mut [u8], coeffs: &Coefficients) -> usize {
    if !std::arch::is_x86_feature_detected!("sse4.1") {
        return 0;
    }
    // SAFETY: SSE4.1 is available (checked above); the kernel checks every bound itself.
    unsafe { kernel_c1(src, dst, coeffs) }
}

#[target_feature(enable = "sse4.1")]
unsafe fn kernel_c1(src: &[u8], dst: &mut [u8], coeffs: &Coefficients) -> usize {
    let k8 = coeffs.padded_len();
    let n = dst.len().min(coeffs.out_size());
    let rounding = _mm_set1_epi32(ROUNDING);
    let mut i = 0;
    while i + 4 <= n {
        // Firsts grow with i: if the block's last pixel reads in bounds, all do.
        if coeffs.padded_taps(i + 3).0 + k8 > src.len() {
            break;
        }
        let mut acc = [_mm_setzero_si128(); 4];
        for (k, a) in acc.iter_mut().enumerate() {
            let (first, weights) = coeffs.padded_taps(i + k);
            for (chunk, w) in weights.chunks_exact(4).enumerate() {
                let at = first + 4 * chunk;
                // SAFETY: `at + 4 <= first + k8 <= src.len()` (checked for the block's largest
                // `first`); `w` holds 4 `i32`.
                let (px, wv) = unsafe { (load4(src, at), _mm_loadu_si128(w.as_ptr().cast())) };
                *a = _mm_add_epi32(*a, _mm_mullo_epi32(px, wv));
            }
        }
        let sum = _mm_hadd_epi32(_mm_hadd_epi32(acc[0], acc[1]), _mm_hadd_epi32(acc[2], acc[3]));
        let shifted = _mm_srai_epi32::<{ PRECISION_BITS as i32 }>(_mm_add_epi32(sum, rounding));
        let words = _mm_packs_epi32(shifted, shifted);
        let bytes = (_mm_cvtsi128_si32(_mm_packus_epi16(words, words)) as u32).to_le_bytes();
        dst[i..i + 4].copy_from_slice(&bytes);
        i += 4;
    }
    i
}

/// The horizontal pass of one interleaved RGB row, two taps per step; pixels whose 8-byte loads
/// would leave `src` go through the scalar code. `false` (nothing written) without SSE4.1.
pub(crate) fn horizontal_row_c3(src: &[u8], dst: &mut [u8], coeffs: &Coefficients) -> bool {
    if !std::arch::is_x86_feature_detected!("sse4.1") {
        return false;
    }
    // SAFETY: SSE4.1 is available (checked above); the kernel checks every bound itself.
    unsafe { kernel_c3(src, dst, coeffs) };
    true
}

#[target_feature(enable = "sse4.1")]
unsafe fn kernel_c3(src: &[u8], dst: &mut [u8], coeffs: &Coefficients) {
    // Bytes 0..6 of a load = two RGB pixels -> [R0 G0 B0 0 R1 G1 B1 0].
    let spread = _mm_setr_epi8(
        0, 1, 2, -128, 3, 4, 5, -128, -128, -128, -128, -128, -128, -128, -128, -128,
    );
    let rounding = _mm_set1_epi32(ROUNDING);
    for (i, out) in dst.chunks_exact_mut(3).enumerate().take(coeffs.out_size()) {
        let (first, weights) = coeffs.taps(i);
        let (_, padded) = coeffs.padded_taps(i);
        let pairs = weights.len().div_ceil(2);
        let base = 3 * first;
        if pairs == 0 || base + 6 * (pairs - 1) + 8 > src.len() || 2 * pairs > padded.len() {
            scalar::horizontal_pixel::<3>(src, out, first, weights);
            continue;
        }
        let mut acc = _mm_setzero_si128();
        for p in 0..pairs {
            // SAFETY: `base + 6p + 8 <= src.len()` and `2p + 2 <= padded.len()` (checked above).
            let (px, w) = unsafe {
                (
                    _mm_loadl_epi64(src.as_ptr().add(base + 6 * p).cast()),
                    _mm_loadl_epi64(padded.as_ptr().add(2 * p).cast()),
                )
            };
            let px = _mm_shuffle_epi8(px, spread);
            let first_px = _mm_cvtepu8_epi32(px);
            let second_px = _mm_cvtepu8_epi32(_mm_srli_si128::<4>(px));
            acc = _mm_add_epi32(acc, _mm_mullo_epi32(first_px, _mm_shuffle_epi32::<0x00>(w)));
            acc = _mm_add_epi32(acc, _mm_mullo_epi32(second_px, _mm_shuffle_epi32::<0x55>(w)));
        }
        let shifted = _mm_srai_epi32::<{ PRECISION_BITS as i32 }>(_mm_add_epi32(acc, rounding));
        let words = _mm_packs_epi32(shifted, shifted);
        let bytes = (_mm_cvtsi128_si32(_mm_packus_epi16(words, words)) as u32).to_le_bytes();
        out.copy_from_slice(&bytes[..3]);
    }
}
