#![allow(clippy::unwrap_used)]

use super::*;

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

/// A frame with padded strides: Y stride `w + pad`, chroma row stride `cw * ps + pad`, the last
/// row of each plane unpadded; `ps == 2` interleaves U and V in one buffer (V first, NV21-like).
struct Frame {
    w: u32,
    h: u32,
    ps: usize,
    pad: usize,
    luma: Vec<u8>,
    chroma: Vec<u8>,
    chroma2: Vec<u8>,
}

impl Frame {
    fn new(w: u32, h: u32, ps: usize, pad: usize, seed: u64) -> Self {
        let (cw, ch) = (w.div_ceil(2) as usize, h.div_ceil(2) as usize);
        let ys = w as usize + pad;
        let cs = cw * ps + pad;
        let luma = noise(seed, ys * (h as usize - 1) + w as usize);
        let span = (cw - 1) * ps + 1;
        let chroma = noise(seed + 1, cs * (ch - 1) + span + usize::from(ps == 2));
        let chroma2 = noise(seed + 2, cs * (ch - 1) + span);
        Self {
            w,
            h,
            ps,
            pad,
            luma,
            chroma,
            chroma2,
        }
    }

    fn view(&self) -> YuvView<'_> {
        let cw = self.w.div_ceil(2) as usize;
        let ys = self.w as usize + self.pad;
        let cs = cw * self.ps + self.pad;
        let y = YuvPlane::new(&self.luma, ys, 1);
        if self.ps == 2 {
            let v = YuvPlane::new(&self.chroma[..self.chroma.len() - 1], cs, 2);
            let u = YuvPlane::new(&self.chroma[1..], cs, 2);
            YuvView::new(self.w, self.h, y, u, v).unwrap()
        } else {
            let u = YuvPlane::new(&self.chroma[..self.chroma2.len()], cs, 1);
            let v = YuvPlane::new(&self.chroma2, cs, 1);
            YuvView::new(self.w, self.h, y, u, v).unwrap()
        }
    }
}

fn to_rgb(backend: Backend, view: &YuvView<'_>, rotation: Rotation) -> Vec<u8> {
    let mut out = vec![0; view.width() as usize * view.height() as usize * 3];
    convert(backend, view, rotation, &mut out, &mut Vec::new());
    out
}

#[test]
fn every_backend_matches_scalar() {
    let backends = Backend::simd_available();
    eprintln!("backends tested against scalar: {backends:?}");
    let mut cases = 0;
    for w in 1..=67u32 {
        for h in [1u32, 3, 4, 7] {
            for ps in [1, 2] {
                for pad in [0, 5] {
                    let f = Frame::new(w, h, ps, pad, u64::from(w * 100 + h));
                    let view = f.view();
                    let expected = to_rgb(Backend::Scalar, &view, Rotation::None);
                    for &b in &backends {
                        assert_eq!(
                            to_rgb(b, &view, Rotation::None),
                            expected,
                            "{b:?} {w}x{h} ps {ps} pad {pad}"
                        );
                    }
                    cases += 1;
                }
            }
        }
    }
    assert_eq!(cases, 67 * 4 * 2 * 2);
}

#[test]
fn scalar_is_within_two_levels_of_the_real_matrix() {
    // Under Miri (~1000x slower) a coarser grid that still hits both ends of every axis.
    let (y_step, u_step, v_step) = if cfg!(miri) { (15, 17, 17) } else { (1, 3, 5) };
    let mut worst = 0.0f64;
    for y in (0..=255u8).step_by(y_step) {
        for u in (0..=255u8).step_by(u_step) {
            for v in (0..=255u8).step_by(v_step) {
                let got = scalar::pixel(scalar::luma(y), u, v);
                let (yf, d, e) = (f64::from(y) - 16.0, f64::from(u) - 128.0, f64::from(v) - 128.0);
                let exact = [
                    1.164 * yf + 1.596 * e,
                    1.164 * yf - 0.391 * d - 0.813 * e,
                    1.164 * yf + 2.018 * d,
                ];
                for (g, x) in got.iter().zip(exact) {
                    worst = worst.max((f64::from(*g) - x.clamp(0.0, 255.0)).abs());
                }
            }
        }
    }
    eprintln!("worst deviation from the real-valued matrix: {worst:.3}");
    assert!(worst <= 2.0, "worst {worst}");
    // Black, white and mid grey land where studio swing puts them.
    assert_eq!(scalar::pixel(scalar::luma(16), 128, 128), [0, 0, 0]);
    assert_eq!(scalar::pixel(scalar::luma(235), 128, 128), [255, 255, 255]);
    assert_eq!(scalar::pixel(scalar::luma(126), 128, 128), [128, 128, 128]);
}

#[test]
fn rotations_move_pixels_clockwise() {
    for (w, h) in [(5u32, 3u32), (16, 9), (1, 7), (33, 2)] {
        for ps in [1, 2] {
            let f = Frame::new(w, h, ps, 3, u64::from(w + h));
            let view = f.view();
            let base = to_rgb(Backend::Scalar, &view, Rotation::None);
            let (w, h) = (w as usize, h as usize);
            let px = |x: usize, y: usize| &base[(y * w + x) * 3..][..3];
            for rot in [Rotation::Clockwise90, Rotation::Rotate180, Rotation::Clockwise270] {
                for b in [Backend::Scalar, Backend::detect()] {
                    let out = to_rgb(b, &view, rot);
                    let ow = if rot.swaps_axes() { h } else { w };
                    for y in 0..h {
                        for x in 0..w {
                            let (ox, oy) = match rot {
                                Rotation::Clockwise90 => (h - 1 - y, x),
                                Rotation::Rotate180 => (w - 1 - x, h - 1 - y),
                                _ => (y, w - 1 - x),
                            };
                            assert_eq!(&out[(oy * ow + ox) * 3..][..3], px(x, y), "{rot:?} {w}x{h}");
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn packed_layouts_agree_with_planes() {
    let (w, h) = (7u32, 5u32);
    let (cw, ch) = (4usize, 3usize);
    let luma = noise(1, 35);
    let u = noise(2, cw * ch);
    let v = noise(3, cw * ch);
    let mut i420 = luma.clone();
    i420.extend(&u);
    i420.extend(&v);
    let mut nv12 = luma.clone();
    let mut nv21 = luma.clone();
    for (a, b) in u.iter().zip(&v) {
        nv12.extend([*a, *b]);
        nv21.extend([*b, *a]);
    }
    let planes = YuvView::new(
        w,
        h,
        YuvPlane::new(&luma, 7, 1),
        YuvPlane::new(&u, cw, 1),
        YuvPlane::new(&v, cw, 1),
    )
    .unwrap();
    let expected = to_rgb(Backend::Scalar, &planes, Rotation::None);
    for (data, format) in [
        (&i420, YuvFormat::I420),
        (&nv12, YuvFormat::Nv12),
        (&nv21, YuvFormat::Nv21),
    ] {
        assert_eq!(data.len() as u64, format.frame_len(w, h));
        let view = YuvView::from_packed(data, w, h, format).unwrap();
        assert_eq!(
            to_rgb(Backend::Scalar, &view, Rotation::None),
            expected,
            "{format:?}"
        );
    }
}

#[test]
fn crop_equals_cropping_the_converted_image() {
    let f = Frame::new(21, 13, 2, 4, 9);
    let view = f.view();
    let full = to_rgb(Backend::Scalar, &view, Rotation::None);
    let crop = CropRect::new(4, 2, 11, 9);
    let part = to_rgb(Backend::Scalar, &view.crop(crop).unwrap(), Rotation::None);
    for y in 0..9 {
        assert_eq!(&part[y * 33..][..33], &full[((y + 2) * 21 + 4) * 3..][..33]);
    }
}
