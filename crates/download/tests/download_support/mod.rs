//! A fault-injecting HTTP/1.1 file server on 127.0.0.1 for the download tests (std::net only,
//! one request per connection), and helpers to build manifests of a local folder.

#![allow(clippy::unwrap_used, dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::Duration;

use sha2::{Digest, Sha256};

/// What the server does to one GET of a file (faults are used up in order, then it serves
/// normally).
#[derive(Debug, Clone)]
pub enum Fault {
    /// Send the headers and the first `n` body bytes, then close the connection.
    DropAfter(u64),
    /// Serve the file with one byte changed.
    WrongBytes,
    /// Answer with this status and no body.
    Status(u16),
    /// Answer 200 with the whole file even when a range was asked for.
    IgnoreRange,
    /// Send the first `after` body bytes, then nothing until `until` is opened, then close the
    /// connection (the client sees it drop mid-file).
    Stall { after: usize, until: Release },
}

/// A one-way gate the test opens to end a stalled response.
#[derive(Debug, Clone, Default)]
pub struct Release(Arc<(Mutex<bool>, Condvar)>);

impl Release {
    /// Ends every response stalled on this gate.
    pub fn open(&self) {
        *self.0.0.lock().unwrap() = true;
        self.0.1.notify_all();
    }

    /// Waits until the gate is open (at most a minute: a test that forgot to open it must not
    /// leave the server thread behind forever).
    fn wait(&self) {
        let guard = self.0.0.lock().unwrap();
        let _ = self
            .0
            .1
            .wait_timeout_while(guard, Duration::from_secs(60), |open| !*open)
            .unwrap();
    }
}

/// One request as the server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub range: Option<String>,
    pub if_range: Option<String>,
}

#[derive(Default)]
struct State {
    faults: HashMap<String, Vec<Fault>>,
    seen: Vec<Seen>,
    /// Sleep before answering every GET (to make concurrent callers overlap).
    get_delay: Duration,
}

/// The server; stops when dropped.
pub struct Server {
    pub port: u16,
    root: PathBuf,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

impl Server {
    /// Serves the files of `root` under `http://127.0.0.1:<port>/m/<relative path>`.
    pub fn start(root: &Path) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (root2, state2, stop2) = (root.to_path_buf(), Arc::clone(&state), Arc::clone(&stop));
        thread::spawn(move || {
            for stream in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (root, state) = (root2.clone(), Arc::clone(&state2));
                thread::spawn(move || {
                    let _ = serve(stream, &root, &state);
                });
            }
        });
        Self {
            port,
            root: root.to_path_buf(),
            state,
            stop,
        }
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/m/", self.port)
    }

    /// Queues faults for the next GETs of `rel`.
    pub fn inject(&self, rel: &str, faults: Vec<Fault>) {
        self.state
            .lock()
            .unwrap()
            .faults
            .entry(format!("/m/{rel}"))
            .or_default()
            .extend(faults);
    }

    pub fn set_get_delay(&self, delay: Duration) {
        self.state.lock().unwrap().get_delay = delay;
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }

    /// The GETs of `rel`.
    pub fn gets(&self, rel: &str) -> Vec<Seen> {
        let path = format!("/m/{rel}");
        self.seen()
            .into_iter()
            .filter(|s| s.method == "GET" && s.path == path)
            .collect()
    }

    pub fn clear_seen(&self) {
        self.state.lock().unwrap().seen.clear();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port)); // wake the accept loop
    }
}

/// The ETag of every file (constant: the files never change during a test).
pub const ETAG: &str = "\"fixture-v1\"";

fn serve(stream: TcpStream, root: &Path, state: &Mutex<State>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("").to_string();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let range = headers.get("range").cloned();
    let if_range = headers.get("if-range").cloned();
    let (fault, delay) = {
        let mut st = state.lock().unwrap();
        st.seen.push(Seen {
            method: method.clone(),
            path: path.clone(),
            range: range.clone(),
            if_range: if_range.clone(),
        });
        let fault = if method == "GET" {
            st.faults
                .get_mut(&path)
                .and_then(|q| (!q.is_empty()).then(|| q.remove(0)))
        } else {
            None
        };
        (
            fault,
            if method == "GET" {
                st.get_delay
            } else {
                Duration::ZERO
            },
        )
    };
    thread::sleep(delay);
    let mut out = stream;
    let rel = path.strip_prefix("/m/").unwrap_or("");
    let file = root.join(rel);
    if rel.is_empty() || rel.contains("..") || !file.is_file() {
        return respond(&mut out, 404, &[], b"");
    }
    if let Some(Fault::Status(code)) = fault {
        return respond(&mut out, code, &[], b"");
    }
    let mut body = std::fs::read(&file)?;
    if matches!(fault, Some(Fault::WrongBytes)) {
        let mid = body.len() / 2;
        body[mid] ^= 0xff;
    }
    let len = body.len() as u64;
    let start = match (&range, &fault) {
        (Some(r), f) if !matches!(f, Some(Fault::IgnoreRange)) => {
            let from: u64 = r
                .strip_prefix("bytes=")
                .and_then(|r| r.strip_suffix('-'))
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            if from >= len {
                let cr = format!("bytes */{len}");
                return respond(&mut out, 416, &[("Content-Range", cr.as_str())], b"");
            }
            Some(from)
        }
        _ => None,
    };
    let (status, slice) = match start {
        Some(from) => (206, &body[from as usize..]),
        None => (200, &body[..]),
    };
    let content_range = start.map(|from| format!("bytes {from}-{}/{len}", len - 1));
    let mut extra = vec![("ETag", ETAG)];
    if let Some(cr) = &content_range {
        extra.push(("Content-Range", cr.as_str()));
    }
    write_head(&mut out, status, &extra, slice.len() as u64)?;
    if method == "HEAD" {
        return out.flush();
    }
    match fault {
        Some(Fault::DropAfter(n)) => {
            let n = (n as usize).min(slice.len());
            out.write_all(&slice[..n])?;
            out.flush()?;
            // Close without sending the rest (a reset-free early close).
            Ok(())
        }
        Some(Fault::Stall { after, until }) => {
            let n = after.min(slice.len());
            out.write_all(&slice[..n])?;
            out.flush()?;
            until.wait();
            Ok(())
        }
        _ => {
            out.write_all(slice)?;
            out.flush()
        }
    }
}

fn write_head(out: &mut TcpStream, status: u16, extra: &[(&str, &str)], len: u64) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        206 => "Partial Content",
        404 => "Not Found",
        416 => "Range Not Satisfiable",
        _ => "Status",
    };
    let mut head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Length: {len}\r\nConnection: close\r\nAccept-Ranges: bytes\r\n"
    );
    for (k, v) in extra {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    out.write_all(head.as_bytes())
}

fn respond(out: &mut TcpStream, status: u16, extra: &[(&str, &str)], body: &[u8]) -> std::io::Result<()> {
    write_head(out, status, extra, body.len() as u64)?;
    out.write_all(body)?;
    out.flush()
}

/// SHA-256 of a file, lowercase hex (computed here, independently of the downloader).
pub fn sha256_hex(path: &Path) -> String {
    let mut file = std::fs::File::open(path).unwrap();
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The files of the fixture model the core loads at fp32.
pub const FIXTURE_FILES: [&str; 8] = [
    "config.json",
    "generation_config.json",
    "preprocessor_config.json",
    "tokenizer.json",
    "onnx/vision_encoder.onnx",
    "onnx/embed_tokens.onnx",
    "onnx/encoder_model.onnx",
    "onnx/decoder_model_merged.onnx",
];

/// A manifest JSON for `files` of `root` served at `base_url`, preset `fp32`; `pinned` adds each
/// file's size and SHA-256.
pub fn manifest_json(root: &Path, base_url: &str, pinned: bool) -> String {
    let files: Vec<String> = FIXTURE_FILES
        .iter()
        .map(|rel| {
            if pinned {
                let path = root.join(rel);
                format!(
                    "{{\"path\": \"{rel}\", \"size\": {}, \"sha256\": \"{}\"}}",
                    std::fs::metadata(&path).unwrap().len(),
                    sha256_hex(&path)
                )
            } else {
                format!("{{\"path\": \"{rel}\"}}")
            }
        })
        .collect();
    let preset: Vec<String> = FIXTURE_FILES.iter().map(|p| format!("\"{p}\"")).collect();
    format!(
        "{{\"schema\": 1, \"id\": \"test/tiny-random\", \"base_url\": \"{base_url}\", \"files\": [{}], \
         \"presets\": [{{\"name\": \"fp32\", \"description\": \"test\", \"files\": [{}]}}]}}",
        files.join(", "),
        preset.join(", ")
    )
}

/// The committed tiny fixture model folder.
pub fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/tiny-random")
}

/// Total size of the fixture files.
pub fn fixture_bytes() -> u64 {
    FIXTURE_FILES
        .iter()
        .map(|rel| std::fs::metadata(fixture().join(rel)).unwrap().len())
        .sum()
}
