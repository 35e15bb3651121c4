//! The committed JPEG fixtures (tests/fixtures/images-jpeg: 4:2:0, 4:2:2 with EXIF orientation 6,
//! 4:4:0 progressive, 4:1:1 with restart markers, CMYK, grayscale) through decode + preprocess
//! give exactly the `pixel_values` transformers computed from Pillow's decode of the same files
//! (`tests/fixtures/reference/tiny-random-jpeg.json`, models/reference.py, which opens images as
//! `load_image` does: EXIF-transposed, then RGB). Sizes are the upright ones.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use florence2_preprocess::{Preprocessor, open};

#[test]
fn jpeg_fixtures_give_the_reference_pixel_values() {
    let reference = read_json(&fixtures().join("reference/tiny-random-jpeg.json"));
    let mut pre = Preprocessor::new(tiny_config()).unwrap();
    let mut out = vec![0f32; pre.output_len()];
    let mut files: Vec<String> = std::fs::read_dir(fixtures().join("images-jpeg"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    let images = reference["images"].as_array().unwrap();
    let covered: Vec<&str> = images.iter().map(|i| i["file"].as_str().unwrap()).collect();
    assert_eq!(files, covered);
    assert_eq!(files.len(), 6);
    for entry in images {
        let file = entry["file"].as_str().unwrap();
        let image = open(fixtures().join("images-jpeg").join(file)).unwrap();
        assert_eq!(
            (u64::from(image.width()), u64::from(image.height())),
            (
                entry["width"].as_u64().unwrap(),
                entry["height"].as_u64().unwrap()
            ),
            "{file}"
        );
        pre.process(image.view(), &mut out).unwrap();
        assert_eq!(
            sha256_f32(&out),
            entry["pixel_values"]["sha256_f32"].as_str().unwrap(),
            "{file}: pixel_values differ from transformers' (Pillow decode)"
        );
    }
    // The EXIF-rotated fixture is stored 301x201 and upright 201x301.
    assert!(
        images
            .iter()
            .any(|i| i["file"] == "coffee_422_exif6_301x201.jpg" && i["width"] == 201)
    );
}
