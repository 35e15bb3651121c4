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

/// fuzz target `decode`, 2026-11-24: a baseline JPEG whose third component has horizontal
/// sampling 4 against the luma's 2 made `zune-jpeg` 0.5.15 slice past its IDCT output row
/// (`idct_int_1x1`) and panic. The file is legal and libjpeg (Pillow) decodes it; since the
/// decoder is libjpeg-turbo's, so do we, to Pillow's pixels (`*_pillow.png`, written by Pillow 13).
#[test]
fn chroma_sampled_more_finely_than_luma() {
    let bytes = fuzz_file("decode_chroma_sampled_finer_than_luma.jpg");
    // The SOF0 component table: (id 1, 0x22), (id 2, 0x11), (id 3, 0x41).
    let sof = bytes.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    assert_eq!(bytes[sof + 17], 0x41);
    let ours = decode(&bytes).unwrap();
    let pillow = decode(&fuzz_file("decode_chroma_sampled_finer_than_luma_pillow.png")).unwrap();
    assert_eq!((ours.width(), ours.height()), (64, 48));
    assert_eq!(ours, pillow);
    for ok in [0x11, 0x21, 0x12, 0x22] {
        let mut fixed = bytes.clone();
        fixed[sof + 17] = ok;
        let image = decode(&fixed).unwrap_or_else(|e| panic!("sampling {ok:#x}: {e}"));
        assert_eq!((image.width(), image.height()), (64, 48));
    }
}
