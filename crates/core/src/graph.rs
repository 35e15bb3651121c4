//! The vocabulary of a model folder: its four graphs ([`ModelGraph`]) and the weight precision of
//! each ([`Precision`], [`PrecisionPlan`]), named as the public files' suffixes name them. Plain
//! data shared by every other module (and by `florence2-download`'s manifests).

use std::fmt;
use std::str::FromStr;

/// One of the four graphs the pipeline runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModelGraph {
    /// DaViT + projection: `pixel_values` → `image_features`.
    VisionEncoder,
    /// The shared token-embedding table: `input_ids` → `inputs_embeds`.
    EmbedTokens,
    /// The BART text encoder over `[image tokens ; prompt tokens]`.
    TextEncoder,
    /// The `If`-merged BART decoder (first step and cached steps).
    Decoder,
}

impl ModelGraph {
    /// All graphs, in pipeline order.
    pub const ALL: [ModelGraph; 4] = [
        ModelGraph::VisionEncoder,
        ModelGraph::EmbedTokens,
        ModelGraph::TextEncoder,
        ModelGraph::Decoder,
    ];

    /// The file stem in `onnx/`.
    pub fn stem(self) -> &'static str {
        match self {
            ModelGraph::VisionEncoder => "vision_encoder",
            ModelGraph::EmbedTokens => "embed_tokens",
            ModelGraph::TextEncoder => "encoder_model",
            ModelGraph::Decoder => "decoder_model_merged",
        }
    }
}

impl fmt::Display for ModelGraph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ModelGraph::VisionEncoder => "vision encoder",
            ModelGraph::EmbedTokens => "token embeddings",
            ModelGraph::TextEncoder => "text encoder",
            ModelGraph::Decoder => "decoder",
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

/// A precision name that is not one of [`Precision::ALL`]'s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown precision {name:?}; known: {}", Precision::ALL.map(Precision::name).join(", "))]
pub struct UnknownPrecision {
    /// The name that was given.
    pub name: String,
}

impl FromStr for Precision {
    type Err = UnknownPrecision;

    fn from_str(s: &str) -> Result<Self, UnknownPrecision> {
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
            _ => return Err(UnknownPrecision { name: s.to_owned() }),
        };
        Ok(found)
    }
}

/// The precision of each graph (e.g. fp16 vision with an int8 decoder).
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
    /// The same precision for every graph.
    pub fn uniform(precision: Precision) -> Self {
        Self {
            vision_encoder: precision,
            embed_tokens: precision,
            text_encoder: precision,
            decoder: precision,
        }
    }

    /// The precision chosen for `graph`.
    pub fn get(&self, graph: ModelGraph) -> Precision {
        match graph {
            ModelGraph::VisionEncoder => self.vision_encoder,
            ModelGraph::EmbedTokens => self.embed_tokens,
            ModelGraph::TextEncoder => self.text_encoder,
            ModelGraph::Decoder => self.decoder,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precision_names_round_trip() {
        for p in Precision::ALL {
            assert_eq!(p.name().parse::<Precision>().unwrap(), p);
        }
        let err = "q3".parse::<Precision>().unwrap_err();
        assert_eq!(err.name, "q3");
        assert!(err.to_string().contains("known: fp32, fp16"), "{err}");
    }
}
