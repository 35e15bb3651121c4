//! The low-memory mode (`MemoryMode::Low`, docs/memory.md): the same tokens as the standard mode
//! on the stock and the optimised fixture (greedy, beam, `run_encoded`, `run_batch`), never both
//! halves loaded, streaming and cancellation unchanged, contradictory options refused before
//! anything loads, and a broken graph still refused by `load`. The standard mode's ids are the
//! reference here; reference_parity.rs checks those against transformers.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::{fixture_copy, fixture_model, fixtures, optimised_fixture};
use florence2_core::generate::NoObserver;
use florence2_core::{
    CancelFlag, Error, Florence2, ImageInput, LoadOptions, MemoryMode, Precision, PrecisionPlan,
    ResidentHalves, RunOptions, Task, TaskRequest,
};

fn caption(beams: usize, tokens: usize) -> TaskRequest {
    TaskRequest::new(Task::Caption).with_options(RunOptions {
        max_new_tokens: Some(tokens),
        num_beams: Some(beams),
        resize_mode: None,
    })
}

fn images() -> Vec<ImageInput> {
    ["chelsea_451x300.png", "coffee_600x400.png", "chelsea_451x300.png"]
        .iter()
        .map(|name| ImageInput::File(fixtures().join("images").join(name)))
        .collect()
}

fn load(dir: &Path, memory_mode: MemoryMode, precision: Precision) -> Florence2 {
    let options = LoadOptions {
        memory_mode,
        precision: PrecisionPlan::uniform(precision),
        ..LoadOptions::default()
    };
    Florence2::load(dir, &options).unwrap()
}

const BOTH: ResidentHalves = ResidentHalves {
    vision: true,
    text: true,
};
const VISION: ResidentHalves = ResidentHalves {
    vision: true,
    text: false,
};
const TEXT: ResidentHalves = ResidentHalves {
    vision: false,
    text: true,
};

/// Every call of the API on `model`, greedy and beam: the ids of each, and the halves loaded
/// after each (`None` where a call gave no ids).
fn every_call(model: &Florence2) -> Vec<(Vec<Vec<u32>>, ResidentHalves)> {
    let cancel = CancelFlag::new();
    let mut seen = vec![(Vec::new(), model.resident_halves())];
    for beams in [1usize, 3] {
        let request = caption(beams, 12);
        let run = model
            .run(&images()[1], &request, &cancel, &mut NoObserver)
            .unwrap();
        seen.push((vec![run.generated.ids], model.resident_halves()));
        let encoded = model.encode(&images()[0], None, &cancel).unwrap();
        seen.push((Vec::new(), model.resident_halves()));
        // Two tasks on one encoded image: the second reloads nothing.
        let mut ids = Vec::new();
        for task in [Task::Caption, Task::DetailedCaption] {
            let request = TaskRequest::new(task).with_options(request.options.clone());
            let run = model
                .run_encoded(&encoded, &request, &cancel, &mut NoObserver)
                .unwrap();
            ids.push(run.generated.ids);
        }
        seen.push((ids, model.resident_halves()));
        let batch = model.run_batch(&images(), &request, &cancel).unwrap();
        seen.push((
            batch.into_iter().map(|run| run.generated.ids).collect(),
            model.resident_halves(),
        ));
    }
    seen
}

fn same_tokens_and_one_half_at_a_time(folder: &Path, precision: Precision) {
    let standard = every_call(&load(folder, MemoryMode::Standard, precision));
    let low_model = load(folder, MemoryMode::Low, precision);
    assert_eq!(low_model.memory_mode(), MemoryMode::Low);
    let low = every_call(&low_model);
    assert_eq!(standard.len(), low.len());
    for (i, ((ids_standard, halves_standard), (ids_low, halves_low))) in standard.iter().zip(&low).enumerate()
    {
        assert_eq!(
            ids_standard, ids_low,
            "call {i}: the low-memory mode changed the tokens"
        );
        assert!(ids_low.iter().all(|ids| ids.len() > 1), "call {i}: {ids_low:?}");
        assert_eq!(
            *halves_standard, BOTH,
            "call {i}: the standard mode keeps everything"
        );
        // After load and after encoding: the vision half; after generating: the text half.
        let expected = if i == 0 || ids_low.is_empty() {
            VISION
        } else {
            TEXT
        };
        assert_eq!(*halves_low, expected, "call {i}");
    }
}

#[test]
fn stock_layout_same_tokens_with_one_half_loaded_at_a_time() {
    same_tokens_and_one_half_at_a_time(&fixture_model(), Precision::Fp32);
}

#[test]
fn optimised_layout_same_tokens_with_one_half_loaded_at_a_time() {
    let folder = optimised_fixture("tiny-random");
    for precision in [Precision::Fp32, Precision::Int8] {
        let model = load(&folder, MemoryMode::Low, precision);
        assert!(model.uses_decoder_step(), "known while the decoder is unloaded");
        drop(model);
        same_tokens_and_one_half_at_a_time(&folder, precision);
    }
}

#[test]
fn streaming_and_cancellation_work_in_the_low_memory_mode() {
    for folder in [fixture_model(), optimised_fixture("tiny-random")] {
        let standard = load(&folder, MemoryMode::Standard, Precision::Fp32);
        let model = load(&folder, MemoryMode::Low, Precision::Fp32);
        for beams in [1usize, 3] {
            let request = caption(beams, 16);
            let mut stream_standard = Vec::new();
            let mut stream_low = Vec::new();
            let a = standard
                .run(
                    &images()[0],
                    &request,
                    &CancelFlag::new(),
                    &mut |ids: &[u32]| {
                        stream_standard.push(ids.to_vec());
                        true
                    },
                )
                .unwrap();
            let b = model
                .run(
                    &images()[0],
                    &request,
                    &CancelFlag::new(),
                    &mut |ids: &[u32]| {
                        stream_low.push(ids.to_vec());
                        true
                    },
                )
                .unwrap();
            assert_eq!(a.generated, b.generated, "{}: {beams} beam(s)", folder.display());
            assert_eq!(stream_standard, stream_low, "the streamed steps");

            // The listener stops the call at its third step: nothing is delivered after it.
            let mut seen = 0;
            let error = model
                .run(&images()[1], &request, &CancelFlag::new(), &mut |_: &[u32]| {
                    seen += 1;
                    seen < 3
                })
                .unwrap_err();
            assert!(matches!(error, Error::Cancelled), "{error:?}");
            assert_eq!(seen, 3);
            assert_eq!(model.resident_halves(), TEXT);

            // Cancelled before the call: no graph runs and no half is swapped.
            let cancel = CancelFlag::new();
            cancel.cancel();
            let before = model.vision_runs();
            assert!(matches!(
                model.run(&images()[0], &request, &cancel, &mut NoObserver),
                Err(Error::Cancelled)
            ));
            assert_eq!(model.vision_runs(), before);

            // The next call reloads what it needs and gives the same result again.
            let again = model
                .run(&images()[0], &request, &CancelFlag::new(), &mut NoObserver)
                .unwrap();
            assert_eq!(again.generated, a.generated);
        }
    }
}

#[test]
fn contradictory_options_are_refused_before_anything_loads() {
    // A folder that does not exist: the option error comes first, so nothing was opened.
    let missing = Path::new("/nonexistent/florence2-model");
    for (options, mentions) in [
        (
            LoadOptions {
                memory_mode: MemoryMode::Low,
                parallel_load: true,
                ..LoadOptions::default()
            },
            "parallel_load",
        ),
        (
            LoadOptions {
                memory_mode: MemoryMode::Low,
                release_vision_memory: false,
                ..LoadOptions::default()
            },
            "release_vision_memory",
        ),
    ] {
        let error = Florence2::load(missing, &options).unwrap_err();
        match &error {
            Error::InvalidOption { option, detail } => {
                assert_eq!(*option, "memory_mode");
                assert!(detail.contains(mentions), "{detail}");
            }
            other => panic!("expected InvalidOption, got {other:?}"),
        }
        assert!(options.validate().is_err());
    }
    // Each alone is fine (the folder error shows validation passed).
    for options in [
        LoadOptions {
            parallel_load: true,
            ..LoadOptions::default()
        },
        LoadOptions {
            release_vision_memory: false,
            ..LoadOptions::default()
        },
        LoadOptions {
            memory_mode: MemoryMode::Low,
            ..LoadOptions::default()
        },
    ] {
        assert!(options.validate().is_ok());
        assert!(matches!(
            Florence2::load(missing, &options),
            Err(Error::ModelFolder { .. })
        ));
    }
}

#[test]
fn a_broken_text_graph_still_fails_at_load() {
    // The low-memory mode unloads the text half after load; it must still have been checked.
    let copy = fixture_copy(false);
    std::fs::write(copy.path().join("onnx/encoder_model.onnx"), b"not an onnx graph").unwrap();
    let options = LoadOptions {
        memory_mode: MemoryMode::Low,
        ..LoadOptions::default()
    };
    match Florence2::load(copy.path(), &options) {
        Err(Error::SessionLoad { path, .. }) => {
            assert!(path.ends_with("encoder_model.onnx"), "{}", path.display())
        }
        other => panic!("expected SessionLoad naming encoder_model.onnx, got {other:?}"),
    }
}
