//! `runBatch` (vision of image i+1 overlapping decoding of image i) against the same images run one
//! after another, alternating the two within one run. Prints a markdown table of medians.
//!
//! ```text
//! cargo bench -p florence2-sdk --bench run_batch
//! FLORENCE2_BENCH_MODEL=models/out/base-random FLORENCE2_BENCH_ROUNDS=5 cargo bench -p florence2-sdk --bench run_batch
//! ```
//! The model defaults to `models/out/base-random` when it exists (make it with
//! `models/export.py --random --preset base`), else the committed tiny fixture.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::{Path, PathBuf};
use std::time::Instant;

use florence2_sdk::{Florence2Engine, Florence2Options, ImageInput, Task, TaskRequest};

const IMAGES: [&str; 4] = [
    "coffee_600x400.png",
    "chelsea_451x300.png",
    "astronaut_512x512.png",
    "logo_rgba_250x250.png",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let model_dir = std::env::var("FLORENCE2_BENCH_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            let base = root().join("models/out/base-random");
            if base.join("config.json").exists() {
                base
            } else {
                root().join("tests/fixtures/tiny-random")
            }
        });
    let rounds: usize = env_or("FLORENCE2_BENCH_ROUNDS", 5);
    let tokens: i32 = env_or("FLORENCE2_BENCH_TOKENS", 32);
    let threads: i32 = env_or("FLORENCE2_BENCH_THREADS", 0);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let options = Florence2Options {
        max_new_tokens: Some(tokens),
        num_beams: Some(1),
        threads,
        ..Florence2Options::default()
    };
    let model = runtime
        .block_on(Florence2Engine::create(model_dir.display().to_string(), options))
        .unwrap();
    let images: Vec<ImageInput> = IMAGES
        .iter()
        .map(|name| ImageInput::EncodedBytes {
            bytes: std::fs::read(root().join("tests/fixtures/images").join(name)).unwrap(),
        })
        .collect();
    let task = TaskRequest {
        task: Task::Caption,
        text: None,
        region: None,
        options: None,
    };
    // Warm-up: first runs pay for ONNX Runtime's lazy initialisation.
    runtime
        .block_on(model.run_batch(images.clone(), task.clone()))
        .unwrap();

    let (mut sequential, mut batch) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let t0 = Instant::now();
        let mut one_by_one = Vec::new();
        for image in &images {
            one_by_one.push(
                runtime
                    .block_on(model.run(image.clone(), task.clone(), None))
                    .unwrap(),
            );
        }
        sequential.push(t0.elapsed().as_secs_f64() * 1e3);
        let t0 = Instant::now();
        let batched = runtime
            .block_on(model.run_batch(images.clone(), task.clone()))
            .unwrap();
        batch.push(t0.elapsed().as_secs_f64() * 1e3);
        let same = one_by_one
            .iter()
            .zip(&batched)
            .all(|(a, b)| a.generated_ids == b.generated_ids);
        assert!(same, "runBatch must give the sequential results");
    }
    let (min_s, max_s) = (
        sequential.iter().copied().fold(f64::MAX, f64::min),
        sequential.iter().copied().fold(0.0, f64::max),
    );
    let (min_b, max_b) = (
        batch.iter().copied().fold(f64::MAX, f64::min),
        batch.iter().copied().fold(0.0, f64::max),
    );
    let (med_s, med_b) = (median(&mut sequential), median(&mut batch));
    println!(
        "\nmodel {}, {} images, {task:?}, {tokens} new tokens max, greedy, threads {threads} (0 = ORT default), {rounds} rounds\n",
        model_dir.display(),
        images.len()
    );
    println!("| mode | median ms | min–max ms | per image ms |");
    println!("|---|---|---|---|");
    let n = images.len() as f64;
    println!(
        "| sequential `run` × {} | {med_s:.0} | {min_s:.0}–{max_s:.0} | {:.0} |",
        images.len(),
        med_s / n
    );
    println!(
        "| `runBatch` (pipelined) | {med_b:.0} | {min_b:.0}–{max_b:.0} | {:.0} |",
        med_b / n
    );
    println!("\nrunBatch / sequential = {:.2}", med_b / med_s);
}
