//! `ImageInput::Pixels` (any layout, rotation, crop) and YUV frames reach the model exactly as
//! the same pixels prepared by hand would: same generated text, same reported image size.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Tasks;

use common::{block, shared_model};
use florence2_sdk::{CropRect, Florence2Error, ImageInput, PixelLayout};

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

/// Caption text and the size the model saw.
fn caption(image: ImageInput) -> (String, i32, i32) {
    let model = shared_model();
    let encoded = block(model.encode(image.clone(), None)).unwrap();
    let text = block(model.caption(image)).unwrap().text;
    (text, encoded.width(), encoded.height())
}

#[test]
fn rotated_cropped_pixels_equal_the_same_pixels_prepared_by_hand() {
    let (w, h, stride) = (40i32, 30i32, 40 * 4 + 8);
    let bytes = noise(3, stride as usize * h as usize);
    let crop = CropRect {
        x: 5,
        y: 3,
        width: 26,
        height: 21,
    };
    // Crop, then turn 90° clockwise: output (i, j) of the 21 x 26 image reads source
    // (crop.x + j, crop.y + crop.height - 1 - i), converted BGRA -> RGBA.
    let (ow, oh) = (crop.height, crop.width);
    let mut by_hand = Vec::with_capacity((ow * oh * 4) as usize);
    for j in 0..oh {
        for i in 0..ow {
            let (x, y) = (crop.x + j, crop.y + crop.height - 1 - i);
            let p = &bytes[(y * stride + x * 4) as usize..][..4];
            by_hand.extend_from_slice(&[p[2], p[1], p[0], p[3]]);
        }
    }
    let ours = caption(ImageInput::Pixels {
        bytes: bytes.clone(),
        width: w,
        height: h,
        row_stride: stride,
        layout: PixelLayout::Bgra,
        rotation_degrees: 90,
        crop: Some(crop),
    });
    let expected = caption(ImageInput::Rgba {
        bytes: by_hand,
        width: ow,
        height: oh,
        row_stride: ow * 4,
    });
    assert_eq!(ours, expected);
    assert_eq!((ours.1, ours.2), (21, 26));
    // The comparison can fail: the same crop turned the other way generates other text.
    let other = caption(ImageInput::Pixels {
        bytes,
        width: w,
        height: h,
        row_stride: stride,
        layout: PixelLayout::Bgra,
        rotation_degrees: 270,
        crop: Some(crop),
    });
    assert_ne!(other.0, expected.0);
}

#[test]
fn yuv_frames_equal_their_rgb_conversion() {
    // The SDK hands YUV frames to the preprocessor as they are; the result must equal
    // converting to RGB first (the preprocessor's own BT.601 conversion), then sending RGBA.
    let (w, h) = (34i32, 22i32);
    let nv21 = noise(
        9,
        florence2_preprocess::YuvFormat::Nv21.frame_len(w as u32, h as u32) as usize,
    );
    let (luma, chroma) = nv21.split_at((w * h) as usize);
    let frame = florence2_preprocess::YuvView::from_packed(
        &nv21,
        w as u32,
        h as u32,
        florence2_preprocess::YuvFormat::Nv21,
    )
    .unwrap();
    let rotation = florence2_preprocess::Rotation::Clockwise270;
    let mut rgb = vec![0u8; (w * h * 3) as usize];
    florence2_preprocess::yuv420_to_rgb8(&frame, rotation, &mut rgb).unwrap();
    let ours = caption(ImageInput::Yuv420 {
        y: luma.to_vec(),
        u: chroma[1..].to_vec(),
        v: chroma[..chroma.len() - 1].to_vec(),
        width: w,
        height: h,
        y_row_stride: w,
        uv_row_stride: w,
        uv_pixel_stride: 2,
        rotation_degrees: 270,
        crop: None,
    });
    let expected = caption(ImageInput::Pixels {
        bytes: rgb,
        width: h,
        height: w,
        row_stride: h * 3,
        layout: PixelLayout::Rgb,
        rotation_degrees: 0,
        crop: None,
    });
    assert_eq!(ours, expected);
    assert_eq!((ours.1, ours.2), (22, 34));
}

#[test]
fn bad_rotation_and_crop_are_invalid_input() {
    let model = shared_model();
    let pixels = |rotation_degrees, crop| ImageInput::Pixels {
        bytes: vec![0; 8 * 8],
        width: 8,
        height: 8,
        row_stride: 8,
        layout: PixelLayout::Gray,
        rotation_degrees,
        crop,
    };
    for (image, needle) in [
        (pixels(45, None), "45"),
        (
            pixels(
                0,
                Some(CropRect {
                    x: 4,
                    y: 0,
                    width: 5,
                    height: 1,
                }),
            ),
            "crop",
        ),
        (
            pixels(
                0,
                Some(CropRect {
                    x: 0,
                    y: 0,
                    width: 0,
                    height: 1,
                }),
            ),
            "crop",
        ),
    ] {
        match block(model.caption(image)) {
            Err(Florence2Error::InvalidInput { detail }) => {
                assert!(detail.to_lowercase().contains(needle), "{detail}");
            }
            other => panic!("{other:?}"),
        }
    }
}
