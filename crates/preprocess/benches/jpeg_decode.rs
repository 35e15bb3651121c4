//! Decode time of a 12 MP JPEG (4000x3000, 4:2:0, quality 90, written by Pillow from a stretched
//! fixture photo): this crate's decoder (libjpeg-turbo's, via mozjpeg-sys) against zune-jpeg (the
//! `image` crate's decoder, used before issue 21) and Pillow 13 (libjpeg-turbo 3.x), in one run.
//! Rounds alternate the three so load on a shared machine hits them alike; each reports the median
//! wall time and the median CPU time of the decoding thread (Rust: /proc/thread-self/stat; Pillow:
//! `time.thread_time`). Needs `.venv` (Pillow) for the input and the Pillow column. Linux only.
//!
//! `cargo bench -p florence2-preprocess --bench jpeg_decode`
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// This thread's user + system CPU time in seconds (clock ticks of 1/100 s).
fn thread_cpu_s() -> f64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    ticks as f64 / 100.0
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

const PILLOW: &str = r#"
import sys, time
from PIL import Image
path, n = sys.argv[1], int(sys.argv[2])
for _ in range(n):
    t0, c0 = time.perf_counter(), time.thread_time()
    with Image.open(path) as im:
        rgb = im.convert("RGB")
    print(f"{(time.perf_counter() - t0) * 1e3:.3f} {(time.thread_time() - c0) * 1e3:.3f}")
"#;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let python = root.join(".venv/bin/python");
    let jpeg_path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench_12mp_420_q90.jpg");
    let made = Command::new(&python)
        .arg("-c")
        .arg(
            "import sys; from PIL import Image; \
             Image.open(sys.argv[1]).convert('RGB').resize((4000, 3000), Image.Resampling.BICUBIC)\
             .save(sys.argv[2], quality=90, subsampling=2)",
        )
        .arg(root.join("tests/fixtures/images/coffee_600x400.png"))
        .arg(&jpeg_path)
        .status()
        .expect("run .venv/bin/python (scripts/setup.sh)");
    assert!(made.success(), "writing the JPEG with Pillow failed");
    let jpeg = std::fs::read(&jpeg_path).unwrap();

    // Same pixels from ours as from Pillow is the contract; zune-jpeg's are shown for context.
    let ours = florence2_preprocess::decode(&jpeg).unwrap();
    let zune = image::load_from_memory_with_format(&jpeg, image::ImageFormat::Jpeg)
        .unwrap()
        .to_rgb8();
    let differing = ours
        .as_bytes()
        .iter()
        .zip(zune.as_raw())
        .filter(|(a, b)| a != b)
        .count();

    let rounds = 7;
    let per_round = 3;
    let (mut ours_wall, mut ours_cpu, mut zune_wall, mut zune_cpu) = (vec![], vec![], vec![], vec![]);
    let (mut pil_wall, mut pil_cpu) = (vec![], vec![]);
    for _ in 0..rounds {
        for _ in 0..per_round {
            let (t, c) = (Instant::now(), thread_cpu_s());
            black_box(florence2_preprocess::decode(black_box(&jpeg)).unwrap());
            ours_wall.push(t.elapsed().as_secs_f64() * 1e3);
            ours_cpu.push((thread_cpu_s() - c) * 1e3);
        }
        for _ in 0..per_round {
            let (t, c) = (Instant::now(), thread_cpu_s());
            black_box(
                image::load_from_memory_with_format(black_box(&jpeg), image::ImageFormat::Jpeg)
                    .unwrap()
                    .into_rgb8(),
            );
            zune_wall.push(t.elapsed().as_secs_f64() * 1e3);
            zune_cpu.push((thread_cpu_s() - c) * 1e3);
        }
        let out = Command::new(&python)
            .args(["-c", PILLOW])
            .arg(&jpeg_path)
            .arg(per_round.to_string())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        for line in String::from_utf8(out.stdout).unwrap().lines() {
            let (w, c) = line.split_once(' ').unwrap();
            pil_wall.push(w.parse().unwrap());
            pil_cpu.push(c.parse().unwrap());
        }
    }
    let (ow, oc) = (median(ours_wall), median(ours_cpu));
    let (zw, zc) = (median(zune_wall), median(zune_cpu));
    let (pw, pc) = (median(pil_wall), median(pil_cpu));
    println!(
        "4000x3000 JPEG (4:2:0, q90, {} kB) to RGB8, one thread, medians of {} runs each, alternating",
        jpeg.len() / 1000,
        rounds * per_round
    );
    println!("| decoder | wall ms | CPU ms | wall vs Pillow | pixels equal to Pillow |");
    println!("|---|---|---|---|---|");
    println!(
        "| ours: libjpeg-turbo (mozjpeg-sys 2.2.3, TurboJPEG API) | {ow:.1} | {oc:.0} | {:.2}x | yes (tests) |",
        ow / pw
    );
    println!(
        "| zune-jpeg (image 0.25, before issue 21) | {zw:.1} | {zc:.0} | {:.2}x | no ({differing} of {} samples differ from ours) |",
        zw / pw,
        ours.as_bytes().len()
    );
    println!("| Pillow 13 (`Image.open(f).convert(\"RGB\")`) | {pw:.1} | {pc:.0} | 1.00x | — |");
    println!("(CPU ms from a 10 ms clock: coarse per run, the median is still meaningful.)");
}
