//! Input validation: every geometry or buffer problem is a typed error with the numbers involved,
//! reported before any pixel is read.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use florence2_preprocess::{
    ImageView, PixelFormat, PreprocessConfig, PreprocessError, Preprocessor, RgbImage,
};

fn tiny() -> Preprocessor {
    Preprocessor::new(PreprocessConfig::florence2().with_size(16, 8)).unwrap()
}

#[test]
fn stride_below_the_row_size() {
    let data = vec![0u8; 1000];
    match ImageView::new(&data, 10, 5, 39, PixelFormat::Rgba8) {
        Err(PreprocessError::StrideTooSmall {
            stride,
            min_stride,
            width,
            bytes_per_pixel,
        }) => {
            assert_eq!((stride, min_stride, width, bytes_per_pixel), (39, 40, 10, 4));
        }
        other => panic!("{other:?}"),
    }
    assert!(ImageView::new(&data, 10, 5, 40, PixelFormat::Rgba8).is_ok());
    let e = ImageView::new(&data, 10, 5, 29, PixelFormat::Rgb8).unwrap_err();
    assert!(
        e.to_string().contains("29") && e.to_string().contains("30"),
        "{e}"
    );
}

#[test]
fn input_buffer_too_short() {
    // 7 rows of stride 40, the last one unpadded: 6 * 40 + 10 * 3 = 270 bytes.
    let data = vec![0u8; 270];
    assert!(ImageView::new(&data, 10, 7, 40, PixelFormat::Rgb8).is_ok());
    match ImageView::new(&data[..269], 10, 7, 40, PixelFormat::Rgb8) {
        Err(PreprocessError::InputTooShort {
            expected,
            received,
            width,
            height,
            stride,
        }) => {
            assert_eq!((expected, received, width, height, stride), (270, 269, 10, 7, 40));
        }
        other => panic!("{other:?}"),
    }
    match ImageView::packed(&data[..99], 10, 10, PixelFormat::Gray8) {
        Err(PreprocessError::InputTooShort {
            expected: 100,
            received: 99,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn zero_width_or_height() {
    let data = vec![0u8; 16];
    for (w, h) in [(0, 4), (4, 0), (0, 0)] {
        match ImageView::packed(&data, w, h, PixelFormat::Gray8) {
            Err(PreprocessError::ZeroSize { width, height }) => assert_eq!((width, height), (w, h)),
            other => panic!("{other:?}"),
        }
    }
    assert!(matches!(
        RgbImage::new(0, 3, vec![]),
        Err(PreprocessError::ZeroSize { .. })
    ));
}

#[test]
fn geometry_that_overflows_is_refused() {
    let data = vec![0u8; 16];
    assert!(matches!(
        ImageView::new(&data, u32::MAX, u32::MAX, usize::MAX, PixelFormat::Rgba8),
        Err(PreprocessError::SizeOverflow { .. } | PreprocessError::InputTooShort { .. })
    ));
    assert!(matches!(
        ImageView::new(&data, 4, u32::MAX, usize::MAX / 2, PixelFormat::Rgba8),
        Err(PreprocessError::SizeOverflow { .. })
    ));
}

#[test]
fn output_buffer_of_the_wrong_length() {
    let mut pre = tiny();
    assert_eq!(pre.output_len(), 3 * 16 * 8);
    let data = vec![7u8; 5 * 5 * 3];
    let view = ImageView::packed(&data, 5, 5, PixelFormat::Rgb8).unwrap();
    for len in [0, 383, 385, 3 * 16 * 8 * 2] {
        let mut out = vec![0f32; len];
        match pre.process(view, &mut out) {
            Err(PreprocessError::OutputLength { expected, received }) => {
                assert_eq!((expected, received), (384, len))
            }
            other => panic!("{other:?}"),
        }
        let mut rgb = vec![0u8; len];
        assert!(matches!(
            pre.resize_rgb8(view, &mut rgb),
            Err(PreprocessError::OutputLength { expected: 384, .. })
        ));
    }
    let mut out = vec![0f32; 384];
    pre.process(view, &mut out).unwrap();
    assert!(out.iter().all(|&v| v == out[0] || v == out[128] || v == out[256]));
    let e = PreprocessError::OutputLength {
        expected: 384,
        received: 383,
    };
    assert_eq!(e.to_string(), "output buffer holds 383 elements, expected 384");
}

#[test]
fn owned_image_buffer_length() {
    match RgbImage::new(4, 2, vec![0; 23]) {
        Err(PreprocessError::PixelBufferLength {
            expected, received, ..
        }) => assert_eq!((expected, received), (24, 23)),
        other => panic!("{other:?}"),
    }
    let image = RgbImage::new(4, 2, (0..24).collect()).unwrap();
    assert_eq!(image.view().stride(), 12);
    assert_eq!(image.clone().into_bytes().len(), 24);
}

#[test]
fn invalid_configs() {
    let base = PreprocessConfig::florence2();
    let field = |config: PreprocessConfig| match Preprocessor::new(config) {
        Err(PreprocessError::InvalidConfig { field, .. }) => field,
        other => panic!("{other:?}"),
    };
    assert_eq!(field(base.clone().with_size(0, 10)), "size.width");
    assert_eq!(field(base.clone().with_size(10, 20_000)), "size.height");
    let mut c = base.clone();
    c.image_std = [0.2, 0.0, 0.2];
    assert_eq!(field(c), "image_std");
    let mut c = base.clone();
    c.rescale_factor = f64::NAN;
    assert_eq!(field(c), "rescale_factor");
    let mut c = base;
    c.image_mean = [f32::INFINITY, 0.0, 0.0];
    assert_eq!(field(c), "image_mean");
}

#[test]
fn every_input_geometry_is_an_error_or_a_result_never_a_panic() {
    // Small exhaustive sweep over widths, heights, strides and buffer lengths.
    let mut pre = tiny();
    let mut out = vec![0f32; pre.output_len()];
    let data: Vec<u8> = (0..=255).cycle().take(600).collect();
    for format in [
        PixelFormat::Gray8,
        PixelFormat::Rgb8,
        PixelFormat::Rgba8,
        PixelFormat::Bgra8,
    ] {
        for w in 0..7u32 {
            for h in 0..7u32 {
                for stride in 0..30usize {
                    for len in [0, 1, 17, 100, 600] {
                        if let Ok(view) = ImageView::new(&data[..len], w, h, stride, format) {
                            pre.process(view, &mut out).unwrap();
                        }
                    }
                }
            }
        }
    }
}
