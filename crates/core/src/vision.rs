//! The vision half of the model: preprocessing and the vision encoder.
//!
//! It is independent of the text half ([`crate::text::TextGenerator`]), so an app (or the SDK's
//! batch path) can encode the next image while the previous one is still being decoded.

use std::sync::Arc;
use std::time::Instant;

use florence2_preprocess::{ImageSource, Preprocessor, ResizeMode};
use ort::session::{RunOptions, Session};
use ort::value::TensorRef;

use crate::cancel::CancelFlag;
use crate::error::{Error, Result};
use crate::graph::ModelGraph;
use crate::run::{cancelled_or, ms};

/// An image after the vision encoder: reusable for any number of tasks.
#[derive(Debug, Clone)]
pub struct EncodedImage {
    /// Image tokens, `tokens * d_model` values.
    features: Vec<f32>,
    tokens: usize,
    /// The original image's width in pixels (for coordinates).
    pub width: u32,
    /// The original image's height in pixels.
    pub height: u32,
    /// Milliseconds spent decoding, resizing and normalising the image (0 for `pixel_values`).
    pub preprocess_ms: f64,
    /// Milliseconds spent in the vision encoder.
    pub vision_ms: f64,
}

impl EncodedImage {
    /// Number of image tokens (`(H/32)*(W/32) + 1`).
    pub fn tokens(&self) -> usize {
        self.tokens
    }

    /// The image tokens, `tokens() * d_model` values.
    pub fn features(&self) -> &[f32] {
        &self.features
    }
}

/// Opens the vision session again (and checks it), for a model that unloads it between calls.
pub(crate) type ReopenVision = Arc<dyn Fn() -> Result<Session> + Send + Sync>;

/// Preprocessor plus vision-encoder session, with the scratch buffer for `pixel_values`.
pub struct VisionEncoder {
    /// `None` while unloaded (low-memory mode: the text half runs).
    session: Option<Session>,
    /// Reopens the session after [`VisionEncoder::unload`] (low-memory mode only).
    reopen: Option<ReopenVision>,
    preprocessor: Preprocessor,
    pixels: Vec<f32>,
    d_model: usize,
    release_arena: bool,
    /// Vision-encoder runs started so far (a causal witness for tests: "it did not run").
    runs: u64,
}

impl std::fmt::Debug for VisionEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VisionEncoder")
            .field("output_shape", &self.preprocessor.output_shape())
            .field("d_model", &self.d_model)
            .finish()
    }
}

impl VisionEncoder {
    /// Wraps a loaded, contract-checked vision session.
    pub(crate) fn new(
        session: Session,
        preprocessor: Preprocessor,
        d_model: usize,
        release_arena: bool,
        reopen: Option<ReopenVision>,
    ) -> Self {
        let pixels = vec![0.0; preprocessor.output_len()];
        Self {
            session: Some(session),
            reopen,
            preprocessor,
            pixels,
            d_model,
            release_arena,
            runs: 0,
        }
    }

    /// How many times the vision encoder graph has been started on this model (successful,
    /// failed or cancelled runs alike). Input checks that fail before it count nothing.
    pub fn runs(&self) -> u64 {
        self.runs
    }

    /// Drops the session (its weights and arena) when it can be reopened (low-memory mode);
    /// returns whether it did.
    pub(crate) fn unload(&mut self) -> bool {
        self.reopen.is_some() && self.session.take().is_some()
    }

    /// Whether the session is loaded.
    pub(crate) fn is_loaded(&self) -> bool {
        self.session.is_some()
    }

    /// The session, reopened first if it was unloaded.
    fn session(&mut self) -> Result<&mut Session> {
        if self.session.is_none() {
            let reopen = self.reopen.as_ref().ok_or_else(|| Error::InvalidInput {
                detail: "the vision session was unloaded and cannot be reopened".into(),
            })?;
            self.session = Some(reopen()?);
        }
        self.session.as_mut().ok_or_else(|| Error::InvalidInput {
            detail: "the vision session is not loaded".into(),
        })
    }

    /// The preprocessor (its output shape and configuration).
    pub fn preprocessor(&self) -> &Preprocessor {
        &self.preprocessor
    }

    /// Preprocesses an image (resized as `mode` says: `Reference` exactly as the PyTorch
    /// reference does) and runs the vision encoder. Takes an `ImageView` or any [`ImageSource`] (a
    /// YUV camera frame goes to the preprocessor as is, with no RGB copy); result coordinates
    /// refer to the rotated image.
    pub fn encode_image<'a>(
        &mut self,
        image: impl Into<ImageSource<'a>>,
        mode: ResizeMode,
        cancel: &CancelFlag,
    ) -> Result<EncodedImage> {
        let image = image.into();
        if cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        self.preprocessor.set_resize_mode(mode);
        let t0 = Instant::now();
        self.preprocessor.process_source(&image, &mut self.pixels)?;
        let preprocess_ms = ms(t0.elapsed());
        let [_, h, w] = self.preprocessor.output_shape();
        let pixels = std::mem::take(&mut self.pixels);
        let encoded = self.encode_pixels(&pixels, (w, h), image.size(), cancel);
        self.pixels = pixels;
        let mut encoded = encoded?;
        encoded.preprocess_ms = preprocess_ms;
        Ok(encoded)
    }

    /// Runs the vision encoder on normalised `pixel_values` (`[3, height, width]` channels-first,
    /// as the preprocessor writes them) of an image whose original size is `image_size`. Both
    /// sizes are `(width, height)`.
    pub fn encode_pixels(
        &mut self,
        pixel_values: &[f32],
        (w, h): (usize, usize),
        (width, height): (u32, u32),
        cancel: &CancelFlag,
    ) -> Result<EncodedImage> {
        if pixel_values.len() != 3 * h * w || h == 0 || w == 0 {
            return Err(Error::InvalidInput {
                detail: format!(
                    "pixel_values has {} values, expected 3 x {h} x {w} = {}",
                    pixel_values.len(),
                    3 * h * w
                ),
            });
        }
        let wrap = |source| Error::Inference {
            graph: ModelGraph::VisionEncoder,
            source,
        };
        if cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        // A view of the caller's buffer: no second copy of the image's 7 MB (768²) of floats.
        let input = TensorRef::from_array_view(([1usize, 3, h, w], pixel_values)).map_err(wrap)?;
        let mut run_options = RunOptions::new().map_err(wrap)?;
        if self.release_arena {
            // ONNX Runtime shrinks the session's CPU arena at the end of the run, so the
            // activation memory of this large graph goes back to the system instead of staying
            // reserved while the text half runs.
            run_options
                .set("memory.enable_memory_arena_shrinkage", "cpu:0")
                .map_err(wrap)?;
        }
        let run_options = cancel.track(run_options);
        // Reopened here if unloaded (low-memory mode; counted in the vision time). A cancel
        // during that load is honoured before the graph starts.
        let t0 = Instant::now();
        self.session()?;
        if cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        self.runs += 1;
        let d = self.d_model;
        let session = self.session()?;
        let outputs = session
            .run_with_options(ort::inputs!["pixel_values" => input], &run_options)
            .map_err(|e| cancelled_or(wrap(e), cancel))?;
        let bad_output = |detail: String| Error::ModelOutput {
            graph: ModelGraph::VisionEncoder,
            detail,
        };
        let features = outputs
            .get("image_features")
            .ok_or_else(|| bad_output("no image_features output".into()))?;
        let (shape, data) = features.try_extract_tensor::<f32>().map_err(wrap)?;
        if shape.len() != 3 || usize::try_from(shape[2]).ok() != Some(d) {
            return Err(bad_output(format!(
                "image_features has shape {shape:?}, expected [1, N, {d}]"
            )));
        }
        let tokens = usize::try_from(shape[1]).unwrap_or(0);
        Ok(EncodedImage {
            features: data.to_vec(),
            tokens,
            width,
            height,
            preprocess_ms: 0.0,
            vision_ms: ms(t0.elapsed()),
        })
    }
}
