//! Token-exact parity with the PyTorch reference on the committed fixture: every greedy and beam
//! sequence of `tests/fixtures/reference/tiny-random.json` (written by transformers), decoded text
//! included. Pixels come from the reference's own Pillow-resized images, so this test isolates the
//! engine from the resize step (the preprocess crate has its own bit-exactness tests).
//!
//! The same check runs on the fixture converted by `models/optimize.py` (our optimised vision
//! and decoder layouts, loaded with no extra option, the decoder driven as `decoder_step`): the
//! optimised folder must stay token-exact too. It is written by the tool in the test run (needs
//! the model-tool venv, `scripts/setup.sh`; see `common::optimised_fixture`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "common/reference.rs"]
mod reference;

use std::path::Path;

use common::fixtures;
use florence2_core::{CancelFlag, FinishReason, Florence2, LoadOptions, RunOptions};
use reference::{ids_of, read_json, reference_pixel_values};

#[test]
fn every_reference_sequence_is_reproduced() {
    check_every_reference_sequence(&fixtures().join("tiny-random"), false);
}

#[test]
fn optimised_folder_reproduces_every_reference_sequence() {
    let out = common::optimised_fixture("tiny-random");
    // The folder really holds our layout: a graph written by optimize.py, not a copy of the stock one.
    let report = std::fs::read_to_string(out.join("optimize_report.json")).unwrap();
    assert!(report.contains("optimised vision_encoder layout"), "{report}");
    assert_ne!(
        std::fs::read(out.join("onnx/vision_encoder.onnx")).unwrap(),
        std::fs::read(fixtures().join("tiny-random/onnx/vision_encoder.onnx")).unwrap()
    );
    check_every_reference_sequence(&out, true);
}

/// `step_decoder`: whether the folder's decoder must be the optimised layout (`decoder_step`).
fn check_every_reference_sequence(model_dir: &Path, step_decoder: bool) {
    let fix = fixtures();
    let reference = read_json(&fix.join("reference/tiny-random.json"));
    let pre = read_json(&model_dir.join("preprocessor_config.json"));
    let model = Florence2::load(model_dir, &LoadOptions::default()).expect("load fixture");
    assert_eq!(
        model.uses_decoder_step(),
        step_decoder,
        "decoder layout of {}",
        model_dir.display()
    );

    let mut checked = (0, 0);
    let mut failures = Vec::new();
    for image in reference["images"].as_array().unwrap() {
        let file = image["file"].as_str().unwrap();
        let (pv, h, w) = reference_pixel_values(
            &fix.join("reference").join(image["resized_png"].as_str().unwrap()),
            &pre,
        );
        let (width, height) = (
            image["width"].as_u64().unwrap() as u32,
            image["height"].as_u64().unwrap() as u32,
        );
        // Encode once, run every task on the same encoded image.
        let encoded = model
            .encode_pixels(&pv, (w, h), (width, height), &CancelFlag::new())
            .expect("vision encoder");
        for case in reference["cases"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["image"] == file)
        {
            let task = case["task"].as_str().unwrap();
            let ids: Vec<i64> = case["input_ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_i64().unwrap())
                .collect();
            assert_eq!(
                model
                    .tokenizer()
                    .encode(case["prompt"].as_str().unwrap())
                    .unwrap(),
                ids,
                "{file} {task} prompt ids"
            );
            let max_new_tokens = case["max_new_tokens"].as_u64().map(|v| v as usize);
            for (kind, beams) in [("greedy", 1usize), ("beam", 3)] {
                let Some(expected) = case.get(kind) else { continue };
                let options = RunOptions {
                    max_new_tokens,
                    num_beams: Some(beams),
                    resize_mode: None,
                };
                let search = model.search_options(&options).expect("options");
                let (generated, _) = model
                    .generate(
                        &encoded,
                        &ids,
                        &search,
                        &CancelFlag::new(),
                        &mut florence2_core::generate::NoObserver,
                    )
                    .expect("generate");
                let want = ids_of(&expected["ids"]);
                if generated.ids != want {
                    let at = generated
                        .ids
                        .iter()
                        .zip(&want)
                        .position(|(a, b)| a != b)
                        .unwrap_or(want.len().min(generated.ids.len()));
                    failures.push(format!(
                        "{file} {task} {kind}: first difference at {at} (len {} vs {})",
                        generated.ids.len(),
                        want.len()
                    ));
                    continue;
                }
                let text = model.tokenizer().decode(&generated.ids).unwrap();
                assert_eq!(
                    text,
                    expected["text"].as_str().unwrap(),
                    "{file} {task} {kind} text"
                );
                let finish = if expected["finish"] == "eos" {
                    FinishReason::Eos
                } else {
                    FinishReason::MaxTokens
                };
                assert_eq!(generated.finish, finish, "{file} {task} {kind} finish reason");
                if beams == 1 {
                    checked.0 += 1
                } else {
                    checked.1 += 1
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} sequences differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(checked, (105, 28), "greedy and beam cases checked");
}
