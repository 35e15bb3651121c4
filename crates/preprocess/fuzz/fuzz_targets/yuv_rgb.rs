//! `yuv420_to_rgb8` (the camera-frame conversion the SDK uses before preprocessing) and
//! `Preprocessor::resize_rgb8`, with arbitrary geometry, row strides, pixel strides, plane
//! lengths, crops, rotations and destination lengths: every input gives an error or pixels,
//! never a panic or an out-of-bounds access. A successful conversion of a uniform frame must be
//! uniform.
//!
//! `cargo +nightly fuzz run yuv_rgb` (from crates/preprocess/fuzz).
#![no_main]

use florence2_preprocess::{
    Backend, CropRect, ImageView, PixelFormat, PreprocessConfig, Preprocessor, ResizeMode, Rotation,
    YuvFormat, YuvPlane, YuvView, yuv420_to_rgb8,
};
use libfuzzer_sys::fuzz_target;

#[path = "common/bytes.rs"]
mod bytes;
use bytes::Bytes;

/// A mid-grey plane (Y = U = V = 128).
static GREY: [u8; 12288] = [128; 12288];

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes(data);
    let selector = b.u8();
    let width = u32::from(b.u8() % 96);
    let height = u32::from(b.u8() % 96);
    // Any angle, most of them invalid (must be an error from `from_degrees`).
    let degrees = i32::from(b.u16() as i16);
    let rotation = Rotation::from_degrees(degrees);
    if degrees % 90 != 0 {
        assert!(rotation.is_err(), "{degrees} degrees accepted");
    }
    // Destination length: usually right, sometimes off by a little.
    let dst_skew = i64::from(b.u8() as i8 % 4);
    let uniform = selector & 0x80 != 0;
    let frame = match selector % 3 {
        0 => {
            let plane = |b: &mut Bytes<'_>| {
                let row_stride = usize::from(b.u8());
                let pixel_stride = usize::from(b.u8() % 5);
                let len = usize::from(b.u16() % 12288);
                (row_stride, pixel_stride, len)
            };
            let (ys, yp, yl) = plane(&mut b);
            let (us, up, ul) = plane(&mut b);
            let (vs, vp, vl) = plane(&mut b);
            let crop = (b.u8(), b.u8(), b.u8(), b.u8());
            let y = if uniform { &GREY[..yl] } else { b.take(yl) };
            let u = if uniform { &GREY[..ul] } else { b.take(ul) };
            let v = if uniform { &GREY[..vl] } else { b.take(vl) };
            let Ok(view) = YuvView::new(
                width,
                height,
                YuvPlane::new(y, ys, yp),
                YuvPlane::new(u, us, up),
                YuvPlane::new(v, vs, vp),
            ) else {
                return;
            };
            if crop.0 & 1 == 1 {
                match view.crop(CropRect::new(
                    u32::from(crop.0 >> 1),
                    u32::from(crop.1),
                    u32::from(crop.2),
                    u32::from(crop.3),
                )) {
                    Ok(v) => v,
                    Err(_) => return,
                }
            } else {
                view
            }
        }
        _ => {
            let format = [YuvFormat::Nv21, YuvFormat::Nv12, YuvFormat::I420][usize::from(b.u8() % 3)];
            let rest = b.take(usize::MAX);
            match YuvView::from_packed(rest, width, height, format) {
                Ok(v) => v,
                Err(_) => return,
            }
        }
    };
    let Ok(rotation) = rotation else {
        return;
    };
    let (w, h) = rotation.rotated_size(frame.width(), frame.height());
    let len = (u64::from(w) * u64::from(h) * 3) as i64 + dst_skew;
    let Ok(len) = usize::try_from(len) else {
        return;
    };
    let mut rgb = vec![0u8; len];
    match yuv420_to_rgb8(&frame, rotation, &mut rgb) {
        Ok(()) => {
            assert_eq!(dst_skew, 0, "a destination of the wrong length was accepted");
            if uniform && selector % 3 == 0 {
                // Y = U = V = 128 is one grey everywhere.
                assert!(
                    rgb.windows(3).step_by(3).all(|p| p == &rgb[..3]),
                    "uniform frame, non-uniform pixels"
                );
            }
            // The converted frame goes through the resizer too (both modes and backends).
            let Ok(mut pre) = Preprocessor::new(PreprocessConfig::florence2().with_size(13, 29)) else {
                return;
            };
            pre.set_resize_mode(if selector & 0x40 == 0 {
                ResizeMode::Reference
            } else {
                ResizeMode::Fast
            });
            let backend = if selector & 0x20 == 0 {
                Backend::Scalar
            } else {
                Backend::detect()
            };
            pre.set_backend(backend).expect("available");
            if let Ok(view) = ImageView::packed(&rgb, w, h, PixelFormat::Rgb8) {
                let mut out = vec![0u8; 13 * 29 * 3 + usize::from(selector & 0x10 != 0)];
                let result = pre.resize_rgb8(view, &mut out);
                assert_eq!(result.is_ok(), selector & 0x10 == 0, "{result:?}");
            }
        }
        Err(_) => {}
    }
});
