//! One file: resume from a partial file, stream with retries, verify the SHA-256, rename into place.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::Path;
use std::thread;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::DownloadOptions;
use crate::error::{DownloadError, DownloadResult, is_disk_full};
use crate::http::{Failure, Http, Response};
use crate::progress::FileState;
use crate::state::{Expected, Layout, Sidecar, len_or_zero, remove_if_present};
use florence2_core::CancelFlag;

const CHUNK: usize = 256 * 1024;

/// Receives a file's progress.
pub(crate) trait Progress {
    fn update(&self, bytes_done: u64, total: Option<u64>, state: FileState);
}

/// What a finished file transfer did.
pub(crate) struct Fetched {
    pub sha256: String,
    pub size: u64,
    pub from_network: u64,
    pub reused: u64,
}

/// Everything one transfer needs.
pub(crate) struct Fetch<'a> {
    pub http: &'a Http,
    pub options: &'a DownloadOptions,
    pub layout: &'a Layout,
    pub cancel: &'a CancelFlag,
    pub progress: &'a dyn Progress,
}

/// Where one file's transfer stands.
struct Transfer<'r> {
    rel: &'r str,
    url: &'r str,
    /// The partial file and its sidecar.
    part: std::path::PathBuf,
    sidecar_path: std::path::PathBuf,
    sidecar: Option<Sidecar>,
    /// Bytes on disk (the hasher has seen exactly these).
    offset: u64,
    hasher: Sha256,
    /// The file's size, once the manifest, a pin, the server or the sidecar says.
    total: Option<u64>,
    /// Bytes that were on disk when the transfer started, and bytes received since.
    reused: u64,
    from_network: u64,
}

/// What one request did.
enum Attempt {
    /// The file is complete on disk.
    Complete,
    /// Retry (the connection dropped, or the server sent something other than the range asked).
    Retry,
}

impl Fetch<'_> {
    /// Downloads `rel` from `url` into place, resuming a partial file left by an earlier attempt.
    /// `size_hint` is the size the server announced (`HEAD`) when the manifest has none.
    pub fn run(
        &self,
        rel: &str,
        url: &str,
        expected: &Expected,
        size_hint: Option<u64>,
    ) -> DownloadResult<Fetched> {
        let mut transfer = self.resume(rel, url, expected, size_hint)?;
        self.progress
            .update(transfer.offset, transfer.total, FileState::Downloading);
        let mut attempts = 0u32;
        loop {
            if self.cancel.is_cancelled() {
                return Err(DownloadError::Cancelled);
            }
            if transfer.offset > 0 && transfer.total == Some(transfer.offset) {
                break; // every byte is already on disk
            }
            attempts += 1;
            match self.attempt(&mut transfer, expected, attempts)? {
                Attempt::Complete => break,
                Attempt::Retry => continue,
            }
        }
        self.finish(transfer, expected)
    }

    /// The transfer's starting point: a partial file counts only with the sidecar of the same
    /// URL, and its bytes are hashed again.
    fn resume<'r>(
        &self,
        rel: &'r str,
        url: &'r str,
        expected: &Expected,
        size_hint: Option<u64>,
    ) -> DownloadResult<Transfer<'r>> {
        let part = self.layout.part_path(rel);
        let sidecar_path = self.layout.sidecar_path(rel);
        if let Some(parent) = part.parent() {
            fs::create_dir_all(parent).map_err(|e| DownloadError::io("creating", parent, &e))?;
        }
        let mut sidecar = Sidecar::load(&sidecar_path).filter(|s| s.url == url);
        let mut offset = if sidecar.is_some() { len_or_zero(&part) } else { 0 };
        if expected.size.is_some_and(|size| offset > size) {
            offset = 0;
        }
        if offset == 0 {
            sidecar = None;
            remove_if_present(&part)?;
        }
        let mut hasher = Sha256::new();
        if offset > 0 {
            hash_prefix(&part, offset, &mut hasher, self.cancel)?;
        }
        let total = expected
            .size
            .or(size_hint)
            .or(sidecar.as_ref().and_then(|s| s.total));
        Ok(Transfer {
            rel,
            url,
            part,
            sidecar_path,
            sidecar,
            offset,
            hasher,
            total,
            reused: offset,
            from_network: 0,
        })
    }

    /// One request: from the byte on disk, checked, streamed to the partial file.
    fn attempt(&self, t: &mut Transfer<'_>, expected: &Expected, attempts: u32) -> DownloadResult<Attempt> {
        let validator = t.sidecar.as_ref().and_then(|s| s.validator()).map(str::to_owned);
        let mut response = match self.http.get(t.url, t.offset, validator.as_deref()) {
            Ok(response) => response,
            Err(Failure::Fatal(error)) => {
                if matches!(error, DownloadError::RangeNotSatisfiable { .. }) {
                    remove_if_present(&t.part)?;
                    remove_if_present(&t.sidecar_path)?;
                }
                return Err(error);
            }
            Err(Failure::Offline(detail)) => {
                self.retry_or_fail(attempts, || DownloadError::Offline {
                    url: t.url.to_string(),
                    detail: detail.clone(),
                })?;
                return Ok(Attempt::Retry);
            }
            Err(Failure::Dropped(detail)) => {
                self.retry_or_fail(attempts, || dropped(t.url, attempts, t.offset, &detail))?;
                return Ok(Attempt::Retry);
            }
        };
        if !self.accept(t, &response, expected)? {
            return Ok(Attempt::Retry);
        }
        match self.stream(t, &mut response)? {
            None => Ok(Attempt::Complete),
            Some(detail) => {
                self.retry_or_fail(attempts, || dropped(t.url, attempts, t.offset, &detail))?;
                Ok(Attempt::Retry)
            }
        }
    }

    /// Checks where the response starts and how long the file is, and records the server's
    /// validators. `false`: the server sent a range that was not asked for; start over.
    fn accept(&self, t: &mut Transfer<'_>, response: &Response, expected: &Expected) -> DownloadResult<bool> {
        let start = match (response.status, response.content_range) {
            (206, Some((start, _))) if start == t.offset => start,
            (206, _) if t.offset > 0 => {
                t.offset = 0;
                t.sidecar = None;
                t.hasher = Sha256::new();
                remove_if_present(&t.part)?;
                return Ok(false);
            }
            _ => 0, // 200: the whole file (the server ignored `Range`, or `If-Range` failed)
        };
        if start == 0 && t.offset > 0 {
            t.offset = 0;
            t.hasher = Sha256::new();
        }
        let server_total = response
            .content_range
            .and_then(|(_, total)| total)
            .or(response.content_length.map(|len| len + start));
        if let (Some(want), Some(got)) = (expected.size, server_total)
            && want != got
        {
            remove_if_present(&t.part)?;
            remove_if_present(&t.sidecar_path)?;
            return Err(DownloadError::SizeMismatch {
                path: t.rel.to_string(),
                expected: want,
                actual: got,
            });
        }
        t.total = expected.size.or(server_total);
        let sidecar = Sidecar {
            url: t.url.to_string(),
            total: t.total,
            etag: response.etag.clone(),
            last_modified: response.last_modified.clone(),
        };
        sidecar.save(&t.sidecar_path)?;
        t.sidecar = Some(sidecar);
        Ok(true)
    }

    /// Appends the body to the partial file (or writes it from the start), hashing as it goes.
    /// `Some(detail)` when the connection broke before the end.
    fn stream(&self, t: &mut Transfer<'_>, response: &mut Response) -> DownloadResult<Option<String>> {
        let mut writer = self
            .options
            .storage
            .open_part(&t.part, t.offset)
            .map_err(|e| disk_error("opening", &t.part, t.offset, &e))?;
        self.progress.update(t.offset, t.total, FileState::Downloading);
        let mut buffer = vec![0u8; CHUNK];
        let mut broke: Option<String> = None;
        loop {
            if self.cancel.is_cancelled() {
                let _ = writer.flush();
                return Err(DownloadError::Cancelled);
            }
            let n = match response.body.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    broke = Some(e.to_string());
                    break;
                }
            };
            writer
                .write_all(&buffer[..n])
                .map_err(|e| disk_error("writing", &t.part, t.offset, &e))?;
            t.hasher.update(&buffer[..n]);
            t.offset += n as u64;
            t.from_network += n as u64;
            self.progress.update(t.offset, t.total, FileState::Downloading);
        }
        writer
            .flush()
            .map_err(|e| disk_error("writing", &t.part, t.offset, &e))?;
        if broke.is_none()
            && let Some(total) = t.total
            && t.offset < total
        {
            broke = Some(format!(
                "the connection closed after {} of {total} bytes",
                t.offset
            ));
        }
        Ok(broke)
    }

    /// Verifies size and SHA-256, makes the file durable and gives it its final name.
    fn finish(&self, t: Transfer<'_>, expected: &Expected) -> DownloadResult<Fetched> {
        let offset = t.offset;
        self.progress
            .update(offset, t.total.or(Some(offset)), FileState::Verifying);
        if let Some(want) = expected.size
            && want != offset
        {
            remove_if_present(&t.part)?;
            remove_if_present(&t.sidecar_path)?;
            return Err(DownloadError::SizeMismatch {
                path: t.rel.to_string(),
                expected: want,
                actual: offset,
            });
        }
        let sha256 = to_hex(&t.hasher.finalize());
        if let Some(want) = &expected.sha256
            && *want != sha256
        {
            remove_if_present(&t.part)?;
            remove_if_present(&t.sidecar_path)?;
            return Err(DownloadError::ChecksumMismatch {
                path: t.rel.to_string(),
                expected: want.clone(),
                actual: sha256,
            });
        }
        // Durable before it becomes visible under its final name.
        File::open(&t.part)
            .and_then(|f| f.sync_all())
            .map_err(|e| DownloadError::io("syncing", &t.part, &e))?;
        let target = self.layout.final_path(t.rel);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(|e| DownloadError::io("creating", parent, &e))?;
        }
        fs::rename(&t.part, &target).map_err(|e| DownloadError::io("renaming", &t.part, &e))?;
        remove_if_present(&t.sidecar_path)?;
        self.progress.update(offset, Some(offset), FileState::Done);
        Ok(Fetched {
            sha256,
            size: offset,
            from_network: t.from_network,
            reused: t.reused,
        })
    }

    /// Sleeps before the next attempt, or returns the error when the retries are used up or
    /// the download was cancelled meanwhile.
    fn retry_or_fail(&self, attempts: u32, error: impl Fn() -> DownloadError) -> DownloadResult<()> {
        if attempts > self.options.max_retries {
            return Err(error());
        }
        let exponent = attempts.saturating_sub(1).min(16);
        let delay = self
            .options
            .retry_delay
            .saturating_mul(1u32 << exponent)
            .min(self.options.max_retry_delay);
        sleep_unless_cancelled(delay, self.cancel)
    }
}

fn dropped(url: &str, attempts: u32, received: u64, detail: &str) -> DownloadError {
    DownloadError::NetworkDropped {
        url: url.to_string(),
        attempts,
        received,
        detail: detail.to_string(),
    }
}

fn disk_error(operation: &'static str, path: &Path, written: u64, error: &std::io::Error) -> DownloadError {
    if is_disk_full(error) {
        DownloadError::DiskFull {
            path: path.to_path_buf(),
            written,
        }
    } else {
        DownloadError::io(operation, path, error)
    }
}

/// Sleeps `delay` in short steps; `Err(Cancelled)` as soon as `cancel` is set.
pub(crate) fn sleep_unless_cancelled(delay: Duration, cancel: &CancelFlag) -> DownloadResult<()> {
    let step = Duration::from_millis(20);
    let mut left = delay;
    while !left.is_zero() {
        if cancel.is_cancelled() {
            return Err(DownloadError::Cancelled);
        }
        let now = left.min(step);
        thread::sleep(now);
        left -= now;
    }
    if cancel.is_cancelled() {
        return Err(DownloadError::Cancelled);
    }
    Ok(())
}

/// Feeds the first `len` bytes of `path` to `hasher`.
fn hash_prefix(path: &Path, len: u64, hasher: &mut Sha256, cancel: &CancelFlag) -> DownloadResult<()> {
    let file = File::open(path).map_err(|e| DownloadError::io("reading", path, &e))?;
    let mut reader = file.take(len);
    let mut buffer = vec![0u8; CHUNK];
    loop {
        if cancel.is_cancelled() {
            return Err(DownloadError::Cancelled);
        }
        let n = reader
            .read(&mut buffer)
            .map_err(|e| DownloadError::io("reading", path, &e))?;
        if n == 0 {
            return Ok(());
        }
        hasher.update(&buffer[..n]);
    }
}

/// The SHA-256 of a whole file, lowercase hex.
pub(crate) fn sha256_file(path: &Path, cancel: &CancelFlag) -> DownloadResult<String> {
    let mut hasher = Sha256::new();
    hash_prefix(path, u64::MAX, &mut hasher, cancel)?;
    Ok(to_hex(&hasher.finalize()))
}

fn to_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        text.push(char::from(HEX[usize::from(b >> 4)]));
        text.push(char::from(HEX[usize::from(b & 15)]));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_a_known_string() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("abc");
        fs::write(&path, b"abc").unwrap();
        // FIPS 180-2 test vector.
        assert_eq!(
            sha256_file(&path, &CancelFlag::new()).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
