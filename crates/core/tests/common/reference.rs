//! Reading the transformers references of the fixtures (core tests only: needs `serde_json` and
//! `image`).

#![allow(clippy::unwrap_used, dead_code)]

use std::path::Path;

/// Reads a JSON file of the fixtures.
pub fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `pixel_values` (`[3, h, w]`) of a resized RGB PNG, normalised exactly as the Python reference
/// does (f64 rescale, f32 normalise) with the model's `preprocessor_config.json` values. Returns
/// the values, h and w.
pub fn reference_pixel_values(
    png: &Path,
    preprocessor_config: &serde_json::Value,
) -> (Vec<f32>, usize, usize) {
    let img = image::open(png).expect("resized png").to_rgb8();
    let (w, h) = (img.width() as usize, img.height() as usize);
    let factor = preprocessor_config["rescale_factor"].as_f64().unwrap();
    let floats = |key: &str| -> Vec<f32> {
        preprocessor_config[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect()
    };
    let (mean, std) = (floats("image_mean"), floats("image_std"));
    let mut out = vec![0f32; 3 * w * h];
    for (x, y, p) in img.enumerate_pixels() {
        for c in 0..3 {
            let v = (f64::from(p[c]) * factor) as f32;
            out[c * w * h + y as usize * w + x as usize] = (v - mean[c]) / std[c];
        }
    }
    (out, h, w)
}

/// The ids of a JSON array of numbers.
pub fn ids_of(value: &serde_json::Value) -> Vec<u32> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as u32)
        .collect()
}
