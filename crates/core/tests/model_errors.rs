//! Broken model folders give typed errors that name the file and the problem; never a panic.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

mod common;

use florence2_core::{Error, Florence2, LoadOptions, ModelGraph, Precision};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/tiny-random")
}

/// A copy of the fixture folder (ONNX files symlinked unless `replace` swaps one out).
fn folder_with(edit: impl FnOnce(&Path)) -> tempfile::TempDir {
    let dir = common::fixture_copy(true);
    edit(dir.path());
    dir
}

fn load(dir: &Path) -> Error {
    Florence2::load(dir, &LoadOptions::default()).expect_err("loading a broken folder must fail")
}

fn replace(dir: &Path, name: &str, bytes: &[u8]) {
    let p = dir.join("onnx").join(name);
    std::fs::remove_file(&p).ok();
    std::fs::write(p, bytes).unwrap();
}

#[test]
fn the_intact_fixture_loads() {
    Florence2::load(&fixture(), &LoadOptions::default()).expect("fixture loads");
}

#[test]
fn missing_folder() {
    assert!(matches!(
        load(Path::new("/nonexistent/model")),
        Error::ModelFolder { .. }
    ));
}

#[test]
fn missing_graph_lists_the_folder() {
    let dir = folder_with(|d| std::fs::remove_file(d.join("onnx/decoder_model_merged.onnx")).unwrap());
    let err = load(dir.path());
    let text = err.to_string();
    assert!(
        matches!(
            err,
            Error::ModelFileMissing {
                graph: ModelGraph::Decoder,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        text.contains("embed_tokens.onnx") && text.contains("decoder_model_merged.onnx"),
        "{text}"
    );
}

#[test]
fn missing_precision_variant() {
    let mut options = LoadOptions::default();
    options.precision.decoder = Precision::Int8;
    let err = Florence2::load(&fixture(), &options).unwrap_err();
    assert!(
        matches!(
            err,
            Error::ModelFileMissing {
                precision: Precision::Int8,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("decoder_model_merged_int8.onnx"));
}

#[test]
fn truncated_graph() {
    let bytes = std::fs::read(fixture().join("onnx/encoder_model.onnx")).unwrap();
    let dir = folder_with(|d| replace(d, "encoder_model.onnx", &bytes[..bytes.len() / 2]));
    let err = load(dir.path());
    assert!(
        matches!(
            err,
            Error::SessionLoad {
                graph: ModelGraph::TextEncoder,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("encoder_model.onnx"));
}

#[test]
fn not_onnx() {
    let dir = folder_with(|d| replace(d, "vision_encoder.onnx", b"<html>rate limited</html>"));
    assert!(matches!(
        load(dir.path()),
        Error::SessionLoad {
            graph: ModelGraph::VisionEncoder,
            ..
        }
    ));
}

#[test]
fn swapped_components() {
    let embed = std::fs::read(fixture().join("onnx/embed_tokens.onnx")).unwrap();
    let dir = folder_with(|d| replace(d, "encoder_model.onnx", &embed));
    let err = load(dir.path());
    match &err {
        Error::Contract {
            graph: ModelGraph::TextEncoder,
            detail,
            ..
        } => {
            assert!(detail.contains("attention_mask"), "{detail}")
        }
        other => panic!("expected a contract error, got {other:?}"),
    }
}

#[test]
fn config_inconsistent_with_graphs() {
    let dir = folder_with(|d| {
        let p = d.join("config.json");
        let text = std::fs::read_to_string(&p)
            .unwrap()
            .replace("\"d_model\": 32", "\"d_model\": 48");
        std::fs::write(p, text).unwrap();
    });
    let err = load(dir.path());
    assert!(matches!(err, Error::Contract { .. }), "{err:?}");
    assert!(err.to_string().contains("48"), "{err}");
}

#[test]
fn config_not_json() {
    let dir = folder_with(|d| std::fs::write(d.join("config.json"), "{\"text_config\": ").unwrap());
    let err = load(dir.path());
    assert!(matches!(err, Error::Config { .. }), "{err:?}");
    assert!(err.to_string().contains("config.json"));
}

#[test]
fn tokenizer_missing_or_corrupt() {
    let dir = folder_with(|d| std::fs::remove_file(d.join("tokenizer.json")).unwrap());
    assert!(matches!(load(dir.path()), Error::Tokenizer { .. }));
    let dir = folder_with(|d| std::fs::write(d.join("tokenizer.json"), "{\"model\": 3}").unwrap());
    assert!(matches!(load(dir.path()), Error::Tokenizer { .. }));
}

#[test]
fn unknown_precision_name() {
    let err = "q3".parse::<Precision>().unwrap_err();
    assert_eq!(err.name, "q3");
    // As a core error, an option.
    assert!(matches!(
        Error::from(err),
        Error::InvalidOption {
            option: "precision",
            ..
        }
    ));
}
