//! Preprocessing parameters, and reading them from a model's `preprocessor_config.json`.

use std::path::Path;

use serde::Deserialize;

use crate::error::{PreprocessError, Result};

/// Largest accepted target width or height.
pub const MAX_TARGET_SIDE: u32 = 16_384;

/// Pillow's `Image.Resampling.BICUBIC`, the only filter implemented.
const PIL_BICUBIC: u32 = 3;

/// What the vision encoder expects: target size and the rescale / normalise constants.
///
/// `pixel_values[c][y][x] = (f32(pixel * rescale_factor) - image_mean[c]) / image_std[c]` after
/// resizing to exactly `width x height` (aspect ratio not kept).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct PreprocessConfig {
    /// Target width in pixels (`size.width`).
    pub width: u32,
    /// Target height in pixels (`size.height`).
    pub height: u32,
    /// Multiplier applied to each byte, in `f64` (`rescale_factor`; 1 when `do_rescale` is false).
    pub rescale_factor: f64,
    /// Per-channel mean subtracted after rescaling, RGB order (`image_mean`; 0 when
    /// `do_normalize` is false).
    pub image_mean: [f32; 3],
    /// Per-channel divisor, RGB order (`image_std`; 1 when `do_normalize` is false).
    pub image_std: [f32; 3],
}

impl PreprocessConfig {
    /// A config from its parts (checked by [`Preprocessor::new`](crate::Preprocessor::new)).
    #[must_use]
    pub fn new(
        width: u32,
        height: u32,
        rescale_factor: f64,
        image_mean: [f32; 3],
        image_std: [f32; 3],
    ) -> Self {
        Self {
            width,
            height,
            rescale_factor,
            image_mean,
            image_std,
        }
    }

    /// The values every published Florence-2 checkpoint uses: 768 x 768, `1/255`, ImageNet mean
    /// `[0.485, 0.456, 0.406]` and std `[0.229, 0.224, 0.225]`.
    #[must_use]
    pub fn florence2() -> Self {
        Self::new(
            768,
            768,
            DEFAULT_RESCALE_FACTOR,
            f64x3_to_f32([0.485, 0.456, 0.406]),
            f64x3_to_f32([0.229, 0.224, 0.225]),
        )
    }

    /// The same config with another target size.
    #[must_use]
    pub fn with_size(mut self, width: u32, height: u32) -> Self {
        self.width = width;
        self.height = height;
        self
    }

    /// Reads `preprocessor_config.json` text (a `CLIPImageProcessor` configuration).
    ///
    /// Fields left out take `CLIPImageProcessor`'s defaults. `do_rescale: false` becomes a factor
    /// of 1 and `do_normalize: false` a mean of 0 and std of 1, which give the same numbers.
    ///
    /// # Errors
    /// [`PreprocessError::ConfigJson`] for malformed JSON; [`PreprocessError::InvalidConfig`] for
    /// what this crate cannot reproduce: no resize, a `shortest_edge` size, a filter other than
    /// bicubic, a centre crop to another size, or invalid numbers.
    pub fn from_json_str(json: &str) -> Result<Self> {
        let raw: RawConfig = serde_json::from_str(json).map_err(|e| PreprocessError::ConfigJson {
            detail: e.to_string(),
        })?;
        let config = raw.into_config()?;
        config.validate()?;
        Ok(config)
    }

    /// Reads a `preprocessor_config.json` file.
    ///
    /// # Errors
    /// [`PreprocessError::Io`] if it cannot be read, otherwise as [`Self::from_json_str`].
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| PreprocessError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_json_str(&text)
    }

    /// Reads `preprocessor_config.json` from a model folder.
    ///
    /// # Errors
    /// As [`Self::from_file`].
    pub fn from_model_dir(dir: impl AsRef<Path>) -> Result<Self> {
        Self::from_file(dir.as_ref().join("preprocessor_config.json"))
    }

    /// Number of `f32` values in one image's output: `3 * height * width`.
    #[must_use]
    pub fn output_len(&self) -> usize {
        3 * self.width as usize * self.height as usize
    }

    /// Checks sizes (1..=[`MAX_TARGET_SIDE`]) and numbers (finite, non-zero std).
    ///
    /// # Errors
    /// [`PreprocessError::InvalidConfig`] naming the first bad field.
    pub fn validate(&self) -> Result<()> {
        let invalid = |field, detail: String| Err(PreprocessError::InvalidConfig { field, detail });
        for (field, side) in [("size.width", self.width), ("size.height", self.height)] {
            if side == 0 || side > MAX_TARGET_SIDE {
                return invalid(field, format!("{side} is outside 1..={MAX_TARGET_SIDE}"));
            }
        }
        if !self.rescale_factor.is_finite() {
            return invalid("rescale_factor", format!("{} is not finite", self.rescale_factor));
        }
        if self.image_mean.iter().any(|m| !m.is_finite()) {
            return invalid("image_mean", format!("{:?} is not finite", self.image_mean));
        }
        if self.image_std.iter().any(|s| !s.is_finite() || *s == 0.0) {
            return invalid(
                "image_std",
                format!("{:?} must be finite and non-zero", self.image_std),
            );
        }
        Ok(())
    }
}

/// `1 / 255` (the same `f64` as the JSON literal `0.00392156862745098`).
const DEFAULT_RESCALE_FACTOR: f64 = 1.0 / 255.0;
/// `CLIPImageProcessor`'s default mean (OpenAI CLIP).
const CLIP_MEAN: [f64; 3] = [0.481_454_66, 0.457_827_5, 0.408_210_73];
/// `CLIPImageProcessor`'s default std (OpenAI CLIP).
const CLIP_STD: [f64; 3] = [0.268_629_54, 0.261_302_58, 0.275_777_11];

/// numpy's `np.array(values, dtype=np.float32)`: each `f64` rounded to the nearest `f32`.
#[allow(clippy::cast_possible_truncation)]
fn f64x3_to_f32(v: [f64; 3]) -> [f32; 3] {
    v.map(|x| x as f32)
}

/// The fields of `preprocessor_config.json` that matter for `pixel_values`.
#[derive(Deserialize)]
struct RawConfig {
    do_resize: Option<bool>,
    size: Option<RawSize>,
    resample: Option<u32>,
    do_center_crop: Option<bool>,
    crop_size: Option<RawSize>,
    do_rescale: Option<bool>,
    rescale_factor: Option<f64>,
    do_normalize: Option<bool>,
    image_mean: Option<PerChannel>,
    image_std: Option<PerChannel>,
}

#[derive(Deserialize, Clone, Copy)]
struct RawSize {
    height: Option<u32>,
    width: Option<u32>,
    shortest_edge: Option<u32>,
}

/// One number for all channels, or one per channel.
#[derive(Deserialize)]
#[serde(untagged)]
enum PerChannel {
    One(f64),
    Three([f64; 3]),
}

impl PerChannel {
    fn to_f32(&self) -> [f32; 3] {
        match *self {
            Self::One(v) => f64x3_to_f32([v; 3]),
            Self::Three(v) => f64x3_to_f32(v),
        }
    }
}

impl RawConfig {
    fn into_config(self) -> Result<PreprocessConfig> {
        let invalid = |field, detail: &str| PreprocessError::InvalidConfig {
            field,
            detail: detail.to_owned(),
        };
        if self.do_resize == Some(false) {
            return Err(invalid(
                "do_resize",
                "false is not supported (the encoder needs a fixed size)",
            ));
        }
        let (width, height) = match self.size {
            Some(RawSize {
                width: Some(w),
                height: Some(h),
                ..
            }) => (w, h),
            Some(RawSize {
                shortest_edge: Some(_),
                ..
            }) => return Err(invalid("size", "`shortest_edge` resizing is not supported")),
            _ => return Err(invalid("size", "needs `width` and `height`")),
        };
        if let Some(resample) = self.resample
            && resample != PIL_BICUBIC
        {
            return Err(PreprocessError::InvalidConfig {
                field: "resample",
                detail: format!("{resample} is not supported (only 3, bicubic)"),
            });
        }
        // CLIPImageProcessor crops by default; a crop to the resize size is a no-op.
        if self.do_center_crop.unwrap_or(true) {
            let crop = self.crop_size.and_then(|c| Some((c.width?, c.height?)));
            if crop != Some((width, height)) {
                return Err(invalid(
                    "do_center_crop",
                    "a centre crop to a size other than `size` is not supported",
                ));
            }
        }
        let rescale_factor = if self.do_rescale.unwrap_or(true) {
            self.rescale_factor.unwrap_or(DEFAULT_RESCALE_FACTOR)
        } else {
            1.0
        };
        let (image_mean, image_std) = if self.do_normalize.unwrap_or(true) {
            (
                self.image_mean.map_or(f64x3_to_f32(CLIP_MEAN), |m| m.to_f32()),
                self.image_std.map_or(f64x3_to_f32(CLIP_STD), |s| s.to_f32()),
            )
        } else {
            ([0.0; 3], [1.0; 3])
        };
        Ok(PreprocessConfig::new(
            width,
            height,
            rescale_factor,
            image_mean,
            image_std,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn florence2_json() {
        let c = PreprocessConfig::from_json_str(
            r#"{"do_resize": true, "size": {"height": 768, "width": 768}, "resample": 3,
                "do_center_crop": false, "crop_size": {"height": 768, "width": 768},
                "do_rescale": true, "rescale_factor": 0.00392156862745098, "do_normalize": true,
                "image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225],
                "do_convert_rgb": null, "image_processor_type": "CLIPImageProcessor"}"#,
        )
        .unwrap();
        assert_eq!(c, PreprocessConfig::florence2());
        assert_eq!(c.rescale_factor.to_bits(), (1.0f64 / 255.0).to_bits());
        assert_eq!(c.output_len(), 3 * 768 * 768);
    }

    #[test]
    fn flags_and_defaults() {
        let c = PreprocessConfig::from_json_str(
            r#"{"size": {"height": 10, "width": 20}, "crop_size": {"height": 10, "width": 20},
                "do_rescale": false, "do_normalize": false}"#,
        )
        .unwrap();
        assert_eq!((c.width, c.height), (20, 10));
        assert_eq!(c.rescale_factor, 1.0);
        assert_eq!((c.image_mean, c.image_std), ([0.0; 3], [1.0; 3]));
        let c = PreprocessConfig::from_json_str(
            r#"{"size": {"height": 4, "width": 4}, "do_center_crop": false, "image_mean": 0.5, "image_std": 0.5}"#,
        )
        .unwrap();
        assert_eq!((c.image_mean, c.image_std), ([0.5; 3], [0.5; 3]));
    }

    #[test]
    fn unsupported_configs_are_named() {
        let field = |json: &str| match PreprocessConfig::from_json_str(json) {
            Err(PreprocessError::InvalidConfig { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(r#"{"size": {"shortest_edge": 224}}"#), "size");
        assert_eq!(
            field(r#"{"size": {"height": 4, "width": 4}, "do_center_crop": false, "resample": 2}"#),
            "resample"
        );
        assert_eq!(
            field(r#"{"size": {"height": 4, "width": 4}, "crop_size": {"height": 2, "width": 2}}"#),
            "do_center_crop"
        );
        assert_eq!(
            field(r#"{"size": {"height": 4, "width": 4}, "do_resize": false}"#),
            "do_resize"
        );
        assert_eq!(
            field(r#"{"size": {"height": 0, "width": 4}, "do_center_crop": false}"#),
            "size.height"
        );
        assert_eq!(
            field(r#"{"size": {"height": 4, "width": 4}, "do_center_crop": false, "image_std": [1, 0, 1]}"#),
            "image_std"
        );
        assert!(matches!(
            PreprocessConfig::from_json_str("{"),
            Err(PreprocessError::ConfigJson { .. })
        ));
    }
}
