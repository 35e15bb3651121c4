//! Helpers shared by the core integration tests.

#![allow(clippy::unwrap_used, dead_code)]

use std::path::{Path, PathBuf};

/// The committed test fixtures folder.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

/// The committed tiny fixture model folder.
pub fn fixture_model() -> PathBuf {
    fixtures().join("tiny-random")
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

/// The ids of an 8-token caption of the chelsea fixture image with `num_beams`.
pub fn caption_ids(model: &florence2_core::Florence2, num_beams: usize) -> Vec<u32> {
    use florence2_core::{CancelFlag, ImageInput, RunOptions, Task, TaskRequest, generate::NoObserver};
    let image = ImageInput::File(fixtures().join("images/chelsea_451x300.png"));
    let request = TaskRequest::new(Task::Caption).with_options(RunOptions {
        max_new_tokens: Some(8),
        num_beams: Some(num_beams),
        resize_mode: None,
    });
    model
        .run(&image, &request, &CancelFlag::new(), &mut NoObserver)
        .unwrap()
        .generated
        .ids
}
