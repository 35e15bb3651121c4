//! The ONNX reader behind file-backed token embeddings (`florence2_core::embedding`): any bytes
//! are scanned without a panic or a huge allocation, and a file recognised as a table only ever
//! reads rows inside itself.
//!
//! `cargo +nightly fuzz run onnx_scan` (from crates/core/fuzz); seeds: tests/fixtures/embedding/*.onnx.
#![no_main]

use florence2_core::embedding::{FileEmbeddings, scan};
use libfuzzer_sys::fuzz_target;

#[path = "common/scratch.rs"]
mod scratch;
use scratch::scratch;

fuzz_target!(|data: &[u8]| {
    let Ok(_graph) = scan(std::io::Cursor::new(data)) else {
        return;
    };
    std::fs::write(scratch("onnx"), data).expect("scratch file is writable");
    let Ok(mut table) = FileEmbeddings::open(scratch("onnx")) else {
        return;
    };
    let (rows, dim) = (table.rows(), table.dim());
    assert!(rows > 0 && dim > 0);
    // The table fits in the file, so its size is bounded by the input.
    assert!(rows.saturating_mul(dim) <= data.len());
    let ids = [0, (rows - 1) as i64, (rows / 2) as i64];
    let mut out = vec![0.0f32; ids.len() * dim];
    table.lookup(&ids, &mut out).expect("rows inside the file are readable");
    assert!(table.lookup(&[rows as i64], &mut out[..dim]).is_err());
});
