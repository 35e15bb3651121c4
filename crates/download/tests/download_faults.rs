//! The downloader against a loopback HTTP server that injects faults: dropped connections,
//! restarts, wrong bytes, 404, 416, slow responses with cancellation, a full disk, concurrent
//! callers, no server at all. Then the downloaded model is loaded and run.

#![allow(clippy::unwrap_used)]

mod download_support;

use std::io::{self, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use download_support::{
    ETAG, FIXTURE_FILES, Fault, Release, Server, fixture, fixture_bytes, manifest_json, sha256_hex,
};
use florence2_core::generate::NoObserver;
use florence2_core::{CancelFlag, Florence2, ImageInput, LoadOptions, RunOptions, Task, TaskRequest};
use florence2_download::{
    DownloadError, DownloadOptions, DownloadProgress, Downloader, FileState, LocalStorage, Manifest,
    ModelStatus, STATE_DIR, Storage,
};

const DECODER: &str = "onnx/decoder_model_merged.onnx";
const EMBED: &str = "onnx/embed_tokens.onnx";

/// Fast retries, short timeouts, no free-space margin.
fn options() -> DownloadOptions {
    DownloadOptions {
        max_retries: 3,
        retry_delay: Duration::from_millis(10),
        max_retry_delay: Duration::from_millis(50),
        connect_timeout: Duration::from_secs(2),
        read_timeout: Duration::from_secs(5),
        space_margin: 0,
        progress_interval: Duration::from_millis(1),
        ..DownloadOptions::default()
    }
}

fn manifest(server: &Server, pinned: bool) -> Manifest {
    Manifest::from_json(&manifest_json(&fixture(), &server.base_url(), pinned)).unwrap()
}

fn download(
    downloader: &Downloader,
    dir: &Path,
    manifest: &Manifest,
) -> (
    Result<florence2_download::DownloadReport, DownloadError>,
    Vec<DownloadProgress>,
) {
    let mut seen = Vec::new();
    let result = downloader.download(dir, manifest, "fp32", &CancelFlag::new(), &mut |p| {
        seen.push(p.clone())
    });
    (result, seen)
}

/// Every fixture file is in `dir`, byte for byte.
fn assert_same_as_fixture(dir: &Path) {
    for rel in FIXTURE_FILES {
        assert_eq!(
            std::fs::read(dir.join(rel)).unwrap(),
            std::fs::read(fixture().join(rel)).unwrap(),
            "{rel} differs from the fixture"
        );
    }
}

fn part_len(dir: &Path, rel: &str) -> u64 {
    std::fs::metadata(dir.join(STATE_DIR).join(format!("{rel}.part")))
        .map(|m| m.len())
        .unwrap_or(0)
}

#[test]
fn downloads_verifies_and_the_model_runs() {
    let server = Server::start(&fixture());
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("model");
    let manifest = manifest(&server, true);
    let downloader = Downloader::new(options());
    assert_eq!(
        downloader.status(&dir, &manifest, "fp32").unwrap(),
        ModelStatus::Absent
    );

    let (report, progress) = download(&downloader, &dir, &manifest);
    let report = report.unwrap();
    assert_same_as_fixture(&dir);
    assert_eq!(report.bytes_downloaded, fixture_bytes());
    assert_eq!(report.bytes_reused, 0);
    assert!(report.pinned.is_empty(), "a pinned manifest pins nothing");
    // One GET per file and no HEAD (sizes were pinned); no Range on fresh files.
    for rel in FIXTURE_FILES {
        let gets = server.gets(rel);
        assert_eq!(gets.len(), 1, "{rel}: {gets:?}");
        assert_eq!(gets[0].range, None);
    }
    assert!(server.seen().iter().all(|s| s.method == "GET"));
    // Progress: per file and overall, never going back, ending complete at the fixture size.
    let last = progress.last().unwrap();
    assert!(last.is_complete());
    assert_eq!(last.total_bytes(), Some(fixture_bytes()));
    assert_eq!(last.bytes_done(), fixture_bytes());
    assert!(
        progress
            .windows(2)
            .all(|w| w[0].bytes_done() <= w[1].bytes_done())
    );
    assert!(
        progress
            .iter()
            .any(|p| p.files.iter().any(|f| f.state == FileState::Downloading))
    );
    assert_eq!(
        downloader.status(&dir, &manifest, "fp32").unwrap(),
        ModelStatus::Ready
    );
    assert_eq!(
        downloader
            .verify(&dir, &manifest, "fp32", &CancelFlag::new())
            .unwrap(),
        ModelStatus::Ready
    );
    assert!(!dir.join(STATE_DIR).join(format!("{DECODER}.part")).exists());

    // A second call finds everything in place: no request at all.
    server.clear_seen();
    let (again, _) = download(&downloader, &dir, &manifest);
    let again = again.unwrap();
    assert_eq!(again.bytes_downloaded, 0);
    assert_eq!(again.bytes_reused, fixture_bytes());
    assert!(server.seen().is_empty(), "{:?}", server.seen());

    // The folder is a loadable model: caption an image with the preset's precision plan.
    let load = LoadOptions {
        precision: report.plan,
        ..LoadOptions::default()
    };
    let model = Florence2::load(&dir, &load).unwrap();
    let image = ImageInput::File(fixture().join("../images/chelsea_451x300.png"));
    let request = TaskRequest::new(Task::Caption).with_options(RunOptions {
        max_new_tokens: Some(8),
        num_beams: Some(1),
        resize_mode: None,
    });
    let run = model
        .run(&image, &request, &CancelFlag::new(), &mut NoObserver)
        .unwrap();
    assert!(run.generated.ids.len() > 1, "{:?}", run.generated.ids);

    // Delete: the model files and the state go, the folder too (nothing else was in it).
    downloader.delete(&dir, &manifest).unwrap();
    assert!(!dir.exists());
    assert_eq!(
        downloader.status(&dir, &manifest, "fp32").unwrap(),
        ModelStatus::Absent
    );
}

#[test]
fn dropped_connection_resumes_from_the_byte_it_stopped_at() {
    let server = Server::start(&fixture());
    let tmp = tempfile::tempdir().unwrap();
    let manifest = manifest(&server, true);
    server.inject(DECODER, vec![Fault::DropAfter(100_000), Fault::DropAfter(50_000)]);
    let (report, _) = download(&Downloader::new(options()), tmp.path(), &manifest);
    report.unwrap();
    assert_same_as_fixture(tmp.path());
    let gets = server.gets(DECODER);
    let ranges: Vec<Option<String>> = gets.iter().map(|g| g.range.clone()).collect();
    assert_eq!(
        ranges,
        vec![None, Some("bytes=100000-".into()), Some("bytes=150000-".into())]
    );
    // The resume is conditional on the file being unchanged.
    assert_eq!(gets[1].if_range.as_deref(), Some(ETAG));
}

#[test]
fn a_new_downloader_resumes_the_partial_file_after_a_restart() {
    let server = Server::start(&fixture());
    let tmp = tempfile::tempdir().unwrap();
    let manifest = manifest(&server, true);
    // First "app run": the decoder's connection drops after 4 MB and no retry is allowed.
    server.inject(DECODER, vec![Fault::DropAfter(4_000_000)]);
    let first = Downloader::new(DownloadOptions {
        max_retries: 0,
        ..options()
    });
    let (result, _) = download(&first, tmp.path(), &manifest);
    match result {
        Err(DownloadError::NetworkDropped {
            received, attempts, ..
        }) => {
            assert_eq!(received, 4_000_000);
            assert_eq!(attempts, 1);
        }
        other => panic!("expected NetworkDropped, got {other:?}"),
    }
    assert_eq!(part_len(tmp.path(), DECODER), 4_000_000);
    match first.status(tmp.path(), &manifest, "fp32").unwrap() {
        ModelStatus::Partial {
            bytes_present,
            total_bytes,
        } => {
            assert_eq!(total_bytes, Some(fixture_bytes()));
            assert!(bytes_present >= 4_000_000 && bytes_present < fixture_bytes());
        }
        other => panic!("expected Partial, got {other:?}"),
    }
    drop(first);

    // Second "app run": a new downloader picks the partial file up.
    server.clear_seen();
    let (report, progress) = download(&Downloader::new(options()), tmp.path(), &manifest);
    let report = report.unwrap();
    assert_same_as_fixture(tmp.path());
    let gets = server.gets(DECODER);
    assert_eq!(gets.len(), 1);
    assert_eq!(gets[0].range.as_deref(), Some("bytes=4000000-"));
    let decoder_len = std::fs::metadata(fixture().join(DECODER)).unwrap().len();
    assert!(report.bytes_reused >= 4_000_000);
    assert_eq!(report.bytes_downloaded + report.bytes_reused, fixture_bytes());
    assert!(report.bytes_downloaded <= fixture_bytes() - 4_000_000);
    // The decoder's progress starts at the resumed byte, not at zero.
    let first_decoder = progress
        .iter()
        .filter_map(|p| p.files.iter().find(|f| f.path == DECODER))
        .find(|f| f.state == FileState::Downloading)
        .unwrap();
    assert!(first_decoder.bytes_done >= 4_000_000, "{first_decoder:?}");
    assert_eq!(first_decoder.total_bytes, Some(decoder_len));
}

#[test]
fn server_ignoring_the_range_restarts_the_file_from_zero() {
    let server = Server::start(&fixture());
    let tmp = tempfile::tempdir().unwrap();
    let manifest = manifest(&server, true);
    server.inject(DECODER, vec![Fault::DropAfter(300_000), Fault::IgnoreRange]);
    download(&Downloader::new(options()), tmp.path(), &manifest)
        .0
        .unwrap();
    assert_same_as_fixture(tmp.path());
    assert_eq!(server.gets(DECODER).len(), 2);
}

#[test]
fn wrong_bytes_fail_the_checksum_and_the_file_is_removed() {
    let server = Server::start(&fixture());
    let tmp = tempfile::tempdir().unwrap();
    let manifest = manifest(&server, true);
    server.inject(EMBED, vec![Fault::WrongBytes]);
    let (result, _) = download(&Downloader::new(options()), tmp.path(), &manifest);
    let expected_sha = sha256_hex(&fixture().join(EMBED));
    match result {
        Err(DownloadError::ChecksumMismatch {
            path,
            expected,
            actual,
        }) => {
            assert_eq!(path, EMBED);
            assert_eq!(expected, expected_sha);
            assert_ne!(actual, expected_sha);
            assert_eq!(actual.len(), 64);
        }
        other => panic!("expected ChecksumMismatch, got {other:?}"),
    }
    assert!(!tmp.path().join(EMBED).exists());
    assert_eq!(part_len(tmp.path(), EMBED), 0);
    assert!(!tmp.path().join(STATE_DIR).join(format!("{EMBED}.part")).exists());
    // The next download fetches it again and succeeds.
    download(&Downloader::new(options()), tmp.path(), &manifest)
        .0
        .unwrap();
    assert_same_as_fixture(tmp.path());
}

#[test]
fn unpinned_files_are_pinned_by_the_first_download_and_held_to_it() {
    let server = Server::start(&fixture());
    let tmp = tempfile::tempdir().unwrap();
    let manifest = manifest(&server, false);
    let downloader = Downloader::new(options());
    let (report, progress) = download(&downloader, tmp.path(), &manifest);
    let report = report.unwrap();
    assert_eq!(report.pinned.len(), FIXTURE_FILES.len());
    // Sizes came from HEAD requests, so the total was known before the first byte.
    let first_bytes = progress
        .iter()
        .find(|p| p.files.iter().any(|f| f.state == FileState::Downloading))
        .unwrap();
    assert_eq!(first_bytes.total_bytes(), Some(fixture_bytes()));
    assert_eq!(
        server.seen().iter().filter(|s| s.method == "HEAD").count(),
        FIXTURE_FILES.len()
    );
    let pins = std::fs::read_to_string(tmp.path().join(STATE_DIR).join("pins.json")).unwrap();
    for rel in FIXTURE_FILES {
        assert!(
            pins.contains(&sha256_hex(&fixture().join(rel))),
            "{rel} not pinned"
        );
    }
    // A later download of a deleted file is held to the pin: changed bytes are rejected.
    std::fs::remove_file(tmp.path().join(EMBED)).unwrap();
    server.inject(EMBED, vec![Fault::WrongBytes]);
    match download(&downloader, tmp.path(), &manifest).0 {
        Err(DownloadError::ChecksumMismatch { path, .. }) => assert_eq!(path, EMBED),
        other => panic!("expected ChecksumMismatch, got {other:?}"),
    }
    // A corrupted file on disk is reported by status (size) and verify (hash).
    download(&downloader, tmp.path(), &manifest).0.unwrap();
    let config = tmp.path().join("config.json");
    let mut bytes = std::fs::read(&config).unwrap();
    bytes[0] ^= 1;
    std::fs::write(&config, &bytes).unwrap();
    assert_eq!(
        downloader.status(tmp.path(), &manifest, "fp32").unwrap(),
        ModelStatus::Ready
    );
    assert_eq!(
        downloader
            .verify(tmp.path(), &manifest, "fp32", &CancelFlag::new())
            .unwrap(),
        ModelStatus::Corrupt {
            files: vec!["config.json".into()]
        }
    );
    bytes.push(b'\n');
    std::fs::write(&config, &bytes).unwrap();
    assert_eq!(
        downloader.status(tmp.path(), &manifest, "fp32").unwrap(),
        ModelStatus::Corrupt {
            files: vec!["config.json".into()]
        }
    );
    // download repairs a file of the wrong size.
    download(&downloader, tmp.path(), &manifest).0.unwrap();
    assert_same_as_fixture(tmp.path());
}

#[test]
fn http_404_is_typed() {
    let server = Server::start(&fixture());
    let tmp = tempfile::tempdir().unwrap();
    let json = manifest_json(&fixture(), &server.base_url(), true).replace(
        "\"onnx/encoder_model.onnx\", \"size\"",
        "\"onnx/encoder_model.onnx\", \"url\": \"URL\", \"size\"",
    );
    let missing = format!("{}onnx/no_such_file.onnx", server.base_url());
    let manifest = Manifest::from_json(&json.replace("URL", &missing)).unwrap();
    match download(&Downloader::new(options()), tmp.path(), &manifest).0 {
        Err(DownloadError::NotFound { url }) => assert_eq!(url, missing),
        other => panic!("expected NotFound, got {other:?}"),
    }
    // Injected 404 on a GET, unpinned manifest (the HEAD succeeds, the GET does not).
    let tmp2 = tempfile::tempdir().unwrap();
    server.inject(DECODER, vec![Fault::Status(404)]);
    let err = download(
        &Downloader::new(options()),
        tmp2.path(),
        &manifest_unpinned(&server),
    )
    .0
    .unwrap_err();
    assert!(
        matches!(&err, DownloadError::NotFound { url } if url.ends_with(DECODER)),
        "{err:?}"
    );
    assert!(err.to_string().contains("404"), "{err}");
}

fn manifest_unpinned(server: &Server) -> Manifest {
    manifest(server, false)
}

#[test]
fn http_416_discards_the_partial_file_and_the_next_download_starts_over() {
    let server = Server::start(&fixture());
    let tmp = tempfile::tempdir().unwrap();
    let manifest = manifest(&server, true);
    server.inject(DECODER, vec![Fault::DropAfter(1_000_000), Fault::Status(416)]);
    match download(&Downloader::new(options()), tmp.path(), &manifest).0 {
        Err(DownloadError::RangeNotSatisfiable { offset, url }) => {
            assert_eq!(offset, 1_000_000);
            assert!(url.ends_with(DECODER));
        }
        other => panic!("expected RangeNotSatisfiable, got {other:?}"),
    }
    assert_eq!(part_len(tmp.path(), DECODER), 0);
    server.clear_seen();
    download(&Downloader::new(options()), tmp.path(), &manifest)
        .0
        .unwrap();
    assert_eq!(server.gets(DECODER)[0].range, None);
    assert_same_as_fixture(tmp.path());
}

#[test]
fn a_download_is_cancelled_mid_file_and_keeps_its_partial_file() {
    let server = Server::start(&fixture());
    let tmp = tempfile::tempdir().unwrap();
    let manifest = manifest(&server, true);
    // The server sends the first 100 bytes of config.json and then stalls until the test ends the
    // connection: the file cannot be finished before it is cancelled, whatever the machine's load.
    let stall = Release::default();
    server.inject(
        "config.json",
        vec![Fault::Stall {
            after: 100,
            until: stall.clone(),
        }],
    );
    let cancel = CancelFlag::new();
    let cancel2 = cancel.clone();
    let dir = tmp.path().to_path_buf();
    let downloader = Downloader::new(options());
    let worker = std::thread::spawn(move || {
        downloader.download(&dir, &manifest, "fp32", &cancel2, &mut |p| {
            // Cancel once the stalled file itself has bytes on disk (other files may come first).
            if p.files
                .iter()
                .any(|f| f.path == "config.json" && f.bytes_done > 0)
            {
                cancel2.cancel();
            }
        })
    });
    // The caller is told at once, while the server still holds the connection open.
    let result = worker.join().unwrap();
    assert!(matches!(result, Err(DownloadError::Cancelled)), "{result:?}");
    assert!(cancel.is_cancelled());
    // The connection drops; the cancelled job stops instead of retrying, keeping its partial file.
    stall.open();
    // Resuming (it waits for the cancelled job to end) asks for the rest of the partial file only.
    let manifest = self::manifest(&server, true);
    download(&Downloader::new(options()), tmp.path(), &manifest)
        .0
        .unwrap();
    assert_same_as_fixture(tmp.path());
    let gets = server.gets("config.json");
    assert_eq!(gets.len(), 2, "{gets:?}");
    assert_eq!(gets[0].range, None);
    assert_eq!(gets[1].range.as_deref(), Some("bytes=100-"), "{gets:?}");
}

/// Reports little free space, or fails writes with ENOSPC once `limit` bytes were written.
#[derive(Debug)]
struct TinyDisk {
    available: u64,
    limit: u64,
    written: Arc<AtomicU64>,
}

struct LimitedWriter {
    inner: Box<dyn Write + Send>,
    limit: u64,
    written: Arc<AtomicU64>,
}

impl Write for LimitedWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let done = self.written.load(Ordering::SeqCst);
        if done >= self.limit {
            return Err(io::Error::from_raw_os_error(28)); // ENOSPC
        }
        let n = buf.len().min(usize::try_from(self.limit - done).unwrap());
        let n = self.inner.write(&buf[..n])?;
        self.written.fetch_add(n as u64, Ordering::SeqCst);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl Storage for TinyDisk {
    fn available_space(&self, _dir: &Path) -> io::Result<u64> {
        Ok(self.available)
    }
    fn open_part(&self, path: &Path, keep: u64) -> io::Result<Box<dyn Write + Send>> {
        Ok(Box::new(LimitedWriter {
            inner: LocalStorage.open_part(path, keep)?,
            limit: self.limit,
            written: Arc::clone(&self.written),
        }))
    }
}

#[test]
fn short_free_space_refuses_to_start_and_a_full_disk_is_typed() {
    let server = Server::start(&fixture());
    let tmp = tempfile::tempdir().unwrap();
    let manifest = manifest(&server, true);
    let small = Downloader::new(DownloadOptions {
        storage: Arc::new(TinyDisk {
            available: 1_000_000,
            limit: u64::MAX,
            written: Arc::default(),
        }),
        space_margin: 1000,
        ..options()
    });
    match download(&small, tmp.path(), &manifest).0 {
        Err(DownloadError::InsufficientSpace {
            needed, available, ..
        }) => {
            assert_eq!(needed, fixture_bytes() + 1000);
            assert_eq!(available, 1_000_000);
        }
        other => panic!("expected InsufficientSpace, got {other:?}"),
    }
    assert!(
        server.seen().is_empty(),
        "nothing may be requested: {:?}",
        server.seen()
    );

    // The disk fills up (ENOSPC) after 2 MB although the free-space check passed.
    let written = Arc::new(AtomicU64::new(0));
    let full = Downloader::new(DownloadOptions {
        storage: Arc::new(TinyDisk {
            available: u64::MAX,
            limit: 2_000_000,
            written: Arc::clone(&written),
        }),
        ..options()
    });
    let err = download(&full, tmp.path(), &manifest).0.unwrap_err();
    match &err {
        DownloadError::DiskFull { path, .. } => {
            assert!(path.to_string_lossy().ends_with(".part"), "{path:?}")
        }
        other => panic!("expected DiskFull, got {other:?}"),
    }
    assert!(err.to_string().contains("disk is full"), "{err}");
    assert_eq!(written.load(Ordering::SeqCst), 2_000_000);
    // With space again, the download resumes and completes.
    download(&Downloader::new(options()), tmp.path(), &manifest)
        .0
        .unwrap();
    assert_same_as_fixture(tmp.path());
}

#[test]
fn concurrent_callers_for_the_same_model_share_one_download() {
    let server = Server::start(&fixture());
    server.set_get_delay(Duration::from_millis(100));
    let tmp = tempfile::tempdir().unwrap();
    let manifest = manifest(&server, true);
    let callers: Vec<_> = (0..3)
        .map(|_| {
            let (dir, manifest) = (tmp.path().to_path_buf(), manifest.clone());
            std::thread::spawn(move || {
                let mut updates = 0usize;
                let result = Downloader::new(options()).download(
                    &dir,
                    &manifest,
                    "fp32",
                    &CancelFlag::new(),
                    &mut |_| updates += 1,
                );
                (result, updates)
            })
        })
        .collect();
    let results: Vec<_> = callers.into_iter().map(|c| c.join().unwrap()).collect();
    let first = results[0].0.as_ref().unwrap();
    for (result, updates) in &results {
        assert_eq!(result.as_ref().unwrap(), first);
        assert!(*updates > 0);
    }
    assert_eq!(first.bytes_downloaded, fixture_bytes());
    for rel in FIXTURE_FILES {
        assert_eq!(server.gets(rel).len(), 1, "{rel} was requested more than once");
    }
    assert_same_as_fixture(tmp.path());
}

#[test]
fn one_caller_cancelling_does_not_stop_the_others() {
    let server = Server::start(&fixture());
    server.set_get_delay(Duration::from_millis(50));
    let tmp = tempfile::tempdir().unwrap();
    let manifest = manifest(&server, true);
    let quitter = CancelFlag::new();
    let (dir, m, q) = (tmp.path().to_path_buf(), manifest.clone(), quitter.clone());
    let stays = std::thread::spawn(move || {
        Downloader::new(options()).download(&dir, &m, "fp32", &CancelFlag::new(), &mut |_| {})
    });
    let (dir, m) = (tmp.path().to_path_buf(), manifest.clone());
    let leaves = std::thread::spawn(move || {
        Downloader::new(options()).download(&dir, &m, "fp32", &q, &mut |p| {
            if p.bytes_done() > 0 {
                q.cancel();
            }
        })
    });
    assert!(matches!(leaves.join().unwrap(), Err(DownloadError::Cancelled)));
    stays.join().unwrap().unwrap();
    assert_same_as_fixture(tmp.path());
    for rel in FIXTURE_FILES {
        assert_eq!(server.gets(rel).len(), 1, "{rel}");
    }
}

#[test]
fn no_server_is_offline() {
    // A port nobody listens on: bind, read the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}/m/");
    let manifest = Manifest::from_json(&manifest_json(&fixture(), &base, true)).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let err = download(&Downloader::new(options()), tmp.path(), &manifest)
        .0
        .unwrap_err();
    assert!(
        matches!(&err, DownloadError::Offline { url, .. } if url.starts_with(&base)),
        "{err:?}"
    );
    assert!(err.to_string().starts_with("offline: cannot reach"), "{err}");
    // Unpinned: the size query (HEAD) already reports it.
    let unpinned = Manifest::from_json(&manifest_json(&fixture(), &base, false)).unwrap();
    let err = download(&Downloader::new(options()), tmp.path(), &unpinned)
        .0
        .unwrap_err();
    assert!(matches!(err, DownloadError::Offline { .. }), "{err:?}");
}

#[test]
fn unknown_preset_is_typed_and_nothing_is_requested() {
    let server = Server::start(&fixture());
    let tmp = tempfile::tempdir().unwrap();
    let manifest = manifest(&server, true);
    let err = Downloader::new(options())
        .download(tmp.path(), &manifest, "fp64", &CancelFlag::new(), &mut |_| {})
        .unwrap_err();
    assert!(matches!(err, DownloadError::UnknownPreset { .. }), "{err:?}");
    assert!(server.seen().is_empty());
}
