//! The call a new user makes first: `Florence2.create(dir, Florence2Options())` and a task with no
//! optional argument, on a model shaped like the real ones (1024 decoder positions, no
//! `max_length` in generation_config.json, 3 beams by default).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Tasks;

use common::{block, fixture_dir, good_image};
use florence2_sdk::{FinishReason, Florence2Engine, Florence2Options, Task, TaskOutput};

#[test]
fn default_options_load_and_run_every_kind_of_call() {
    let model = block(Florence2Engine::create(
        fixture_dir(),
        Florence2Options::default(),
    ))
    .expect("the default options must load a 1024-position model");
    let od = block(model.run_task(good_image(), Task::ObjectDetection, None)).expect("a default <OD> call");
    // Decoder start, forced <s>, then at most 1024 new tokens in all (beam search by default).
    assert_eq!(od.generated_ids[..2], [2, 0]);
    assert!(od.generated_ids.len() <= 1025, "{}", od.generated_ids.len());
    if od.generated_ids.len() == 1025 {
        assert_eq!(od.finish_reason, FinishReason::MaxTokens);
    }
    assert!(matches!(od.output, TaskOutput::Boxes { .. }), "{:?}", od.output);
    // The same call through an encoded image gives the same ids.
    let encoded = block(model.encode(good_image(), None)).unwrap();
    let again = block(model.run_encoded_task(encoded, Task::ObjectDetection, None)).unwrap();
    assert_eq!(again.generated_ids, od.generated_ids);
}
