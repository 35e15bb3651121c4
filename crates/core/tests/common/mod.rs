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

/// `models/optimize.py`'s conversion of the committed fixture `name` (fp32 and int8: the vision
/// layout and the decoder layout `decoder_step` + `decoder_cross_kv`), written by the tool in the
/// test run and kept under the target directory for later tests and runs. The cache key hashes
/// the fixture and the tool's sources, so a change to either rewrites it. Needs the model-tool
/// venv (`scripts/setup.sh`; `FLORENCE2_PYTHON` overrides the interpreter).
pub fn optimised_fixture(name: &str) -> PathBuf {
    use std::hash::{Hash, Hasher};
    use std::sync::Mutex;
    static WRITING: Mutex<()> = Mutex::new(());
    let _guard = WRITING.lock().unwrap_or_else(|e| e.into_inner());

    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let source = fixtures().join(name);
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for dir in [
        source.clone(),
        source.join("onnx"),
        root.join("models"),
        root.join("models/florence2_tools"),
        root.join("models/florence2_tools/optimize"),
    ] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok())
                    .map(|e| e.path())
                    .filter(|p| p.is_file())
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        for file in files {
            if dir.starts_with(root.join("models")) && file.extension().is_none_or(|e| e != "py") {
                continue;
            }
            file.file_name().hash(&mut hasher);
            std::fs::read(&file).unwrap().hash(&mut hasher);
        }
    }
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("optimised-fixtures");
    let out = cache.join(format!("{name}-{:016x}", hasher.finish()));
    if out.join("optimize_report.json").is_file() {
        return out;
    }
    std::fs::create_dir_all(&cache).unwrap();
    let python = std::env::var_os("FLORENCE2_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".venv/bin/python"));
    assert!(
        python.exists(),
        "the model-tool venv is missing ({}): run scripts/setup.sh",
        python.display()
    );
    let partial = cache.join(format!("{name}.partial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&partial);
    let status = std::process::Command::new(python)
        .arg(root.join("models/optimize.py"))
        .arg("--model")
        .arg(&source)
        .arg("--out")
        .arg(&partial)
        .args(["--precision", "fp32", "int8", "--threads", "1"])
        .status()
        .unwrap();
    assert!(status.success(), "models/optimize.py failed on {name}");
    // Another test binary may have finished the same folder meanwhile: either copy is complete.
    if std::fs::rename(&partial, &out).is_err() {
        let _ = std::fs::remove_dir_all(&partial);
    }
    assert!(out.join("optimize_report.json").is_file());
    out
}
