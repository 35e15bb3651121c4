//! Florence-2 image preprocessing: images to the vision encoder's `pixel_values`.
//!
//! The reference path reproduces what the PyTorch reference feeds the model (transformers'
//! PIL-backend `CLIPImageProcessor` with a Florence-2 `preprocessor_config.json`), bit for bit:
//!
//! 1. RGB conversion: gray replicated, alpha dropped (not composited), BGRA reordered; any row
//!    stride ([`ImageView`]).
//! 2. Resize to exactly `width x height` (aspect ratio not kept) with Pillow's `BICUBIC` resampler
//!    on `u8`: same coefficients, fixed-point precision, rounding and pass order (module `resize`).
//! 3. `f32(x * rescale_factor)` (product in `f64`), then `(x - mean) / std` in `f32`, written
//!    channels first into a caller-owned `[3, height, width]` buffer.
//!
//! ```no_run
//! use florence2_preprocess::{open, PreprocessConfig, Preprocessor};
//!
//! let config = PreprocessConfig::from_model_dir("models/Florence-2-base")?;
//! let mut pre = Preprocessor::new(config)?;
//! let image = open("photo.png")?;
//! let mut pixel_values = vec![0.0f32; pre.output_len()];
//! pre.process(image.view(), &mut pixel_values)?;
//! # Ok::<(), florence2_preprocess::PreprocessError>(())
//! ```
//!
//! Files: `pixels.rs` (input views, [`RgbImage`]), `convert.rs` (pixel formats → RGB rows),
//! `resize/` (`pillow.rs`: Pillow's coefficient tables; `scalar.rs`: the reference passes;
//! `avx2.rs`, `neon.rs`: bit-exact SIMD twins of the horizontal pass), `normalize.rs`
//! (rescale/normalise table), `decode/` (PNG/JPEG via the `image` crate, header checks),
//! `config.rs`, `preprocessor.rs` (the reusable façade), `rotate.rs` (rotation of images),
//! `source.rs` ([`ImageSource`]: pixels or a camera frame, with a rotation), `input.rs`
//! ([`ImageInput`]: an owned image of any kind, checked against the pixel limit first), `yuv/` (camera frames: views, BT.601
//! conversion, `scalar.rs`/`avx2.rs`/`sse41.rs`/`neon.rs` row kernels), `fast/` (the fused fast
//! camera path: 16-bit tables, its scalar and SIMD kernels), `backend.rs` ([`Backend`], detected
//! once).
//!
//! Camera frames: `yuv/` ([`YuvView`]: NV21, NV12, I420, Android `YUV_420_888` with strides;
//! BT.601 limited range, rotation, crop) through [`Preprocessor::process_yuv`].
//!
//! # Resize modes
//!
//! [`ResizeMode::Reference`] (default) is the bit-exact path above. [`ResizeMode::Fast`] uses
//! Pillow's antialiased triangle (`BILINEAR`) kernel instead of bicubic, and resizes camera frames
//! in YUV space (horizontal weights rounded to 14-bit `i16`), converting and normalising only the
//! output pixels, with a multiply-add instead of the table (within 2 `f32` ulps of it; module
//! `fast`). Deviation from
//! Reference at 768 x 768 on the fixture images (`tests/fast_mode.rs` prints the table; 1 grey
//! level = `rescale / std` ≈ 0.017 normalised units):
//!
//! | input | mean abs Δ (grey levels) | max abs Δ (grey levels) | max abs Δ (normalised) |
//! |---|---|---|---|
//! | RGB images, upscaled (23x17 … 600x400) | 0.52 – 1.01 | 8 – 38 | 0.66 |
//! | RGB, 1920x1080 → 768² | 0.46 – 0.55 | 21 – 23 | 0.40 |
//! | NV21 frames, upscaled | 0.77 – 1.48 | 17 – 55 | 0.96 |
//! | NV21, 1920x1080 → 768² | 0.91 – 1.09 | 30 – 45 | 0.78 |
//!
//! Mean deviations are about one grey level; the maxima sit on hard edges, where bicubic's
//! overshoot (ringing) and the triangle kernel disagree most.
//!
//! `unsafe` is denied crate-wide and allowed only in the SIMD kernel modules (`avx2.rs`,
//! `sse41.rs`, `neon.rs` under `resize/`, `yuv/` and `fast/`), each use with a `// SAFETY:` note;
//! every kernel has a scalar twin it is tested against, and [`Backend`] picks one at run time
//! (NEON on aarch64; AVX2, else SSE4.1 on x86_64; scalar elsewhere).
//!
//! Rotation and crop: [`ImageView::crop`] / [`YuvView::crop`] narrow the input without copying;
//! [`Preprocessor::process_rotated`], [`Preprocessor::process_yuv`] and
//! [`Preprocessor::process_source`] (an [`ImageSource`]) turn it by a [`Rotation`], in scratch
//! memory the preprocessor keeps. Decoded files are turned upright by their EXIF orientation
//! (see [`DecodeLimits::with_exif_orientation`]).

#![deny(unsafe_code)]

mod error;
mod config;
mod backend;
mod input;
mod decode;
mod pixels;
mod source;
mod convert;
mod rotate;
mod yuv;
mod resize;
mod fast;
mod normalize;
mod preprocessor;

pub use backend::Backend;
pub use config::{MAX_TARGET_SIDE, PreprocessConfig};
pub use decode::{DecodeLimits, decode, decode_with_limits, open, open_with_limits};
pub use error::{PreprocessError, Result};
pub use input::ImageInput;
pub use pixels::{ImageView, PixelFormat, RgbImage};
pub use preprocessor::{Preprocessor, ResizeMode};
pub use source::ImageSource;
pub use yuv::{CropRect, Rotation, YuvFormat, YuvPlane, YuvView, yuv420_to_rgb8};
