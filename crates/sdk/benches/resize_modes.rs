//! The camera path through the SDK: per-frame preprocessing cost of `ResizeMode::Reference` and
//! `ResizeMode::Fast` (alternating within one run, medians), and Fast's deviation from Reference
//! as token agreement on the fixture model. Prints two markdown tables.
//!
//! ```text
//! cargo bench -p florence2-sdk --bench resize_modes
//! FLORENCE2_BENCH_MODEL=models/out/base-random FLORENCE2_BENCH_ROUNDS=30 cargo bench -p florence2-sdk --bench resize_modes
//! ```
//! The timing model defaults to `models/out/base-random` (768² input, like every real Florence-2)
//! when it exists, else the committed tiny fixture (160² input). Agreement always uses the fixture,
//! whose references the tests hold.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::{Path, PathBuf};

use florence2_sdk::{
    Florence2Engine, Florence2Options, ImageInput, ResizeMode, RunOptions, Task, TaskRequest,
};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// A 1920×1080 NV21 frame (YUV_420_888 with pixel stride 2, as most phone cameras deliver it),
/// with structure at every scale so neither filter gets an easy image.
fn nv21_1080p() -> ImageInput {
    let (w, h) = (1920usize, 1080usize);
    let y: Vec<u8> = (0..w * h)
        .map(|i| {
            let (x, y) = (i % w, i / w);
            ((x * 7 + y * 3 + (x * y) / 97) % 220 + 16) as u8
        })
        .collect();
    let vu: Vec<u8> = (0..w * h / 2).map(|i| (96 + (i * 13) % 64) as u8).collect();
    ImageInput::Yuv420 {
        u: vu[1..].to_vec(),
        v: vu,
        y,
        width: w as i32,
        height: h as i32,
        y_row_stride: w as i32,
        uv_row_stride: w as i32,
        uv_pixel_stride: 2,
        rotation_degrees: 90,
        crop: None,
    }
}

fn options(mode: ResizeMode) -> Option<RunOptions> {
    Some(RunOptions {
        resize_mode: Some(mode),
        ..RunOptions::default()
    })
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let fixture = root().join("tests/fixtures/tiny-random");
    let timing_dir = std::env::var("FLORENCE2_BENCH_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            let base = root().join("models/out/base-random");
            if base.join("config.json").exists() {
                base
            } else {
                fixture.clone()
            }
        });
    let rounds: usize = std::env::var("FLORENCE2_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);

    // 1. Per-frame preprocessing through the SDK (EncodedImage.preprocess_ms: conversion, crop,
    //    rotation, resize, normalisation; the vision encoder is timed separately and not counted).
    let model = runtime
        .block_on(Florence2Engine::create(
            timing_dir.display().to_string(),
            Florence2Options::default(),
        ))
        .unwrap();
    let frame = nv21_1080p();
    let mut times = [Vec::new(), Vec::new()];
    for round in 0..=rounds {
        for (slot, mode) in [ResizeMode::Reference, ResizeMode::Fast].into_iter().enumerate() {
            let encoded = runtime
                .block_on(model.encode(frame.clone(), options(mode)))
                .unwrap();
            if round > 0 {
                times[slot].push(encoded.preprocess_ms());
            }
        }
    }
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    println!(
        "\n1080p NV21 frame (rotated 90°) → {} through the SDK, median of {rounds} alternating rounds ({cpu})\n",
        timing_dir.display()
    );
    println!("| resize mode | preprocess ms/frame |\n|---|---|");
    let reference = median(&mut times[0]);
    let fast = median(&mut times[1]);
    println!(
        "| Reference | {reference:.2} |\n| Fast | {fast:.2} ({:.2}× Reference) |",
        fast / reference
    );

    // 2. Fast against Reference: greedy ids on the fixture model, every fixture image and task.
    let model = runtime
        .block_on(Florence2Engine::create(
            fixture.display().to_string(),
            Florence2Options {
                max_new_tokens: Some(64),
                num_beams: Some(1),
                ..Florence2Options::default()
            },
        ))
        .unwrap();
    let mut images: Vec<PathBuf> = std::fs::read_dir(root().join("tests/fixtures/images"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    images.sort();
    let tasks = [
        Task::Caption,
        Task::ObjectDetection,
        Task::Ocr,
        Task::DenseRegionCaption,
    ];
    let (mut sequences, mut same_sequences, mut tokens, mut same_tokens) = (0, 0, 0, 0);
    for path in &images {
        for task in tasks {
            let run = |mode| {
                let request = TaskRequest {
                    task,
                    text: None,
                    region: None,
                    options: options(mode),
                };
                let image = ImageInput::FilePath {
                    path: path.display().to_string(),
                };
                runtime
                    .block_on(model.run(image, request, None))
                    .unwrap()
                    .generated_ids
            };
            let (a, b) = (run(ResizeMode::Reference), run(ResizeMode::Fast));
            sequences += 1;
            same_sequences += usize::from(a == b);
            // Tokens up to the first divergence count as agreeing; after it, the decoder sees
            // different text, so later positions are not comparable.
            let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
            tokens += a.len().max(b.len());
            same_tokens += common;
        }
    }
    println!(
        "\nFast vs Reference on tests/fixtures/tiny-random, greedy, 64 tokens, {} images × {} tasks\n",
        images.len(),
        tasks.len()
    );
    println!("| identical sequences | tokens before the first difference |\n|---|---|");
    println!(
        "| {same_sequences} / {sequences} | {same_tokens} / {tokens} ({:.1} %) |",
        100.0 * same_tokens as f64 / tokens as f64
    );
}
