//! One scratch file per fuzzing process, for readers that take a path (as they do in a model
//! folder): in /dev/shm when there is one, so the disk is not written millions of times.

use std::path::PathBuf;
use std::sync::OnceLock;

/// The process's scratch file, `florence2-fuzz-<pid>.<extension>` (the extension of the first call).
pub fn scratch(extension: &str) -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = if std::path::Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        dir.join(format!("florence2-fuzz-{}.{extension}", std::process::id()))
    })
}
