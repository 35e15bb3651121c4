//! SSE4.1 twins of the fast path's kernels (`scalar.rs`): the AVX2 arithmetic (`avx2.rs`) in
//! 128-bit registers, one output sample per register in the horizontal pass (four per step),
//! eight pixels per step for the output rows.

use std::arch::x86_64::{
    __m128i, _mm_add_epi32, _mm_add_ps, _mm_and_si128, _mm_cvtepi16_epi32, _mm_cvtepi32_ps,
    _mm_cvtepu8_epi16, _mm_cvtsi32_si128, _mm_cvtsi128_si32, _mm_hadd_epi32, _mm_loadl_epi64,
    _mm_loadu_si128, _mm_madd_epi16, _mm_max_epi16, _mm_min_epi16, _mm_mul_ps, _mm_packs_epi32,
    _mm_packus_epi16, _mm_set1_epi16, _mm_set1_epi32, _mm_set1_ps, _mm_setr_epi8, _mm_setzero_si128,
    _mm_shuffle_epi8, _mm_srai_epi16, _mm_srai_epi32, _mm_srli_si128, _mm_storeu_ps, _mm_sub_epi16,
};

use super::table::{BITS, ROUND, Taps16};
use crate::normalize::Affine;

/// Resamples the longest prefix of 4-sample blocks whose reads stay inside `src`; returns the
/// number of outputs written. 0 without SSE4.1.
pub(super) fn horizontal_row(src: &[u8], pixel_stride: usize, dst: &mut [u8], table: &Taps16) -> usize {
    if !std::arch::is_x86_feature_detected!("sse4.1") {
        return 0;
    }
    // SAFETY: SSE4.1 is available (checked above); the kernel checks every bound itself.
    unsafe { horizontal(src, pixel_stride, dst, table) }
}

#[target_feature(enable = "sse4.1")]
unsafe fn horizontal(src: &[u8], ps: usize, dst: &mut [u8], table: &Taps16) -> usize {
    if table.k() == 8 {
        return horizontal_k8(src, ps, dst, table);
    }
    let k = table.k();
    let n = dst.len().min(table.out_size());
    let rounding = _mm_set1_epi32(ROUND);
    let low_bytes = _mm_set1_epi16(0x00FF);
    let mut i = 0;
    while i + 4 <= n {
        // Firsts never decrease: if the block's last output reads in bounds, all do.
        if (table.taps(i + 3).0 + k) * ps > src.len() {
            break;
        }
        let mut acc = [_mm_setzero_si128(); 4];
        for (o, a) in acc.iter_mut().enumerate() {
            let (first, w) = table.taps(i + o);
            for c in 0..k / 8 {
                let at = first + 8 * c;
                // SAFETY: `(at + 8) * ps <= (first + k) * ps <= src.len()` (checked for the
                // block's largest first); `w` holds `k` weights.
                let (px, wv) = unsafe {
                    let px = if ps == 1 {
                        _mm_cvtepu8_epi16(_mm_loadl_epi64(src.as_ptr().add(at).cast()))
                    } else {
                        _mm_and_si128(_mm_loadu_si128(src.as_ptr().add(2 * at).cast()), low_bytes)
                    };
                    (px, _mm_loadu_si128(w.as_ptr().add(8 * c).cast()))
                };
                *a = _mm_add_epi32(*a, _mm_madd_epi16(px, wv));
            }
        }
        let sums = _mm_hadd_epi32(_mm_hadd_epi32(acc[0], acc[1]), _mm_hadd_epi32(acc[2], acc[3]));
        let shifted = _mm_srai_epi32::<{ BITS as i32 }>(_mm_add_epi32(sums, rounding));
        let words = _mm_packs_epi32(shifted, shifted);
        let bytes = (_mm_cvtsi128_si32(_mm_packus_epi16(words, words)) as u32).to_le_bytes();
        dst[i..i + 4].copy_from_slice(&bytes);
        i += 4;
    }
    i
}

/// [`horizontal`] for 8 slots per output: one bounds check per block of four.
#[target_feature(enable = "sse4.1")]
fn horizontal_k8(src: &[u8], ps: usize, dst: &mut [u8], table: &Taps16) -> usize {
    let n = dst.len().min(table.out_size());
    let (firsts, weights) = (table.firsts(), table.weights());
    let rounding = _mm_set1_epi32(ROUND);
    let low_bytes = _mm_set1_epi16(0x00FF);
    let mut i = 0;
    while i + 4 <= n {
        let f = &firsts[i..i + 4];
        let w = &weights[8 * i..8 * i + 32];
        // Firsts never decrease: if the block's last output reads in bounds, all do.
        if (f[3] + 8) * ps > src.len() {
            break;
        }
        // SAFETY: every `(f[j] + 8) * ps <= (f[3] + 8) * ps <= src.len()` (checked above), and
        // `w` holds 32 weights (8 per output).
        let m = |j: usize| unsafe {
            let px = if ps == 1 {
                _mm_cvtepu8_epi16(_mm_loadl_epi64(src.as_ptr().add(f[j]).cast()))
            } else {
                _mm_and_si128(_mm_loadu_si128(src.as_ptr().add(2 * f[j]).cast()), low_bytes)
            };
            _mm_madd_epi16(px, _mm_loadu_si128(w.as_ptr().add(8 * j).cast()))
        };
        let sums = _mm_hadd_epi32(_mm_hadd_epi32(m(0), m(1)), _mm_hadd_epi32(m(2), m(3)));
        let shifted = _mm_srai_epi32::<{ BITS as i32 }>(_mm_add_epi32(sums, rounding));
        let words = _mm_packs_epi32(shifted, shifted);
        let bytes = (_mm_cvtsi128_si32(_mm_packus_epi16(words, words)) as u32).to_le_bytes();
        dst[i..i + 4].copy_from_slice(&bytes);
        i += 4;
    }
    i
}

/// Converts and normalises the longest prefix of 8-pixel blocks it can read in bounds into the
/// three rows; returns the number of pixels written. 0 without SSE4.1.
pub(super) fn yuv_to_planes(y: &[u8], u: &[u8], v: &[u8], norm: &Affine, out: [&mut [f32]; 3]) -> usize {
    if !std::arch::is_x86_feature_detected!("sse4.1") {
        return 0;
    }
    // SAFETY: SSE4.1 is available (checked above); the kernel checks every bound itself.
    unsafe { planes(y, u, v, norm, out) }
}

#[target_feature(enable = "sse4.1")]
unsafe fn planes(y: &[u8], u: &[u8], v: &[u8], norm: &Affine, out: [&mut [f32]; 3]) -> usize {
    let [r_out, g_out, b_out] = out;
    let n = y.len().min(r_out.len()).min(g_out.len()).min(b_out.len());
    let dup = _mm_setr_epi8(
        0, 0, 1, 1, 2, 2, 3, 3, -128, -128, -128, -128, -128, -128, -128, -128,
    );
    let c128 = _mm_set1_epi16(128);
    let (zero, max) = (_mm_setzero_si128(), _mm_set1_epi16(255));
    let scale = norm.scale.map(|s| _mm_set1_ps(s));
    let offset = norm.offset.map(|o| _mm_set1_ps(o));
    let chroma = |p: &[u8], c: usize| -> __m128i {
        // SAFETY: the caller checked `c + 4 <= p.len()`.
        let word = unsafe { p.as_ptr().add(c).cast::<i32>().read_unaligned() };
        _mm_sub_epi16(
            _mm_cvtepu8_epi16(_mm_shuffle_epi8(_mm_cvtsi32_si128(word), dup)),
            c128,
        )
    };
    let store = |row: &mut [f32], x: usize, v: __m128i, c: usize| {
        let lo = _mm_cvtepi32_ps(_mm_cvtepi16_epi32(v));
        let hi = _mm_cvtepi32_ps(_mm_cvtepi16_epi32(_mm_srli_si128::<8>(v)));
        let lo = _mm_add_ps(_mm_mul_ps(lo, scale[c]), offset[c]);
        let hi = _mm_add_ps(_mm_mul_ps(hi, scale[c]), offset[c]);
        // SAFETY: the caller checked `x + 8 <= row.len()`.
        unsafe {
            _mm_storeu_ps(row.as_mut_ptr().add(x), lo);
            _mm_storeu_ps(row.as_mut_ptr().add(x + 4), hi);
        }
    };
    let clamp = |x: __m128i| _mm_min_epi16(_mm_max_epi16(_mm_srai_epi16::<6>(x), zero), max);
    let mut x = 0;
    while x + 8 <= n {
        let c = x / 2;
        if c + 4 > u.len() || c + 4 > v.len() {
            break;
        }
        // SAFETY: `x + 8 <= n <= y.len()` (loop condition).
        let luma = unsafe { _mm_loadl_epi64(y.as_ptr().add(x).cast()) };
        let [r, g, b] = crate::yuv::sse41::bt601_x64(luma, chroma(u, c), chroma(v, c));
        let (r, g, b) = (clamp(r), clamp(g), clamp(b));
        store(r_out, x, r, 0);
        store(g_out, x, g, 1);
        store(b_out, x, b, 2);
        x += 8;
    }
    x
}
