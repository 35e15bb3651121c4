//! The vision and text halves of a model run behind separate locks: concurrent calls and
//! `runBatch` overlap encoding with decoding. These tests check that the overlap changes no result
//! and that failures and cancellation inside a pipelined batch behave.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Tasks;

use std::time::Duration;

use common::{block, good_image, image_bytes, shared_model};
use florence2_sdk::{Florence2Error, ImageInput, Task, TaskResult};

const IMAGES: [&str; 4] = [
    "coffee_tiny_23x17.png",
    "chelsea_451x300.png",
    "hubble_strip_31x517.png",
    "logo_rgba_250x250.png",
];

fn image(name: &str) -> ImageInput {
    ImageInput::EncodedBytes {
        bytes: image_bytes(name),
    }
}

fn text_of(result: &TaskResult) -> String {
    format!("{:?}|{}", result.generated_ids, result.text)
}

fn sequential(task: Task) -> Vec<String> {
    let model = shared_model();
    IMAGES
        .iter()
        .map(|name| text_of(&block(model.run_task(image(name), task, None)).unwrap()))
        .collect()
}

#[test]
fn concurrent_calls_equal_sequential_calls() {
    let expected_od = sequential(Task::ObjectDetection);
    let expected_caption = sequential(Task::Caption);
    let model = shared_model();
    let results = block(async {
        let mut handles = Vec::new();
        for round in 0..2 {
            for (i, name) in IMAGES.iter().enumerate() {
                let model = model.clone();
                let task = if (i + round) % 2 == 0 {
                    Task::ObjectDetection
                } else {
                    Task::Caption
                };
                let input = image(name);
                handles.push(tokio::spawn(async move {
                    (i, task, model.run_task(input, task, None).await)
                }));
            }
        }
        let mut out = Vec::new();
        for handle in handles {
            out.push(handle.await.unwrap());
        }
        out
    });
    assert_eq!(results.len(), 8);
    for (i, task, result) in results {
        let expected = if task == Task::ObjectDetection {
            &expected_od[i]
        } else {
            &expected_caption[i]
        };
        assert_eq!(&text_of(&result.unwrap()), expected, "image {i}, {task:?}");
    }
}

#[test]
fn pipelined_batch_equals_sequential_calls_in_input_order() {
    let expected = sequential(Task::ObjectDetection);
    let model = shared_model();
    let batch = block(model.run_batch_task(
        IMAGES.iter().map(|n| image(n)).collect(),
        Task::ObjectDetection,
        None,
    ))
    .unwrap();
    let texts: Vec<String> = batch.iter().map(text_of).collect();
    assert_eq!(texts, expected);
    assert!(
        batch.iter().all(|r| r.timings.vision_ms > 0.0),
        "every batch item reports its vision time"
    );
}

#[test]
fn a_bad_image_mid_batch_names_its_index_and_the_model_stays_usable() {
    let model = shared_model();
    let images = vec![
        good_image(),
        good_image(),
        ImageInput::EncodedBytes {
            bytes: vec![0x89, b'P'],
        },
        good_image(),
    ];
    let err = block(model.run_batch_task(images, Task::Caption, None)).unwrap_err();
    assert!(matches!(err, Florence2Error::InvalidInput { .. }), "{err:?}");
    assert!(
        err.to_string().contains("image 2"),
        "the error names the failing index: {err}"
    );
    // Both halves of the model were released: a following call works.
    block(model.run_task(good_image(), Task::Caption, None)).unwrap();
}

#[test]
fn a_bad_request_fails_the_batch_before_any_image_and_the_model_stays_usable() {
    let model = shared_model();
    // Phrase grounding without its phrase: refused before image 0 is decoded or encoded
    // (bad_input_matrix.rs v02 counts the vision-encoder runs), so no image is named.
    let err = block(model.run_batch_task(
        vec![good_image(), good_image()],
        Task::CaptionToPhraseGrounding,
        None,
    ))
    .unwrap_err();
    assert!(err.to_string().contains("needs a text input"), "{err}");
    assert!(!err.to_string().contains("image 0"), "{err}");
    block(model.run_task(good_image(), Task::Caption, None)).unwrap();
}

#[test]
fn dropping_a_batch_future_cancels_it_and_frees_both_halves() {
    let model = shared_model();
    let images: Vec<ImageInput> = (0..40).map(|i| image(IMAGES[i % IMAGES.len()])).collect();
    let outcome = block(async {
        tokio::time::timeout(
            Duration::from_millis(30),
            model.run_batch_task(images, Task::ObjectDetection, None),
        )
        .await
    });
    assert!(
        outcome.is_err(),
        "40 images cannot finish in 30 ms; the timeout dropped the future"
    );
    // The blocking job notices the cancellation within one step and releases both locks.
    let result = block(async {
        tokio::time::timeout(
            Duration::from_secs(60),
            model.run_task(good_image(), Task::Caption, None),
        )
        .await
    });
    result
        .expect("the model is free again after a cancelled batch")
        .unwrap();
}
