//! CPU time per frame of the camera paths, from the thread's own CPU clock
//! (`/proc/thread-self/stat`, utime + stime), so time spent waiting for a core on a shared
//! machine is not counted (criterion's wall-clock medians are): a check of the Fast target when
//! the machine is loaded. Linux only.
//!
//! `cargo bench -p florence2-preprocess --bench cpu_time`
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Instant;

use florence2_preprocess::{
    Backend, PreprocessConfig, Preprocessor, ResizeMode, Rotation, YuvFormat, YuvView,
};

/// This thread's user + system CPU time in clock ticks (1/100 s on Linux).
fn thread_cpu_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

fn main() {
    // A deterministic 1080p NV21 frame with texture (the timing does not depend on content).
    let (w, h) = (1920u32, 1080u32);
    let len = YuvFormat::Nv21.frame_len(w, h) as usize;
    let nv21: Vec<u8> = (0..len).map(|i| ((i * 7 + i / 1920 * 13) % 251) as u8).collect();
    let frame = YuvView::from_packed(&nv21, w, h, YuvFormat::Nv21).unwrap();
    println!("| path (1920x1080 NV21 → 768², one thread) | CPU ms/frame | wall ms/frame | frames |");
    println!("|---|---|---|---|");
    let mut backends = vec![Backend::Scalar];
    backends.extend(Backend::simd_available());
    for mode in [ResizeMode::Fast, ResizeMode::Reference] {
        for &backend in &backends {
            for rotation in [Rotation::None, Rotation::Clockwise90] {
                let mut pre = Preprocessor::new(PreprocessConfig::florence2())
                    .unwrap()
                    .with_resize_mode(mode);
                pre.set_backend(backend).unwrap();
                let mut out = vec![0f32; pre.output_len()];
                pre.process_yuv(&frame, rotation, &mut out).unwrap();
                // About 3 s of CPU per configuration (the clock ticks at 10 ms).
                let start_cpu = thread_cpu_ticks().unwrap();
                let t0 = Instant::now();
                let mut frames = 0u32;
                while thread_cpu_ticks().unwrap() - start_cpu < 300 {
                    pre.process_yuv(black_box(&frame), rotation, &mut out).unwrap();
                    frames += 1;
                }
                let cpu_ms = (thread_cpu_ticks().unwrap() - start_cpu) as f64 * 10.0 / f64::from(frames);
                let wall_ms = t0.elapsed().as_secs_f64() * 1e3 / f64::from(frames);
                println!(
                    "| {mode:?} / {} / {}° | {cpu_ms:.2} | {wall_ms:.2} | {frames} |",
                    backend.name(),
                    rotation.degrees()
                );
            }
        }
    }
}
