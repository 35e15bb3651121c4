//! The fast path's horizontal table: Pillow's triangle weights rounded to 14-bit `i16` (two
//! bytes per tap instead of four, so SIMD kernels multiply-add 16-bit pairs: `pmaddwd`,
//! `vmlal_s16`), every pixel's taps in a row of `k` slots (a multiple of 8).
//!
//! A pixel whose `k` slots would run past the end of the input is moved left (its first index
//! lowered, its weights shifted right by the same amount, zeros in front), so every pixel reads
//! exactly `k` in-range samples whenever the input has at least `k`: the kernels need no tail
//! handling for the source, only for the output.

use crate::resize::pillow::{Coefficients, PRECISION_BITS};

/// Fractional bits of the weights.
pub(crate) const BITS: u32 = 14;
/// Added before the final shift (round half up).
pub(crate) const ROUND: i32 = 1 << (BITS - 1);

/// 16-bit horizontal weights (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct Taps16 {
    in_size: usize,
    k: usize,
    firsts: Vec<usize>,
    weights: Vec<i16>,
}

impl Taps16 {
    /// Rebuilds the table from Pillow's fixed-point one (22 fractional bits → 14, rounded half
    /// up). Reuses the buffers.
    pub(crate) fn build(&mut self, coeffs: &Coefficients, in_size: usize) {
        let n = coeffs.out_size();
        let k = coeffs.padded_len().max(8);
        self.in_size = in_size;
        self.k = k;
        self.firsts.clear();
        self.weights.clear();
        self.weights.resize(n * k, 0);
        let drop = PRECISION_BITS - BITS;
        for (i, row) in self.weights.chunks_exact_mut(k).enumerate() {
            let (first, w) = coeffs.taps(i);
            let moved = if in_size >= k {
                first.min(in_size - k)
            } else {
                first
            };
            let shift = first - moved;
            for (slot, &wt) in row[shift..].iter_mut().zip(w) {
                // |wt| < 1.3 · 2^22, so the rounded value fits in i16 (|.| < 1.3 · 2^14).
                *slot = ((wt + (1 << (drop - 1))) >> drop) as i16;
            }
            self.firsts.push(moved);
        }
    }

    /// Number of output samples.
    pub(crate) fn out_size(&self) -> usize {
        self.firsts.len()
    }

    /// Slots per output sample (a multiple of 8).
    #[cfg_attr(not(any(target_arch = "x86_64", target_arch = "aarch64")), allow(dead_code))]
    pub(crate) fn k(&self) -> usize {
        self.k
    }

    /// First input sample of every output (never decreasing).
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    pub(crate) fn firsts(&self) -> &[usize] {
        &self.firsts
    }

    /// All weights, `k` per output.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    pub(crate) fn weights(&self) -> &[i16] {
        &self.weights
    }

    /// First input sample of output `i` and its `k` weights.
    #[inline]
    pub(crate) fn taps(&self, i: usize) -> (usize, &[i16]) {
        (self.firsts[i], &self.weights[i * self.k..(i + 1) * self.k])
    }

    /// Input samples (weights beyond `in_size - first` are zero and never read by the scalar
    /// code).
    pub(crate) fn in_size(&self) -> usize {
        self.in_size
    }
}
