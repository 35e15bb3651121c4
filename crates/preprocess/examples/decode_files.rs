//! Decodes image files with this crate's decoder and writes each as a binary PPM (`P6`), for the
//! Python decode-parity tests (models/tests/test_decode_parity.py), which compare them with
//! Pillow's pixels.
//!
//! ```text
//! decode_files [--no-exif] OUT_DIR FILE...
//! ```
//!
//! For each `FILE`, writes `OUT_DIR/<file name>.ppm`, or `OUT_DIR/<file name>.err` holding the
//! error's variant name and message when decoding fails. Exits non-zero only on usage or I/O
//! problems (a file that does not decode is a result, not a failure).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use florence2_preprocess::{DecodeLimits, PreprocessError, open_with_limits};

fn variant(e: &PreprocessError) -> &'static str {
    match e {
        PreprocessError::UnsupportedFormat { .. } => "UnsupportedFormat",
        PreprocessError::Truncated { .. } => "Truncated",
        PreprocessError::Decode { .. } => "Decode",
        PreprocessError::TooManyPixels { .. } => "TooManyPixels",
        PreprocessError::ZeroSize { .. } => "ZeroSize",
        PreprocessError::Io { .. } => "Io",
        _ => "Other",
    }
}

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let exif = if args.first().is_some_and(|a| a == "--no-exif") {
        args.remove(0);
        false
    } else {
        true
    };
    if args.len() < 2 {
        eprintln!("usage: decode_files [--no-exif] OUT_DIR FILE...");
        return ExitCode::from(2);
    }
    let out = PathBuf::from(args.remove(0));
    let limits = DecodeLimits::default().with_exif_orientation(exif);
    for file in &args {
        let name = PathBuf::from(file)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let written = match open_with_limits(file, &limits) {
            Ok(image) => std::fs::File::create(out.join(format!("{name}.ppm"))).and_then(|mut f| {
                write!(f, "P6\n{} {}\n255\n", image.width(), image.height())?;
                f.write_all(image.as_bytes())
            }),
            Err(e) => std::fs::write(out.join(format!("{name}.err")), format!("{}: {e}", variant(&e))),
        };
        if let Err(e) = written {
            eprintln!("decode_files: writing the result of {file}: {e}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
