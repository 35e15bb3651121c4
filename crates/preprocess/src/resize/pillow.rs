//! Pillow's resampling coefficients (`Image.resize(..., BICUBIC)` on 8-bit images).
//!
//! Every backend (the scalar reference here, SIMD kernels later) uses these fixed-point tables,
//! so they all compute the same integers. Bit-exactness with Pillow depends on reproducing its
//! floating-point steps in the same order:
//!
//! - `scale = in / out` (the box edges are `f32` in Pillow; exact for sizes below 2^24) and
//!   `filterscale = max(scale, 1)`: when downscaling, the kernel is stretched (antialiasing).
//! - `support = 2 * filterscale` (bicubic's support is 2); the table has
//!   `ksize = 2 * ceil(support) + 1` slots per output pixel.
//! - Output pixel `i` is centred at `center = (i + 0.5) * scale`; its taps run from
//!   `trunc(center - support + 0.5)` (at least 0) to `trunc(center + support + 0.5)` (at most
//!   `in`), truncating toward zero as C's `(int)` does.
//! - Tap `j` weighs `cubic((j - center + 0.5) * (1 / filterscale))`: a multiplication by the
//!   reciprocal, not a division (the two differ in the last bit).
//! - The weights are divided by their sum (accumulated left to right), then converted to fixed
//!   point with [`PRECISION_BITS`] fractional bits, rounding half away from zero.

/// Fractional bits of the fixed-point weights: 32 − 8 (pixel) − 2 (headroom for the negative
/// lobes and sums above 1), as Pillow's `PRECISION_BITS`.
pub(crate) const PRECISION_BITS: u32 = 32 - 8 - 2;

/// The accumulator's start value: one half in fixed point, so the final shift rounds.
pub(crate) const ROUNDING: i32 = 1 << (PRECISION_BITS - 1);

/// Bicubic convolution kernel with `a = -0.5` (Keys), support 2, written with Pillow's operation
/// order (no fused multiply-add, which Rust never introduces on its own).
fn bicubic(x: f64) -> f64 {
    const A: f64 = -0.5;
    let x = x.abs();
    if x < 1.0 {
        ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
    } else if x < 2.0 {
        (((x - 5.0) * x + 8.0) * x - 4.0) * A
    } else {
        0.0
    }
}

/// Support of [`bicubic`] at scale 1.
const BICUBIC_SUPPORT: f64 = 2.0;

/// Pillow's triangle (`BILINEAR`) kernel, support 1. Stretched when downscaling like every Pillow
/// filter, so a downscale averages over the whole input footprint (area-like, no aliasing).
fn triangle(x: f64) -> f64 {
    let x = x.abs();
    if x < 1.0 { 1.0 - x } else { 0.0 }
}

/// Which kernel a coefficient table uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Filter {
    /// Pillow `BICUBIC` (a = -0.5): the reference.
    #[default]
    Bicubic,
    /// Pillow `BILINEAR` (triangle): the fast mode, about half the taps.
    Bilinear,
}

impl Filter {
    fn support(self) -> f64 {
        match self {
            Self::Bicubic => BICUBIC_SUPPORT,
            Self::Bilinear => 1.0,
        }
    }

    fn eval(self, x: f64) -> f64 {
        match self {
            Self::Bicubic => bicubic(x),
            Self::Bilinear => triangle(x),
        }
    }
}

/// Converts a normalised weight to fixed point as Pillow's `normalize_coeffs_8bpc`: round half
/// away from zero, then truncate toward zero (`as` truncates like C's `(int)`).
fn to_fixed(w: f64) -> i32 {
    let scaled = w * f64::from(1u32 << PRECISION_BITS);
    if w < 0.0 {
        (-0.5 + scaled) as i32
    } else {
        (0.5 + scaled) as i32
    }
}

/// Fixed-point weights of one axis: for each output pixel, the first input pixel it reads and
/// its weights, stored in rows of `ksize` slots (unused slots are 0, so SIMD kernels may read a
/// whole row).
#[derive(Debug, Default)]
pub(crate) struct Coefficients {
    in_size: usize,
    out_size: usize,
    /// Width of the input box (`in_size` unless a sub-sampled plane covers a different extent).
    extent: f32,
    filter: Filter,
    ksize: usize,
    /// `(first input index, number of taps)` per output pixel.
    bounds: Vec<(usize, usize)>,
    /// `out_size * ksize` weights.
    weights: Vec<i32>,
    /// The same weights in rows of `ksize` rounded up to a multiple of 8 (zeros after the taps),
    /// for SIMD kernels that read 8 taps at a time.
    padded: Vec<i32>,
    /// Floating-point weights of one output pixel (scratch, `ksize` long).
    scratch: Vec<f64>,
}

impl Coefficients {
    /// Whether the table currently describes `in_size -> out_size`.
    #[cfg(test)]
    pub(crate) fn is_for(&self, in_size: usize, out_size: usize) -> bool {
        self.is_for_box(in_size, in_size as f32, out_size, Filter::Bicubic)
    }

    /// Whether the table currently describes `in_size -> out_size` with this box and filter.
    pub(crate) fn is_for_box(&self, in_size: usize, extent: f32, out_size: usize, filter: Filter) -> bool {
        self.ksize != 0
            && self.in_size == in_size
            && self.out_size == out_size
            && self.extent.to_bits() == extent.to_bits()
            && self.filter == filter
    }

    /// [`compute`](Self::compute) unless the table is already for these parameters; `false` on
    /// overflow.
    pub(crate) fn ensure(&mut self, in_size: usize, extent: f32, out_size: usize, filter: Filter) -> bool {
        self.is_for_box(in_size, extent, out_size, filter)
            || self.compute_box(in_size, extent, out_size, filter)
    }

    /// Recomputes the table for `in_size -> out_size` (both ≥ 1), reusing the existing buffers
    /// (no allocation when they are already large enough).
    ///
    /// Returns `false` when the table would not fit in memory (`out_size * ksize` overflows).
    #[cfg(test)]
    pub(crate) fn compute(&mut self, in_size: usize, out_size: usize) -> bool {
        self.compute_box(in_size, in_size as f32, out_size, Filter::Bicubic)
    }

    /// Pillow's table for resampling the box `(0, extent)` of `in_size` samples to `out_size`
    /// with `filter` (taps clipped to the `in_size` samples).
    pub(crate) fn compute_box(
        &mut self,
        in_size: usize,
        extent: f32,
        out_size: usize,
        filter: Filter,
    ) -> bool {
        debug_assert!(in_size > 0 && out_size > 0);
        // Pillow passes the source box as `float`s: (0, in_size).
        let in1 = extent;
        let scale = f64::from(in1 - 0.0f32) / out_size as f64;
        let filterscale = scale.max(1.0);
        let support = filter.support() * filterscale;
        // `ceil(support)` is at most 2 * in_size + 2 here, so the cast is exact.
        let ksize = (support.ceil() as usize).saturating_mul(2).saturating_add(1);
        let Some(total) = out_size.checked_mul(ksize) else {
            return false;
        };
        self.ksize = 0; // invalid until complete
        self.bounds.clear();
        self.bounds.reserve(out_size);
        self.weights.clear();
        self.weights.resize(total, 0);
        self.scratch.clear();
        self.scratch.resize(ksize, 0.0);

        let inv_filterscale = 1.0 / filterscale;
        let in_len = in_size as i64;
        for (i, row) in self.weights.chunks_exact_mut(ksize).enumerate() {
            let center = (i as f64 + 0.5) * scale;
            // C's `(int)` truncates toward zero; negative starts are clamped to 0 anyway.
            let first = ((center - support + 0.5) as i64).max(0);
            let end = ((center + support + 0.5) as i64).min(in_len);
            let taps = (end - first).max(0) as usize;
            let taps = taps.min(ksize);
            let first = first as usize;

            let w = &mut self.scratch[..taps];
            let mut sum = 0.0f64;
            for (j, slot) in w.iter_mut().enumerate() {
                let x = ((first + j) as f64 - center + 0.5) * inv_filterscale;
                *slot = filter.eval(x);
                sum += *slot;
            }
            if sum != 0.0 {
                for slot in w.iter_mut() {
                    *slot /= sum;
                }
            }
            for (fixed, &slot) in row.iter_mut().zip(w.iter()) {
                *fixed = to_fixed(slot);
            }
            self.bounds.push((first, taps));
        }
        let k8 = ksize.div_ceil(8) * 8;
        self.padded.clear();
        self.padded.resize(out_size * k8, 0);
        for (p, w) in self
            .padded
            .chunks_exact_mut(k8)
            .zip(self.weights.chunks_exact(ksize))
        {
            p[..ksize].copy_from_slice(w);
        }
        self.in_size = in_size;
        self.out_size = out_size;
        self.extent = extent;
        self.filter = filter;
        self.ksize = ksize;
        true
    }

    /// Number of output pixels.
    #[cfg_attr(not(any(target_arch = "x86_64", target_arch = "aarch64")), allow(dead_code))]
    pub(crate) fn out_size(&self) -> usize {
        self.out_size
    }

    /// Slots per row of [`padded_taps`](Self::padded_taps): a multiple of 8.
    #[cfg_attr(not(any(target_arch = "x86_64", target_arch = "aarch64")), allow(dead_code))]
    pub(crate) fn padded_len(&self) -> usize {
        self.ksize.div_ceil(8) * 8
    }

    /// First input index and the [`padded_len`](Self::padded_len) weights of output pixel `i`
    /// (zeros after its taps).
    #[cfg_attr(not(any(target_arch = "x86_64", target_arch = "aarch64")), allow(dead_code))]
    pub(crate) fn padded_taps(&self, i: usize) -> (usize, &[i32]) {
        let k8 = self.padded_len();
        (self.bounds[i].0, &self.padded[i * k8..(i + 1) * k8])
    }

    /// First input index and the weights of output pixel `i`.
    pub(crate) fn taps(&self, i: usize) -> (usize, &[i32]) {
        let (first, taps) = self.bounds[i];
        let start = i * self.ksize;
        (first, &self.weights[start..start + taps])
    }

    /// The input range `[first, end)` that any output pixel reads.
    pub(crate) fn input_span(&self) -> (usize, usize) {
        let first = self.bounds.first().map_or(0, |b| b.0);
        let end = self.bounds.last().map_or(0, |b| b.0 + b.1);
        (first, end)
    }
}

/// Rounds a fixed-point accumulator to a byte: shift (arithmetic), then clamp to 0..=255, as
/// Pillow's `clip8` table lookup.
#[inline]
pub(crate) fn clip8(acc: i32) -> u8 {
    (acc >> PRECISION_BITS).clamp(0, 255) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_matches_keys_cubic() {
        assert_eq!(bicubic(0.0), 1.0);
        assert_eq!(bicubic(1.0), 0.0);
        assert_eq!(bicubic(2.0), 0.0);
        assert_eq!(bicubic(-0.5), 0.5625);
        assert_eq!(bicubic(1.5), -0.0625);
    }

    #[test]
    fn identity_size_is_a_copy() {
        let mut c = Coefficients::default();
        assert!(c.compute(10, 10));
        for i in 0..10 {
            let (first, w) = c.taps(i);
            let one: Vec<usize> = (0..w.len()).filter(|&j| w[j] != 0).collect();
            assert_eq!(one.len(), 1);
            assert_eq!(first + one[0], i);
            assert_eq!(w[one[0]], 1 << PRECISION_BITS);
        }
    }

    #[test]
    fn weights_sum_to_about_one() {
        let mut c = Coefficients::default();
        for (i, o) in [(1, 7), (517, 160), (2000, 768), (7, 3), (3, 1000)] {
            assert!(c.compute(i, o));
            assert!(c.is_for(i, o));
            for k in 0..o {
                let (first, w) = c.taps(k);
                assert!(first + w.len() <= i);
                assert!(!w.is_empty());
                let s: i64 = w.iter().map(|&x| i64::from(x)).sum();
                assert!(
                    (s - (1 << PRECISION_BITS)).abs() <= w.len() as i64,
                    "{i}->{o} [{k}]: {s}"
                );
            }
        }
    }

    #[test]
    fn clip_rounds_and_saturates() {
        assert_eq!(clip8(ROUNDING), 0);
        assert_eq!(clip8((1 << PRECISION_BITS) * 3 + ROUNDING), 3);
        assert_eq!(clip8(-(1 << PRECISION_BITS)), 0);
        assert_eq!(clip8(300 << PRECISION_BITS), 255);
    }
}
