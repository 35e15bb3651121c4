//! Decoding: Pillow's RGB conversion for every PNG colour type, JPEG pixels equal to Pillow's,
//! and typed errors for bad input (never a panic).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use florence2_preprocess::{DecodeLimits, PreprocessError, decode, decode_with_limits, open};

fn decode_entries() -> Vec<serde_json::Value> {
    read_json(&data().join("pillow_cases.json"))["decode"]
        .as_array()
        .unwrap()
        .clone()
}

fn file(name: &str) -> Vec<u8> {
    std::fs::read(data().join("decode").join(name)).unwrap()
}

#[test]
fn png_colour_types_convert_to_rgb_like_pillow() {
    let mut checked = 0;
    for entry in decode_entries() {
        let Some(expected) = entry["rgb_sha256"].as_str() else {
            continue;
        };
        let name = entry["file"].as_str().unwrap();
        let image = decode(&file(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!((image.width(), image.height()), (13, 7), "{name}");
        assert_eq!(
            sha256_hex(image.as_bytes()),
            expected,
            "{name} (Pillow mode {})",
            entry["pillow_mode"]
        );
        checked += 1;
    }
    // 1/2/4/8/16-bit gray, gray + alpha 8/16, RGB 8/16, RGBA 8/16, palettes, tRNS.
    assert_eq!(checked, 14);
}

#[test]
fn jpeg_decoding_equals_pillow() {
    // libjpeg-turbo's decoder with Pillow's settings: every sample equals Pillow's (the
    // references are Pillow 13's decodes saved as PNG). The generated corpus in
    // models/tests/test_decode_parity.py covers every subsampling, progressive, CMYK, ...
    let mut checked = 0;
    for entry in decode_entries() {
        let Some(reference) = entry["pillow_rgb_png"].as_str() else {
            continue;
        };
        let name = entry["file"].as_str().unwrap();
        let ours = decode(&file(name)).unwrap();
        let pillow = decode(&file(reference)).unwrap();
        assert_eq!(
            (ours.width(), ours.height()),
            (pillow.width(), pillow.height()),
            "{name}"
        );
        let differing = ours
            .as_bytes()
            .iter()
            .zip(pillow.as_bytes())
            .filter(|(a, b)| a != b)
            .count();
        assert_eq!(differing, 0, "{name}: {differing} samples differ from Pillow");
        checked += 1;
    }
    assert_eq!(checked, 3);
}

#[test]
fn truncated_files_are_typed_errors() {
    let jpeg = file("jpeg_420_q90.jpg");
    let png = file("rgba8.png");
    // PNG: cut inside the image data (a PNG cut only inside its final IEND chunk still decodes,
    // as in Pillow, once the `image` crate has all the pixels).
    let cuts = |n: usize, jpeg: bool| {
        if jpeg {
            vec![n / 2, n - 1, n - 2, 40]
        } else {
            vec![n / 2, n - 13, 40]
        }
    };
    for (bytes, format) in [(&jpeg, "JPEG"), (&png, "PNG")] {
        for cut in cuts(bytes.len(), format == "JPEG") {
            match decode(&bytes[..cut]) {
                Err(PreprocessError::Truncated { format: f, .. }) => assert_eq!(f, format),
                other => panic!("{format} cut at {cut}/{}: {other:?}", bytes.len()),
            }
        }
        // Any prefix is an error or (past the end marker) an image, never a panic.
        for cut in 0..bytes.len() {
            let _ = decode(&bytes[..cut]);
        }
    }
    // A JPEG missing only its end-of-image marker is truncated too (Pillow refuses it).
    assert!(matches!(
        decode(&jpeg[..jpeg.len() - 2]),
        Err(PreprocessError::Truncated { .. })
    ));
    // Bytes after the end marker are ignored.
    let mut trailing = jpeg.clone();
    trailing.extend_from_slice(b"trailing data");
    assert_eq!(decode(&trailing).unwrap(), decode(&jpeg).unwrap());
}

#[test]
fn corrupt_and_unsupported_data_are_typed_errors() {
    // Garbage after a valid PNG signature and IHDR (the IDAT stream is not zlib).
    let mut png = png_header_only(4, 4);
    let idat = png.windows(4).position(|w| w == b"IDAT").unwrap();
    png[idat + 4] = 0x00;
    assert!(
        matches!(decode(&png), Err(PreprocessError::Decode { format: "PNG", .. })),
        "{:?}",
        decode(&png)
    );
    // Flipped bytes in the JPEG entropy-coded data decode (as libjpeg would) or fail cleanly.
    let mut jpeg = file("jpeg_444_q90.jpg");
    let n = jpeg.len();
    for i in (n / 2..n - 4).step_by(7) {
        jpeg[i] ^= 0x5A;
    }
    let _ = decode(&jpeg);
    // A JPEG with a bad segment length.
    let mut bad = file("jpeg_gray_q90.jpg");
    bad[4] = 0;
    bad[5] = 1;
    assert!(
        matches!(decode(&bad), Err(PreprocessError::Decode { format: "JPEG", .. })),
        "{:?}",
        decode(&bad)
    );

    for bytes in [
        &b""[..],
        b"hello",
        b"GIF89a\x01\x00\x01\x00",
        b"BM\x00\x00\x00\x00",
    ] {
        assert!(
            matches!(decode(bytes), Err(PreprocessError::UnsupportedFormat { .. })),
            "{bytes:?}: {:?}",
            decode(bytes)
        );
    }
    match open("/nonexistent/image.png") {
        Err(PreprocessError::Io { path, .. }) => {
            assert_eq!(path, std::path::Path::new("/nonexistent/image.png"))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn pixel_limit_is_checked_from_the_header_before_decoding() {
    // That no pixel buffer is allocated first is proven by tests/alloc_count.rs (largest allocation).
    for bytes in [png_header_only(20_000, 20_000), jpeg_with_size(20_000, 20_000)] {
        match decode(&bytes) {
            Err(PreprocessError::TooManyPixels {
                width,
                height,
                max_pixels,
            }) => {
                assert_eq!((width, height), (20_000, 20_000));
                assert_eq!(max_pixels, DecodeLimits::DEFAULT_MAX_PIXELS);
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(
        PreprocessError::TooManyPixels {
            width: 1,
            height: 2,
            max_pixels: 1
        }
        .to_string()
        .contains("1x2")
    );

    // A custom limit, at the boundary (the JPEG is 64 x 48 = 3072 pixels).
    let jpeg = file("jpeg_420_q90.jpg");
    let limited = |max| decode_with_limits(&jpeg, &DecodeLimits::default().with_max_pixels(max));
    assert!(matches!(
        limited(3071),
        Err(PreprocessError::TooManyPixels {
            width: 64,
            height: 48,
            max_pixels: 3071
        })
    ));
    assert_eq!(limited(3072).unwrap().width(), 64);
    let png = file("rgb16.png");
    let limited = DecodeLimits::default().with_max_pixels(90);
    assert_eq!(limited.max_pixels(), 90);
    assert!(matches!(
        decode_with_limits(&png, &limited),
        Err(PreprocessError::TooManyPixels { .. })
    ));
}

#[test]
fn zero_size_images_are_rejected() {
    for bytes in [
        png_header_only(0, 5),
        png_header_only(5, 0),
        jpeg_with_size(0, 48),
        jpeg_with_size(64, 0),
    ] {
        assert!(
            matches!(decode(&bytes), Err(PreprocessError::ZeroSize { .. })),
            "{:?}",
            decode(&bytes)
        );
    }
}

#[test]
fn fixture_images_decode_to_their_sizes() {
    for (name, w, h) in [
        ("astronaut_512x512.png", 512, 512),
        ("camera_gray_300x220.png", 300, 220),
        ("logo_rgba_250x250.png", 250, 250),
        ("hubble_strip_31x517.png", 31, 517),
    ] {
        let image = open(fixtures().join("images").join(name)).unwrap();
        assert_eq!((image.width(), image.height()), (w, h), "{name}");
        assert_eq!(image.as_bytes().len(), (w * h * 3) as usize);
    }
}

#[test]
fn jpeg_layouts_pillow_refuses_are_typed_errors() {
    // Pillow's JPEG plugin: "cannot handle 12-bit layers", "cannot handle 2-layer images".
    let base = file("jpeg_420_q90.jpg");
    let sof = base.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    let mut twelve = base.clone();
    twelve[sof + 4] = 12;
    match decode(&twelve) {
        Err(PreprocessError::Decode {
            format: "JPEG",
            detail,
        }) => assert!(detail.contains("12-bit"), "{detail}"),
        other => panic!("expected a Decode error, got {other:?}"),
    }
    let mut two = base.clone();
    two[sof + 9] = 2;
    match decode(&two) {
        Err(PreprocessError::Decode {
            format: "JPEG",
            detail,
        }) => assert!(detail.contains("2 colour components"), "{detail}"),
        other => panic!("expected a Decode error, got {other:?}"),
    }
    // A frame header cut short (5 bytes) is corrupt, not a panic.
    let mut short = base;
    short[sof + 2..sof + 4].copy_from_slice(&7u16.to_be_bytes());
    assert!(matches!(
        decode(&short),
        Err(PreprocessError::Decode { format: "JPEG", .. })
    ));
}

#[test]
fn progressive_jpeg_of_more_than_500_scans_is_refused() {
    // The fixture's last scan repeated: 10 scans + n. libjpeg only warns about the bogus
    // progression (so Pillow decodes it, slowly); TurboJPEG's scan limit refuses it past 500.
    let jpeg = std::fs::read(fixtures().join("images-jpeg/coffee_440_progressive.jpg")).unwrap();
    let last_sos = jpeg.windows(2).rposition(|w| w == [0xFF, 0xDA]).unwrap();
    let eoi = jpeg.len() - 2;
    assert_eq!(&jpeg[eoi..], [0xFF, 0xD9]);
    let with_repeats = |n: usize| {
        let mut bytes = jpeg[..eoi].to_vec();
        for _ in 0..n {
            bytes.extend_from_slice(&jpeg[last_sos..eoi]);
        }
        bytes.extend_from_slice(&[0xFF, 0xD9]);
        bytes
    };
    assert!(decode(&with_repeats(100)).is_ok());
    match decode(&with_repeats(600)) {
        Err(PreprocessError::Decode {
            format: "JPEG",
            detail,
        }) => assert!(detail.contains("scan"), "{detail}"),
        other => panic!("expected a Decode error, got {other:?}"),
    }
}
