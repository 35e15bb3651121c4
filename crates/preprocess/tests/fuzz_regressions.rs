//! Inputs the fuzz targets (crates/preprocess/fuzz) found crashing, kept as regression tests:
//! each must now give a typed error.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use florence2_preprocess::{PreprocessError, decode};

fn fuzz_file(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/fuzz")
            .join(name),
    )
    .unwrap()
}

/// fuzz target `decode`, 2026-11-24: a palette PNG whose `PLTE` chunk is 49 bytes (not a
/// multiple of 3) made the `png` crate index past the palette and panic while expanding it.
#[test]
fn png_palette_of_a_length_not_divisible_by_three() {
    match decode(&fuzz_file("decode_plte_49_bytes.png")) {
        Err(PreprocessError::Decode {
            format: "PNG",
            detail,
        }) => {
            assert!(detail.contains("PLTE") && detail.contains("49"), "{detail}")
        }
        other => panic!("expected a PNG decode error, got {other:?}"),
    }
}
