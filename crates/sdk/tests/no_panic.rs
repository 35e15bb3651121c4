//! No panic escapes the SDK: a panic inside a call becomes `Florence2Error::Internal` (Kotlin
//! `Florence2Exception.Internal`), and the model keeps working with unchanged results.
//!
//! How the panic is forced, without adding anything to the public API: a `TokenListener` that
//! fails. In Kotlin, a listener that throws makes UniFFI's generated callback code panic on the
//! Rust side ("Callback interface failure", `uniffi_core`'s `handle_callback_unexpected_error`), so
//! a panicking Rust listener exercises exactly the path an app's buggy listener takes
//! (tests/kotlin/ReliabilityTests.kt does it from Kotlin across the real FFI).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use common::{block, good_call, good_image, shared_model};
use florence2_sdk::{Florence2Error, Task, TokenListener};

/// Panics on the `n`-th token.
struct PanickingListener {
    at: u32,
    seen: AtomicU32,
}

impl TokenListener for PanickingListener {
    fn on_token(&self, _text_so_far: String, _token_id: u32) -> bool {
        if self.seen.fetch_add(1, Ordering::SeqCst) + 1 == self.at {
            panic!("listener bug on purpose");
        }
        true
    }
}

#[test]
fn a_panic_inside_a_call_is_an_internal_error_and_the_model_stays_usable() {
    let model = shared_model();
    let before = good_call(&model);
    for at in [1, 2, 5] {
        let listener = Arc::new(PanickingListener {
            at,
            seen: AtomicU32::new(0),
        });
        let result = block(model.run_streaming(good_image(), Task::Caption, None, listener));
        match result {
            Err(Florence2Error::Internal { reason }) => {
                assert!(reason.contains("panic"), "{reason}")
            }
            other => panic!("expected Internal, got {other:?}"),
        }
        // The lock the panicking thread held is recovered and the decoder state rebuilt: the
        // next call gives exactly the result of the call before the panic.
        let after = good_call(&model);
        assert_eq!(after.generated_ids, before.generated_ids);
        assert_eq!(after.output, before.output);
        // Encoded images and batches still work too.
        let encoded = block(model.encode(good_image())).unwrap();
        let again = block(model.run_encoded(encoded, Task::Caption, None)).unwrap();
        assert_eq!(again.generated_ids, before.generated_ids);
    }
}

#[test]
fn the_release_profile_unwinds() {
    // With `panic = "abort"` a panic would kill the host app instead of reaching Kotlin as an
    // exception: the workspace must keep `unwind` for every profile the cdylib is built with.
    let manifest = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.toml")).unwrap();
    assert!(
        manifest.contains("panic = \"unwind\""),
        "the release profile must say panic = \"unwind\""
    );
    assert!(
        !manifest.contains("panic = \"abort\""),
        "no profile may abort on panic"
    );
}
