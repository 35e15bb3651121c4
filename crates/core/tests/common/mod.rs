//! Helpers shared by the core integration tests.

#![allow(clippy::unwrap_used, dead_code)]

use std::path::{Path, PathBuf};

/// The committed tiny fixture model folder.
pub fn fixture_model() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/tiny-random")
}

/// A temporary copy of the fixture model folder. With `link_graphs` the ONNX files are symlinked
/// (cheap, read-only use); otherwise copied (the test may add or replace files in `onnx/`).
pub fn fixture_copy(link_graphs: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let src = fixture_model();
    for entry in std::fs::read_dir(&src).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
        }
    }
    std::fs::create_dir(dir.path().join("onnx")).unwrap();
    for entry in std::fs::read_dir(src.join("onnx")).unwrap() {
        let entry = entry.unwrap();
        let dst = dir.path().join("onnx").join(entry.file_name());
        if link_graphs {
            std::os::unix::fs::symlink(entry.path(), dst).unwrap();
        } else {
            std::fs::copy(entry.path(), dst).unwrap();
        }
    }
    dir
}
