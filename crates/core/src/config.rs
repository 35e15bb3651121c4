//! `config.json` and `generation_config.json` of a model folder (onnx-community / Microsoft dialect).

use std::path::Path;

use serde::Deserialize;

use crate::error::{Error, Result};

/// The architecture numbers the runtime needs, read from `config.json`.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelConfig {
    /// Width of the text model (and of the image tokens after projection).
    pub d_model: usize,
    /// Number of decoder layers (4 cache tensors each).
    pub decoder_layers: usize,
    /// Decoder attention heads.
    pub decoder_attention_heads: usize,
    /// Number of encoder layers (informational).
    pub encoder_layers: usize,
    /// Vocabulary size = width of the logits.
    pub vocab_size: usize,
    /// Longest encoder input and decoder output (learned positions).
    pub max_position_embeddings: usize,
    /// Overall stride of the vision encoder in pixels (the product of DaViT's `patch_stride`,
    /// 32 for every Florence-2).
    pub vision_stride: usize,
}

impl ModelConfig {
    /// Head width of the decoder's attention.
    pub fn decoder_head_dim(&self) -> usize {
        self.d_model / self.decoder_attention_heads.max(1)
    }

    /// Image tokens the vision encoder yields for `pixel_values` of `height` x `width`: one per
    /// cell of the final feature map plus the global average token (577 at 768 x 768).
    pub fn image_tokens(&self, height: usize, width: usize) -> usize {
        let stride = self.vision_stride.max(1);
        (height / stride) * (width / stride) + 1
    }

    /// Reads and checks `config.json`.
    pub fn load(path: &Path) -> Result<Self> {
        let raw: RawConfig = read_json(path)?;
        let text = raw.text_config.unwrap_or_default();
        let bad = |detail: String| Error::Config {
            path: path.to_path_buf(),
            detail,
        };
        let d_model = text
            .d_model
            .or(raw.d_model)
            .ok_or_else(|| bad("no text_config.d_model".into()))?;
        let decoder_layers = text
            .decoder_layers
            .or(raw.decoder_layers)
            .ok_or_else(|| bad("no text_config.decoder_layers".into()))?;
        let heads = text
            .decoder_attention_heads
            .or(raw.decoder_attention_heads)
            .ok_or_else(|| bad("no text_config.decoder_attention_heads".into()))?;
        let vocab_size = text
            .vocab_size
            .or(raw.vocab_size)
            .ok_or_else(|| bad("no vocab_size".into()))?;
        let config = Self {
            d_model,
            decoder_layers,
            decoder_attention_heads: heads,
            encoder_layers: text.encoder_layers.or(raw.encoder_layers).unwrap_or(0),
            vocab_size,
            max_position_embeddings: text
                .max_position_embeddings
                .or(raw.max_position_embeddings)
                .unwrap_or(1024),
            // 0 (an overflowing or empty product) is refused below.
            vision_stride: raw
                .vision_config
                .and_then(|v| v.patch_stride)
                .map_or(Some(32), |strides| {
                    strides.iter().try_fold(1usize, |a, &b| a.checked_mul(b))
                })
                .unwrap_or(0),
        };
        if d_model == 0
            || decoder_layers == 0
            || heads == 0
            || vocab_size == 0
            || config.max_position_embeddings == 0
            || config.vision_stride == 0
        {
            return Err(bad(format!("zero-sized model: {config:?}")));
        }
        if d_model % heads != 0 {
            return Err(bad(format!(
                "d_model {d_model} is not divisible by decoder_attention_heads {heads}"
            )));
        }
        Ok(config)
    }
}

#[derive(Debug, Default, Deserialize)]
struct RawTextConfig {
    d_model: Option<usize>,
    decoder_layers: Option<usize>,
    encoder_layers: Option<usize>,
    decoder_attention_heads: Option<usize>,
    vocab_size: Option<usize>,
    max_position_embeddings: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
struct RawVisionConfig {
    patch_stride: Option<Vec<usize>>,
}

#[derive(Debug, Deserialize)]
struct RawConfig {
    text_config: Option<RawTextConfig>,
    vision_config: Option<RawVisionConfig>,
    d_model: Option<usize>,
    decoder_layers: Option<usize>,
    encoder_layers: Option<usize>,
    decoder_attention_heads: Option<usize>,
    vocab_size: Option<usize>,
    max_position_embeddings: Option<usize>,
}

/// Decoding defaults from `generation_config.json` (transformers semantics).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default)]
pub struct GenerationConfig {
    /// First decoder token (`</s>` = 2 for Florence-2).
    pub decoder_start_token_id: u32,
    /// End of sequence.
    pub eos_token_id: u32,
    /// Padding id.
    pub pad_token_id: u32,
    /// Beginning of sequence.
    pub bos_token_id: u32,
    /// Token forced as the first generated token (`<s>`), if any.
    pub forced_bos_token_id: Option<u32>,
    /// Token forced as the last token when the length limit is reached (`</s>`), if any.
    pub forced_eos_token_id: Option<u32>,
    /// Ban repeating any n-gram of this size (0 = off).
    pub no_repeat_ngram_size: usize,
    /// Beam width (1 = greedy).
    pub num_beams: usize,
    /// Beam search stops once `num_beams` hypotheses are finished.
    pub early_stopping: bool,
    /// Exponent of the length normalisation of beam scores.
    pub length_penalty: f32,
    /// Default `max_length` (decoder tokens including the start token), if the file sets one.
    pub max_length: Option<usize>,
    /// Default number of new tokens, if the file sets one.
    pub max_new_tokens: Option<usize>,
}

impl Default for GenerationConfig {
    fn default() -> Self {
        Self {
            decoder_start_token_id: 2,
            eos_token_id: 2,
            pad_token_id: 1,
            bos_token_id: 0,
            forced_bos_token_id: Some(0),
            forced_eos_token_id: Some(2),
            no_repeat_ngram_size: 3,
            num_beams: 3,
            early_stopping: true,
            length_penalty: 1.0,
            max_length: None,
            max_new_tokens: None,
        }
    }
}

impl GenerationConfig {
    /// Reads `generation_config.json`; a missing file gives Florence-2's published defaults.
    pub fn load(path: &Path) -> Result<Self> {
        if !path.exists() {
            return Ok(Self::default());
        }
        read_json(path)
    }
}

pub(crate) fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Config {
        path: path.to_path_buf(),
        detail: format!("cannot read: {e}"),
    })?;
    serde_json::from_str(&text).map_err(|e| Error::Config {
        path: path.to_path_buf(),
        detail: format!("invalid JSON: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn reads_the_onnx_community_dialect() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            "config.json",
            r#"{"model_type":"florence2","vocab_size":51289,"text_config":{"d_model":768,"decoder_layers":6,
               "encoder_layers":6,"decoder_attention_heads":12,"vocab_size":51289,"max_position_embeddings":1024}}"#,
        );
        let c = ModelConfig::load(&p).unwrap();
        assert_eq!(
            (c.d_model, c.decoder_layers, c.decoder_head_dim(), c.vocab_size),
            (768, 6, 64, 51289)
        );
        // No vision_config: Florence-2's stride 32, 577 tokens at 768².
        assert_eq!(c.image_tokens(768, 768), 577);
        let p = write(
            dir.path(),
            "strided.json",
            r#"{"text_config":{"d_model":8,"decoder_layers":1,"decoder_attention_heads":2,"vocab_size":9},
               "vision_config":{"patch_stride":[4,2,2]}}"#,
        );
        let c = ModelConfig::load(&p).unwrap();
        assert_eq!((c.vision_stride, c.image_tokens(160, 96)), (16, 10 * 6 + 1));
        let p = write(
            dir.path(),
            "overflow.json",
            r#"{"text_config":{"d_model":8,"decoder_layers":1,"decoder_attention_heads":2,"vocab_size":9},
               "vision_config":{"patch_stride":[4294967296,4294967296,4294967296]}}"#,
        );
        assert!(matches!(ModelConfig::load(&p), Err(Error::Config { .. })));
    }

    #[test]
    fn inconsistent_config_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            "config.json",
            r#"{"text_config":{"d_model":100,"decoder_layers":2,"decoder_attention_heads":3,"vocab_size":9}}"#,
        );
        assert!(matches!(ModelConfig::load(&p), Err(Error::Config { .. })));
        let p = write(dir.path(), "bad.json", "{not json");
        let err = ModelConfig::load(&p).unwrap_err();
        assert!(err.to_string().contains("invalid JSON"), "{err}");
    }

    #[test]
    fn generation_config_defaults_and_overrides() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            GenerationConfig::load(&dir.path().join("none.json")).unwrap(),
            GenerationConfig::default()
        );
        let p = write(
            dir.path(),
            "g.json",
            r#"{"num_beams":1,"no_repeat_ngram_size":0,"forced_bos_token_id":null}"#,
        );
        let g = GenerationConfig::load(&p).unwrap();
        assert_eq!(
            (g.num_beams, g.no_repeat_ngram_size, g.forced_bos_token_id),
            (1, 0, None)
        );
        assert_eq!(g.eos_token_id, 2);
    }
}
