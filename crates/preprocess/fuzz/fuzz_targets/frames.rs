//! Arbitrary geometry, strides, pixel strides, buffer lengths, crops and rotations through the
//! public YUV and RGB(A) entry points: every input must give an error or a tensor, never a
//! panic or an out-of-bounds access.
//!
//! `cargo +nightly fuzz run frames -- -runs=1000000` (from crates/preprocess/fuzz).
#![no_main]

use std::sync::Mutex;

use florence2_preprocess::{
    Backend, CropRect, ImageView, PixelFormat, PreprocessConfig, Preprocessor, ResizeMode, Rotation,
    YuvFormat, YuvPlane, YuvView,
};
use libfuzzer_sys::fuzz_target;

#[path = "common/bytes.rs"]
mod bytes;
use bytes::Bytes;

static PRE: Mutex<Option<(Preprocessor, Vec<f32>)>> = Mutex::new(None);

fuzz_target!(|data: &[u8]| {
    let mut guard = PRE.lock().unwrap_or_else(|e| e.into_inner());
    let (pre, out) = guard.get_or_insert_with(|| {
        let pre = Preprocessor::new(PreprocessConfig::florence2().with_size(24, 17)).expect("valid config");
        let out = vec![0f32; pre.output_len()];
        (pre, out)
    });
    let mut b = Bytes(data);
    let selector = b.u8();
    let mode = if selector & 1 == 0 {
        ResizeMode::Reference
    } else {
        ResizeMode::Fast
    };
    pre.set_resize_mode(mode);
    let backend = if selector & 2 == 0 {
        Backend::Scalar
    } else {
        Backend::detect()
    };
    pre.set_backend(backend).expect("available");
    // Small sizes keep executions fast; 0 is allowed (must be an error).
    let width = u32::from(b.u8() % 80);
    let height = u32::from(b.u8() % 80);
    let rotation = Rotation::from_degrees(i32::from(b.u8() as i8) * 45).ok();
    match (selector >> 2) % 4 {
        0 => {
            // Three planes with arbitrary strides and lengths.
            let plane = |b: &mut Bytes<'_>| {
                let row_stride = usize::from(b.u8());
                let pixel_stride = usize::from(b.u8() % 4);
                let len = usize::from(b.u16() % 8192);
                (row_stride, pixel_stride, len)
            };
            let (ys, yp, yl) = plane(&mut b);
            let (us, up, ul) = plane(&mut b);
            let (vs, vp, vl) = plane(&mut b);
            let crop = (b.u8(), b.u8(), b.u8(), b.u8());
            let y = b.take(yl);
            let u = b.take(ul);
            let v = b.take(vl);
            if let Ok(view) = YuvView::new(
                width,
                height,
                YuvPlane::new(y, ys, yp),
                YuvPlane::new(u, us, up),
                YuvPlane::new(v, vs, vp),
            ) {
                let view = if crop.0 & 1 == 1 {
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
                };
                if let Some(r) = rotation {
                    let _ = pre.process_yuv(&view, r, out);
                }
            }
        }
        1 => {
            let format = [YuvFormat::Nv21, YuvFormat::Nv12, YuvFormat::I420][usize::from(b.u8() % 3)];
            let rest = b.take(usize::MAX);
            if let (Ok(view), Some(r)) = (YuvView::from_packed(rest, width, height, format), rotation) {
                let _ = pre.process_yuv(&view, r, out);
            }
        }
        _ => {
            let format = [
                PixelFormat::Rgb8,
                PixelFormat::Rgba8,
                PixelFormat::Bgra8,
                PixelFormat::Gray8,
            ][usize::from(b.u8() % 4)];
            let stride = usize::from(b.u16() % 1024);
            let rest = b.take(usize::MAX);
            if let Ok(view) = ImageView::new(rest, width, height, stride, format) {
                let _ = pre.process(view, out);
            }
        }
    }
});
