//! The real ONNX Runtime of `scripts/setup.sh` (named by `ORT_DYLIB_PATH`, which
//! `.cargo/config.toml` sets for cargo's test runs) initialises once and runs the committed
//! `embed_tokens` fixture. Fails, rather than skips, when either is missing.

use std::path::{Path, PathBuf};

use florence2_core::{LibrarySource, OnnxRuntime, RuntimeError};
use ort::session::Session;
use ort::value::Tensor;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/tiny-random/onnx/embed_tokens.onnx")
}

fn runtime() -> OnnxRuntime {
    OnnxRuntime::init(None).unwrap_or_else(|e| panic!("run scripts/setup.sh first: {e}"))
}

#[test]
fn initialises_once_from_the_named_library() {
    let runtime = runtime();
    assert!(
        matches!(
            runtime.library().source(),
            LibrarySource::EnvVar | LibrarySource::CacheDir
        ),
        "{:?}",
        runtime.library()
    );
    let version = runtime.version().expect("release builds name their version");
    let minor: u32 = version.split('.').nth(1).unwrap().parse().unwrap();
    assert!(
        minor >= florence2_core::runtime::REQUIRED_MINOR_VERSION,
        "{version}"
    );
    assert!(
        runtime.build_info().starts_with("ORT Build Info"),
        "{}",
        runtime.build_info()
    );

    // Same library again (here through its canonical path): the same runtime.
    let canonical = runtime.library().path().canonicalize().unwrap();
    let again = OnnxRuntime::init(Some(&canonical)).unwrap();
    assert_eq!(again.library(), runtime.library());
    assert_eq!(OnnxRuntime::get().unwrap().library(), runtime.library());

    // Another file: refused, naming both.
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("libonnxruntime.so");
    std::fs::write(&other, b"x").unwrap();
    match OnnxRuntime::init(Some(&other)) {
        Err(RuntimeError::AlreadyInitialized { loaded, requested }) => {
            assert_eq!(loaded, runtime.library().path());
            assert_eq!(requested, other);
        }
        result => panic!("expected AlreadyInitialized, got {result:?}"),
    }
}

#[test]
fn runs_the_embed_tokens_fixture() {
    let path = fixture();
    assert!(
        path.is_file(),
        "missing test fixture {} (committed with the model tools in models/)",
        path.display()
    );
    let runtime = runtime();
    let mut session = Session::builder(runtime.environment())
        .unwrap()
        .commit_from_file(&path)
        .unwrap();

    let ids: Vec<i64> = vec![0, 5, 2, 5];
    let input = Tensor::from_array(([1usize, ids.len()], ids)).unwrap();
    let outputs = session.run(ort::inputs!["input_ids" => input]).unwrap();
    let embeds = outputs["inputs_embeds"].try_extract_array::<f32>().unwrap();

    let shape = embeds.shape().to_vec();
    assert_eq!(shape.len(), 3, "{shape:?}");
    assert_eq!(&shape[..2], &[1, 4]);
    let hidden = shape[2];
    assert!(hidden > 0);
    assert!(embeds.iter().all(|x| x.is_finite()));
    // A table lookup: equal ids give equal rows, different ids different rows.
    let row = |i: usize| embeds.slice(ndarray::s![0, i, ..]).to_vec();
    assert_eq!(row(1), row(3));
    assert_ne!(row(0), row(1));
    assert_ne!(row(1), row(2));
}
