//! The decoder's position limit, proven against transformers.
//!
//! `tests/fixtures/tiny-positions` has 64 learned decoder positions and a generation_config with
//! no length limit, like every real Florence-2 (1024 positions). transformers generated 64 new
//! tokens on it (the last one predicted from position 63) and failed with an `IndexError` when
//! asked for 65 (`reference/tiny-positions.json`, written by `models/reference.py
//! --probe-beyond-limit`). So must we: with no options the limit is the default, every sequence
//! equals transformers' up to the last token, and 65 is a typed error found before any model runs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "common/reference.rs"]
mod reference;

use common::fixtures;
use florence2_core::generate::NoObserver;
use florence2_core::{
    CancelFlag, Error, FinishReason, Florence2, LoadOptions, RunOptions, Task, TaskInput, TaskRequest,
};
use reference::{ids_of, read_json, reference_pixel_values};

const POSITIONS: usize = 64;

fn load() -> Florence2 {
    Florence2::load(&fixtures().join("tiny-positions"), &LoadOptions::default()).unwrap()
}

/// The fixture converted by `models/optimize.py`: its decoder runs as `decoder_step` over a cache
/// of the request's positions.
fn load_optimised() -> Florence2 {
    let model = Florence2::load(
        &common::optimised_fixture("tiny-positions"),
        &LoadOptions::default(),
    )
    .unwrap();
    assert!(model.uses_decoder_step());
    model
}

fn request(case: &serde_json::Value, options: RunOptions) -> TaskRequest {
    let task: Task = case["task"].as_str().unwrap().parse().unwrap();
    TaskRequest::with_text(task, case["text_input"].as_str()).with_options(options)
}

#[test]
fn generation_reaches_the_last_position_exactly_as_transformers_does() {
    reaches_the_last_position(load());
}

#[test]
fn the_optimised_decoder_reaches_the_last_position_exactly_as_transformers_does() {
    reaches_the_last_position(load_optimised());
}

#[test]
fn the_optimised_decoder_refuses_one_token_past_the_limit() {
    refuses_one_past(load_optimised());
}

fn reaches_the_last_position(model: Florence2) {
    let fix = fixtures();
    let reference = read_json(&fix.join("reference/tiny-positions.json"));
    let pre = read_json(&fix.join("tiny-positions/preprocessor_config.json"));
    assert_eq!(model.config().max_position_embeddings, POSITIONS);
    assert_eq!(model.generation_config().max_length, None);
    assert_eq!(model.generation_config().max_new_tokens, None);

    let mut at_the_limit = 0;
    for image in reference["images"].as_array().unwrap() {
        let file = image["file"].as_str().unwrap();
        let (pv, h, w) = reference_pixel_values(
            &fix.join("reference").join(image["resized_png"].as_str().unwrap()),
            &pre,
        );
        let size = (
            image["width"].as_u64().unwrap() as u32,
            image["height"].as_u64().unwrap() as u32,
        );
        let encoded = model
            .encode_pixels(&pv, (w, h), size, &CancelFlag::new())
            .unwrap();
        for case in reference["cases"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["image"] == file)
        {
            assert_eq!(case["max_new_tokens"].as_u64(), Some(POSITIONS as u64));
            for (kind, beams) in [("greedy", 1), ("beam", 3)] {
                // No token limit given: the model's default is its number of positions.
                let options = RunOptions {
                    num_beams: Some(beams),
                    ..RunOptions::default()
                };
                let plan = model.plan(&request(case, options), Some(size)).unwrap();
                assert_eq!(plan.search.max_new_tokens, POSITIONS);
                let run = model
                    .run_plan(&encoded, &plan, &CancelFlag::new(), &mut NoObserver)
                    .unwrap();
                let want = ids_of(&case[kind]["ids"]);
                assert_eq!(run.generated.ids, want, "{file} {} {kind}", case["task"]);
                if case[kind]["finish"] == "length" {
                    assert_eq!(run.generated.ids.len(), POSITIONS + 1);
                    assert_eq!(run.generated.finish, FinishReason::MaxTokens);
                    at_the_limit += 1;
                }
            }
        }
    }
    // Most random sequences run to the limit; the proof needs them.
    assert!(
        at_the_limit >= 6,
        "only {at_the_limit} sequences reached the limit"
    );
}

#[test]
fn one_token_past_the_limit_is_refused_as_transformers_fails_on_it() {
    refuses_one_past(load());
}

fn refuses_one_past(model: Florence2) {
    let reference = read_json(&fixtures().join("reference/tiny-positions.json"));
    let probes: Vec<_> = reference["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c.get("beyond_limit").map(|probe| (c, probe)))
        .collect();
    assert!(!probes.is_empty(), "the reference has no probe past the limit");
    for (case, probe) in probes {
        assert_eq!(probe["max_new_tokens"].as_u64(), Some(POSITIONS as u64 + 1));
        let error = probe["error"]
            .as_str()
            .expect("transformers succeeded past the limit");
        assert!(error.starts_with("IndexError"), "{error}");

        let beyond = RunOptions {
            max_new_tokens: Some(POSITIONS + 1),
            ..RunOptions::default()
        };
        match model.plan(&request(case, beyond), None) {
            Err(Error::InvalidOption { option, detail }) => {
                assert_eq!(option, "max_new_tokens");
                assert!(
                    detail.contains("65 exceeds the decoder's 64 positions"),
                    "{detail}"
                );
            }
            other => panic!("expected InvalidOption, got {other:?}"),
        }
        let at = RunOptions {
            max_new_tokens: Some(POSITIONS),
            ..RunOptions::default()
        };
        assert!(model.plan(&request(case, at), None).is_ok());
    }
    // Planning is all it took: the vision encoder never ran.
    assert_eq!(model.vision_runs(), 0);
}

#[test]
fn prompts_are_checked_against_the_encoder_positions_left_by_the_image() {
    let model = load();
    let planner = model.planner();
    // 160 px / stride 32 = 5 x 5 cells + 1 global token.
    assert_eq!(planner.image_tokens(), 26);
    assert_eq!(planner.max_prompt_tokens(), POSITIONS - 26);
    // "Locate the phrases in the caption: " + n words: find the longest that fits, then one more.
    let fits = |n: usize| {
        let text = "cat ".repeat(n);
        model.plan(
            &TaskRequest::with_text(Task::CaptionToPhraseGrounding, Some(text.trim_end())),
            None,
        )
    };
    let longest = (1..64).take_while(|&n| fits(n).is_ok()).last().unwrap();
    let plan = fits(longest).unwrap();
    assert!(plan.input_ids.len() <= POSITIONS - 26);
    match fits(longest + 1) {
        Err(Error::PromptTooLong {
            prompt_tokens,
            image_tokens,
            max_positions,
        }) => {
            assert_eq!((image_tokens, max_positions), (26, POSITIONS));
            assert!(prompt_tokens > POSITIONS - 26);
        }
        other => panic!("expected PromptTooLong, got {other:?}"),
    }
    // A region's prompt is measured before the image size is known.
    let region = TaskRequest {
        task: Task::RegionToDescription,
        input: TaskInput::Region(florence2_core::task::PixelBox::new(1.0, 2.0, 30.0, 40.0)),
        options: RunOptions::default(),
    };
    let early = model.plan(&region, None).unwrap();
    let late = model.plan(&region, Some((100, 100))).unwrap();
    assert_eq!(early.input_ids.len(), late.input_ids.len());
    assert_eq!(
        late.prompt,
        "What does the region <loc_10><loc_20><loc_300><loc_400> describe?"
    );
}
