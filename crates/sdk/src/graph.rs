//! The four graphs of a model and the precision of each, as Kotlin sees them.

use florence2_core as core;

/// The weight precision of one graph, named like the model folder's file suffixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Precision {
    /// Float32 (no suffix).
    Fp32,
    /// Float16 weights (`_fp16`).
    Fp16,
    /// 8-bit dynamic quantisation (`_quantized`, transformers.js `q8`).
    Q8,
    /// int8 dynamic quantisation (`_int8`).
    Int8,
    /// uint8 dynamic quantisation (`_uint8`).
    Uint8,
    /// 4-bit `MatMulNBits` (`_q4`).
    Q4,
    /// 4-bit plus float16 (`_q4f16`).
    Q4f16,
    /// 4-bit NF4 (`_bnb4`).
    Bnb4,
    /// Static INT8 (QDQ), activations calibrated on images (`_static_int8`, written by
    /// `models/quantize.py --precision static_int8`).
    StaticInt8,
}

impl From<Precision> for core::Precision {
    fn from(precision: Precision) -> Self {
        match precision {
            Precision::Fp32 => core::Precision::Fp32,
            Precision::Fp16 => core::Precision::Fp16,
            Precision::Q8 => core::Precision::Quantized,
            Precision::Int8 => core::Precision::Int8,
            Precision::Uint8 => core::Precision::Uint8,
            Precision::Q4 => core::Precision::Q4,
            Precision::Q4f16 => core::Precision::Q4f16,
            Precision::Bnb4 => core::Precision::Bnb4,
            Precision::StaticInt8 => core::Precision::StaticInt8,
        }
    }
}

impl From<core::Precision> for Precision {
    fn from(precision: core::Precision) -> Self {
        match precision {
            core::Precision::Fp32 => Precision::Fp32,
            core::Precision::Fp16 => Precision::Fp16,
            core::Precision::Quantized => Precision::Q8,
            core::Precision::Int8 => Precision::Int8,
            core::Precision::Uint8 => Precision::Uint8,
            core::Precision::Q4 => Precision::Q4,
            core::Precision::Q4f16 => Precision::Q4f16,
            core::Precision::Bnb4 => Precision::Bnb4,
            core::Precision::StaticInt8 => Precision::StaticInt8,
        }
    }
}

/// The precision of each of the four graphs; `null` means float32. Mixing is common, e.g. an
/// fp16 vision encoder with an int8 decoder.
#[derive(Debug, Clone, Default, PartialEq, uniffi::Record)]
pub struct PrecisionPlan {
    /// `onnx/vision_encoder*.onnx`.
    #[uniffi(default = None)]
    pub vision_encoder: Option<Precision>,
    /// `onnx/embed_tokens*.onnx`.
    #[uniffi(default = None)]
    pub embed_tokens: Option<Precision>,
    /// `onnx/encoder_model*.onnx`.
    #[uniffi(default = None)]
    pub text_encoder: Option<Precision>,
    /// `onnx/decoder_model_merged*.onnx`.
    #[uniffi(default = None)]
    pub decoder: Option<Precision>,
}

impl From<&PrecisionPlan> for core::PrecisionPlan {
    fn from(plan: &PrecisionPlan) -> Self {
        let pick = |p: Option<Precision>| p.map_or(core::Precision::Fp32, Into::into);
        core::PrecisionPlan {
            vision_encoder: pick(plan.vision_encoder),
            embed_tokens: pick(plan.embed_tokens),
            text_encoder: pick(plan.text_encoder),
            decoder: pick(plan.decoder),
        }
    }
}

/// One of the four graphs of a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ModelGraph {
    /// `onnx/vision_encoder*.onnx`.
    VisionEncoder,
    /// `onnx/embed_tokens*.onnx`.
    EmbedTokens,
    /// `onnx/encoder_model*.onnx`.
    TextEncoder,
    /// `onnx/decoder_model_merged*.onnx`.
    Decoder,
}

impl From<core::ModelGraph> for ModelGraph {
    fn from(component: core::ModelGraph) -> Self {
        match component {
            core::ModelGraph::VisionEncoder => ModelGraph::VisionEncoder,
            core::ModelGraph::EmbedTokens => ModelGraph::EmbedTokens,
            core::ModelGraph::TextEncoder => ModelGraph::TextEncoder,
            core::ModelGraph::Decoder => ModelGraph::Decoder,
        }
    }
}

impl From<core::PrecisionPlan> for PrecisionPlan {
    /// `null` stands for fp32, as [`PrecisionPlan`] documents.
    fn from(plan: core::PrecisionPlan) -> Self {
        let pick = |p: core::Precision| Some(Precision::from(p)).filter(|s| *s != Precision::Fp32);
        PrecisionPlan {
            vision_encoder: pick(plan.vision_encoder),
            embed_tokens: pick(plan.embed_tokens),
            text_encoder: pick(plan.text_encoder),
            decoder: pick(plan.decoder),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_precision_survives_the_trip_to_kotlin_and_back() {
        for precision in core::Precision::ALL {
            let plan = core::PrecisionPlan {
                decoder: precision,
                ..core::PrecisionPlan::default()
            };
            let back = core::PrecisionPlan::from(&PrecisionPlan::from(plan));
            assert_eq!(back, plan, "{precision:?}");
        }
    }
}
