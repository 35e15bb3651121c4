#![allow(clippy::unwrap_used)]

use super::table::Taps16;
use super::{horizontal_row, scalar, yuv_to_planes};
use crate::backend::Backend;
use crate::normalize::Affine;
use crate::resize::pillow::{Coefficients, Filter};

fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 24) as u8
        })
        .collect()
}

#[test]
fn horizontal_kernels_match_scalar() {
    let backends = Backend::simd_available();
    eprintln!("backends tested against scalar: {backends:?}");
    let mut c = Coefficients::default();
    let mut t = Taps16::default();
    let mut cases = 0;
    for in_size in (1..=67).chain([100, 191, 960, 1920]) {
        for out_size in [1, 2, 7, 8, 9, 15, 16, 17, 33, 64, 67, 150, 384, 768] {
            assert!(c.ensure(in_size, in_size as f32, out_size, Filter::Bilinear));
            t.build(&c, in_size);
            for ps in [1, 2] {
                // A plane row as a frame holds it: `(in - 1) * ps + 1` bytes (the last sample
                // ends the row), the other chroma plane's bytes in between.
                let src = noise(
                    (in_size * 1000 + out_size * 3 + ps) as u64,
                    (in_size - 1) * ps + 1,
                );
                let mut expected = vec![0u8; out_size];
                scalar::horizontal_row(&src, ps, &mut expected, &t, 0);
                for &b in &backends {
                    let mut got = vec![0u8; out_size];
                    horizontal_row(b, &src, ps, &mut got, &t);
                    assert_eq!(got, expected, "{b:?} {in_size} -> {out_size} ps {ps}");
                }
                cases += 1;
            }
        }
    }
    assert_eq!(cases, 71 * 14 * 2);
}

#[test]
fn sixteen_bit_table_is_close_to_the_float_kernel() {
    // Independent check of the table: a constant row stays constant (weights sum to ~1), and a
    // ramp resampled 2:1 lands on the mean of each pair (triangle kernel, within a level).
    let mut c = Coefficients::default();
    let mut t = Taps16::default();
    assert!(c.ensure(1920, 1920.0, 768, Filter::Bilinear));
    t.build(&c, 1920);
    let flat = vec![200u8; 1920];
    let mut out = vec![0u8; 768];
    scalar::horizontal_row(&flat, 1, &mut out, &t, 0);
    assert!(out.iter().all(|&v| v == 200), "{out:?}");
    assert!(c.ensure(64, 64.0, 32, Filter::Bilinear));
    t.build(&c, 64);
    let ramp: Vec<u8> = (0..64).map(|i| (i * 4) as u8).collect();
    let mut out = vec![0u8; 32];
    scalar::horizontal_row(&ramp, 1, &mut out, &t, 0);
    for (i, &v) in out.iter().enumerate().skip(1).take(30) {
        let centre = f64::from(ramp[2 * i]) / 2.0 + f64::from(ramp[2 * i + 1]) / 2.0;
        assert!((f64::from(v) - centre).abs() <= 1.0, "{i}: {v} vs {centre}");
    }
}

#[test]
fn output_row_kernels_match_scalar() {
    let backends = Backend::simd_available();
    let norm = Affine::new(1.0 / 255.0, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]);
    for w in (1..=67usize).chain([383, 768]) {
        let cw = w.div_ceil(2);
        for seed in 0..3u64 {
            let y = noise(seed * 7 + w as u64, w);
            let u = noise(seed * 7 + 1000 + w as u64, cw);
            let v = noise(seed * 7 + 2000 + w as u64, cw);
            // Padded output rows: kernels must write exactly `w` values.
            let mut expected = vec![vec![-9.0f32; w + 3]; 3];
            let [r, g, b] = &mut expected[..] else {
                unreachable!()
            };
            scalar::yuv_to_planes(&y, &u, &v, &norm, [&mut r[..w], &mut g[..w], &mut b[..w]], 0);
            for &be in &backends {
                let mut got = vec![vec![-9.0f32; w + 3]; 3];
                let [r, g, b] = &mut got[..] else { unreachable!() };
                yuv_to_planes(be, &y, &u, &v, &norm, [&mut r[..w], &mut g[..w], &mut b[..w]]);
                for c in 0..3 {
                    let bits = |row: &[f32]| row.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&got[c]), bits(&expected[c]), "{be:?} width {w} channel {c}");
                }
            }
        }
    }
}

#[test]
fn affine_is_within_two_ulps_of_the_reference_table() {
    // The fast path's multiply-add against the reference's `(f32(v * rescale) - mean) / std`.
    let (rescale, mean, std) = (1.0 / 255.0, [0.485f32, 0.456, 0.406], [0.229f32, 0.224, 0.225]);
    let norm = Affine::new(rescale, mean, std);
    for c in 0..3 {
        for v in 0..=255u8 {
            let reference = ((f64::from(v) * rescale) as f32 - mean[c]) / std[c];
            let got = norm.apply(c, v);
            // Two ulps of the larger term (the sum cancels: ulps of the result would be too
            // strict near zero).
            let magnitude = f32::from(v) * norm.scale[c].abs() + norm.offset[c].abs();
            assert!(
                (got - reference).abs() <= 2.0 * f32::EPSILON * magnitude,
                "channel {c} value {v}: {got} vs {reference}"
            );
        }
    }
}
