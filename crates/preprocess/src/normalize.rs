//! Rescale and normalise 8-bit pixels to the `f32` CHW planes of `pixel_values`.
//!
//! The reference computes, with numpy, `(u8.astype(float64) * rescale_factor).astype(float32)`
//! and then `(x - mean) / std` in `float32` (mean and std rounded to `float32` first). With 8-bit
//! input there are only 256 values per channel, so the exact results are tabulated once and the
//! per-pixel work is a table lookup: bit-identical by construction and independent of how the
//! compiler would schedule floating-point operations.

/// Per-channel table of the normalised value of every byte.
#[derive(Clone)]
pub(crate) struct NormalizeTable {
    lut: [[f32; 256]; 3],
    affine: Affine,
}
/// Per channel, the fast path's normalisation `f32(v) * scale + offset` (a multiply, then an
/// add, each rounded: never fused, so SIMD lanes give the same bits).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Affine {
    pub(crate) scale: [f32; 3],
    pub(crate) offset: [f32; 3],
}

impl Affine {
    /// `scale = rescale / std`, `offset = -mean / std` (in `f64`, then rounded to `f32`).
    pub(crate) fn new(rescale_factor: f64, mean: [f32; 3], std: [f32; 3]) -> Self {
        let scale = std::array::from_fn(|c| (rescale_factor / f64::from(std[c])) as f32);
        let offset = std::array::from_fn(|c| (-f64::from(mean[c]) / f64::from(std[c])) as f32);
        Self { scale, offset }
    }

    /// The normalised value of byte `v` of channel `c`.
    #[inline]
    pub(crate) fn apply(&self, c: usize, v: u8) -> f32 {
        f32::from(v) * self.scale[c] + self.offset[c]
    }
}

impl NormalizeTable {
    /// Tabulates `((v as f64 * rescale_factor) as f32 - mean[c]) / std[c]` in `f32`.
    pub(crate) fn new(rescale_factor: f64, mean: [f32; 3], std: [f32; 3]) -> Self {
        let mut lut = [[0.0f32; 256]; 3];
        for (c, plane) in lut.iter_mut().enumerate() {
            for (v, slot) in (0u8..=255).zip(plane.iter_mut()) {
                // f64 -> f32 `as` rounds to nearest, ties to even, as numpy's astype.
                #[allow(clippy::cast_possible_truncation)]
                let rescaled = (f64::from(v) * rescale_factor) as f32;
                *slot = (rescaled - mean[c]) / std[c];
            }
        }
        Self {
            lut,
            affine: Affine::new(rescale_factor, mean, std),
        }
    }

    /// The same normalisation as a multiply-add (for the fast path; within a few `f32` ulps of
    /// the table).
    pub(crate) fn affine(&self) -> &Affine {
        &self.affine
    }

    /// Interleaved RGB (`3 * n` bytes) to three planes of `n` values in `out` (`3 * n` long).
    pub(crate) fn rgb8_to_chw_f32(&self, rgb: &[u8], out: &mut [f32]) {
        let n = rgb.len() / 3;
        let (r, rest) = out.split_at_mut(n);
        let (g, b) = rest.split_at_mut(n);
        for (((px, r), g), b) in rgb.chunks_exact(3).zip(r).zip(g).zip(b) {
            *r = self.lut[0][usize::from(px[0])];
            *g = self.lut[1][usize::from(px[1])];
            *b = self.lut[2][usize::from(px[2])];
        }
    }

    /// Gray (`n` bytes, replicated to R, G and B) to three planes of `n` values in `out`.
    pub(crate) fn gray8_to_chw_f32(&self, gray: &[u8], out: &mut [f32]) {
        if gray.is_empty() {
            return;
        }
        for (plane, lut) in out.chunks_exact_mut(gray.len()).zip(&self.lut) {
            for (o, &v) in plane.iter_mut().zip(gray) {
                *o = lut[usize::from(v)];
            }
        }
    }
}

impl std::fmt::Debug for NormalizeTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NormalizeTable").finish_non_exhaustive()
    }
}
