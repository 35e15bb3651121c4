//! A file that is not a shared library yields a typed error, not a panic, and leaves ONNX Runtime
//! uninitialised so a later attempt can succeed. Its own test binary: it needs a process in which
//! ONNX Runtime has not been loaded yet.

use florence2_core::{OnnxRuntime, RuntimeError};

#[test]
fn junk_file_is_a_load_error_and_a_retry_with_the_real_library_works() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("libonnxruntime.so");
    std::fs::write(&junk, b"this is not an ELF file\n").unwrap();

    let error = OnnxRuntime::init(Some(&junk)).unwrap_err();
    match &error {
        RuntimeError::Load { path, detail } => {
            assert_eq!(path, &junk);
            // The loader's own words (the dlerror text) are kept.
            if cfg!(unix) {
                assert!(detail.starts_with("dlopen failed: "), "{detail}");
                assert!(detail.len() > "dlopen failed: ".len(), "{detail}");
            }
        }
        other => panic!("expected Load, got {other:?}"),
    }
    assert!(error.to_string().contains(&junk.display().to_string()), "{error}");
    assert!(OnnxRuntime::get().is_none());

    // The failure left nothing behind: the real library (setup cache) still loads.
    let runtime = OnnxRuntime::init(None)
        .unwrap_or_else(|e| panic!("ONNX Runtime must load after scripts/setup.sh: {e}"));
    assert!(
        runtime.version().is_some_and(|v| v.starts_with("1.")),
        "{runtime:?}"
    );
}
