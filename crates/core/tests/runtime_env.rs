//! Lookup driven by environment variables, through the public API.
//!
//! This binary holds a single test function because it changes the process environment: no other
//! test thread exists that could read the environment concurrently.

use florence2_core::runtime::{CACHE_DIR_ENV, ORT_DYLIB_PATH_ENV};
use florence2_core::{LibrarySource, OnnxRuntime, RuntimeError};

#[test]
fn environment_variables_drive_the_lookup_and_never_panic() {
    let dir = tempfile::tempdir().unwrap();

    // 1. ORT_DYLIB_PATH naming a missing file: a typed error naming that path, no fallback.
    let missing = dir.path().join("missing/libonnxruntime.so.1.31.1");
    // SAFETY: this is the only test in this binary, so no other thread reads the environment.
    unsafe { std::env::set_var(ORT_DYLIB_PATH_ENV, &missing) };
    let error = OnnxRuntime::init(None).unwrap_err();
    match &error {
        RuntimeError::FileMissing { path, origin } => {
            assert_eq!(path, &missing);
            assert_eq!(*origin, LibrarySource::EnvVar);
        }
        other => panic!("expected FileMissing, got {other:?}"),
    }
    let text = error.to_string();
    assert!(text.contains("ORT_DYLIB_PATH"), "{text}");
    assert!(text.contains(&missing.display().to_string()), "{text}");

    // 2. No ORT_DYLIB_PATH and a cache directory without the library: NotFound listing
    //    the cache candidates, then the executable's directory.
    let empty_cache = dir.path().join("empty-cache");
    std::fs::create_dir(&empty_cache).unwrap();
    // SAFETY: as above.
    unsafe {
        std::env::remove_var(ORT_DYLIB_PATH_ENV);
        std::env::set_var(CACHE_DIR_ENV, &empty_cache);
    }
    let error = OnnxRuntime::init(None).unwrap_err();
    let RuntimeError::NotFound { searched } = &error else {
        panic!("expected NotFound, got {error:?}");
    };
    let exe_dir = std::env::current_exe().unwrap().parent().unwrap().to_path_buf();
    assert!(searched.len() >= 2, "{searched:?}");
    assert!(searched[0].starts_with(&empty_cache), "{searched:?}");
    assert!(searched.iter().any(|p| p.starts_with(&exe_dir)), "{searched:?}");
    assert!(
        searched.iter().any(|p| p.ends_with("libonnxruntime.so")),
        "{searched:?}"
    );
    let text = error.to_string();
    for path in searched {
        assert!(text.contains(&path.display().to_string()), "{text}");
    }
    assert!(text.contains("run scripts/setup.sh"), "{text}");
    assert!(
        text.contains("ORT_DYLIB_PATH=/abs/path/libonnxruntime.so.1.31.1"),
        "{text}"
    );

    // 3. An empty ORT_DYLIB_PATH counts as unset.
    // SAFETY: as above.
    unsafe { std::env::set_var(ORT_DYLIB_PATH_ENV, "") };
    assert!(matches!(
        OnnxRuntime::init(None),
        Err(RuntimeError::NotFound { .. })
    ));

    // Nothing was initialised by the failed attempts.
    assert!(OnnxRuntime::get().is_none());
}
