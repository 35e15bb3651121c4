//! Rotation and crop of RGB8 / RGBA8 / BGRA8 / gray images: `process_rotated` on a (cropped)
//! view equals `process` on an RGB image rotated and cropped here by plain index arithmetic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use florence2_preprocess::{
    CropRect, ImageSource, ImageView, PixelFormat, PreprocessConfig, PreprocessError, Preprocessor,
    ResizeMode, Rotation, YuvFormat, YuvView,
};

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

/// The RGB value of pixel `(x, y)` of a buffer in `format` (the obviously-correct conversion).
fn rgb_at(data: &[u8], stride: usize, format: PixelFormat, x: usize, y: usize) -> [u8; 3] {
    let p = &data[y * stride + x * format.bytes_per_pixel()..];
    match format {
        PixelFormat::Rgb8 | PixelFormat::Rgba8 => [p[0], p[1], p[2]],
        PixelFormat::Bgra8 => [p[2], p[1], p[0]],
        _ => [p[0]; 3],
    }
}

/// Crops, then turns clockwise, pixel by pixel: output `(i, j)` of the rotated `W x H` image
/// reads the cropped source at the inverse position.
fn expected_rgb(
    data: &[u8],
    stride: usize,
    format: PixelFormat,
    crop: CropRect,
    rotation: Rotation,
) -> (Vec<u8>, u32, u32) {
    let (cw, ch) = (crop.width as usize, crop.height as usize);
    let (ow, oh) = rotation.rotated_size(crop.width, crop.height);
    let mut out = Vec::with_capacity(ow as usize * oh as usize * 3);
    for j in 0..oh as usize {
        for i in 0..ow as usize {
            let (sx, sy) = match rotation.degrees() {
                0 => (i, j),
                90 => (j, ch - 1 - i),
                180 => (cw - 1 - i, ch - 1 - j),
                _ => (cw - 1 - j, i),
            };
            out.extend_from_slice(&rgb_at(
                data,
                stride,
                format,
                crop.x as usize + sx,
                crop.y as usize + sy,
            ));
        }
    }
    (out, ow, oh)
}

#[test]
fn rotated_and_cropped_images_match_rotating_by_hand() {
    let formats = [
        PixelFormat::Rgb8,
        PixelFormat::Rgba8,
        PixelFormat::Bgra8,
        PixelFormat::Gray8,
    ];
    let mut checked = 0;
    for mode in [ResizeMode::Reference, ResizeMode::Fast] {
        let mut pre = Preprocessor::new(PreprocessConfig::florence2().with_size(24, 17))
            .unwrap()
            .with_resize_mode(mode);
        let mut expected_pre = Preprocessor::new(PreprocessConfig::florence2().with_size(24, 17))
            .unwrap()
            .with_resize_mode(mode);
        let mut got = vec![0f32; pre.output_len()];
        let mut want = vec![0f32; pre.output_len()];
        for (k, &format) in formats.iter().enumerate() {
            for (w, h) in [(1u32, 1u32), (7, 3), (31, 20), (40, 57)] {
                let bpp = format.bytes_per_pixel();
                let stride = w as usize * bpp + 5;
                let data = noise(
                    u64::from(w * 1000 + h) + k as u64,
                    stride * (h as usize - 1) + w as usize * bpp,
                );
                let view = ImageView::new(&data, w, h, stride, format).unwrap();
                let crops = [
                    CropRect::new(0, 0, w, h),
                    CropRect::new(w / 3, h / 2, w - w / 3, h - h / 2),
                    CropRect::new(w - 1, h - 1, 1, 1),
                ];
                for crop in crops {
                    let cropped = view.crop(crop).unwrap();
                    assert_eq!((cropped.width(), cropped.height()), (crop.width, crop.height));
                    for degrees in [0, 90, 180, 270] {
                        let rotation = Rotation::from_degrees(degrees).unwrap();
                        pre.process_rotated(cropped, rotation, &mut got).unwrap();
                        let (rgb, ow, oh) = expected_rgb(&data, stride, format, crop, rotation);
                        let rgb_view = ImageView::packed(&rgb, ow, oh, PixelFormat::Rgb8).unwrap();
                        expected_pre.process(rgb_view, &mut want).unwrap();
                        assert!(
                            got.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits()),
                            "{mode:?} {format:?} {w}x{h} crop {crop:?} {degrees}°"
                        );
                        checked += 1;
                    }
                }
            }
        }
    }
    assert_eq!(checked, 2 * 4 * 4 * 3 * 4);
}

#[test]
fn bad_crops_are_typed_errors() {
    let data = vec![0u8; 10 * 8 * 4];
    let view = ImageView::packed(&data, 10, 8, PixelFormat::Rgba8).unwrap();
    for crop in [
        CropRect::new(0, 0, 0, 4),
        CropRect::new(9, 0, 2, 1),
        CropRect::new(0, 7, 1, 2),
        CropRect::new(u32::MAX, 0, 2, 1),
    ] {
        match view.crop(crop) {
            Err(PreprocessError::InvalidCrop {
                width: 10, height: 8, ..
            }) => {}
            other => panic!("{crop:?}: {other:?}"),
        }
    }
    // Odd origins are fine for packed pixels (unlike 4:2:0 frames).
    assert!(view.crop(CropRect::new(3, 5, 7, 3)).is_ok());
}

#[test]
fn image_source_dispatches_to_the_matching_entry_point() {
    let data = noise(7, 33 * 20 * 4);
    let view = ImageView::packed(&data, 33, 20, PixelFormat::Bgra8).unwrap();
    let nv21 = noise(8, YuvFormat::Nv21.frame_len(34, 20) as usize);
    let frame = YuvView::from_packed(&nv21, 34, 20, YuvFormat::Nv21).unwrap();
    for mode in [ResizeMode::Reference, ResizeMode::Fast] {
        let mut pre = Preprocessor::new(PreprocessConfig::florence2().with_size(16, 12))
            .unwrap()
            .with_resize_mode(mode);
        let mut a = vec![0f32; pre.output_len()];
        let mut b = vec![1f32; pre.output_len()];
        let source = ImageSource::pixels(view, Rotation::Clockwise90);
        assert_eq!(source.size(), (20, 33));
        pre.process_source(&source, &mut a).unwrap();
        pre.process_rotated(view, Rotation::Clockwise90, &mut b).unwrap();
        assert_eq!(a, b, "{mode:?} pixels");
        let source = ImageSource::yuv(frame, Rotation::Clockwise270);
        assert_eq!(source.size(), (20, 34));
        pre.process_source(&source, &mut a).unwrap();
        pre.process_yuv(&frame, Rotation::Clockwise270, &mut b).unwrap();
        assert_eq!(a, b, "{mode:?} yuv");
        assert_eq!(ImageSource::from(view).size(), (33, 20));
    }
}
