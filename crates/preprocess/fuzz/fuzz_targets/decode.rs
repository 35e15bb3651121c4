//! Encoded images (PNG, JPEG, anything else) through `decode_with_limits` with a small pixel
//! limit, then through the preprocessor: every input gives a typed error or an image whose
//! buffer matches its size, never a panic and never more pixels than the limit.
//!
//! `cargo +nightly fuzz run decode` (from crates/preprocess/fuzz). JPEG goes through libjpeg-turbo's
//! C code (mozjpeg-sys); to give libFuzzer coverage of it and AddressSanitizer checks inside it,
//! build that C with clang and the same instrumentation:
//! `CC=clang CFLAGS="-fsanitize=address,fuzzer-no-link" cargo +nightly fuzz run decode`
//! (issue 21: 1.2 M executions that way, no finding).
#![no_main]

use std::sync::Mutex;

use florence2_preprocess::{DecodeLimits, PreprocessConfig, Preprocessor, decode_with_limits};
use libfuzzer_sys::fuzz_target;

/// Small enough that a header claiming a huge image cannot make an execution slow.
const MAX_PIXELS: u64 = 512 * 512;

static PRE: Mutex<Option<(Preprocessor, Vec<f32>)>> = Mutex::new(None);

fuzz_target!(|data: &[u8]| {
    let limits = DecodeLimits::default().with_max_pixels(MAX_PIXELS);
    let Ok(image) = decode_with_limits(data, &limits) else {
        return;
    };
    let pixels = u64::from(image.width()) * u64::from(image.height());
    assert!(
        pixels > 0 && pixels <= MAX_PIXELS,
        "{}x{} passed the limit",
        image.width(),
        image.height()
    );
    assert_eq!(image.as_bytes().len() as u64, pixels * 3);
    let mut guard = PRE.lock().unwrap_or_else(|e| e.into_inner());
    let (pre, out) = guard.get_or_insert_with(|| {
        let pre = Preprocessor::new(PreprocessConfig::florence2().with_size(16, 16)).expect("valid config");
        let out = vec![0f32; pre.output_len()];
        (pre, out)
    });
    pre.process(image.view(), out)
        .expect("a decoded image always preprocesses");
});
