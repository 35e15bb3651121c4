//! SSE4.1 twin of `scalar::row`: the AVX2 kernel's 16-bit arithmetic, eight pixels per step in
//! 128-bit registers (see the module docs for why it gives exactly the scalar bytes).

use std::arch::x86_64::{
    __m128i, _mm_add_epi16, _mm_adds_epi16, _mm_cvtepu8_epi16, _mm_cvtsi32_si128, _mm_loadl_epi64,
    _mm_loadu_si128, _mm_mullo_epi16, _mm_or_si128, _mm_packus_epi16, _mm_set1_epi16, _mm_setr_epi8,
    _mm_shuffle_epi8, _mm_srai_epi16, _mm_storel_epi64, _mm_storeu_si128, _mm_sub_epi16,
};

/// `pshufb` mask placing byte `k` (`k < 8`) of the R, G or B register at `3k + channel` of 24
/// interleaved bytes, for output bytes `16 chunk ..` (-128 = zero).
const fn mask(chunk: usize, channel: usize) -> [i8; 16] {
    let mut m = [-128i8; 16];
    let mut k = 0;
    while k < 16 {
        let idx = chunk * 16 + k;
        if idx < 24 && idx % 3 == channel {
            m[k] = (idx / 3) as i8;
        }
        k += 1;
    }
    m
}

const MASKS: [[[i8; 16]; 3]; 2] = [
    [mask(0, 0), mask(0, 1), mask(0, 2)],
    [mask(1, 0), mask(1, 1), mask(1, 2)],
];

/// Converts the longest prefix of whole 8-pixel blocks it can read in bounds; returns the number
/// of pixels written (a multiple of 8; the caller finishes with scalar code). 0 without SSE4.1.
pub(super) fn row(y: &[u8], u: &[u8], v: &[u8], pixel_stride: usize, dst: &mut [u8]) -> usize {
    if !std::arch::is_x86_feature_detected!("sse4.1") {
        return 0;
    }
    // SAFETY: SSE4.1 is available (checked just above); the kernel checks every bound itself.
    unsafe { row_sse41(y, u, v, pixel_stride, dst) }
}

#[target_feature(enable = "sse4.1")]
unsafe fn row_sse41(y: &[u8], u: &[u8], v: &[u8], pixel_stride: usize, dst: &mut [u8]) -> usize {
    // Four chroma samples: 4 bytes at pixel stride 1, 7 (read as 8) at pixel stride 2.
    let chroma_bytes = if pixel_stride == 1 { 4 } else { 8 };
    let dup = if pixel_stride == 1 {
        _mm_setr_epi8(
            0, 0, 1, 1, 2, 2, 3, 3, -128, -128, -128, -128, -128, -128, -128, -128,
        )
    } else {
        _mm_setr_epi8(
            0, 0, 2, 2, 4, 4, 6, 6, -128, -128, -128, -128, -128, -128, -128, -128,
        )
    };
    // SAFETY: reading 16-byte constants from arrays of 16 `i8`.
    let masks: [[__m128i; 3]; 2] = unsafe {
        let load = |m: &[i8; 16]| _mm_loadu_si128(m.as_ptr().cast());
        [
            [load(&MASKS[0][0]), load(&MASKS[0][1]), load(&MASKS[0][2])],
            [load(&MASKS[1][0]), load(&MASKS[1][1]), load(&MASKS[1][2])],
        ]
    };
    let c128 = _mm_set1_epi16(128);
    let chroma = |p: &[u8], c: usize| -> __m128i {
        // SAFETY: the caller checked `c + chroma_bytes <= p.len()`.
        let raw = unsafe {
            if pixel_stride == 1 {
                _mm_cvtsi32_si128(p.as_ptr().add(c).cast::<i32>().read_unaligned())
            } else {
                _mm_loadl_epi64(p.as_ptr().add(c).cast())
            }
        };
        _mm_sub_epi16(_mm_cvtepu8_epi16(_mm_shuffle_epi8(raw, dup)), c128)
    };
    let narrow = |x: __m128i| -> __m128i {
        let x = _mm_srai_epi16::<6>(x);
        _mm_packus_epi16(x, x)
    };

    let mut x = 0;
    while x + 8 <= y.len() && 3 * (x + 8) <= dst.len() {
        let c = x / 2 * pixel_stride;
        if c + chroma_bytes > u.len() || c + chroma_bytes > v.len() {
            break;
        }
        // SAFETY: `x + 8 <= y.len()` (loop condition).
        let luma = unsafe { _mm_loadl_epi64(y.as_ptr().add(x).cast()) };
        let [r, g, b] = bt601_x64(luma, chroma(u, c), chroma(v, c));
        let (r, g, b) = (narrow(r), narrow(g), narrow(b));
        let interleave = |m: &[__m128i; 3]| {
            _mm_or_si128(
                _mm_or_si128(_mm_shuffle_epi8(r, m[0]), _mm_shuffle_epi8(g, m[1])),
                _mm_shuffle_epi8(b, m[2]),
            )
        };
        let (lo, hi) = (interleave(&masks[0]), interleave(&masks[1]));
        // SAFETY: `3 * (x + 8) <= dst.len()` (loop condition): bytes `3x .. 3x + 24` are in
        // bounds (16 stored, then 8).
        unsafe {
            _mm_storeu_si128(dst.as_mut_ptr().add(3 * x).cast(), lo);
            _mm_storel_epi64(dst.as_mut_ptr().add(3 * x + 16).cast(), hi);
        }
        x += 8;
    }
    x
}

/// BT.601 limited range for 8 pixels in 16-bit lanes: `luma` bytes (widened here) and
/// Cb − 128 / Cr − 128 per pixel → `[R, G, B]` times 64, before the caller's `>> 6` and clamp (the
/// scalar twin is `scalar::luma` + `scalar::pixel`). Shared by the full-size conversion and the fast path.
#[inline]
#[target_feature(enable = "sse4.1")]
pub(crate) fn bt601_x64(luma: __m128i, cb: __m128i, cr: __m128i) -> [__m128i; 3] {
    let t = _mm_sub_epi16(_mm_cvtepu8_epi16(luma), _mm_set1_epi16(16));
    let yl = _mm_add_epi16(
        _mm_add_epi16(_mm_mullo_epi16(t, _mm_set1_epi16(74)), _mm_srai_epi16::<1>(t)),
        _mm_set1_epi16(32),
    );
    [
        _mm_adds_epi16(yl, _mm_mullo_epi16(cr, _mm_set1_epi16(102))),
        _mm_sub_epi16(
            _mm_sub_epi16(yl, _mm_mullo_epi16(cb, _mm_set1_epi16(25))),
            _mm_mullo_epi16(cr, _mm_set1_epi16(52)),
        ),
        _mm_adds_epi16(yl, _mm_mullo_epi16(cb, _mm_set1_epi16(129))),
    ]
}
