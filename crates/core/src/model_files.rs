//! The files of a model folder in the onnx-community layout, and their precision variants.
//!
//! ```text
//! config.json  generation_config.json  preprocessor_config.json  tokenizer.json
//! onnx/vision_encoder{suffix}.onnx  onnx/embed_tokens{suffix}.onnx
//! onnx/encoder_model{suffix}.onnx   onnx/decoder_model_merged{suffix}.onnx
//! ```
//!
//! The suffix names the precision (`""` fp32, `_fp16`, `_quantized`, `_int8`, `_uint8`, `_q4`,
//! `_q4f16`, `_bnb4`), as in transformers.js, plus `_static_int8` (calibrated QDQ INT8 written by
//! `models/quantize.py`), and can be chosen per graph.
//!
//! The decoder of a precision is the optimised layout of `models/optimize.py`
//! (`decoder_step{suffix}.onnx` + `decoder_cross_kv{suffix}.onnx`, docs/decoder-layout.md) when
//! both files are there, else `decoder_model_merged{suffix}.onnx`.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::graph::{ModelGraph, PrecisionPlan};

/// The resolved paths of a model folder.
#[derive(Debug, Clone)]
pub struct ModelFiles {
    /// The model folder.
    pub root: PathBuf,
    /// `config.json`.
    pub config: PathBuf,
    /// `generation_config.json`.
    pub generation_config: PathBuf,
    /// `preprocessor_config.json`.
    pub preprocessor_config: PathBuf,
    /// `tokenizer.json`.
    pub tokenizer: PathBuf,
    /// One ONNX file per graph, in [`ModelGraph::ALL`] order. For the decoder: the merged
    /// decoder, or the step graph when the folder holds the optimised layout.
    pub graphs: [PathBuf; 4],
    /// The optimised decoder layout of the decoder's precision, when the folder holds it.
    pub decoder_step: Option<DecoderStepFiles>,
}

/// The files of the optimised decoder layout (docs/decoder-layout.md) for one precision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecoderStepFiles {
    /// `decoder_step{suffix}.onnx`: one token per row over the in-place cache.
    pub step: PathBuf,
    /// `decoder_cross_kv{suffix}.onnx`: the cross-attention K/V, once per request.
    pub cross_kv: PathBuf,
    /// `embed_tokens{suffix}.onnx` of the decoder's suffix: the step's token rows (its table is
    /// the LM head's).
    pub embed_tokens: PathBuf,
}

impl ModelFiles {
    /// Resolves every file of `root` for `plan`; a missing file gives an error that lists what the
    /// folder does hold.
    pub fn resolve(root: &Path, plan: &PrecisionPlan) -> Result<Self> {
        if !root.is_dir() {
            let detail = if root.exists() {
                "not a directory"
            } else {
                "does not exist"
            };
            return Err(Error::ModelFolder {
                path: root.to_path_buf(),
                detail: detail.to_string(),
            });
        }
        let onnx_dir = root.join("onnx");
        let decoder_suffix = plan.get(ModelGraph::Decoder).suffix();
        let step_file = |stem: &str| onnx_dir.join(format!("{stem}{decoder_suffix}.onnx"));
        let decoder_step = DecoderStepFiles {
            step: step_file("decoder_step"),
            cross_kv: step_file("decoder_cross_kv"),
            embed_tokens: step_file("embed_tokens"),
        };
        let decoder_step =
            (decoder_step.step.is_file() && decoder_step.cross_kv.is_file()).then_some(decoder_step);
        let mut graphs: Vec<PathBuf> = Vec::with_capacity(4);
        for graph in ModelGraph::ALL {
            let precision = plan.get(graph);
            if let (ModelGraph::Decoder, Some(files)) = (graph, &decoder_step) {
                graphs.push(files.step.clone());
                continue;
            }
            let path = onnx_dir.join(format!("{}{}.onnx", graph.stem(), precision.suffix()));
            if !path.is_file() {
                return Err(Error::ModelFileMissing {
                    graph,
                    precision,
                    path,
                    available: list_onnx(&onnx_dir),
                });
            }
            graphs.push(path);
        }
        let mut it = graphs.into_iter();
        let mut next = || it.next().unwrap_or_default();
        let graphs = [next(), next(), next(), next()];
        Ok(Self {
            root: root.to_path_buf(),
            config: root.join("config.json"),
            generation_config: root.join("generation_config.json"),
            preprocessor_config: root.join("preprocessor_config.json"),
            tokenizer: root.join("tokenizer.json"),
            graphs,
            decoder_step,
        })
    }

    /// The ONNX file of `graph`.
    pub fn graph(&self, graph: ModelGraph) -> &Path {
        let index = ModelGraph::ALL.iter().position(|c| *c == graph).unwrap_or(0);
        &self.graphs[index]
    }
}

fn list_onnx(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| n.ends_with(".onnx"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_lists_what_the_folder_holds() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("onnx")).unwrap();
        std::fs::write(dir.path().join("onnx/vision_encoder_fp16.onnx"), b"x").unwrap();
        let err = ModelFiles::resolve(dir.path(), &PrecisionPlan::default()).unwrap_err();
        match &err {
            Error::ModelFileMissing { graph, available, .. } => {
                assert_eq!(*graph, ModelGraph::VisionEncoder);
                assert_eq!(available, &vec!["vision_encoder_fp16.onnx".to_string()]);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(err.to_string().contains("vision_encoder_fp16.onnx"));
    }

    #[test]
    fn missing_folder_is_a_typed_error() {
        let err =
            ModelFiles::resolve(Path::new("/nonexistent/florence"), &PrecisionPlan::default()).unwrap_err();
        assert!(matches!(err, Error::ModelFolder { .. }));
    }
}
