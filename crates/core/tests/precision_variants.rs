//! Every precision variant that `models/quantize.py` writes (ONNX Runtime's own quantisation and
//! float16 tools, and static INT8 calibrated through the `florence2` CLI's preprocessing) loads
//! through the contract check and runs, alone and mixed per graph.
//! Needs the model-tool venv (`scripts/setup.sh`) and the `florence2` binary (built by
//! `cargo test --workspace` before tests run, or `cargo build -p florence2-cli`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

use florence2_core::generate::NoObserver;
use florence2_core::{
    CancelFlag, Florence2, LoadOptions, Precision, PrecisionPlan, RunOptions, Task, TaskRequest,
};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn quantized_fixture() -> tempfile::TempDir {
    let dir = common::fixture_copy(false);
    let python = root().join(".venv/bin/python");
    assert!(
        python.exists(),
        "the model-tool venv is missing: run scripts/setup.sh"
    );
    let status = Command::new(python)
        .arg(root().join("models/quantize.py"))
        .arg("--model")
        .arg(dir.path())
        .args(["--precision", "int8", "uint8", "q8", "fp16", "q4", "static_int8"])
        // Static INT8: two calibration images, four decoder steps each (the test is about loading).
        .args(["--calib-count", "2", "--calib-max-new-tokens", "4"])
        .status()
        .unwrap();
    assert!(status.success(), "models/quantize.py failed");
    dir
}

#[test]
fn every_written_precision_loads_and_runs() {
    let dir = quantized_fixture();
    let image = florence2_preprocess::open(root().join("tests/fixtures/images/chelsea_451x300.png")).unwrap();
    let options = RunOptions {
        max_new_tokens: Some(16),
        num_beams: Some(1),
        resize_mode: None,
    };
    let mut fp32_ids = None;
    let mut plans: Vec<(String, PrecisionPlan)> = [
        Precision::Fp32,
        Precision::Int8,
        Precision::Uint8,
        Precision::Quantized,
        Precision::Fp16,
        Precision::Q4,
        Precision::StaticInt8,
    ]
    .into_iter()
    .map(|p| (p.name().to_string(), PrecisionPlan::uniform(p)))
    .collect();
    plans.push((
        "fp16 vision + int8 encoder + q4 decoder".into(),
        PrecisionPlan {
            vision_encoder: Precision::Fp16,
            embed_tokens: Precision::Fp32,
            text_encoder: Precision::Int8,
            decoder: Precision::Q4,
        },
    ));
    plans.push((
        "static int8 vision + dynamic int8 decoder".into(),
        PrecisionPlan {
            vision_encoder: Precision::StaticInt8,
            embed_tokens: Precision::StaticInt8,
            text_encoder: Precision::StaticInt8,
            decoder: Precision::Int8,
        },
    ));
    for (name, plan) in plans {
        let model = Florence2::load(
            dir.path(),
            &LoadOptions {
                precision: plan,
                ..Default::default()
            },
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        let encoded = model.encode_image(image.view(), &CancelFlag::new()).unwrap();
        let request = TaskRequest::new(Task::Caption).with_options(options.clone());
        let run = model
            .run_encoded(&encoded, &request, &CancelFlag::new(), &mut NoObserver)
            .unwrap();
        assert_eq!(run.generated.ids.len(), 17, "{name}");
        assert_eq!(&run.generated.ids[..2], &[2, 0], "{name}: forced BOS");
        if name == "fp32" {
            fp32_ids = Some(run.generated.ids.clone());
        } else if name == "fp16" {
            // float16 weights barely move this model's logits: the first tokens agree with fp32.
            assert_eq!(
                run.generated.ids[..6],
                fp32_ids.as_ref().unwrap()[..6],
                "fp16 vs fp32"
            );
        }
    }
}
