//! Camera frames through the public API: typed geometry errors, and `process_yuv` equal to
//! converting (`yuv420_to_rgb8`) and then running the RGB reference path.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use florence2_preprocess::{
    Backend, CropRect, ImageView, PixelFormat, PreprocessConfig, PreprocessError, Preprocessor, Rotation,
    YuvFormat, YuvPlane, YuvView, yuv420_to_rgb8,
};

fn frame(w: u32, h: u32, format: YuvFormat) -> Vec<u8> {
    (0..format.frame_len(w, h))
        .map(|i| common::prng_byte(u64::from(w * 7 + h), i))
        .collect()
}

#[test]
fn process_yuv_is_conversion_then_the_reference_path() {
    let mut pre = Preprocessor::new(PreprocessConfig::florence2().with_size(64, 48)).unwrap();
    let mut out = vec![0f32; pre.output_len()];
    let mut expected = vec![0f32; pre.output_len()];
    for (w, h) in [(101u32, 77u32), (40, 30), (7, 9)] {
        for format in [YuvFormat::Nv21, YuvFormat::Nv12, YuvFormat::I420] {
            let data = frame(w, h, format);
            let view = YuvView::from_packed(&data, w, h, format).unwrap();
            for degrees in [0, 90, 180, 270, -90] {
                let rotation = Rotation::from_degrees(degrees).unwrap();
                let (rw, rh) = rotation.rotated_size(w, h);
                let mut rgb = vec![0u8; (rw * rh * 3) as usize];
                yuv420_to_rgb8(&view, rotation, &mut rgb).unwrap();
                pre.process(
                    ImageView::packed(&rgb, rw, rh, PixelFormat::Rgb8).unwrap(),
                    &mut expected,
                )
                .unwrap();
                for backend in [Backend::Scalar, Backend::detect()] {
                    pre.set_backend(backend).unwrap();
                    pre.process_yuv(&view, rotation, &mut out).unwrap();
                    assert!(
                        out.iter().zip(&expected).all(|(a, b)| a.to_bits() == b.to_bits()),
                        "{w}x{h} {format:?} {degrees} {backend:?}"
                    );
                }
            }
            let cropped = view.crop(CropRect::new(2, 4, w - 3, h - 5)).unwrap();
            assert_eq!((cropped.width(), cropped.height()), (w - 3, h - 5));
            pre.process_yuv(&cropped, Rotation::Clockwise90, &mut out)
                .unwrap();
        }
    }
}

#[test]
fn geometry_errors_carry_sizes() {
    let data = vec![0u8; 1000];
    // A packed buffer too short for its size.
    let err = YuvView::from_packed(&data[..58], 7, 5, YuvFormat::Nv21).unwrap_err();
    assert!(
        matches!(
            err,
            PreprocessError::PlaneTooShort {
                plane: "NV21",
                expected: 59,
                received: 58
            }
        ),
        "{err:?}"
    );
    assert!(matches!(
        YuvView::from_packed(&data, 0, 5, YuvFormat::I420),
        Err(PreprocessError::ZeroSize { width: 0, height: 5 })
    ));
    let y = YuvPlane::new(&data, 64, 1);
    let c = YuvPlane::new(&data, 64, 2);
    // Y stride below the width.
    let err = YuvView::new(65, 4, y, c, c).unwrap_err();
    assert!(
        matches!(
            err,
            PreprocessError::PlaneStrideTooSmall {
                plane: "Y",
                stride: 64,
                min_stride: 65,
                ..
            }
        ),
        "{err:?}"
    );
    // Chroma pixel stride 3, Y pixel stride 2.
    let err = YuvView::new(8, 4, y, YuvPlane::new(&data, 64, 3), c).unwrap_err();
    assert!(
        matches!(
            err,
            PreprocessError::PixelStride {
                plane: "U",
                pixel_stride: 3,
                ..
            }
        ),
        "{err:?}"
    );
    let err = YuvView::new(8, 4, YuvPlane::new(&data, 64, 2), c, c).unwrap_err();
    assert!(
        matches!(
            err,
            PreprocessError::PixelStride {
                plane: "Y",
                pixel_stride: 2,
                ..
            }
        ),
        "{err:?}"
    );
    // U and V must share a pixel stride (found by the fuzz target: a mismatch used to panic).
    let err = YuvView::new(8, 4, y, YuvPlane::new(&data, 64, 1), c).unwrap_err();
    assert!(
        matches!(
            err,
            PreprocessError::PixelStride {
                plane: "V",
                pixel_stride: 2,
                ..
            }
        ),
        "{err:?}"
    );
    // Interleaved chroma rows need (cw - 1) * 2 + 1 bytes: 7 chroma samples -> 13.
    let err = YuvView::new(13, 4, y, YuvPlane::new(&data, 12, 2), c).unwrap_err();
    assert!(
        matches!(
            err,
            PreprocessError::PlaneStrideTooSmall {
                plane: "U",
                stride: 12,
                min_stride: 13,
                samples: 7,
                pixel_stride: 2
            }
        ),
        "{err:?}"
    );
    // V plane one byte short (the last row unpadded is fine, shorter is not).
    let need = 64 + 13;
    assert!(YuvView::new(13, 4, y, c, YuvPlane::new(&data[..need], 64, 2)).is_ok());
    let err = YuvView::new(13, 4, y, c, YuvPlane::new(&data[..need - 1], 64, 2)).unwrap_err();
    assert!(
        matches!(
            err,
            PreprocessError::PlaneTooShort {
                plane: "V",
                expected: 77,
                received: 76
            }
        ),
        "{err:?}"
    );
    // Rotation and crop.
    assert!(matches!(
        Rotation::from_degrees(45),
        Err(PreprocessError::InvalidRotation { degrees: 45 })
    ));
    assert_eq!(Rotation::from_degrees(-270).unwrap(), Rotation::Clockwise90);
    let view = YuvView::new(13, 4, y, c, c).unwrap();
    for (crop, detail) in [
        (CropRect::new(1, 0, 4, 4), "odd origin"),
        (CropRect::new(0, 2, 4, 3), "outside the frame"),
        (CropRect::new(0, 0, 0, 3), "empty"),
        (CropRect::new(u32::MAX - 1, 0, 4, 3), "outside the frame"),
    ] {
        let err = view.crop(crop).unwrap_err();
        assert!(
            matches!(err, PreprocessError::InvalidCrop { detail: d, width: 13, height: 4, .. } if d == detail),
            "{err:?}"
        );
    }
    // Output buffers.
    let mut pre = Preprocessor::new(PreprocessConfig::florence2().with_size(8, 8)).unwrap();
    let err = pre.process_yuv(&view, Rotation::None, &mut [0.0; 5]).unwrap_err();
    assert!(matches!(
        err,
        PreprocessError::OutputLength {
            expected: 192,
            received: 5
        }
    ));
    let err = yuv420_to_rgb8(&view, Rotation::None, &mut [0; 5]).unwrap_err();
    assert!(matches!(
        err,
        PreprocessError::OutputLength {
            expected: 156,
            received: 5
        }
    ));
    // Every backend this build knows of is either available or reported as such.
    for b in [Backend::Scalar, Backend::Avx2, Backend::Neon] {
        match pre.set_backend(b) {
            Ok(()) => assert!(b.is_available()),
            Err(e) => assert!(matches!(e, PreprocessError::BackendUnavailable { .. }) && !b.is_available()),
        }
    }
}
