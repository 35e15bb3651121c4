//! EXIF orientation: each of the 8 orientations decodes upright, as Pillow's
//! `ImageOps.exif_transpose` shows it (expected images made by `data/make_exif_cases.py`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::data;
use florence2_preprocess::{DecodeLimits, RgbImage, decode, decode_with_limits};

fn read(name: &str) -> Vec<u8> {
    std::fs::read(data().join("exif").join(name)).unwrap()
}

/// Largest per-sample difference (the pictures are flat 8x8 blocks whose colours differ by
/// more than 100 levels, so a wrong orientation shows as a difference near 200).
fn max_diff(a: &RgbImage, b: &RgbImage) -> u8 {
    assert_eq!((a.width(), a.height()), (b.width(), b.height()));
    a.as_bytes()
        .iter()
        .zip(b.as_bytes())
        .map(|(x, y)| x.abs_diff(*y))
        .max()
        .unwrap()
}

#[test]
fn every_jpeg_orientation_decodes_upright_like_pillow() {
    for n in 1..=8 {
        let ours = decode(&read(&format!("orient_{n}.jpg"))).unwrap();
        let pillow = decode(&read(&format!("upright_{n}.png"))).unwrap();
        assert_eq!((ours.width(), ours.height()), (24, 16), "orientation {n}");
        let d = max_diff(&ours, &pillow);
        assert!(
            d <= 6,
            "orientation {n}: {d} grey levels from Pillow's exif_transpose"
        );
    }
}

#[test]
fn png_exif_chunk_is_honoured() {
    let ours = decode(&read("orient_6.png")).unwrap();
    let upright = decode(&read("upright.png")).unwrap();
    assert_eq!(ours, upright, "PNG eXIf orientation 6 (lossless: exact)");
}

#[test]
fn orientation_can_be_ignored_like_the_pytorch_reference() {
    let limits = DecodeLimits::default().with_exif_orientation(false);
    assert!(DecodeLimits::default().exif_orientation());
    // Orientation 6 is stored rotated: 16 wide, 24 high.
    let stored = decode_with_limits(&read("orient_6.jpg"), &limits).unwrap();
    assert_eq!((stored.width(), stored.height()), (16, 24));
    let png = decode_with_limits(&read("orient_6.png"), &limits).unwrap();
    assert_eq!((png.width(), png.height()), (16, 24));
    // Orientation 1 is the identity either way.
    let plain = decode_with_limits(&read("orient_1.jpg"), &limits).unwrap();
    assert!(max_diff(&plain, &decode(&read("upright_1.png")).unwrap()) <= 6);
}
