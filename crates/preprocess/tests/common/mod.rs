//! Helpers shared by the integration tests (each test binary uses a subset).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use florence2_preprocess::{PixelFormat, PreprocessConfig};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// `tests/fixtures` at the workspace root.
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

/// `crates/preprocess/tests/data`.
pub fn data() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

pub fn read_json(path: &std::path::Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of `f32` values as little-endian bytes (numpy's `float32.tobytes()` on x86/ARM).
pub fn sha256_f32(values: &[f32]) -> String {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    sha256_hex(&bytes)
}

/// The tiny-random model's preprocessing config (160 x 160).
pub fn tiny_config() -> PreprocessConfig {
    PreprocessConfig::from_model_dir(fixtures().join("tiny-random")).unwrap()
}

/// Byte `i` of PRNG stream `seed` (make_pillow_cases.py: top byte of SplitMix64 output i + 1).
pub fn prng_byte(seed: u64, i: u64) -> u8 {
    let mut z = seed.wrapping_add((i + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 56) as u8
}

pub fn format_from_name(name: &str) -> PixelFormat {
    match name {
        "gray" => PixelFormat::Gray8,
        "rgb" => PixelFormat::Rgb8,
        "rgba" => PixelFormat::Rgba8,
        "bgra" => PixelFormat::Bgra8,
        other => panic!("unknown format {other}"),
    }
}

/// A source image of make_pillow_cases.py, rows `stride = w * bpp + pad` bytes apart (padding
/// filled with 0xA5; the last row is not padded).
pub fn source_image(
    seed: u64,
    kind: &str,
    format: PixelFormat,
    w: usize,
    h: usize,
    pad: usize,
) -> (Vec<u8>, usize) {
    let bpp = format.bytes_per_pixel();
    let stride = w * bpp + pad;
    let mut data = vec![0xA5u8; stride * (h - 1) + w * bpp];
    let blocks_per_row = w.div_ceil(8);
    for y in 0..h {
        for x in 0..w {
            for c in 0..bpp {
                let i = ((y * w + x) * bpp + c) as u64;
                let v = match kind {
                    "noise" => prng_byte(seed, i),
                    "binary" => {
                        if prng_byte(seed, i) >= 128 {
                            255
                        } else {
                            0
                        }
                    }
                    "blocks" => prng_byte(seed, (((y / 8) * blocks_per_row + x / 8) * bpp + c) as u64),
                    "gradient" => ((x + 2 * y + 85 * c) % 256) as u8,
                    other => panic!("unknown kind {other}"),
                };
                data[y * stride + x * bpp + c] = v;
            }
        }
    }
    (data, stride)
}

/// Reads a little-endian float32 `.npy` file (version 1 or 2 header, C order): shape and values.
pub fn read_npy_f32(path: &std::path::Path) -> (Vec<usize>, Vec<f32>) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..6], b"\x93NUMPY", "{}: not .npy", path.display());
    let (header_len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 => (u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize, 12),
        v => panic!("npy version {v}"),
    };
    let header = std::str::from_utf8(&bytes[start..start + header_len]).unwrap();
    assert!(header.contains("'descr': '<f4'"), "{header}");
    assert!(header.contains("'fortran_order': False"), "{header}");
    let shape_text = header
        .split("'shape': (")
        .nth(1)
        .unwrap()
        .split(')')
        .next()
        .unwrap();
    let shape: Vec<usize> = shape_text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    let values: Vec<f32> = bytes[start + header_len..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(values.len(), shape.iter().product::<usize>());
    (shape, values)
}

/// A PNG signature and IHDR chunk (with a valid CRC) for the given size, then an empty IDAT and IEND.
pub fn png_header_only(width: u32, height: u32) -> Vec<u8> {
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    let chunk = |tag: &[u8], body: &[u8]| -> Vec<u8> {
        let mut c = (body.len() as u32).to_be_bytes().to_vec();
        c.extend_from_slice(tag);
        c.extend_from_slice(body);
        c.extend_from_slice(&crc32(&[tag, body].concat()).to_be_bytes());
        c
    };
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    [
        b"\x89PNG\r\n\x1a\n".to_vec(),
        chunk(b"IHDR", &ihdr),
        chunk(b"IDAT", &[0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]),
        chunk(b"IEND", &[]),
    ]
    .concat()
}

/// The committed JPEG with its frame size (SOF0) patched.
pub fn jpeg_with_size(width: u16, height: u16) -> Vec<u8> {
    let mut bytes = std::fs::read(data().join("decode/jpeg_420_q90.jpg")).unwrap();
    let sof = bytes
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("baseline SOF0");
    bytes[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
    bytes[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
    bytes
}
