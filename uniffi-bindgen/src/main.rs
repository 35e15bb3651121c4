//! `uniffi-bindgen`, pinned to the workspace's UniFFI version (the generated Kotlin must match the
//! scaffolding compiled into `florence2-sdk`).
//!
//! ```text
//! cargo run -p uniffi-bindgen -- generate --no-format --config uniffi.toml \
//!     --library target/debug/libflorence2_sdk.so --language kotlin --out-dir <dir>
//! ```

fn main() {
    uniffi::uniffi_bindgen_main()
}
