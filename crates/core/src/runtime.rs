//! Locating the ONNX Runtime shared library and initialising it once per process.
//!
//! `ort` is built with `load-dynamic`: nothing is linked or downloaded at build time, and the
//! library is opened at run time. Left to itself, `ort` panics when it cannot open the library,
//! so this module always loads it through [`ort::init_from`] and turns every failure into a
//! [`RuntimeError`].
//!
//! # Lookup order
//!
//! The first rule that applies wins:
//!
//! 1. **Explicit path** passed by the caller ([`OnnxRuntime::init`], [`OrtLibrary::locate`]).
//! 2. **`ORT_DYLIB_PATH`** environment variable (ignored when empty).
//! 3. **`FLORENCE2_ORT_CACHE`**: a directory holding `libonnxruntime.so` (ignored when unset).
//! 4. **Next to the current executable**.
//!
//! Nothing about the machine that built the library is compiled in. In this repository,
//! `.cargo/config.toml` points `ORT_DYLIB_PATH` at `scripts/setup.sh`'s cache for every `cargo`
//! run, test and bench, the CLI looks for that cache above its own executable, and the Kotlin
//! scripts export the variable.
//!
//! Rules 1 and 2 are requests: if the named file does not exist the lookup fails with
//! [`RuntimeError::FileMissing`] instead of silently trying other places. Relative paths are
//! resolved against the current directory.
//!
//! On Android, rules 3 and 4 are replaced by the bare name `libonnxruntime.so`, which the system
//! loader resolves from the app's native libraries (the ONNX Runtime AAR ships it). An explicit
//! path there must name an existing file (e.g. under `nativeLibraryDir`); pass none to use the
//! packaged library.

use std::env;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

/// Why ONNX Runtime could not be found, loaded or initialised.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RuntimeError {
    /// A path that was asked for explicitly (by the caller or through `ORT_DYLIB_PATH`) does not
    /// name an existing file. Explicit requests never fall back to other locations.
    #[error("{} points at a missing file: {}", describe_request(*.origin), .path.display())]
    FileMissing {
        /// The path that was requested.
        path: PathBuf,
        /// Who requested it.
        origin: LibrarySource,
    },

    /// No ONNX Runtime library was found in any of the default locations.
    #[error("{}", not_found_message(.searched))]
    NotFound {
        /// Every path that was tried, in lookup order.
        searched: Vec<PathBuf>,
    },

    /// The file exists but could not be loaded as ONNX Runtime (not a shared library, wrong
    /// architecture, missing `OrtGetApiBase`, unreadable version string).
    #[error("could not load ONNX Runtime from {}: {detail}", .path.display())]
    Load {
        /// The library that failed to load.
        path: PathBuf,
        /// The loader's explanation (e.g. the `dlopen` error text).
        detail: String,
    },

    /// The library loaded but its version is older than the C API this build needs.
    #[error(
        "ONNX Runtime at {} is version {found}, but this build needs 1.{required_minor} or newer \
         (run scripts/setup.sh, or point ORT_DYLIB_PATH at a newer libonnxruntime)",
        .path.display()
    )]
    Version {
        /// The library that was loaded.
        path: PathBuf,
        /// The version string the library reported.
        found: String,
        /// The minimum minor version (`1.<minor>`) required by this build.
        required_minor: u32,
    },

    /// ONNX Runtime was already initialised in this process from a different library file;
    /// a process can hold only one.
    #[error(
        "ONNX Runtime is already initialised from {}; cannot switch to {} in the same process",
        .loaded.display(),
        .requested.display()
    )]
    AlreadyInitialized {
        /// The library in use.
        loaded: PathBuf,
        /// The library that was asked for afterwards.
        requested: PathBuf,
    },

    /// ONNX Runtime loaded but creating its environment failed.
    #[error("creating the ONNX Runtime environment failed: {source}")]
    Environment {
        /// The error reported by ONNX Runtime.
        #[source]
        source: ort::Error,
    },
}

fn describe_request(origin: LibrarySource) -> &'static str {
    match origin {
        LibrarySource::EnvVar => "the ORT_DYLIB_PATH environment variable",
        LibrarySource::Explicit => "the ONNX Runtime library path passed by the caller",
        LibrarySource::CacheDir => "the FLORENCE2_ORT_CACHE directory",
        LibrarySource::ExecutableDir => "the directory of the current executable",
        LibrarySource::SystemLoader => "the system library loader",
    }
}

fn not_found_message(searched: &[PathBuf]) -> String {
    let mut text = String::from("ONNX Runtime shared library not found. Searched:");
    for path in searched {
        // Writing to a String cannot fail.
        let _ = write!(text, "\n  - {}", path.display());
    }
    text.push_str(
        "\nFix: run scripts/setup.sh, or set ORT_DYLIB_PATH=/abs/path/libonnxruntime.so.1.31.1 \
         (or FLORENCE2_ORT_CACHE=<directory containing libonnxruntime.so>)",
    );
    text
}

type Result<T, E = RuntimeError> = std::result::Result<T, E>;

/// Environment variable naming the ONNX Runtime library file (same name `ort` itself uses).
pub const ORT_DYLIB_PATH_ENV: &str = "ORT_DYLIB_PATH";

/// Environment variable naming a directory that holds the ONNX Runtime library.
pub const CACHE_DIR_ENV: &str = "FLORENCE2_ORT_CACHE";

/// The oldest ONNX Runtime minor version (`1.<minor>`) this build can use.
///
/// It is the C API level `ort` was compiled for (`api-29`, matching the Android 1.29 library).
pub const REQUIRED_MINOR_VERSION: u32 = ort::MINOR_VERSION;

/// File names tried inside a directory (the setup cache and the executable's directory).
#[cfg(not(target_os = "android"))]
const LIBRARY_FILE_NAMES: &[&str] = if cfg!(target_os = "macos") {
    &["libonnxruntime.dylib"]
} else if cfg!(windows) {
    &["onnxruntime.dll"]
} else {
    &["libonnxruntime.so", "libonnxruntime.so.1"]
};

/// The name handed to the system loader on Android.
#[cfg(target_os = "android")]
const ANDROID_LIBRARY_NAME: &str = "libonnxruntime.so";

/// Which lookup rule produced an [`OrtLibrary`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LibrarySource {
    /// The path passed by the caller.
    Explicit,
    /// The `ORT_DYLIB_PATH` environment variable.
    EnvVar,
    /// The directory named by `FLORENCE2_ORT_CACHE`.
    CacheDir,
    /// The directory that holds the current executable.
    ExecutableDir,
    /// A bare library name resolved by the system loader (Android).
    SystemLoader,
}

/// An ONNX Runtime shared library that was found but not necessarily loaded yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrtLibrary {
    path: PathBuf,
    source: LibrarySource,
}

impl OrtLibrary {
    /// Finds the ONNX Runtime library following the [module-level lookup order](self):
    /// `explicit` > `ORT_DYLIB_PATH` > `FLORENCE2_ORT_CACHE` > executable directory.
    ///
    /// Reads the process environment; does not load anything.
    ///
    /// # Errors
    ///
    /// [`RuntimeError::FileMissing`] if `explicit` or `ORT_DYLIB_PATH` names a missing file,
    /// [`RuntimeError::NotFound`] (listing every path tried) if no default location has it.
    pub fn locate(explicit: Option<&Path>) -> Result<Self> {
        Search::from_process(explicit).locate()
    }

    /// The library path (absolute, except for the bare Android name).
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The lookup rule that found it.
    #[must_use]
    pub fn source(&self) -> LibrarySource {
        self.source
    }
}

/// Inputs of the lookup, separated from the process environment so the rules can be tested.
#[derive(Debug, Clone, Default)]
struct Search {
    explicit: Option<PathBuf>,
    env_path: Option<PathBuf>,
    #[cfg(not(target_os = "android"))]
    cache_dir: Option<PathBuf>,
    #[cfg(not(target_os = "android"))]
    exe_dir: Option<PathBuf>,
}

impl Search {
    fn from_process(explicit: Option<&Path>) -> Self {
        let non_empty = |name: &str| {
            env::var_os(name)
                .filter(|value| !value.is_empty())
                .map(PathBuf::from)
        };
        Self {
            explicit: explicit.map(Path::to_path_buf),
            env_path: non_empty(ORT_DYLIB_PATH_ENV),
            #[cfg(not(target_os = "android"))]
            cache_dir: non_empty(CACHE_DIR_ENV),
            #[cfg(not(target_os = "android"))]
            exe_dir: env::current_exe()
                .ok()
                .and_then(|exe| exe.parent().map(Path::to_path_buf)),
        }
    }

    fn locate(&self) -> Result<OrtLibrary> {
        let requests = [
            (&self.explicit, LibrarySource::Explicit),
            (&self.env_path, LibrarySource::EnvVar),
        ];
        for (request, source) in requests {
            if let Some(path) = request {
                let path = absolute(path);
                return if path.is_file() {
                    Ok(OrtLibrary { path, source })
                } else {
                    Err(RuntimeError::FileMissing { path, origin: source })
                };
            }
        }
        self.locate_default()
    }

    #[cfg(target_os = "android")]
    fn locate_default(&self) -> Result<OrtLibrary> {
        Ok(OrtLibrary {
            path: PathBuf::from(ANDROID_LIBRARY_NAME),
            source: LibrarySource::SystemLoader,
        })
    }

    #[cfg(not(target_os = "android"))]
    fn locate_default(&self) -> Result<OrtLibrary> {
        let dirs = self
            .cache_dir
            .iter()
            .map(|dir| (absolute(dir), LibrarySource::CacheDir))
            .chain(
                self.exe_dir
                    .iter()
                    .map(|dir| (dir.clone(), LibrarySource::ExecutableDir)),
            );
        let mut searched = Vec::new();
        for (dir, source) in dirs {
            for name in LIBRARY_FILE_NAMES {
                let path = dir.join(name);
                if path.is_file() {
                    return Ok(OrtLibrary { path, source });
                }
                searched.push(path);
            }
        }
        Err(RuntimeError::NotFound { searched })
    }
}

/// Makes `path` absolute against the current directory (no file system access). `ort` would
/// otherwise try relative paths next to the executable first.
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// ONNX Runtime, loaded and initialised for this process.
///
/// Cheap to clone; every clone shares the one [`ort::environment::Environment`] that a process
/// may hold. Sessions are built with `Session::builder(runtime.environment())`.
#[derive(Debug, Clone)]
pub struct OnnxRuntime {
    inner: Arc<Loaded>,
}

#[derive(Debug)]
struct Loaded {
    library: OrtLibrary,
    environment: ort::environment::Environment,
    build_info: String,
    version: Option<String>,
}

/// The process-wide runtime. A mutex (not a `OnceLock`) so that a failed attempt can be retried
/// with another library and concurrent first calls load only once.
static RUNTIME: Mutex<Option<OnnxRuntime>> = Mutex::new(None);

impl OnnxRuntime {
    /// Loads ONNX Runtime (found as described in the [module docs](self)) and creates the
    /// process-wide environment, or returns the runtime that is already initialised.
    ///
    /// Once initialised, `init(None)` returns the existing runtime without looking again (later
    /// changes to `ORT_DYLIB_PATH` have no effect), and `init(Some(path))` returns it only if
    /// `path` is the same file as the loaded library. A failed attempt leaves nothing behind, so it
    /// can be retried, e.g. with another path.
    ///
    /// # Errors
    ///
    /// - lookup errors from [`OrtLibrary::locate`];
    /// - [`RuntimeError::Load`] if the file is not a loadable ONNX Runtime library;
    /// - [`RuntimeError::Version`] if it is older than 1.[`REQUIRED_MINOR_VERSION`];
    /// - [`RuntimeError::AlreadyInitialized`] if another library is already in use;
    /// - [`RuntimeError::Environment`] if ONNX Runtime cannot create its environment.
    pub fn init(explicit: Option<&Path>) -> Result<Self> {
        let mut slot = RUNTIME.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(runtime) = slot.as_ref() {
            if let Some(requested) = explicit {
                let requested = absolute(requested);
                if !same_file(&requested, runtime.library().path()) {
                    return Err(RuntimeError::AlreadyInitialized {
                        loaded: runtime.library().path().to_path_buf(),
                        requested,
                    });
                }
            }
            return Ok(runtime.clone());
        }
        let runtime = Self::load(OrtLibrary::locate(explicit)?)?;
        *slot = Some(runtime.clone());
        Ok(runtime)
    }

    /// The runtime, if [`OnnxRuntime::init`] has succeeded in this process.
    #[must_use]
    pub fn get() -> Option<Self> {
        RUNTIME.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn load(library: OrtLibrary) -> Result<Self> {
        let builder = ort::init_from(library.path()).map_err(|error| load_error(error, library.path()))?;
        // Telemetry is off: an SDK embedded in apps must not phone home on its users' behalf.
        let environment = builder
            .with_name("florence2")
            .with_telemetry(false)
            .build()
            .map_err(|source| RuntimeError::Environment { source })?;
        let build_info = ort::info().to_owned();
        let version = version_from_build_info(&build_info).or_else(|| version_from_file_name(library.path()));
        Ok(Self {
            inner: Arc::new(Loaded {
                library,
                environment,
                build_info,
                version,
            }),
        })
    }

    /// The ONNX Runtime environment; pass it to `ort::session::Session::builder`.
    #[must_use]
    pub fn environment(&self) -> &ort::environment::Environment {
        &self.inner.environment
    }

    /// The library that was loaded and how it was found.
    #[must_use]
    pub fn library(&self) -> &OrtLibrary {
        &self.inner.library
    }

    /// The ONNX Runtime version (e.g. `"1.31.1"`), if known.
    ///
    /// `ort` does not expose the library's own version string, so it is taken from the build
    /// information when that names a release branch (`git-branch=rel-1.31.1`), else from a
    /// versioned file name the loaded path resolves to (`libonnxruntime.so.1.31.1`, as in the
    /// setup cache). `None` when neither names it (e.g. Android's plain `libonnxruntime.so`); the
    /// library is in any case at least 1.[`REQUIRED_MINOR_VERSION`], which loading checked.
    #[must_use]
    pub fn version(&self) -> Option<&str> {
        self.inner.version.as_deref()
    }

    /// The library's build information string as reported by ONNX Runtime (version, git commit,
    /// build type, compiler flags).
    #[must_use]
    pub fn build_info(&self) -> &str {
        &self.inner.build_info
    }
}

fn load_error(error: ort::LoadDynamicError, path: &Path) -> RuntimeError {
    use ort::LoadDynamicError as E;
    match error {
        E::Dlopen { error, path } => RuntimeError::Load {
            path,
            detail: with_sources(&error),
        },
        E::MissingApi { path } => RuntimeError::Load {
            path,
            detail: "the library does not export OrtGetApiBase (not an ONNX Runtime library?)".to_owned(),
        },
        E::InvalidVersionString => RuntimeError::Load {
            path: path.to_path_buf(),
            detail: "the library returned a malformed version string".to_owned(),
        },
        E::BadVersion { version_str, path } => RuntimeError::Version {
            path,
            found: version_str,
            required_minor: REQUIRED_MINOR_VERSION,
        },
    }
}

/// `error: source: source…` (libloading puts the `dlerror()` text in the source).
fn with_sources(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Extracts `1.31.1` from `ORT Build Info: git-branch=rel-1.31.1, git-commit-id=…`.
/// (The PyPI wheels say `git-branch=HEAD`.)
fn version_from_build_info(info: &str) -> Option<String> {
    let start = info.find("git-branch=rel-")? + "git-branch=rel-".len();
    let version: String = info[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    is_version(&version).then_some(version)
}

/// Extracts `1.31.1` from a path that is, or resolves through symlinks to,
/// `libonnxruntime.so.1.31.1`.
fn version_from_file_name(path: &Path) -> Option<String> {
    let resolved = path.canonicalize().ok()?;
    let version = resolved
        .file_name()?
        .to_str()?
        .strip_prefix("libonnxruntime.so.")?;
    (is_version(version) && version.split('.').count() == 3).then(|| version.to_owned())
}

/// `major.minor[.patch…]`, all numeric.
fn is_version(text: &str) -> bool {
    text.split('.').count() >= 2
        && text
            .split('.')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
}

/// Whether two paths name the same file (following symlinks); falls back to comparing the paths.
fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

#[cfg(test)]
#[cfg(not(target_os = "android"))] // the lookup tests exercise the desktop rules
mod tests {
    use super::*;

    fn touch(path: &Path) {
        std::fs::write(path, b"not really a library").unwrap();
    }

    #[test]
    fn explicit_path_wins_over_env_and_cache() {
        let dir = tempfile::tempdir().unwrap();
        let explicit = dir.path().join("explicit.so");
        let from_env = dir.path().join("env.so");
        touch(&explicit);
        touch(&from_env);
        touch(&dir.path().join("libonnxruntime.so"));
        let search = Search {
            explicit: Some(explicit.clone()),
            env_path: Some(from_env.clone()),
            cache_dir: Some(dir.path().to_path_buf()),
            exe_dir: None,
        };
        let found = search.locate().unwrap();
        assert_eq!(found.path(), explicit);
        assert_eq!(found.source(), LibrarySource::Explicit);

        let found = Search {
            explicit: None,
            ..search
        }
        .locate()
        .unwrap();
        assert_eq!(found.path(), from_env);
        assert_eq!(found.source(), LibrarySource::EnvVar);
    }

    #[test]
    fn missing_explicit_path_does_not_fall_back() {
        let dir = tempfile::tempdir().unwrap();
        touch(&dir.path().join("libonnxruntime.so"));
        let missing = dir.path().join("nope/libonnxruntime.so.1.31.1");
        let search = Search {
            explicit: Some(missing.clone()),
            cache_dir: Some(dir.path().to_path_buf()),
            ..Search::default()
        };
        match search.locate() {
            Err(RuntimeError::FileMissing { path, origin }) => {
                assert_eq!(path, missing);
                assert_eq!(origin, LibrarySource::Explicit);
            }
            other => panic!("expected OnnxRuntimeFileMissing, got {other:?}"),
        }
    }

    #[test]
    fn a_directory_is_not_a_library_file() {
        let dir = tempfile::tempdir().unwrap();
        let search = Search {
            env_path: Some(dir.path().to_path_buf()),
            ..Search::default()
        };
        assert!(matches!(
            search.locate(),
            Err(RuntimeError::FileMissing {
                origin: LibrarySource::EnvVar,
                ..
            })
        ));
    }

    #[test]
    fn cache_then_executable_dir() {
        let cache = tempfile::tempdir().unwrap();
        let exe = tempfile::tempdir().unwrap();
        let in_exe_dir = exe.path().join(LIBRARY_FILE_NAMES[0]);
        touch(&in_exe_dir);
        let search = Search {
            cache_dir: Some(cache.path().to_path_buf()),
            exe_dir: Some(exe.path().to_path_buf()),
            ..Search::default()
        };
        let found = search.locate().unwrap();
        assert_eq!(
            (found.path(), found.source()),
            (in_exe_dir.as_path(), LibrarySource::ExecutableDir)
        );

        let in_cache = cache.path().join(LIBRARY_FILE_NAMES[0]);
        touch(&in_cache);
        let found = search.locate().unwrap();
        assert_eq!(
            (found.path(), found.source()),
            (in_cache.as_path(), LibrarySource::CacheDir)
        );
    }

    #[test]
    fn not_found_lists_every_path_and_the_fix() {
        let cache = tempfile::tempdir().unwrap();
        let exe = tempfile::tempdir().unwrap();
        let search = Search {
            cache_dir: Some(cache.path().to_path_buf()),
            exe_dir: Some(exe.path().to_path_buf()),
            ..Search::default()
        };
        let error = search.locate().unwrap_err();
        let RuntimeError::NotFound { searched } = &error else {
            panic!("expected OnnxRuntimeNotFound, got {error:?}");
        };
        let expected: Vec<PathBuf> = [cache.path(), exe.path()]
            .iter()
            .flat_map(|dir| LIBRARY_FILE_NAMES.iter().map(|name| dir.join(name)))
            .collect();
        assert_eq!(searched, &expected);
        let text = error.to_string();
        for path in &expected {
            assert!(text.contains(&path.display().to_string()), "{text}");
        }
        assert!(text.contains("scripts/setup.sh"), "{text}");
        assert!(text.contains("ORT_DYLIB_PATH="), "{text}");
    }

    #[test]
    fn no_build_machine_path_is_searched_by_default() {
        // With no request and no FLORENCE2_ORT_CACHE, only the executable's directory is tried.
        let exe = tempfile::tempdir().unwrap();
        let error = Search {
            exe_dir: Some(exe.path().to_path_buf()),
            ..Search::default()
        }
        .locate()
        .unwrap_err();
        let RuntimeError::NotFound { searched } = &error else {
            panic!("{error:?}");
        };
        assert!(
            searched.iter().all(|path| path.starts_with(exe.path())),
            "{searched:?}"
        );
        assert!(
            !searched
                .iter()
                .any(|path| path.to_string_lossy().contains(".cache"))
        );
    }

    #[test]
    fn version_parsing() {
        let info = "ORT Build Info: git-branch=rel-1.31.1, git-commit-id=abc, build type=Release";
        assert_eq!(version_from_build_info(info).as_deref(), Some("1.31.1"));
        assert_eq!(
            version_from_build_info("ORT Build Info: git-branch=main, x"),
            None
        );
        assert_eq!(version_from_build_info("no branch at all"), None);
    }

    #[test]
    fn version_from_versioned_file_name_through_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("libonnxruntime.so.1.31.1");
        touch(&real);
        #[cfg(unix)]
        {
            let link = dir.path().join("libonnxruntime.so");
            std::os::unix::fs::symlink("libonnxruntime.so.1.31.1", &link).unwrap();
            assert_eq!(version_from_file_name(&link).as_deref(), Some("1.31.1"));
        }
        assert_eq!(version_from_file_name(&real).as_deref(), Some("1.31.1"));
        let plain = dir.path().join("plain.so");
        touch(&plain);
        assert_eq!(version_from_file_name(&plain), None);
        let odd = dir.path().join("libonnxruntime.so.1");
        touch(&odd);
        assert_eq!(version_from_file_name(&odd), None);
        assert_eq!(version_from_file_name(&dir.path().join("missing")), None);
    }
}
