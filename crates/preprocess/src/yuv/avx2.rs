//! AVX2 twin of `scalar::row`: 16 pixels per step in 16-bit lanes (see the module docs for why
//! saturating 16-bit arithmetic gives exactly the scalar bytes).

use std::arch::x86_64::{
    __m128i, __m256i, _mm_loadl_epi64, _mm_loadu_si128, _mm_or_si128, _mm_packus_epi16, _mm_shuffle_epi8,
    _mm_storeu_si128, _mm256_add_epi16, _mm256_adds_epi16, _mm256_castsi256_si128, _mm256_cvtepu8_epi16,
    _mm256_extracti128_si256, _mm256_mullo_epi16, _mm256_set1_epi16, _mm256_srai_epi16, _mm256_sub_epi16,
};

/// `pshufb` masks that gather byte `k` of 48 interleaved RGB bytes from the R, G or B register
/// (-128 = zero).
const fn interleave_mask(chunk: usize, channel: usize) -> [i8; 16] {
    let mut m = [-128i8; 16];
    let mut k = 0;
    while k < 16 {
        let idx = chunk * 16 + k;
        if idx % 3 == channel {
            m[k] = (idx / 3) as i8;
        }
        k += 1;
    }
    m
}

const MASKS: [[[i8; 16]; 3]; 3] = {
    let mut all = [[[0i8; 16]; 3]; 3];
    let mut chunk = 0;
    while chunk < 3 {
        let mut c = 0;
        while c < 3 {
            all[chunk][c] = interleave_mask(chunk, c);
            c += 1;
        }
        chunk += 1;
    }
    all
};

/// Duplicates 8 chroma samples to 16 pixels: samples at bytes `0, 1, ..` (pixel stride 1) or
/// `0, 2, ..` (pixel stride 2).
const DUP1: [i8; 16] = [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7];
const DUP2: [i8; 16] = [0, 0, 2, 2, 4, 4, 6, 6, 8, 8, 10, 10, 12, 12, 14, 14];

/// Converts the longest prefix of whole 16-pixel blocks it can read in bounds; returns the
/// number of pixels written (a multiple of 16; the caller finishes the row with scalar code).
/// Does nothing (returns 0) on a CPU without AVX2.
pub(super) fn row(y: &[u8], u: &[u8], v: &[u8], pixel_stride: usize, dst: &mut [u8]) -> usize {
    if !std::arch::is_x86_feature_detected!("avx2") {
        return 0;
    }
    // SAFETY: AVX2 is available (checked just above); the kernel checks every bound itself.
    unsafe { row_avx2(y, u, v, pixel_stride, dst) }
}

#[target_feature(enable = "avx2")]
unsafe fn row_avx2(y: &[u8], u: &[u8], v: &[u8], pixel_stride: usize, dst: &mut [u8]) -> usize {
    // Chroma bytes one block loads: 8 samples at stride 1, 16 bytes (8 samples + gaps) at stride 2.
    let chroma_bytes = if pixel_stride == 1 { 8 } else { 16 };
    // SAFETY: reading 16-byte constants from arrays of 16 `i8`.
    let (dup, masks) = unsafe {
        let load = |m: &[i8; 16]| _mm_loadu_si128(m.as_ptr().cast());
        let dup = load(if pixel_stride == 1 { &DUP1 } else { &DUP2 });
        let masks: [[__m128i; 3]; 3] = [
            [load(&MASKS[0][0]), load(&MASKS[0][1]), load(&MASKS[0][2])],
            [load(&MASKS[1][0]), load(&MASKS[1][1]), load(&MASKS[1][2])],
            [load(&MASKS[2][0]), load(&MASKS[2][1]), load(&MASKS[2][2])],
        ];
        (dup, masks)
    };
    let c128 = _mm256_set1_epi16(128);
    let chroma = |p: &[u8], c: usize| -> __m256i {
        // SAFETY: the caller checked `c + chroma_bytes <= p.len()`.
        let raw = unsafe {
            if pixel_stride == 1 {
                _mm_loadl_epi64(p.as_ptr().add(c).cast())
            } else {
                _mm_loadu_si128(p.as_ptr().add(c).cast())
            }
        };
        _mm256_sub_epi16(_mm256_cvtepu8_epi16(_mm_shuffle_epi8(raw, dup)), c128)
    };
    let narrow = |x: __m256i| -> __m128i {
        let x = _mm256_srai_epi16::<6>(x);
        _mm_packus_epi16(_mm256_castsi256_si128(x), _mm256_extracti128_si256::<1>(x))
    };

    let mut x = 0;
    while x + 16 <= y.len() && 3 * (x + 16) <= dst.len() {
        let c = x / 2 * pixel_stride;
        if c + chroma_bytes > u.len() || c + chroma_bytes > v.len() {
            break;
        }
        // SAFETY: `x + 16 <= y.len()` (loop condition).
        let luma = unsafe { _mm_loadu_si128(y.as_ptr().add(x).cast()) };
        let [r, g, b] = bt601_x64(luma, chroma(u, c), chroma(v, c));
        let (r, g, b) = (narrow(r), narrow(g), narrow(b));
        for (chunk, m) in masks.iter().enumerate() {
            let out = _mm_or_si128(
                _mm_or_si128(_mm_shuffle_epi8(r, m[0]), _mm_shuffle_epi8(g, m[1])),
                _mm_shuffle_epi8(b, m[2]),
            );
            // SAFETY: `3 * (x + 16) <= dst.len()` (loop condition), so bytes
            // `3x + 16 chunk .. 3x + 16 (chunk + 1)` are in bounds.
            unsafe { _mm_storeu_si128(dst.as_mut_ptr().add(3 * x + 16 * chunk).cast(), out) };
        }
        x += 16;
    }
    x
}

/// BT.601 limited range for 16 pixels in 16-bit lanes: `luma` bytes (widened here) and
/// Cb − 128 / Cr − 128 per pixel → `[R, G, B]` times 64, before the caller's `>> 6` and clamp (the
/// scalar twin is `scalar::luma` + `scalar::pixel`). Shared by the full-size conversion and the fast path.
#[inline]
#[target_feature(enable = "avx2")]
pub(crate) fn bt601_x64(luma: __m128i, cb: __m256i, cr: __m256i) -> [__m256i; 3] {
    let t = _mm256_sub_epi16(_mm256_cvtepu8_epi16(luma), _mm256_set1_epi16(16));
    let yl = _mm256_add_epi16(
        _mm256_add_epi16(
            _mm256_mullo_epi16(t, _mm256_set1_epi16(74)),
            _mm256_srai_epi16::<1>(t),
        ),
        _mm256_set1_epi16(32),
    );
    [
        _mm256_adds_epi16(yl, _mm256_mullo_epi16(cr, _mm256_set1_epi16(102))),
        _mm256_sub_epi16(
            _mm256_sub_epi16(yl, _mm256_mullo_epi16(cb, _mm256_set1_epi16(25))),
            _mm256_mullo_epi16(cr, _mm256_set1_epi16(52)),
        ),
        _mm256_adds_epi16(yl, _mm256_mullo_epi16(cb, _mm256_set1_epi16(129))),
    ]
}
