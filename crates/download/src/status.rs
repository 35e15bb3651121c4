//! What is on disk for a preset (`status`, `verify`) and removing a model (`delete`).

use std::fs;
use std::path::Path;

use crate::error::{DownloadError, DownloadResult};
use crate::fetch::sha256_file;
use crate::job::{cancel_and_wait, lock_folder};
use crate::manifest::Manifest;
use crate::progress::ModelStatus;
use crate::state::{Expected, Layout, Pins, Sidecar, len_or_zero, remove_if_present};
use florence2_core::CancelFlag;

/// The status of `preset` in `dir` from file sizes (fast: no file is read). With `verify`, every
/// finished file's SHA-256 is also compared with the manifest or the pin (reads every byte).
pub(crate) fn status(
    dir: &Path,
    manifest: &Manifest,
    preset: &str,
    verify: bool,
    cancel: &CancelFlag,
) -> DownloadResult<ModelStatus> {
    let files = manifest.preset_files(preset)?;
    let layout = Layout::new(dir);
    let pins = Pins::load(&layout);
    let mut present = 0u64;
    let mut total = Some(0u64);
    let mut complete = 0usize;
    let mut corrupt = Vec::new();
    for file in &files {
        let expected = Expected::of(manifest, file, &pins);
        let target = layout.final_path(&file.path);
        if target.is_file() {
            let len = len_or_zero(&target);
            let size_ok = expected.size.is_none_or(|s| s == len);
            let hash_ok = !verify
                || !size_ok
                || match &expected.sha256 {
                    Some(want) => *want == sha256_file(&target, cancel)?,
                    None => true,
                };
            if size_ok && hash_ok {
                complete += 1;
                present += len;
                total = total.map(|t| t + expected.size.unwrap_or(len));
            } else {
                corrupt.push(file.path.clone());
                total = total.and_then(|t| expected.size.map(|s| t + s));
            }
            continue;
        }
        let url = manifest.url_of(file);
        let sidecar = Sidecar::load(&layout.sidecar_path(&file.path)).filter(|s| s.url == url);
        if let Some(sidecar) = &sidecar {
            present += len_or_zero(&layout.part_path(&file.path));
            total = total.and_then(|t| expected.size.or(sidecar.total).map(|s| t + s));
        } else {
            total = total.and_then(|t| expected.size.map(|s| t + s));
        }
    }
    Ok(if !corrupt.is_empty() {
        ModelStatus::Corrupt { files: corrupt }
    } else if complete == files.len() {
        ModelStatus::Ready
    } else if present > 0 {
        ModelStatus::Partial {
            bytes_present: present,
            total_bytes: total,
        }
    } else {
        ModelStatus::Absent
    })
}

/// Deletes every file of every preset of `manifest` from `dir`, the downloader's state (partial
/// files, pins) and then-empty folders. Other files in `dir` are left alone. A download running
/// into `dir` in this process is cancelled first.
pub(crate) fn delete(dir: &Path, manifest: &Manifest) -> DownloadResult<()> {
    if !dir.exists() {
        return Ok(());
    }
    let canonical = fs::canonicalize(dir).map_err(|e| DownloadError::io("resolving", dir, &e))?;
    cancel_and_wait(&canonical);
    let layout = Layout::new(&canonical);
    {
        let _lock = lock_folder(&layout, &CancelFlag::new())?;
        for file in &manifest.files {
            let target = layout.final_path(&file.path);
            remove_if_present(&target)?;
            // Remove emptied parent folders inside `dir` (e.g. onnx/).
            let mut parent = target.parent();
            while let Some(p) = parent {
                if p == canonical || fs::remove_dir(p).is_err() {
                    break;
                }
                parent = p.parent();
            }
        }
        let state = layout.state_dir();
        if state.exists() {
            fs::remove_dir_all(&state).map_err(|e| DownloadError::io("deleting", &state, &e))?;
        }
    }
    // The folder itself only when nothing else is in it.
    let _ = fs::remove_dir(&canonical);
    Ok(())
}
