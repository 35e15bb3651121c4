//! Bit-exact parity with the Python reference (Pillow 13 BICUBIC resize + numpy normalisation).
//!
//! - The fixture images through the whole pipeline against `tests/fixtures/reference/tiny-random.json`
//!   (Pillow-resized PNGs byte for byte, `pixel_values` by SHA-256 and, for two images, value by value).
//! - Generated images of many sizes (up/down, extreme ratios, identity, primes) and pixel formats
//!   against `tests/data/pillow_cases.json` (make_pillow_cases.py).
//! - The normalisation of every byte value against numpy's float32 results.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use florence2_preprocess::{ImageView, PixelFormat, PreprocessConfig, Preprocessor, decode, open};

#[test]
fn fixture_images_match_the_pytorch_reference() {
    let reference = read_json(&fixtures().join("reference/tiny-random.json"));
    let config = tiny_config();
    assert_eq!((config.width, config.height), (160, 160));
    let mut pre = Preprocessor::new(config).unwrap();
    let images = reference["images"].as_array().unwrap();

    // Every fixture image has a reference entry (so this test covers the whole folder).
    let mut files: Vec<String> = std::fs::read_dir(fixtures().join("images"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    let mut covered: Vec<String> = images
        .iter()
        .map(|i| i["file"].as_str().unwrap().to_owned())
        .collect();
    covered.sort();
    assert_eq!(files, covered);
    assert_eq!(files.len(), 7);

    let mut full_arrays = 0;
    for entry in images {
        let file = entry["file"].as_str().unwrap();
        let image = open(fixtures().join("images").join(file)).unwrap();
        assert_eq!(
            u64::from(image.width()),
            entry["width"].as_u64().unwrap(),
            "{file}"
        );
        assert_eq!(
            u64::from(image.height()),
            entry["height"].as_u64().unwrap(),
            "{file}"
        );

        let expected = open(
            fixtures()
                .join("reference")
                .join(entry["resized_png"].as_str().unwrap()),
        )
        .unwrap();
        let mut resized = vec![0u8; pre.output_len()];
        pre.resize_rgb8(image.view(), &mut resized).unwrap();
        let differing = resized
            .iter()
            .zip(expected.as_bytes())
            .filter(|(a, b)| a != b)
            .count();
        assert_eq!(
            differing, 0,
            "{file}: {differing} resized bytes differ from Pillow"
        );

        let pv = &entry["pixel_values"];
        assert_eq!(pv["shape"], serde_json::json!([1, 3, 160, 160]));
        let mut out = vec![0f32; pre.output_len()];
        pre.process(image.view(), &mut out).unwrap();
        assert_eq!(
            sha256_f32(&out),
            pv["sha256_f32"].as_str().unwrap(),
            "{file}: pixel_values"
        );
        if let Some(npy) = pv["npy"].as_str() {
            let (shape, values) = read_npy_f32(&fixtures().join("reference").join(npy));
            assert_eq!(shape, [1, 3, 160, 160]);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&out), bits(&values), "{file}: .npy");
            full_arrays += 1;
        }
    }
    assert_eq!(full_arrays, 2);
}

#[test]
fn generated_images_match_pillow_for_many_sizes_and_formats() {
    let doc = read_json(&data().join("pillow_cases.json"));
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 30);
    let mut failures = Vec::new();
    // One preprocessor per target size, reused across cases (also exercises the cached tables).
    let mut preprocessors: Vec<((u32, u32), Preprocessor)> = Vec::new();
    for case in cases {
        let n = |v: &serde_json::Value| u32::try_from(v.as_u64().unwrap()).unwrap();
        let (sw, sh) = (n(&case["src"][0]), n(&case["src"][1]));
        let (dw, dh) = (n(&case["dst"][0]), n(&case["dst"][1]));
        let format = format_from_name(case["format"].as_str().unwrap());
        let kind = case["kind"].as_str().unwrap();
        let pad = case["pad"].as_u64().unwrap() as usize;
        let (data, stride) = source_image(
            case["seed"].as_u64().unwrap(),
            kind,
            format,
            sw as usize,
            sh as usize,
            pad,
        );
        let view = ImageView::new(&data, sw, sh, stride, format).unwrap();

        let pre = match preprocessors.iter_mut().position(|(size, _)| *size == (dw, dh)) {
            Some(i) => &mut preprocessors[i].1,
            None => {
                let config = PreprocessConfig::florence2().with_size(dw, dh);
                preprocessors.push(((dw, dh), Preprocessor::new(config).unwrap()));
                &mut preprocessors.last_mut().unwrap().1
            }
        };
        let mut out = vec![0u8; pre.output_len()];
        pre.resize_rgb8(view, &mut out).unwrap();
        let sum: u64 = out.iter().map(|&v| u64::from(v)).sum();
        let label = format!("{sw}x{sh} {kind} {format:?} pad {pad} -> {dw}x{dh}");
        if sha256_hex(&out) != case["rgb_sha256"].as_str().unwrap() {
            failures.push(format!("{label}: byte sum {sum}, Pillow {}", case["rgb_sum"]));
        } else {
            assert_eq!(sum, case["rgb_sum"].as_u64().unwrap(), "{label}");
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from Pillow:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn normalisation_equals_numpy_float32_for_every_byte() {
    let doc = read_json(&data().join("pillow_cases.json"));
    let tables = doc["normalize"].as_array().unwrap();
    assert_eq!(tables.len(), 4);
    let gray: Vec<u8> = (0..=255).collect();
    let rgb: Vec<u8> = gray.iter().flat_map(|&v| [v, v, v]).collect();
    for table in tables {
        let f = |v: &serde_json::Value| -> [f32; 3] {
            let a: Vec<f64> = serde_json::from_value(v.clone()).unwrap();
            [a[0] as f32, a[1] as f32, a[2] as f32]
        };
        let config = PreprocessConfig::new(
            256,
            1,
            table["rescale_factor"].as_f64().unwrap(),
            f(&table["mean"]),
            f(&table["std"]),
        );
        let mut pre = Preprocessor::new(config).unwrap();
        let expected: Vec<u32> = (0..3)
            .flat_map(|c| {
                table["f32_bits"][c]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_u64().unwrap() as u32)
            })
            .collect();
        for view in [
            ImageView::packed(&gray, 256, 1, PixelFormat::Gray8).unwrap(),
            ImageView::packed(&rgb, 256, 1, PixelFormat::Rgb8).unwrap(),
        ] {
            let mut out = vec![0f32; 3 * 256];
            pre.process(view, &mut out).unwrap();
            let bits: Vec<u32> = out.iter().map(|v| v.to_bits()).collect();
            assert_eq!(bits, expected, "{} ({:?})", table["name"], view.format());
        }
    }
}

#[test]
fn white_image_gives_the_spec_check_values() {
    let white = vec![255u8; 50 * 30 * 3];
    let mut pre = Preprocessor::new(PreprocessConfig::florence2()).unwrap();
    let mut out = vec![0f32; pre.output_len()];
    assert_eq!(pre.output_shape(), [3, 768, 768]);
    pre.process(
        ImageView::packed(&white, 50, 30, PixelFormat::Rgb8).unwrap(),
        &mut out,
    )
    .unwrap();
    let plane = 768 * 768;
    for (c, expected) in [2.2489f32, 2.4286, 2.6400].into_iter().enumerate() {
        let values = &out[c * plane..(c + 1) * plane];
        assert!(values.iter().all(|&v| v == values[0]), "channel {c} not constant");
        assert!(
            (values[0] - expected).abs() < 1e-4,
            "channel {c}: {} vs {expected}",
            values[0]
        );
    }
    let mean = out.iter().map(|&v| f64::from(v)).sum::<f64>() / out.len() as f64;
    assert!((mean - 2.4392).abs() < 1e-4, "{mean}");
}

#[test]
fn input_formats_and_strides_agree() {
    // The same picture as RGB, RGBA, BGRA (alpha noise must not matter) and padded rows.
    let (w, h) = (37u32, 23u32);
    let (rgb, _) = source_image(5, "noise", PixelFormat::Rgb8, w as usize, h as usize, 0);
    let alpha = |i: usize| prng_byte(99, i as u64);
    let rgba: Vec<u8> = rgb
        .chunks_exact(3)
        .enumerate()
        .flat_map(|(i, p)| [p[0], p[1], p[2], alpha(i)])
        .collect();
    let bgra: Vec<u8> = rgb
        .chunks_exact(3)
        .enumerate()
        .flat_map(|(i, p)| [p[2], p[1], p[0], alpha(i)])
        .collect();
    let stride = w as usize * 3 + 13;
    let mut padded = vec![0xEEu8; stride * h as usize];
    for y in 0..h as usize {
        padded[y * stride..][..w as usize * 3].copy_from_slice(&rgb[y * w as usize * 3..][..w as usize * 3]);
    }
    let mut pre = Preprocessor::new(tiny_config()).unwrap();
    let run = |pre: &mut Preprocessor, view: ImageView<'_>| {
        let mut out = vec![0f32; pre.output_len()];
        pre.process(view, &mut out).unwrap();
        out
    };
    let reference = run(
        &mut pre,
        ImageView::packed(&rgb, w, h, PixelFormat::Rgb8).unwrap(),
    );
    assert_eq!(
        reference,
        run(
            &mut pre,
            ImageView::packed(&rgba, w, h, PixelFormat::Rgba8).unwrap()
        )
    );
    assert_eq!(
        reference,
        run(
            &mut pre,
            ImageView::packed(&bgra, w, h, PixelFormat::Bgra8).unwrap()
        )
    );
    assert_eq!(
        reference,
        run(
            &mut pre,
            ImageView::new(&padded, w, h, stride, PixelFormat::Rgb8).unwrap()
        )
    );
    // Padded rows with the last row unpadded.
    let trimmed = &padded[..stride * (h as usize - 1) + w as usize * 3];
    assert_eq!(
        reference,
        run(
            &mut pre,
            ImageView::new(trimmed, w, h, stride, PixelFormat::Rgb8).unwrap()
        )
    );
    // Gray through the one-channel path equals gray replicated to RGB.
    let gray: Vec<u8> = rgb.iter().step_by(3).copied().collect();
    let gray_rgb: Vec<u8> = gray.iter().flat_map(|&v| [v; 3]).collect();
    assert_eq!(
        run(
            &mut pre,
            ImageView::packed(&gray, w, h, PixelFormat::Gray8).unwrap()
        ),
        run(
            &mut pre,
            ImageView::packed(&gray_rgb, w, h, PixelFormat::Rgb8).unwrap()
        )
    );
    // Decoding a PNG of the RGB picture gives the same result.
    let mut png = Vec::new();
    image::write_buffer_with_format(
        &mut std::io::Cursor::new(&mut png),
        &rgb,
        w,
        h,
        image::ExtendedColorType::Rgb8,
        image::ImageFormat::Png,
    )
    .unwrap();
    assert_eq!(reference, run(&mut pre, decode(&png).unwrap().view()));
}
