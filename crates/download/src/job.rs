//! One download per model folder per process: callers asking for the same model join the running
//! job (same progress, same outcome); the job stops when its last caller cancels. Across processes
//! a lock file in the folder makes a second downloader wait for the first.

use std::collections::HashMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, LazyLock, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::DownloadOptions;
use crate::error::{DownloadError, DownloadResult};
use crate::fetch::{Fetch, Progress, sha256_file, sleep_unless_cancelled};
use crate::http::{Failure, Http};
use crate::manifest::{Manifest, ManifestFile};
use crate::progress::{DownloadProgress, DownloadReport, FileProgress, FileState};
use crate::state::{Expected, Layout, Pin, Pins, Sidecar, len_or_zero, remove_if_present};
use florence2_core::CancelFlag;

static JOBS: LazyLock<Mutex<HashMap<PathBuf, Arc<Job>>>> = LazyLock::new(|| Mutex::new(HashMap::new()));

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A running download of one preset into one folder.
struct Job {
    /// Manifest + preset: callers with the same key join.
    key: String,
    shared: Mutex<Shared>,
    changed: Condvar,
    /// Set when the last caller has gone.
    cancel: CancelFlag,
}

struct Shared {
    progress: DownloadProgress,
    /// Bumped whenever `progress` is worth delivering.
    version: u64,
    last_bump: Option<Instant>,
    outcome: Option<DownloadResult<DownloadReport>>,
    /// The cancel flag of every caller following the job. A caller whose flag is set has left,
    /// even before its thread has noticed: nobody joins a job whose callers have all left.
    callers: Vec<CancelFlag>,
}

/// Runs (or joins) the download of `preset` into `dir`; see `Downloader::download`.
pub(crate) fn download(
    dir: &Path,
    manifest: &Manifest,
    preset: &str,
    options: &DownloadOptions,
    cancel: &CancelFlag,
    on_progress: &mut dyn FnMut(&DownloadProgress),
) -> DownloadResult<DownloadReport> {
    manifest.validate()?;
    let files: Vec<String> = manifest
        .preset_files(preset)?
        .iter()
        .map(|f| f.path.clone())
        .collect();
    fs::create_dir_all(dir).map_err(|e| DownloadError::io("creating", dir, &e))?;
    let dir = fs::canonicalize(dir).map_err(|e| DownloadError::io("resolving", dir, &e))?;
    let key = format!("{preset}\n{}", manifest.to_json());
    let job = loop {
        if cancel.is_cancelled() {
            return Err(DownloadError::Cancelled);
        }
        let mut jobs = lock(&JOBS);
        match jobs.get(&dir) {
            Some(job) => {
                let job = Arc::clone(job);
                drop(jobs);
                if job.key == key && join(&job, cancel) {
                    break job;
                }
                // Another preset, or a job whose callers all left: wait for it to end first.
                wait_until_finished(&job, cancel)?;
            }
            None => {
                let progress = DownloadProgress {
                    files: files
                        .iter()
                        .map(|path| FileProgress {
                            path: path.clone(),
                            bytes_done: 0,
                            total_bytes: None,
                            state: FileState::Pending,
                        })
                        .collect(),
                };
                let job = Arc::new(Job {
                    key: key.clone(),
                    shared: Mutex::new(Shared {
                        progress,
                        version: 0,
                        last_bump: None,
                        outcome: None,
                        callers: vec![cancel.clone()],
                    }),
                    changed: Condvar::new(),
                    cancel: CancelFlag::new(),
                });
                jobs.insert(dir.clone(), Arc::clone(&job));
                drop(jobs);
                let worker = Arc::clone(&job);
                let (dir2, manifest2, preset2, options2) =
                    (dir.clone(), manifest.clone(), preset.to_string(), options.clone());
                let spawned = std::thread::Builder::new()
                    .name("florence2-download".into())
                    .spawn(move || {
                        let outcome = run(&worker, &dir2, &manifest2, &preset2, &options2);
                        finish(&worker, &dir2, outcome);
                    });
                if let Err(e) = spawned {
                    let error = DownloadError::io("starting a download thread for", &dir, &e);
                    finish(&job, &dir, Err(error.clone()));
                    return Err(error);
                }
                break job;
            }
        }
    };
    follow(&job, &dir, cancel, on_progress)
}

/// Adds a caller unless the job is being abandoned: cancelled, finished, or every caller has
/// cancelled (whether or not its thread has noticed yet).
fn join(job: &Job, cancel: &CancelFlag) -> bool {
    let mut shared = lock(&job.shared);
    let abandoned = shared.callers.iter().all(CancelFlag::is_cancelled);
    if job.cancel.is_cancelled() || shared.outcome.is_some() || abandoned {
        return false;
    }
    shared.callers.push(cancel.clone());
    true
}

fn finish(job: &Arc<Job>, dir: &Path, outcome: DownloadResult<DownloadReport>) {
    {
        let mut jobs = lock(&JOBS);
        if jobs.get(dir).is_some_and(|j| Arc::ptr_eq(j, job)) {
            jobs.remove(dir);
        }
    }
    let mut shared = lock(&job.shared);
    shared.outcome = Some(outcome);
    shared.version += 1;
    job.changed.notify_all();
}

/// Delivers the job's progress to one caller until it ends or this caller cancels.
fn follow(
    job: &Arc<Job>,
    dir: &Path,
    cancel: &CancelFlag,
    on_progress: &mut dyn FnMut(&DownloadProgress),
) -> DownloadResult<DownloadReport> {
    let mut seen = 0u64;
    loop {
        let mut shared = lock(&job.shared);
        while shared.outcome.is_none() && shared.version == seen && !cancel.is_cancelled() {
            shared = job
                .changed
                .wait_timeout(shared, Duration::from_millis(50))
                .map(|(guard, _)| guard)
                .unwrap_or_else(|e| e.into_inner().0);
        }
        if cancel.is_cancelled() && shared.outcome.is_none() {
            shared.callers.retain(|caller| !caller.is_same(cancel));
            let last = shared.callers.iter().all(CancelFlag::is_cancelled);
            if last {
                job.cancel.cancel();
            }
            drop(shared);
            if last {
                // New callers start a fresh job (it waits for this one's lock file).
                let mut jobs = lock(&JOBS);
                if jobs.get(dir).is_some_and(|j| Arc::ptr_eq(j, job)) {
                    jobs.remove(dir);
                }
            }
            return Err(DownloadError::Cancelled);
        }
        let progress = (shared.version != seen).then(|| shared.progress.clone());
        seen = shared.version;
        let outcome = shared.outcome.clone();
        drop(shared);
        if let Some(progress) = progress {
            on_progress(&progress);
        }
        if let Some(outcome) = outcome {
            return outcome;
        }
    }
}

/// Waits until `job` has an outcome (`Err(Cancelled)` if `cancel` is set first).
fn wait_until_finished(job: &Job, cancel: &CancelFlag) -> DownloadResult<()> {
    let mut shared = lock(&job.shared);
    while shared.outcome.is_none() {
        if cancel.is_cancelled() {
            return Err(DownloadError::Cancelled);
        }
        shared = job
            .changed
            .wait_timeout(shared, Duration::from_millis(50))
            .map(|(guard, _)| guard)
            .unwrap_or_else(|e| e.into_inner().0);
    }
    Ok(())
}

/// Cancels the in-process job on `dir` (if any) and waits for it to end; used by `delete`.
pub(crate) fn cancel_and_wait(dir: &Path) {
    let job = lock(&JOBS).get(dir).cloned();
    if let Some(job) = job {
        job.cancel.cancel();
        let _ = wait_until_finished(&job, &CancelFlag::new());
    }
}

/// The worker's progress reporting for file `index`.
struct FileReporter<'a> {
    job: &'a Job,
    index: usize,
    interval: Duration,
}

impl Progress for FileReporter<'_> {
    fn update(&self, bytes_done: u64, total: Option<u64>, state: FileState) {
        let mut shared = lock(&self.job.shared);
        let Some(file) = shared.progress.files.get_mut(self.index) else {
            return;
        };
        let state_changed = file.state != state || file.total_bytes != total;
        file.bytes_done = bytes_done;
        file.total_bytes = total;
        file.state = state;
        let due = shared.last_bump.is_none_or(|t| t.elapsed() >= self.interval);
        if state_changed || due {
            shared.version += 1;
            shared.last_bump = Some(Instant::now());
            self.job.changed.notify_all();
        }
    }
}

/// Holds the folder's lock file (released on drop).
pub(crate) struct FolderLock(File);

impl Drop for FolderLock {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

/// Takes the folder's lock, waiting while another process (or an abandoned job) holds it.
pub(crate) fn lock_folder(layout: &Layout, cancel: &CancelFlag) -> DownloadResult<FolderLock> {
    let state_dir = layout.state_dir();
    fs::create_dir_all(&state_dir).map_err(|e| DownloadError::io("creating", &state_dir, &e))?;
    let path = layout.lock_path();
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| DownloadError::io("opening", &path, &e))?;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(FolderLock(file)),
            Err(std::fs::TryLockError::WouldBlock) => {
                sleep_unless_cancelled(Duration::from_millis(50), cancel)?
            }
            // File systems without locks: go on unlocked (in-process joining still holds).
            Err(std::fs::TryLockError::Error(_)) => return Ok(FolderLock(file)),
        }
    }
}

/// What a download run works with.
struct Run<'a> {
    job: &'a Job,
    dir: &'a Path,
    manifest: &'a Manifest,
    options: &'a DownloadOptions,
    layout: Layout,
    http: Http,
}

/// A file still to fetch: its index in the preset, what it should be, the bytes still missing,
/// and its size when known.
struct Pending {
    index: usize,
    expected: Expected,
    missing: u64,
    size: Option<u64>,
}

/// Runs one download job: takes the folder's lock, surveys what is on disk, checks the free
/// space, then fetches the missing files one by one.
fn run(
    job: &Job,
    dir: &Path,
    manifest: &Manifest,
    preset: &str,
    options: &DownloadOptions,
) -> DownloadResult<DownloadReport> {
    let run = Run {
        job,
        dir,
        manifest,
        options,
        layout: Layout::new(dir),
        http: Http::new(options.connect_timeout, options.read_timeout),
    };
    let _lock = lock_folder(&run.layout, &job.cancel)?;
    let files = manifest.preset_files(preset)?;
    let mut pins = Pins::load(&run.layout);
    let mut report = DownloadReport {
        dir: dir.to_path_buf(),
        plan: manifest.preset(preset)?.precision_plan()?,
        bytes_downloaded: 0,
        bytes_reused: 0,
        pinned: Vec::new(),
    };
    let mut pending = Vec::new();
    for (index, file) in files.iter().enumerate() {
        if let Some(todo) = run.survey(index, file, &mut pins, &mut report)? {
            pending.push(todo);
        }
    }
    run.check_space(&pending)?;
    for todo in pending {
        run.fetch(&todo, files[todo.index], &mut pins, &mut report)?;
    }
    Ok(report)
}

impl Run<'_> {
    fn reporter(&self, index: usize) -> FileReporter<'_> {
        FileReporter {
            job: self.job,
            index,
            interval: self.options.progress_interval,
        }
    }

    /// What is on disk for one file: complete (reported done, pinned if it never was), or still
    /// to fetch, with its size from the manifest, a pin or the server (`HEAD`).
    fn survey(
        &self,
        index: usize,
        file: &ManifestFile,
        pins: &mut Pins,
        report: &mut DownloadReport,
    ) -> DownloadResult<Option<Pending>> {
        let (layout, manifest) = (&self.layout, self.manifest);
        let reporter = self.reporter(index);
        let expected = Expected::of(manifest, file, pins);
        let target = layout.final_path(&file.path);
        if target.is_file() {
            let len = len_or_zero(&target);
            match expected.size {
                Some(size) if size == len => {
                    report.bytes_reused += len;
                    reporter.update(len, Some(len), FileState::Done);
                    return Ok(None);
                }
                Some(_) => remove_if_present(&target)?, // wrong size: corrupt, fetch again
                None => {
                    // Complete but never pinned (copied in, or pinned file lost): pin it now.
                    reporter.update(len, Some(len), FileState::Verifying);
                    let sha256 = sha256_file(&target, &self.job.cancel)?;
                    pin(pins, layout, manifest, file, len, sha256, report)?;
                    report.bytes_reused += len;
                    reporter.update(len, Some(len), FileState::Done);
                    return Ok(None);
                }
            }
        }
        let url = manifest.url_of(file);
        let mut server_size = None;
        if expected.size.is_none() {
            // Ask the server, so the total and the free-space check cover every file.
            match self.http.size_of(&url) {
                Ok(size) => server_size = size,
                Err(Failure::Fatal(e)) => return Err(e),
                Err(Failure::Offline(detail)) => return Err(DownloadError::Offline { url, detail }),
                Err(Failure::Dropped(_)) => {} // learnt from the GET instead
            }
        }
        let partial = Sidecar::load(&layout.sidecar_path(&file.path))
            .filter(|s| s.url == url)
            .map(|_| len_or_zero(&layout.part_path(&file.path)))
            .unwrap_or(0);
        let size = expected.size.or(server_size);
        reporter.update(partial, size, FileState::Pending);
        Ok(Some(Pending {
            index,
            expected,
            missing: size.map(|t| t.saturating_sub(partial)).unwrap_or(0),
            size,
        }))
    }

    /// Refuses to start when the missing bytes (plus the margin) cannot fit.
    fn check_space(&self, pending: &[Pending]) -> DownloadResult<()> {
        if pending.is_empty() {
            return Ok(());
        }
        let needed = pending.iter().map(|p| p.missing).sum::<u64>() + self.options.space_margin;
        let available = self
            .options
            .storage
            .available_space(self.dir)
            .map_err(|e| DownloadError::io("checking free space in", self.dir, &e))?;
        if available < needed {
            return Err(DownloadError::InsufficientSpace {
                dir: self.dir.to_path_buf(),
                needed,
                available,
            });
        }
        Ok(())
    }

    /// Fetches one file into place, pinning it if the manifest does not.
    fn fetch(
        &self,
        todo: &Pending,
        file: &ManifestFile,
        pins: &mut Pins,
        report: &mut DownloadReport,
    ) -> DownloadResult<()> {
        let reporter = self.reporter(todo.index);
        let fetch = Fetch {
            http: &self.http,
            options: self.options,
            layout: &self.layout,
            cancel: &self.job.cancel,
            progress: &reporter,
        };
        let fetched = fetch.run(&file.path, &self.manifest.url_of(file), &todo.expected, todo.size)?;
        report.bytes_downloaded += fetched.from_network;
        report.bytes_reused += fetched.reused;
        if todo.expected.sha256.is_none() {
            pin(
                pins,
                &self.layout,
                self.manifest,
                file,
                fetched.size,
                fetched.sha256,
                report,
            )?;
        }
        Ok(())
    }
}

fn pin(
    pins: &mut Pins,
    layout: &Layout,
    manifest: &Manifest,
    file: &ManifestFile,
    size: u64,
    sha256: String,
    report: &mut DownloadReport,
) -> DownloadResult<()> {
    pins.files.insert(
        file.path.clone(),
        Pin {
            url: manifest.url_of(file),
            size,
            sha256,
        },
    );
    pins.save(layout)?;
    report.pinned.push(file.path.clone());
    Ok(())
}
