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
//! `models/quantize.py`), and can be chosen per component.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::error::{Error, Result};

/// One of the four graphs the pipeline runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Component {
    /// DaViT + projection: `pixel_values` → `image_features`.
    VisionEncoder,
    /// The shared token-embedding table: `input_ids` → `inputs_embeds`.
    EmbedTokens,
    /// The BART text encoder over `[image tokens ; prompt tokens]`.
    TextEncoder,
    /// The `If`-merged BART decoder (first step and cached steps).
    Decoder,
}

impl Component {
    /// All components, in pipeline order.
    pub const ALL: [Component; 4] = [
        Component::VisionEncoder,
        Component::EmbedTokens,
        Component::TextEncoder,
        Component::Decoder,
    ];

    /// The file stem in `onnx/`.
    pub fn stem(self) -> &'static str {
        match self {
            Component::VisionEncoder => "vision_encoder",
            Component::EmbedTokens => "embed_tokens",
            Component::TextEncoder => "encoder_model",
            Component::Decoder => "decoder_model_merged",
        }
    }
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Component::VisionEncoder => "vision encoder",
            Component::EmbedTokens => "token embeddings",
            Component::TextEncoder => "text encoder",
            Component::Decoder => "decoder",
        })
    }
}

/// A weight precision, named as the public files' suffixes name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Precision {
    /// Float32, no suffix.
    #[default]
    Fp32,
    /// Float16 weights with float32 inputs/outputs (`_fp16`).
    Fp16,
    /// Dynamic 8-bit quantisation, uint8 weights for Conv graphs (`_quantized`, transformers.js `q8`).
    Quantized,
    /// Dynamic int8 quantisation (`_int8`).
    Int8,
    /// Dynamic uint8 quantisation (`_uint8`).
    Uint8,
    /// 4-bit `MatMulNBits` (`_q4`).
    Q4,
    /// 4-bit `MatMulNBits` plus float16 (`_q4f16`).
    Q4f16,
    /// 4-bit NF4 `MatMulBnb4` (`_bnb4`).
    Bnb4,
    /// Static INT8 in QDQ form, activations calibrated on images (`_static_int8`, written by
    /// `models/quantize.py --precision static_int8`; no public file uses this suffix).
    StaticInt8,
}

impl Precision {
    /// All precisions.
    pub const ALL: [Precision; 9] = [
        Precision::Fp32,
        Precision::Fp16,
        Precision::Quantized,
        Precision::Int8,
        Precision::Uint8,
        Precision::Q4,
        Precision::Q4f16,
        Precision::Bnb4,
        Precision::StaticInt8,
    ];

    /// The file-name suffix (`""` for fp32).
    pub fn suffix(self) -> &'static str {
        match self {
            Precision::Fp32 => "",
            Precision::Fp16 => "_fp16",
            Precision::Quantized => "_quantized",
            Precision::Int8 => "_int8",
            Precision::Uint8 => "_uint8",
            Precision::Q4 => "_q4",
            Precision::Q4f16 => "_q4f16",
            Precision::Bnb4 => "_bnb4",
            Precision::StaticInt8 => "_static_int8",
        }
    }

    /// The name used on the command line and in options (`fp32`, `fp16`, `q8`, …).
    pub fn name(self) -> &'static str {
        match self {
            Precision::Fp32 => "fp32",
            Precision::Fp16 => "fp16",
            Precision::Quantized => "q8",
            Precision::Int8 => "int8",
            Precision::Uint8 => "uint8",
            Precision::Q4 => "q4",
            Precision::Q4f16 => "q4f16",
            Precision::Bnb4 => "bnb4",
            Precision::StaticInt8 => "static_int8",
        }
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Precision {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let lower = s.trim().to_ascii_lowercase();
        let found = match lower.as_str() {
            "fp32" | "float32" | "" => Precision::Fp32,
            "fp16" | "float16" => Precision::Fp16,
            "q8" | "quantized" => Precision::Quantized,
            "int8" => Precision::Int8,
            "uint8" => Precision::Uint8,
            "q4" => Precision::Q4,
            "q4f16" => Precision::Q4f16,
            "bnb4" => Precision::Bnb4,
            "static_int8" | "static-int8" | "qdq" => Precision::StaticInt8,
            _ => {
                let known: Vec<&str> = Precision::ALL.iter().map(|p| p.name()).collect();
                return Err(Error::InvalidInput {
                    detail: format!("unknown precision {s:?}; known: {}", known.join(", ")),
                });
            }
        };
        Ok(found)
    }
}

/// The precision of each component (e.g. fp16 vision with an int8 decoder).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PrecisionPlan {
    /// Vision encoder precision.
    pub vision_encoder: Precision,
    /// Token-embedding precision.
    pub embed_tokens: Precision,
    /// Text-encoder precision.
    pub text_encoder: Precision,
    /// Decoder precision.
    pub decoder: Precision,
}

impl PrecisionPlan {
    /// The same precision for every component.
    pub fn uniform(precision: Precision) -> Self {
        Self {
            vision_encoder: precision,
            embed_tokens: precision,
            text_encoder: precision,
            decoder: precision,
        }
    }

    /// The precision chosen for `component`.
    pub fn get(&self, component: Component) -> Precision {
        match component {
            Component::VisionEncoder => self.vision_encoder,
            Component::EmbedTokens => self.embed_tokens,
            Component::TextEncoder => self.text_encoder,
            Component::Decoder => self.decoder,
        }
    }
}

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
    /// One ONNX file per component, in [`Component::ALL`] order.
    pub graphs: [PathBuf; 4],
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
        let mut graphs: Vec<PathBuf> = Vec::with_capacity(4);
        for component in Component::ALL {
            let precision = plan.get(component);
            let path = onnx_dir.join(format!("{}{}.onnx", component.stem(), precision.suffix()));
            if !path.is_file() {
                return Err(Error::ModelFileMissing {
                    component,
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
        })
    }

    /// The ONNX file of `component`.
    pub fn graph(&self, component: Component) -> &Path {
        let index = Component::ALL.iter().position(|c| *c == component).unwrap_or(0);
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
    fn precision_names_round_trip() {
        for p in Precision::ALL {
            assert_eq!(p.name().parse::<Precision>().unwrap(), p);
        }
        assert!(matches!(
            "q3".parse::<Precision>(),
            Err(Error::InvalidInput { .. })
        ));
    }

    #[test]
    fn missing_file_lists_what_the_folder_holds() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("onnx")).unwrap();
        std::fs::write(dir.path().join("onnx/vision_encoder_fp16.onnx"), b"x").unwrap();
        let err = ModelFiles::resolve(dir.path(), &PrecisionPlan::default()).unwrap_err();
        match &err {
            Error::ModelFileMissing {
                component, available, ..
            } => {
                assert_eq!(*component, Component::VisionEncoder);
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
