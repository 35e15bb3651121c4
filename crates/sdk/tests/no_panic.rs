//! No panic escapes the SDK: a panic inside a call becomes `Florence2Error::Internal` (Kotlin
//! `Florence2Exception.Internal`), and the model keeps working with unchanged results. A listener
//! that fails (in Kotlin: throws) is not a panic: the call ends with `ListenerFailed`, carrying
//! the listener's text.
//!
//! How the panic is forced, without adding anything to the public API: a Rust `TokenListener`
//! that panics (tests/kotlin/ReliabilityTests.kt covers a throwing Kotlin listener across the
//! real FFI).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Tasks;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use common::{block, good_call, good_image, shared_model};
use florence2_sdk::{Florence2Error, Task, TokenListener, TokenListenerError};

/// Panics on the `n`-th token.
struct PanickingListener {
    at: u32,
    seen: AtomicU32,
}

impl TokenListener for PanickingListener {
    fn on_token(&self, _text_so_far: String, _token_id: i32) -> Result<bool, TokenListenerError> {
        if self.seen.fetch_add(1, Ordering::SeqCst) + 1 == self.at {
            panic!("listener bug on purpose");
        }
        Ok(true)
    }
}

/// Fails on the `n`-th token, as a Kotlin listener that throws does (UniFFI hands its text over).
struct FailingListener {
    at: u32,
    seen: AtomicU32,
}

impl TokenListener for FailingListener {
    fn on_token(&self, _text_so_far: String, _token_id: i32) -> Result<bool, TokenListenerError> {
        let n = self.seen.fetch_add(1, Ordering::SeqCst) + 1;
        if n == self.at {
            return Err(TokenListenerError::Failed {
                detail: format!("java.lang.IllegalStateException: listener bug at token {n}"),
            });
        }
        Ok(true)
    }
}

#[test]
fn a_failing_listener_stops_the_call_with_its_message_and_no_panic() {
    let model = shared_model();
    let before = good_call(&model);
    for at in [1, 3] {
        let listener = Arc::new(FailingListener {
            at,
            seen: AtomicU32::new(0),
        });
        let result =
            block(model.run_streaming(good_image(), Task::Caption, None, Arc::clone(&listener) as _));
        match result {
            Err(Florence2Error::ListenerFailed { detail }) => assert_eq!(
                detail,
                format!("java.lang.IllegalStateException: listener bug at token {at}")
            ),
            other => panic!("expected ListenerFailed, got {other:?}"),
        }
        // Generation stopped at the failing token: the listener was not called again.
        assert_eq!(listener.seen.load(Ordering::SeqCst), at);
        let after = good_call(&model);
        assert_eq!(after.generated_ids, before.generated_ids);
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
            Err(Florence2Error::Internal { detail }) => {
                assert!(detail.contains("panic"), "{detail}")
            }
            other => panic!("expected Internal, got {other:?}"),
        }
        // The lock the panicking thread held is recovered and the decoder state rebuilt: the
        // next call gives exactly the result of the call before the panic.
        let after = good_call(&model);
        assert_eq!(after.generated_ids, before.generated_ids);
        assert_eq!(after.output, before.output);
        // Encoded images and batches still work too.
        let encoded = block(model.encode(good_image(), None)).unwrap();
        let again = block(model.run_encoded_task(encoded, Task::Caption, None)).unwrap();
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
