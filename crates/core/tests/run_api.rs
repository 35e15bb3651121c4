//! The task API end to end on the fixture: images from files, streaming, cancellation, option
//! validation, and post-processed results equal to the reference's.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use florence2_core::generate::NoObserver;
use florence2_core::{CancelFlag, Error, Florence2, LoadOptions, RunOptions, Task, TaskRequest, TextStream};
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

fn load() -> Florence2 {
    Florence2::load(&fixtures().join("tiny-random"), &LoadOptions::default()).unwrap()
}

fn greedy(n: usize) -> RunOptions {
    RunOptions {
        max_new_tokens: Some(n),
        num_beams: Some(1),
        resize_mode: None,
    }
}

fn request(task: Task, text: Option<&str>, options: &RunOptions) -> TaskRequest {
    TaskRequest::with_text(task, text).with_options(options.clone())
}

#[test]
fn file_to_result_matches_the_reference_end_to_end() {
    // Decoding the PNG, Pillow-exact resize, normalisation, generation and post-processing together.
    let reference: Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("reference/tiny-random.json")).unwrap(),
    )
    .unwrap();
    let model = load();
    let case = reference["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["image"] == "chelsea_451x300.png" && c["task"] == "<OD>")
        .unwrap();
    let image = florence2_preprocess::open(fixtures().join("images/chelsea_451x300.png")).unwrap();
    let encoded = model.encode_image(image.view(), &CancelFlag::new()).unwrap();
    let task: Task = "<OD>".parse().unwrap();
    let run = model
        .run_encoded(
            &encoded,
            &request(
                task,
                None,
                &greedy(case["max_new_tokens"].as_u64().unwrap() as usize),
            ),
            &CancelFlag::new(),
            &mut NoObserver,
        )
        .unwrap();
    let want: Vec<u32> = case["greedy"]["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as u32)
        .collect();
    assert_eq!(run.generated.ids, want);
    assert_eq!(run.text, case["greedy"]["text"].as_str().unwrap());
    assert_eq!(
        run.output.to_json(task)["<OD>"]["labels"],
        case["greedy"]["result"]["<OD>"]["labels"]
    );
}

#[test]
fn streaming_reports_every_step_and_ends_with_the_final_text() {
    let model = load();
    let image = florence2_preprocess::open(fixtures().join("images/coffee_600x400.png")).unwrap();
    let encoded = model.encode_image(image.view(), &CancelFlag::new()).unwrap();
    let mut texts: Vec<String> = Vec::new();
    let mut stream = TextStream::new(model.tokenizer().clone(), |text: &str, _id| {
        texts.push(text.to_string());
        true
    });
    let run = model
        .run_encoded(
            &encoded,
            &request(Task::Caption, None, &greedy(24)),
            &CancelFlag::new(),
            &mut stream,
        )
        .unwrap();
    assert_eq!(texts.len(), run.generated.steps);
    assert_eq!(texts.last().unwrap(), &run.text);
    assert!(texts.windows(2).all(|w| w[1].len() >= w[0].len()));
}

#[test]
fn cancellation_from_the_callback_and_the_flag() {
    let model = load();
    let image = florence2_preprocess::open(fixtures().join("images/coffee_600x400.png")).unwrap();
    let encoded = model.encode_image(image.view(), &CancelFlag::new()).unwrap();
    let mut seen = 0;
    let mut stop_after_3 = |_: &[u32]| {
        seen += 1;
        seen < 3
    };
    let err = model
        .run_encoded(
            &encoded,
            &request(Task::Caption, None, &greedy(50)),
            &CancelFlag::new(),
            &mut stop_after_3,
        )
        .unwrap_err();
    assert!(matches!(err, Error::Cancelled));
    assert_eq!(seen, 3, "stopped within one step");
    let cancel = CancelFlag::new();
    cancel.cancel();
    let err = model
        .run_encoded(
            &encoded,
            &request(Task::Caption, None, &greedy(50)),
            &cancel,
            &mut NoObserver,
        )
        .unwrap_err();
    assert!(matches!(err, Error::Cancelled));
    // The model stays usable afterwards.
    model
        .run_encoded(
            &encoded,
            &request(Task::Caption, None, &greedy(5)),
            &CancelFlag::new(),
            &mut NoObserver,
        )
        .unwrap();
}

#[test]
fn invalid_requests_are_typed_errors() {
    let model = load();
    let image = florence2_preprocess::open(fixtures().join("images/coffee_tiny_23x17.png")).unwrap();
    let encoded = model.encode_image(image.view(), &CancelFlag::new()).unwrap();
    let cancel = CancelFlag::new();
    let run = |task: Task, text: Option<&str>, options: RunOptions| {
        model
            .run_encoded(&encoded, &request(task, text, &options), &cancel, &mut NoObserver)
            .unwrap_err()
    };
    assert!(matches!(
        run(Task::Caption, None, greedy(0)),
        Error::InvalidOption {
            option: "max_new_tokens",
            ..
        }
    ));
    assert!(matches!(
        run(Task::Caption, None, greedy(5000)),
        Error::InvalidOption {
            option: "max_new_tokens",
            ..
        }
    ));
    // Exactly the decoder's 1024 positions is allowed (the default), one more is not.
    assert!(matches!(
        run(Task::Caption, None, greedy(1025)),
        Error::InvalidOption {
            option: "max_new_tokens",
            ..
        }
    ));
    let zero_beams = RunOptions {
        num_beams: Some(0),
        ..greedy(5)
    };
    assert!(matches!(
        run(Task::Caption, None, zero_beams),
        Error::InvalidOption {
            option: "num_beams",
            ..
        }
    ));
    assert!(matches!(
        run(Task::CaptionToPhraseGrounding, None, greedy(5)),
        Error::Task(_)
    ));
    assert!(matches!(
        run(Task::Caption, Some("extra"), greedy(5)),
        Error::Task(_)
    ));
    let long = "word ".repeat(2000);
    let err = run(Task::CaptionToPhraseGrounding, Some(&long), greedy(5));
    assert!(
        matches!(
            &err,
            Error::PromptTooLong {
                image_tokens: 26,
                max_positions: 1024,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn default_options_fit_a_model_with_1024_positions_and_no_max_length() {
    // Every real Florence-2 (and the fixture): 1024 positions, no max_length in
    // generation_config.json. The defaults must work: 1024 new tokens, 3 beams.
    let model = load();
    assert_eq!(model.config().max_position_embeddings, 1024);
    assert_eq!(model.generation_config().max_length, None);
    let plan = model
        .plan(&florence2_core::TaskRequest::new(Task::ObjectDetection), None)
        .unwrap();
    assert_eq!(plan.search.max_new_tokens, 1024);
    assert_eq!(plan.search.num_beams, 3);
    assert_eq!(plan.search.processors.max_length, 1025);
}

#[test]
fn wrong_pixel_buffer_is_refused() {
    let model = load();
    let err = model
        .encode_pixels(&[0.0; 10], (160, 160), (10, 10), &CancelFlag::new())
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }));
}

#[test]
fn cancel_from_another_thread_stops_within_a_step() {
    let model = load();
    let image = florence2_preprocess::open(fixtures().join("images/coffee_600x400.png")).unwrap();
    let cancel = CancelFlag::new();
    let encoded = model.encode_image(image.view(), &cancel).unwrap();
    let remote = cancel.clone();
    let mut steps = 0;
    let mut observer = |_: &[u32]| {
        steps += 1;
        if steps == 2 {
            // Cancel from another thread, as the SDK does when a coroutine is cancelled.
            let r = remote.clone();
            std::thread::spawn(move || r.cancel()).join().unwrap();
        }
        true
    };
    let options = RunOptions {
        max_new_tokens: Some(100),
        num_beams: Some(3),
        resize_mode: None,
    };
    let err = model
        .run_encoded(
            &encoded,
            &request(Task::Caption, None, &options),
            &cancel,
            &mut observer,
        )
        .unwrap_err();
    assert!(matches!(err, Error::Cancelled), "{err:?}");
    assert!(steps <= 3, "{steps} steps ran after cancelling at step 2");
    // A cancelled flag poisons nothing: a fresh flag runs normally.
    model
        .run_encoded(
            &encoded,
            &request(Task::Caption, None, &greedy(4)),
            &CancelFlag::new(),
            &mut NoObserver,
        )
        .unwrap();
}
