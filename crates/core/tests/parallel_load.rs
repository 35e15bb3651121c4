//! `LoadOptions::parallel_load`: the vision graph on its own thread gives the same model, and
//! errors come in the same order as a sequential load (decoder, vision, embeddings, text encoder).

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use florence2_core::{Error, Florence2, LoadOptions, ModelGraph};

fn load(folder: &Path, parallel_load: bool) -> Result<Florence2, Error> {
    Florence2::load(
        folder,
        &LoadOptions {
            parallel_load,
            ..LoadOptions::default()
        },
    )
}

#[test]
fn parallel_and_sequential_loads_give_the_same_model() {
    let sequential = load(&common::fixture_model(), false).unwrap();
    let parallel = load(&common::fixture_model(), true).unwrap();
    assert_eq!(sequential.execution_providers(), parallel.execution_providers());
    let order: Vec<ModelGraph> = parallel.execution_providers().iter().map(|p| p.graph).collect();
    assert_eq!(order, ModelGraph::ALL.to_vec());
    assert_eq!(
        common::caption_ids(&sequential, 2),
        common::caption_ids(&parallel, 2)
    );
}

fn break_graph(dir: &Path, file: &str) {
    let graph = dir.join("onnx").join(file);
    std::fs::remove_file(&graph).unwrap();
    std::fs::write(&graph, b"not an onnx file").unwrap();
}

#[test]
fn errors_come_in_the_sequential_order() {
    let failing = |dir: &Path, parallel: bool| match load(dir, parallel) {
        Err(Error::SessionLoad { graph, .. }) => graph,
        other => panic!("expected a SessionLoad error, got {other:?}"),
    };
    // Vision alone broken: named, whichever thread loaded it.
    let dir = common::fixture_copy(true);
    break_graph(dir.path(), "vision_encoder.onnx");
    for parallel in [false, true] {
        assert_eq!(
            failing(dir.path(), parallel),
            ModelGraph::VisionEncoder,
            "parallel {parallel}"
        );
    }
    // Decoder and vision broken: the decoder (loaded first) is reported either way.
    break_graph(dir.path(), "decoder_model_merged.onnx");
    for parallel in [false, true] {
        assert_eq!(
            failing(dir.path(), parallel),
            ModelGraph::Decoder,
            "parallel {parallel}"
        );
    }
    // Text encoder broken, vision fine: the text encoder, also when vision loads meanwhile.
    let dir = common::fixture_copy(true);
    break_graph(dir.path(), "encoder_model.onnx");
    for parallel in [false, true] {
        assert_eq!(
            failing(dir.path(), parallel),
            ModelGraph::TextEncoder,
            "parallel {parallel}"
        );
    }
}
