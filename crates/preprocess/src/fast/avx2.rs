//! AVX2 twins of the fast path's kernels (`scalar.rs`).
//!
//! Horizontal pass: two output samples per 256-bit register (8 taps each, as 16-bit lanes),
//! `pmaddwd` against the 16-bit weights, eight outputs per step. Interleaved chroma (pixel
//! stride 2) is read 16 bytes at a time and its other plane's bytes masked off, so no
//! de-interleaving pass is needed. Integer arithmetic: the bytes equal the scalar ones.
//!
//! Output rows: BT.601 in 16-bit lanes exactly as `yuv/avx2.rs`, clamped, then converted to
//! `f32`, multiplied and offset (separate multiply and add, as the scalar code), and stored to
//! the three channel rows.

use std::arch::x86_64::{
    __m128i, __m256i, _mm_loadl_epi64, _mm_loadu_si128, _mm_packs_epi32, _mm_packus_epi16, _mm_setr_epi8,
    _mm_shuffle_epi8, _mm_storel_epi64, _mm_unpacklo_epi64, _mm256_add_epi32, _mm256_add_ps,
    _mm256_and_si256, _mm256_castsi128_si256, _mm256_castsi256_si128, _mm256_cvtepi16_epi32,
    _mm256_cvtepi32_ps, _mm256_cvtepu8_epi16, _mm256_extracti128_si256, _mm256_hadd_epi32,
    _mm256_inserti128_si256, _mm256_loadu_si256, _mm256_madd_epi16, _mm256_max_epi16, _mm256_min_epi16,
    _mm256_mul_ps, _mm256_permutevar8x32_epi32, _mm256_set1_epi16, _mm256_set1_epi32, _mm256_set1_ps,
    _mm256_setr_epi32, _mm256_setzero_si256, _mm256_srai_epi16, _mm256_srai_epi32, _mm256_storeu_ps,
    _mm256_sub_epi16,
};

use super::table::{BITS, ROUND, Taps16};
use crate::normalize::Affine;

/// Resamples the longest prefix of 8-sample blocks whose reads stay inside `src`; returns the
/// number of outputs written (the caller finishes with scalar code). 0 without AVX2.
pub(super) fn horizontal_row(src: &[u8], pixel_stride: usize, dst: &mut [u8], table: &Taps16) -> usize {
    if !std::arch::is_x86_feature_detected!("avx2") {
        return 0;
    }
    // SAFETY: AVX2 is available (checked above); the kernel checks every bound itself.
    unsafe { horizontal(src, pixel_stride, dst, table) }
}

/// Samples `at..at + 8` (`pixel_stride` 1 or 2 bytes apart) of two outputs as 16 `i16` lanes:
/// the first output's in the low half.
///
/// # Safety
/// AVX2; `at_b + 8 * pixel_stride <= src.len()` and `at_a <= at_b` in sample units (the caller
/// checks the larger one).
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn samples2(src: &[u8], pixel_stride: usize, at_a: usize, at_b: usize) -> __m256i {
    // SAFETY: both reads end at or before `at_b * ps + 8 * ps <= src.len()` (caller).
    unsafe {
        if pixel_stride == 1 {
            let a = _mm_loadl_epi64(src.as_ptr().add(at_a).cast());
            let b = _mm_loadl_epi64(src.as_ptr().add(at_b).cast());
            _mm256_cvtepu8_epi16(_mm_unpacklo_epi64(a, b))
        } else {
            let a = _mm_loadu_si128(src.as_ptr().add(2 * at_a).cast());
            let b = _mm_loadu_si128(src.as_ptr().add(2 * at_b).cast());
            let both = _mm256_inserti128_si256::<1>(_mm256_castsi128_si256(a), b);
            _mm256_and_si256(both, _mm256_set1_epi16(0x00FF))
        }
    }
}

#[target_feature(enable = "avx2")]
unsafe fn horizontal(src: &[u8], ps: usize, dst: &mut [u8], table: &Taps16) -> usize {
    if table.k() == 8 {
        return horizontal_k8(src, ps, dst, table);
    }
    let k = table.k();
    let n = dst.len().min(table.out_size());
    let rounding = _mm256_set1_epi32(ROUND);
    // Lanes come out as outputs [0 2 4 6 | 1 3 5 7]; this restores the order.
    let order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    let mut i = 0;
    while i + 8 <= n {
        // Firsts never decrease: if the block's last output reads in bounds, all do.
        if (table.taps(i + 7).0 + k) * ps > src.len() {
            break;
        }
        let mut pairs = [_mm256_setzero_si256(); 4];
        for (p, acc) in pairs.iter_mut().enumerate() {
            let (fa, wa) = table.taps(i + 2 * p);
            let (fb, wb) = table.taps(i + 2 * p + 1);
            for c in 0..k / 8 {
                // SAFETY: `(fb + 8c + 8) * ps <= (fb + k) * ps <= src.len()` (checked for the
                // block's largest first); `wa`, `wb` hold `k` weights.
                let (px, w) = unsafe {
                    let px = samples2(src, ps, fa + 8 * c, fb + 8 * c);
                    let w0 = _mm_loadu_si128(wa.as_ptr().add(8 * c).cast());
                    let w1 = _mm_loadu_si128(wb.as_ptr().add(8 * c).cast());
                    (px, _mm256_inserti128_si256::<1>(_mm256_castsi128_si256(w0), w1))
                };
                *acc = _mm256_add_epi32(*acc, _mm256_madd_epi16(px, w));
            }
        }
        // pairs[p] = [4 partial sums of output 2p | 4 of output 2p + 1].
        let t0 = _mm256_hadd_epi32(pairs[0], pairs[1]);
        let t1 = _mm256_hadd_epi32(pairs[2], pairs[3]);
        let sums = _mm256_permutevar8x32_epi32(_mm256_hadd_epi32(t0, t1), order);
        let shifted = _mm256_srai_epi32::<{ BITS as i32 }>(_mm256_add_epi32(sums, rounding));
        let words = _mm_packs_epi32(
            _mm256_castsi256_si128(shifted),
            _mm256_extracti128_si256::<1>(shifted),
        );
        // SAFETY: `i + 8 <= n <= dst.len()`.
        unsafe { _mm_storel_epi64(dst.as_mut_ptr().add(i).cast(), _mm_packus_epi16(words, words)) };
        i += 8;
    }
    i
}

/// [`horizontal`] for 8 slots per output (every downscale up to 2.5x with the triangle kernel):
/// the 64 weights of a block are contiguous, one bounds check per block.
#[target_feature(enable = "avx2")]
fn horizontal_k8(src: &[u8], ps: usize, dst: &mut [u8], table: &Taps16) -> usize {
    let n = dst.len().min(table.out_size());
    let (firsts, weights) = (table.firsts(), table.weights());
    let rounding = _mm256_set1_epi32(ROUND);
    let order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    let mut i = 0;
    while i + 8 <= n {
        let f = &firsts[i..i + 8];
        let w = &weights[8 * i..8 * i + 64];
        // Firsts never decrease: if the block's last output reads in bounds, all do.
        if (f[7] + 8) * ps > src.len() {
            break;
        }
        // SAFETY: every `(f[j] + 8) * ps <= (f[7] + 8) * ps <= src.len()` (checked above), and
        // `w` holds 64 weights (16 per pair).
        let m = |p: usize| unsafe {
            let px = samples2(src, ps, f[2 * p], f[2 * p + 1]);
            _mm256_madd_epi16(px, _mm256_loadu_si256(w.as_ptr().add(16 * p).cast()))
        };
        let t0 = _mm256_hadd_epi32(m(0), m(1));
        let t1 = _mm256_hadd_epi32(m(2), m(3));
        let sums = _mm256_permutevar8x32_epi32(_mm256_hadd_epi32(t0, t1), order);
        let shifted = _mm256_srai_epi32::<{ BITS as i32 }>(_mm256_add_epi32(sums, rounding));
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

/// Converts and normalises the longest prefix of 16-pixel blocks it can read in bounds into the
/// three rows; returns the number of pixels written. 0 without AVX2.
pub(super) fn yuv_to_planes(y: &[u8], u: &[u8], v: &[u8], norm: &Affine, out: [&mut [f32]; 3]) -> usize {
    if !std::arch::is_x86_feature_detected!("avx2") {
        return 0;
    }
    // SAFETY: AVX2 is available (checked above); the kernel checks every bound itself.
    unsafe { planes(y, u, v, norm, out) }
}

#[target_feature(enable = "avx2")]
unsafe fn planes(y: &[u8], u: &[u8], v: &[u8], norm: &Affine, out: [&mut [f32]; 3]) -> usize {
    let [r_out, g_out, b_out] = out;
    let n = y.len().min(r_out.len()).min(g_out.len()).min(b_out.len());
    let dup = _mm_setr_epi8(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
    let c128 = _mm256_set1_epi16(128);
    let (zero, max) = (_mm256_setzero_si256(), _mm256_set1_epi16(255));
    let scale = norm.scale.map(|s| _mm256_set1_ps(s));
    let offset = norm.offset.map(|o| _mm256_set1_ps(o));
    let chroma = |p: &[u8], c: usize| -> __m256i {
        // SAFETY: the caller checked `c + 8 <= p.len()`.
        let raw: __m128i = unsafe { _mm_loadl_epi64(p.as_ptr().add(c).cast()) };
        _mm256_sub_epi16(_mm256_cvtepu8_epi16(_mm_shuffle_epi8(raw, dup)), c128)
    };
    // 16 values (i16, 0..=255) normalised into `row[x..x + 16]`.
    let store = |row: &mut [f32], x: usize, v: __m256i, c: usize| {
        let lo = _mm256_cvtepi32_ps(_mm256_cvtepi16_epi32(_mm256_castsi256_si128(v)));
        let hi = _mm256_cvtepi32_ps(_mm256_cvtepi16_epi32(_mm256_extracti128_si256::<1>(v)));
        let lo = _mm256_add_ps(_mm256_mul_ps(lo, scale[c]), offset[c]);
        let hi = _mm256_add_ps(_mm256_mul_ps(hi, scale[c]), offset[c]);
        // SAFETY: the caller checked `x + 16 <= row.len()`.
        unsafe {
            _mm256_storeu_ps(row.as_mut_ptr().add(x), lo);
            _mm256_storeu_ps(row.as_mut_ptr().add(x + 8), hi);
        }
    };
    let clamp = |x: __m256i| _mm256_min_epi16(_mm256_max_epi16(_mm256_srai_epi16::<6>(x), zero), max);
    let mut x = 0;
    while x + 16 <= n {
        let c = x / 2;
        if c + 8 > u.len() || c + 8 > v.len() {
            break;
        }
        // SAFETY: `x + 16 <= n <= y.len()` (loop condition).
        let luma = unsafe { _mm_loadu_si128(y.as_ptr().add(x).cast()) };
        let [r, g, b] = crate::yuv::avx2::bt601_x64(luma, chroma(u, c), chroma(v, c));
        let (r, g, b) = (clamp(r), clamp(g), clamp(b));
        store(r_out, x, r, 0);
        store(g_out, x, g, 1);
        store(b_out, x, b, 2);
        x += 16;
    }
    x
}
