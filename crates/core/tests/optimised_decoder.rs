//! The optimised decoder layout (`decoder_step` + `decoder_cross_kv`, docs/decoder-layout.md)
//! behind the unchanged API: recognition from the folder's files, streaming, cancellation, beam
//! search and `run_encoded` give what the stock merged decoder gives on the same fixture (the
//! independent reference: transformers' ids are checked for both in reference_parity.rs), and the
//! int8 step reads its token rows from the file.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::{fixture_model, fixtures, optimised_fixture};
use florence2_core::generate::NoObserver;
use florence2_core::{
    CancelFlag, EmbeddingSource, Error, Florence2, INITIAL_CACHE_POSITIONS, ImageInput, LoadOptions,
    Precision, PrecisionPlan, RunOptions, Task, TaskRequest,
};

fn caption(beams: usize, tokens: usize) -> TaskRequest {
    TaskRequest::new(Task::Caption).with_options(RunOptions {
        max_new_tokens: Some(tokens),
        num_beams: Some(beams),
        resize_mode: None,
    })
}

fn image() -> ImageInput {
    ImageInput::File(fixtures().join("images/chelsea_451x300.png"))
}

fn load(dir: &Path) -> Florence2 {
    Florence2::load(dir, &LoadOptions::default()).unwrap()
}

#[test]
fn streaming_beam_search_and_run_encoded_match_the_stock_decoder() {
    let stock = load(&fixture_model());
    let optimised = load(&optimised_fixture("tiny-random"));
    assert!(optimised.uses_decoder_step() && !stock.uses_decoder_step());
    for beams in [1usize, 3] {
        let request = caption(beams, 24);
        let mut stream_stock = Vec::new();
        let mut stream_ours = Vec::new();
        let a = stock
            .run(&image(), &request, &CancelFlag::new(), &mut |ids: &[u32]| {
                stream_stock.push(ids.to_vec());
                true
            })
            .unwrap();
        let b = optimised
            .run(&image(), &request, &CancelFlag::new(), &mut |ids: &[u32]| {
                stream_ours.push(ids.to_vec());
                true
            })
            .unwrap();
        assert_eq!(a.generated, b.generated, "{beams} beam(s)");
        assert_eq!(a.text, b.text);
        assert_eq!(stream_stock, stream_ours, "{beams} beam(s): the streamed steps");
        assert_eq!(stream_ours.len(), b.generated.steps);
        // run_encoded on an image encoded once: the same result.
        let encoded = optimised.encode(&image(), None, &CancelFlag::new()).unwrap();
        let c = optimised
            .run_encoded(&encoded, &request, &CancelFlag::new(), &mut NoObserver)
            .unwrap();
        assert_eq!(c.generated, b.generated);
    }
}

#[test]
fn cancelling_from_the_stream_stops_the_optimised_decoder_and_it_runs_again() {
    let model = load(&optimised_fixture("tiny-random"));
    for beams in [1usize, 3] {
        let mut seen = 0;
        let error = model
            .run(
                &image(),
                &caption(beams, 24),
                &CancelFlag::new(),
                &mut |_: &[u32]| {
                    seen += 1;
                    seen < 3
                },
            )
            .unwrap_err();
        assert!(matches!(error, Error::Cancelled), "{error:?}");
        assert_eq!(seen, 3, "nothing is delivered after the listener said stop");
        // A cancelled flag before the call: nothing runs.
        let cancel = CancelFlag::new();
        cancel.cancel();
        let before = model.vision_runs();
        assert!(matches!(
            model.run(&image(), &caption(beams, 24), &cancel, &mut NoObserver),
            Err(Error::Cancelled)
        ));
        assert_eq!(model.vision_runs(), before);
        // The next request gets fresh buffers and completes.
        assert!(
            model
                .run(&image(), &caption(beams, 8), &CancelFlag::new(), &mut NoObserver)
                .is_ok()
        );
    }
}

#[test]
fn an_answer_longer_than_the_initial_cache_grows_it_and_matches_the_stock_decoder() {
    // The cache starts at INITIAL_CACHE_POSITIONS and doubles; the stock merged decoder (its own
    // growing cache, checked against transformers in reference_parity.rs) is the reference.
    let stock = load(&fixture_model());
    let optimised = load(&optimised_fixture("tiny-random"));
    let tokens = INITIAL_CACHE_POSITIONS + 44;
    for beams in [1usize, 3] {
        let request = caption(beams, tokens);
        let a = stock
            .run(&image(), &request, &CancelFlag::new(), &mut NoObserver)
            .unwrap();
        let b = optimised
            .run(&image(), &request, &CancelFlag::new(), &mut NoObserver)
            .unwrap();
        assert!(
            b.generated.steps > INITIAL_CACHE_POSITIONS,
            "{beams} beam(s): the answer must outgrow the initial cache to test its growth ({} steps)",
            b.generated.steps
        );
        assert_eq!(a.generated, b.generated, "{beams} beam(s)");
    }
}

#[test]
fn the_int8_step_reads_its_token_rows_from_the_file() {
    let options = LoadOptions {
        precision: PrecisionPlan::uniform(Precision::Int8),
        ..LoadOptions::default()
    };
    let model = Florence2::load(&optimised_fixture("tiny-random"), &options).unwrap();
    assert!(model.uses_decoder_step());
    match model.embedding_source() {
        EmbeddingSource::File { path } => {
            assert!(path.ends_with("token_table_int8.onnx_data"), "{}", path.display())
        }
        other => panic!("the int8 token table must be read from the file: {other:?}"),
    }
    let run = model
        .run(&image(), &caption(3, 16), &CancelFlag::new(), &mut NoObserver)
        .unwrap();
    assert!(run.generated.steps > 0);
}

/// Link every file of `from` into a new folder, except `skip` (names in `onnx/`).
fn linked_copy(from: &Path, skip: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::os::unix::fs::symlink(entry.path(), dir.path().join(entry.file_name())).unwrap();
        }
    }
    std::fs::create_dir(dir.path().join("onnx")).unwrap();
    for entry in std::fs::read_dir(from.join("onnx")).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        if !skip.contains(&name.as_str()) {
            std::os::unix::fs::symlink(entry.path(), dir.path().join("onnx").join(name)).unwrap();
        }
    }
    dir
}

#[test]
fn without_both_graphs_of_the_layout_the_merged_decoder_is_used() {
    let optimised = optimised_fixture("tiny-random");
    let half = linked_copy(&optimised, &["decoder_cross_kv.onnx"]);
    let model = load(half.path());
    assert!(!model.uses_decoder_step());
    assert!(model.files().decoder_step.is_none());
    // The step graph without its metadata is refused with a typed error naming the file.
    let wrong = linked_copy(&optimised, &["decoder_step.onnx"]);
    std::os::unix::fs::symlink(
        fixture_model().join("onnx/decoder_model_merged.onnx"),
        wrong.path().join("onnx/decoder_step.onnx"),
    )
    .unwrap();
    match Florence2::load(wrong.path(), &LoadOptions::default()) {
        Err(Error::Contract { path, detail, .. }) => {
            assert!(path.ends_with("decoder_step.onnx"), "{}", path.display());
            assert!(detail.contains("florence2.layout"), "{detail}");
        }
        other => panic!("expected a contract error, got {other:?}"),
    }
}
