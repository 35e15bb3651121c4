//! `Florence2Options.memoryMode` through the SDK: `LOW` gives the default mode's ids (core's
//! low_memory.rs checks the halves and the decoders in depth), and a contradictory combination is
//! a typed `InvalidInput` naming the option before anything loads.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Tasks;

use common::{block, fixture_dir, good_image, image_path, quick_options};
use florence2_sdk::{Florence2Engine, Florence2Error, Florence2Options, ImageInput, MemoryMode, Task};

fn captions(options: Florence2Options) -> Vec<Vec<i32>> {
    let model = block(Florence2Engine::create(fixture_dir(), options)).unwrap();
    let chelsea = ImageInput::FilePath {
        path: image_path("chelsea_451x300.png").display().to_string(),
    };
    let mut ids = Vec::new();
    for image in [good_image(), chelsea.clone(), good_image()] {
        ids.push(
            block(model.run_task(image, Task::Caption, None))
                .unwrap()
                .generated_ids,
        );
    }
    let encoded = block(model.encode(chelsea, None)).unwrap();
    ids.push(
        block(model.run_encoded_task(encoded, Task::DetailedCaption, None))
            .unwrap()
            .generated_ids,
    );
    ids
}

#[test]
fn the_low_memory_mode_gives_the_default_ids() {
    let standard = captions(quick_options());
    let low = captions(Florence2Options {
        memory_mode: Some(MemoryMode::Low),
        ..quick_options()
    });
    assert!(standard.iter().all(|ids| ids.len() > 2), "{standard:?}");
    assert_eq!(standard, low);
    let explicit = captions(Florence2Options {
        memory_mode: Some(MemoryMode::Standard),
        ..quick_options()
    });
    assert_eq!(standard, explicit);
}

#[test]
fn low_memory_with_kept_vision_memory_is_invalid_input() {
    let options = Florence2Options {
        memory_mode: Some(MemoryMode::Low),
        keep_vision_memory: true,
        ..quick_options()
    };
    // A folder that does not exist: the option is refused first.
    match block(Florence2Engine::create("/nonexistent/florence2".into(), options)) {
        Err(Florence2Error::InvalidInput { detail }) => {
            assert!(detail.contains("memory_mode"), "{detail}");
            assert!(detail.contains("release_vision_memory"), "{detail}");
        }
        Err(other) => panic!("expected InvalidInput, got {other:?}"),
        Ok(_) => panic!("expected InvalidInput, the model loaded"),
    }
}
