//! Where downloaded bytes go: free-space queries and the writer of partial files. The default
//! is the local file system; tests (and apps with special storage) substitute their own.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::Path;

/// The file-system operations the downloader needs, so a test can simulate a full disk.
pub trait Storage: Send + Sync + std::fmt::Debug {
    /// Bytes available to this process on the file system holding `dir`.
    ///
    /// # Errors
    /// The operating system's error.
    fn available_space(&self, dir: &Path) -> io::Result<u64>;

    /// Opens `path` for appending after truncating it to `keep` bytes (0 starts over). The file
    /// is created if missing.
    ///
    /// # Errors
    /// The operating system's error.
    fn open_part(&self, path: &Path, keep: u64) -> io::Result<Box<dyn Write + Send>>;
}

/// The local file system.
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalStorage;

impl Storage for LocalStorage {
    fn available_space(&self, dir: &Path) -> io::Result<u64> {
        fs4::available_space(dir)
    }

    fn open_part(&self, path: &Path, keep: u64) -> io::Result<Box<dyn Write + Send>> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        if file.metadata()?.len() != keep {
            file.set_len(keep)?;
        }
        Ok(Box::new(file))
    }
}
