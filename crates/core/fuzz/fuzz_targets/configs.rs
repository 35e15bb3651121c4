//! The model-folder readers: `config.json` (`ModelConfig`), `generation_config.json`
//! (`GenerationConfig`) and `preprocessor_config.json` (`PreprocessConfig`, then a
//! `Preprocessor` built from it and run on a tiny image). Any bytes must give a typed error or
//! a value, never a panic or a huge allocation.
//!
//! `cargo +nightly fuzz run configs` (from crates/core/fuzz).
#![no_main]

use florence2_core::{GenerationConfig, ModelConfig};
use florence2_preprocess::{ImageView, PixelFormat, PreprocessConfig, Preprocessor};
use libfuzzer_sys::fuzz_target;

#[path = "common/scratch.rs"]
mod scratch;
use scratch::scratch;

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    match which % 3 {
        0 => {
            std::fs::write(scratch("json"), body).expect("scratch file is writable");
            if let Ok(config) = ModelConfig::load(scratch("json")) {
                // A config that loads is internally consistent.
                assert!(config.d_model > 0 && config.decoder_attention_heads > 0);
                assert_eq!(config.d_model % config.decoder_attention_heads, 0);
                let _ = config.decoder_head_dim();
            }
        }
        1 => {
            std::fs::write(scratch("json"), body).expect("scratch file is writable");
            let _ = GenerationConfig::load(scratch("json"));
        }
        _ => {
            let Ok(text) = std::str::from_utf8(body) else {
                return;
            };
            if let Ok(config) = PreprocessConfig::from_json_str(text) {
                // Keep executions fast: only small targets are run end to end.
                if config.output_len() <= 3 * 64 * 64 {
                    if let Ok(mut pre) = Preprocessor::new(config) {
                        let pixels = [7u8; 5 * 3 * 3];
                        let view = ImageView::packed(&pixels, 5, 3, PixelFormat::Rgb8).expect("valid view");
                        let mut out = vec![0f32; pre.output_len()];
                        pre.process(view, &mut out)
                            .expect("a valid config processes a valid image");
                        assert!(out.iter().all(|v| v.is_finite()), "non-finite output");
                    }
                }
            }
        }
    }
});
