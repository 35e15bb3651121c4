//! The records and enums Kotlin sees, and their conversions to and from core types.

use std::path::PathBuf;

use florence2_core as core;
use florence2_preprocess::{
    DecodeLimits, ImageSource, ImageView, PixelFormat, PreprocessError, RgbImage, Rotation, YuvPlane, YuvView,
};

use crate::Florence2Error;

macro_rules! tasks {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        /// One of the 15 Florence-2 tasks (Kotlin `Task.CAPTION`, `Task.OBJECT_DETECTION`, …).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
        pub enum Task {
            $($(#[$doc])* $name,)*
        }

        impl From<Task> for core::Task {
            fn from(task: Task) -> Self {
                match task {
                    $(Task::$name => core::Task::$name,)*
                }
            }
        }

        impl From<core::Task> for Task {
            fn from(task: core::Task) -> Self {
                match task {
                    $(core::Task::$name => Task::$name,)*
                }
            }
        }
    };
}

tasks! {
    /// `<CAPTION>`: a one-sentence caption.
    Caption,
    /// `<DETAILED_CAPTION>`: a caption of a few sentences.
    DetailedCaption,
    /// `<MORE_DETAILED_CAPTION>`: a paragraph describing the image.
    MoreDetailedCaption,
    /// `<OCR>`: all text in the image, as one string.
    Ocr,
    /// `<OCR_WITH_REGION>`: text lines with a quadrilateral each.
    OcrWithRegion,
    /// `<OD>`: object detection (boxes with category names).
    ObjectDetection,
    /// `<DENSE_REGION_CAPTION>`: boxes with short descriptions.
    DenseRegionCaption,
    /// `<REGION_PROPOSAL>`: boxes without labels.
    RegionProposal,
    /// `<CAPTION_TO_PHRASE_GROUNDING>`: boxes for the phrases of a caption given as text.
    CaptionToPhraseGrounding,
    /// `<REFERRING_EXPRESSION_SEGMENTATION>`: polygon mask of the object an expression refers to.
    ReferringExpressionSegmentation,
    /// `<REGION_TO_SEGMENTATION>`: polygon mask of the object in a region given as text
    /// (`<loc_..>` tokens; the region methods build them from a box).
    RegionToSegmentation,
    /// `<OPEN_VOCABULARY_DETECTION>`: boxes (or polygons) of objects named by the text.
    OpenVocabularyDetection,
    /// `<REGION_TO_CATEGORY>`: category name of a region.
    RegionToCategory,
    /// `<REGION_TO_DESCRIPTION>`: description of a region.
    RegionToDescription,
    /// `<REGION_TO_OCR>`: text inside a region.
    RegionToOcr,
}

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

/// Where the graphs run. Pick by measuring on the target devices (docs/android.md): CPU is the
/// safe default and often the fastest for Florence-2's transformer graphs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ExecutionProvider {
    /// ONNX Runtime's CPU kernels. Available everywhere.
    Cpu,
    /// XNNPACK's CPU kernels (ONNX Runtime's Android package has them; desktop builds usually do
    /// not). ONNX Runtime's own pool drops to one thread; XNNPACK uses `XnnpackOptions.threads`.
    Xnnpack,
    /// Android's Neural Networks API (GPU/DSP/NPU drivers), configured by `NnapiOptions`. Android
    /// only; deprecated since Android 15 and often slower than CPU on transformer graphs.
    Nnapi,
}

impl From<ExecutionProvider> for core::ExecutionProvider {
    fn from(provider: ExecutionProvider) -> Self {
        match provider {
            ExecutionProvider::Cpu => core::ExecutionProvider::Cpu,
            ExecutionProvider::Xnnpack => core::ExecutionProvider::Xnnpack,
            ExecutionProvider::Nnapi => core::ExecutionProvider::Nnapi,
        }
    }
}

impl From<core::ExecutionProvider> for ExecutionProvider {
    fn from(provider: core::ExecutionProvider) -> Self {
        match provider {
            core::ExecutionProvider::Xnnpack => ExecutionProvider::Xnnpack,
            core::ExecutionProvider::Nnapi => ExecutionProvider::Nnapi,
            // Core's enum is non-exhaustive; CPU is the one every build has.
            _ => ExecutionProvider::Cpu,
        }
    }
}

/// XNNPACK settings (used when `executionProvider` is `XNNPACK`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, uniffi::Record)]
pub struct XnnpackOptions {
    /// XNNPACK's threads; 0 (default) uses one per performance ("big") core.
    #[uniffi(default = 0)]
    pub threads: u32,
}

/// NNAPI flags (used when `executionProvider` is `NNAPI`). The defaults: fp16 off (keeps INT8
/// graphs exact), NNAPI's CPU device disabled (so an accelerator runs the nodes NNAPI takes and
/// ONNX Runtime's faster CPU kernels the rest), NHWC, not CPU-only. ONNX Runtime has no GPU-only
/// flag: NNAPI chooses among the GPU, DSP and NPU drivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct NnapiOptions {
    /// Let NNAPI compute float32 in float16 (faster on many accelerators, less accurate).
    #[uniffi(default = false)]
    pub use_fp16: bool,
    /// NCHW layout instead of NHWC (often slower).
    #[uniffi(default = false)]
    pub use_nchw: bool,
    /// Never use NNAPI's own CPU implementation.
    #[uniffi(default = true)]
    pub cpu_disabled: bool,
    /// Only NNAPI's CPU reference implementation (slow; for validating accelerator output).
    /// Setting it together with `cpuDisabled` is `InvalidInput`.
    #[uniffi(default = false)]
    pub cpu_only: bool,
}

impl Default for NnapiOptions {
    fn default() -> Self {
        let d = core::NnapiOptions::default();
        Self {
            use_fp16: d.use_fp16,
            use_nchw: d.use_nchw,
            cpu_disabled: d.cpu_disabled,
            cpu_only: d.cpu_only,
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

impl From<core::Component> for ModelGraph {
    fn from(component: core::Component) -> Self {
        match component {
            core::Component::VisionEncoder => ModelGraph::VisionEncoder,
            core::Component::EmbedTokens => ModelGraph::EmbedTokens,
            core::Component::TextEncoder => ModelGraph::TextEncoder,
            core::Component::Decoder => ModelGraph::Decoder,
        }
    }
}

/// The execution provider one graph's session got (`Florence2.executionProviders()`).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SessionProvider {
    /// The graph.
    pub graph: ModelGraph,
    /// What `Florence2Options.executionProvider` asked for.
    pub requested: ExecutionProvider,
    /// What the session runs on: `requested`, or `CPU` after a fallback (`cpuFallback = true`).
    /// Nodes an accelerator does not support run on ONNX Runtime's CPU kernels either way.
    pub active: ExecutionProvider,
    /// Why `requested` could not be used (`null` when `active == requested`).
    pub fallback_reason: Option<String>,
}

impl From<&core::SessionProvider> for SessionProvider {
    fn from(p: &core::SessionProvider) -> Self {
        SessionProvider {
            graph: p.component.into(),
            requested: p.requested.into(),
            active: p.active.into(),
            fallback_reason: p.fallback_reason.clone(),
        }
    }
}

/// How to load a model: `Florence2Options()` gives sensible defaults.
#[derive(Debug, Clone, Default, PartialEq, uniffi::Record)]
pub struct Florence2Options {
    /// Precision of each graph (default: float32 everywhere).
    #[uniffi(default)]
    pub precision: PrecisionPlan,
    /// Intra-op threads per graph; 0 lets ONNX Runtime choose (one per core).
    #[uniffi(default = 0)]
    pub threads: u32,
    /// Where the graphs run (`null`: CPU).
    #[uniffi(default = None)]
    pub execution_provider: Option<ExecutionProvider>,
    /// XNNPACK settings (used when `executionProvider` is `XNNPACK`).
    #[uniffi(default)]
    pub xnnpack: XnnpackOptions,
    /// NNAPI flags (used when `executionProvider` is `NNAPI`).
    #[uniffi(default)]
    pub nnapi: NnapiOptions,
    /// When the requested provider cannot be used for a graph: `false` (default) fails `create`
    /// with `Florence2Exception.ExecutionProviderUnavailable`; `true` loads that graph on CPU
    /// instead (`Florence2.executionProviders()` reports it, with the reason).
    #[uniffi(default = false)]
    pub cpu_fallback: bool,
    /// Default token limit of every call (`null`: the model's, else 1024, enough for polygons).
    #[uniffi(default = None)]
    pub max_new_tokens: Option<u32>,
    /// Default beam width of every call (`null`: the model's `generation_config.json`, 3 for
    /// Florence-2; 1 is greedy and fastest).
    #[uniffi(default = None)]
    pub num_beams: Option<u32>,
    /// An explicit `libonnxruntime` to load (`null`: found automatically; on Android the one
    /// packaged with the app).
    #[uniffi(default = None)]
    pub onnx_runtime_path: Option<String>,
    /// Largest image accepted, in pixels (width × height), for every kind of `ImageInput`: files
    /// and encoded bytes are refused from their header, RGBA/BGRA/YUV buffers from their declared
    /// size, before any pixel memory is allocated (`Florence2Exception.InvalidInput`, naming the
    /// size and the limit). `null`: 64 Mi pixels (8192 × 8192, about 200 MB of RGB).
    #[uniffi(default = None)]
    pub max_image_pixels: Option<u64>,
    /// `false` (default): the vision encoder's activation memory (about 0.3 GB at 768²) goes back
    /// to the system after each image, so an idle model holds only its weights. `true` keeps it
    /// reserved: repeated images skip re-touching that memory (a few percent faster) at the cost
    /// of a larger resident set.
    #[uniffi(default = false)]
    pub keep_vision_memory: bool,
}

/// The most intra-op threads `Florence2Options.threads` accepts (far above any phone's cores;
/// larger values are a bug in the caller, and ONNX Runtime would try to start them all).
pub const MAX_THREADS: u32 = 256;

impl Florence2Options {
    /// Checks the options that do not depend on the model (`create` checks the rest against the
    /// loaded model: `maxNewTokens` within the decoder's positions, `numBeams` within 1..=64).
    pub(crate) fn validate(&self) -> Result<(), Florence2Error> {
        let invalid = |reason: String| Err(Florence2Error::InvalidInput { reason });
        if self.threads > MAX_THREADS {
            return invalid(format!(
                "Florence2Options.threads is {}; use 0 (one per core) or 1..={MAX_THREADS}",
                self.threads
            ));
        }
        if self.max_image_pixels == Some(0) {
            return invalid("Florence2Options.maxImagePixels is 0; no image could be accepted".into());
        }
        Ok(())
    }

    /// The pixel limit applied to every image input.
    pub(crate) fn decode_limits(&self) -> DecodeLimits {
        let limits = DecodeLimits::default();
        match self.max_image_pixels {
            Some(max) => limits.with_max_pixels(max),
            None => limits,
        }
    }

    pub(crate) fn load_options(&self) -> core::LoadOptions {
        let provider = core::ProviderOptions {
            provider: self.execution_provider.unwrap_or(ExecutionProvider::Cpu).into(),
            xnnpack: core::XnnpackOptions {
                threads: self.xnnpack.threads as usize,
            },
            nnapi: core::NnapiOptions {
                use_fp16: self.nnapi.use_fp16,
                use_nchw: self.nnapi.use_nchw,
                cpu_disabled: self.nnapi.cpu_disabled,
                cpu_only: self.nnapi.cpu_only,
            },
            fallback: if self.cpu_fallback {
                core::ProviderFallback::Cpu
            } else {
                core::ProviderFallback::Fail
            },
        };
        core::LoadOptions {
            precision: (&self.precision).into(),
            session: core::SessionOptions {
                intra_threads: self.threads as usize,
                provider,
                release_vision_memory: !self.keep_vision_memory,
                ..core::SessionOptions::default()
            },
            onnx_runtime: self.onnx_runtime_path.as_ref().map(PathBuf::from),
            embeddings: core::EmbeddingLookup::default(),
            parallel_load: false,
        }
    }

    pub(crate) fn generate_options(&self) -> core::GenerateOptions {
        core::GenerateOptions {
            max_new_tokens: self.max_new_tokens.map(|n| n as usize),
            num_beams: self.num_beams.map(|n| n as usize),
            ..core::GenerateOptions::default()
        }
    }
}

/// An image to run a task on.
#[derive(Debug, Clone, uniffi::Enum)]
pub enum ImageInput {
    /// A PNG or JPEG file's bytes.
    EncodedBytes {
        /// The file's content.
        bytes: Vec<u8>,
    },
    /// A PNG or JPEG file on disk.
    FilePath {
        /// Absolute or working-directory-relative path.
        path: String,
    },
    /// RGBA pixels, 4 bytes each, rows `row_stride` bytes apart (alpha is ignored).
    Rgba {
        /// `row_stride * (height - 1) + 4 * width` bytes at least.
        bytes: Vec<u8>,
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// Bytes from one row to the next (≥ `4 * width`).
        row_stride: u32,
    },
    /// BGRA pixels (Android `Bitmap.Config.ARGB_8888` copied to a buffer), 4 bytes each.
    Bgra {
        /// `row_stride * (height - 1) + 4 * width` bytes at least.
        bytes: Vec<u8>,
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// Bytes from one row to the next (≥ `4 * width`).
        row_stride: u32,
    },
    /// A camera frame in Android's `YUV_420_888` layout (CameraX `ImageProxy` planes; NV21, NV12
    /// and I420 buffers are special cases), converted with BT.601 limited range and turned
    /// clockwise by `rotation_degrees`; coordinates in results refer to the rotated image.
    Yuv420 {
        /// Luma plane.
        y: Vec<u8>,
        /// Cb plane.
        u: Vec<u8>,
        /// Cr plane.
        v: Vec<u8>,
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// Bytes between luma rows.
        y_row_stride: u32,
        /// Bytes between chroma rows.
        uv_row_stride: u32,
        /// Bytes between chroma samples in a row (1 planar, 2 semi-planar).
        uv_pixel_stride: u32,
        /// Clockwise rotation to apply (a multiple of 90), as `ImageInfo.rotationDegrees`.
        rotation_degrees: u32,
    },
    /// Packed pixels in any [`PixelLayout`] (e.g. a `Bitmap`'s or an RGBA camera frame's
    /// buffer), optionally cropped, then turned clockwise by `rotation_degrees`; coordinates in
    /// results refer to the cropped, rotated image. Rotation and crop cost no extra copy of the
    /// caller's buffer.
    Pixels {
        /// `row_stride * (height - 1) + width * bytes per pixel` bytes at least.
        bytes: Vec<u8>,
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// Bytes from one row to the next (≥ `width * bytes per pixel`).
        row_stride: u32,
        /// Layout of one pixel.
        layout: PixelLayout,
        /// Clockwise rotation to apply (a multiple of 90), e.g. the camera's `rotationDegrees`.
        #[uniffi(default = 0)]
        rotation_degrees: u32,
        /// The part of the image to use, in pixels of the unrotated image (`null`: all of it).
        #[uniffi(default = None)]
        crop: Option<CropRect>,
    },
}

/// Layout of one pixel of [`ImageInput::Pixels`]: 8 bits per channel, interleaved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PixelLayout {
    /// Red, green, blue, alpha (alpha ignored).
    Rgba,
    /// Blue, green, red, alpha (Android `ARGB_8888` as little-endian ints; alpha ignored).
    Bgra,
    /// Red, green, blue.
    Rgb,
    /// One grey byte.
    Gray,
}

impl From<PixelLayout> for PixelFormat {
    fn from(layout: PixelLayout) -> Self {
        match layout {
            PixelLayout::Rgba => Self::Rgba8,
            PixelLayout::Bgra => Self::Bgra8,
            PixelLayout::Rgb => Self::Rgb8,
            PixelLayout::Gray => Self::Gray8,
        }
    }
}

/// A rectangle of an image in pixels: `x`, `y` its top-left corner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct CropRect {
    /// Left column.
    pub x: u32,
    /// Top row.
    pub y: u32,
    /// Width in pixels (≥ 1).
    pub width: u32,
    /// Height in pixels (≥ 1).
    pub height: u32,
}

impl From<CropRect> for florence2_preprocess::CropRect {
    fn from(c: CropRect) -> Self {
        Self::new(c.x, c.y, c.width, c.height)
    }
}

/// Packed pixels, cropped to `crop`, then turned clockwise by `degrees`.
fn packed(
    bytes: &[u8],
    width: u32,
    height: u32,
    row_stride: u32,
    format: PixelFormat,
    degrees: u32,
    crop: Option<CropRect>,
) -> Result<ImageSource<'_>, PreprocessError> {
    let view = ImageView::new(bytes, width, height, row_stride as usize, format)?;
    let view = match crop {
        Some(c) => view.crop(c.into())?,
        None => view,
    };
    Ok(ImageSource::pixels(view, rotation(degrees)?))
}

/// A clockwise rotation in degrees (a multiple of 90) as the preprocessor's [`Rotation`].
fn rotation(degrees: u32) -> Result<Rotation, PreprocessError> {
    Rotation::from_degrees(i32::try_from(degrees).unwrap_or(i32::MAX))
}

impl ImageInput {
    /// Decodes or wraps the input and hands it to `f` as an [`ImageSource`] (camera frames as
    /// they are: the preprocessor converts them without an intermediate RGB buffer).
    ///
    /// Images of more than `limits` pixels are refused before anything of their size is
    /// allocated: encoded ones from their header, raw buffers from their declared size.
    pub(crate) fn with_view<R>(
        &self,
        limits: &DecodeLimits,
        f: impl FnOnce(ImageSource<'_>) -> Result<R, Florence2Error>,
    ) -> Result<R, Florence2Error> {
        if let Some((width, height)) = self.declared_size() {
            check_pixels(width, height, limits)?;
        }
        let decoded: RgbImage;
        let source = match self {
            ImageInput::EncodedBytes { bytes } => {
                decoded = florence2_preprocess::decode_with_limits(bytes, limits)?;
                decoded.view().into()
            }
            ImageInput::FilePath { path } => {
                decoded = florence2_preprocess::open_with_limits(path, limits)?;
                decoded.view().into()
            }
            ImageInput::Rgba {
                bytes,
                width,
                height,
                row_stride,
            } => packed(bytes, *width, *height, *row_stride, PixelFormat::Rgba8, 0, None)?,
            ImageInput::Bgra {
                bytes,
                width,
                height,
                row_stride,
            } => packed(bytes, *width, *height, *row_stride, PixelFormat::Bgra8, 0, None)?,
            ImageInput::Pixels {
                bytes,
                width,
                height,
                row_stride,
                layout,
                rotation_degrees,
                crop,
            } => packed(
                bytes,
                *width,
                *height,
                *row_stride,
                (*layout).into(),
                *rotation_degrees,
                *crop,
            )?,
            ImageInput::Yuv420 {
                y,
                u,
                v,
                width,
                height,
                y_row_stride,
                uv_row_stride,
                uv_pixel_stride,
                rotation_degrees,
            } => {
                let (uv_row, uv_pixel) = (*uv_row_stride as usize, *uv_pixel_stride as usize);
                let frame = YuvView::new(
                    *width,
                    *height,
                    YuvPlane::new(y, *y_row_stride as usize, 1),
                    YuvPlane::new(u, uv_row, uv_pixel),
                    YuvPlane::new(v, uv_row, uv_pixel),
                )?;
                ImageSource::yuv(frame, rotation(*rotation_degrees)?)
            }
        };
        f(source)
    }
}

impl ImageInput {
    /// Width and height of a raw pixel input (`None` for encoded images, whose header says).
    fn declared_size(&self) -> Option<(u32, u32)> {
        match self {
            ImageInput::EncodedBytes { .. } | ImageInput::FilePath { .. } => None,
            ImageInput::Rgba { width, height, .. }
            | ImageInput::Bgra { width, height, .. }
            | ImageInput::Pixels { width, height, .. }
            | ImageInput::Yuv420 { width, height, .. } => Some((*width, *height)),
        }
    }
}

/// Refuses a raw image of more than `limits` pixels (the same error as an encoded one).
fn check_pixels(width: u32, height: u32, limits: &DecodeLimits) -> Result<(), Florence2Error> {
    if u64::from(width) * u64::from(height) > limits.max_pixels() {
        return Err(PreprocessError::TooManyPixels {
            width,
            height,
            max_pixels: limits.max_pixels(),
        }
        .into());
    }
    Ok(())
}

/// An axis-aligned box in image pixels: `(x1, y1)` top-left, `(x2, y2)` bottom-right.
#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct BoundingBox {
    /// Left edge.
    pub x1: f64,
    /// Top edge.
    pub y1: f64,
    /// Right edge.
    pub x2: f64,
    /// Bottom edge.
    pub y2: f64,
}

/// A point in image pixels.
#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct Point {
    /// Horizontal coordinate.
    pub x: f64,
    /// Vertical coordinate.
    pub y: f64,
}

/// A quadrilateral (OCR text line), four corners in the model's order.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Quad {
    /// The four corners.
    pub points: Vec<Point>,
}

/// One closed polygon.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Polygon {
    /// Its vertices.
    pub points: Vec<Point>,
}

/// The mask of one object: one or more polygons.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PolygonMask {
    /// Its polygons.
    pub polygons: Vec<Polygon>,
}

/// The typed result of a task; coordinates are in pixels of the original image.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum TaskOutput {
    /// Captions, OCR, region category/description/OCR.
    Text {
        /// The text, without special tokens.
        text: String,
    },
    /// Object detection, dense region captions, region proposals, phrase grounding, open-vocabulary
    /// detection: one label per box (empty labels for region proposals).
    Boxes {
        /// The boxes.
        boxes: Vec<BoundingBox>,
        /// One label per box.
        labels: Vec<String>,
    },
    /// OCR with regions: one text line per quadrilateral.
    Quads {
        /// The quadrilaterals.
        quads: Vec<Quad>,
        /// One text line per quadrilateral.
        labels: Vec<String>,
    },
    /// Segmentation: one mask per object.
    Polygons {
        /// The masks.
        polygons: Vec<PolygonMask>,
        /// One label per mask (often empty).
        labels: Vec<String>,
    },
    /// Open-vocabulary detection of a fine-tune that answers with boxes and polygons.
    Mixed {
        /// The boxes.
        boxes: Vec<BoundingBox>,
        /// One label per box.
        box_labels: Vec<String>,
        /// The masks.
        polygons: Vec<PolygonMask>,
        /// One label per mask.
        polygon_labels: Vec<String>,
    },
}

fn point(p: &core::task::Point) -> Point {
    Point { x: p.x, y: p.y }
}

fn bbox(b: &core::task::BoundingBox) -> BoundingBox {
    BoundingBox {
        x1: b.x1,
        y1: b.y1,
        x2: b.x2,
        y2: b.y2,
    }
}

fn mask(m: &core::task::PolygonMask) -> PolygonMask {
    PolygonMask {
        polygons: m
            .polygons
            .iter()
            .map(|p| Polygon {
                points: p.points.iter().map(point).collect(),
            })
            .collect(),
    }
}

impl From<core::TaskOutput> for TaskOutput {
    fn from(output: core::TaskOutput) -> Self {
        match output {
            core::TaskOutput::Text(text) => TaskOutput::Text { text },
            core::TaskOutput::Boxes { boxes, labels } => TaskOutput::Boxes {
                boxes: boxes.iter().map(bbox).collect(),
                labels,
            },
            core::TaskOutput::Quads { quads, labels } => TaskOutput::Quads {
                quads: quads
                    .iter()
                    .map(|q| Quad {
                        points: q.points.iter().map(point).collect(),
                    })
                    .collect(),
                labels,
            },
            core::TaskOutput::Polygons { polygons, labels } => TaskOutput::Polygons {
                polygons: polygons.iter().map(mask).collect(),
                labels,
            },
            core::TaskOutput::Mixed {
                boxes,
                box_labels,
                polygons,
                polygon_labels,
            } => TaskOutput::Mixed {
                boxes: boxes.iter().map(bbox).collect(),
                box_labels,
                polygons: polygons.iter().map(mask).collect(),
                polygon_labels,
            },
        }
    }
}

/// Why generation stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum FinishReason {
    /// The model ended its answer.
    Eos,
    /// The token limit was reached (the answer may be cut short).
    MaxTokens,
}

/// Wall-clock time of each stage of a call, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct Timings {
    /// Image decoding, resize and normalisation (0 for an already encoded image).
    pub preprocess_ms: f64,
    /// Vision encoder (0 for an already encoded image).
    pub vision_ms: f64,
    /// Prompt embedding and text encoder.
    pub encoder_ms: f64,
    /// Decode loop.
    pub decoder_ms: f64,
    /// Everything.
    pub total_ms: f64,
}

/// Everything one task call produced.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct TaskResult {
    /// The task that ran.
    pub task: Task,
    /// The typed result (coordinates in pixels of the original image).
    pub output: TaskOutput,
    /// The generated text with special tokens kept (`"</s><s>…</s>"`).
    pub text: String,
    /// The generated token ids, starting with the decoder start token.
    pub generated_ids: Vec<u32>,
    /// Why generation stopped.
    pub finish_reason: FinishReason,
    /// Stage timings.
    pub timings: Timings,
}

impl TaskResult {
    /// Converts core's result, adding the image stages that the caller timed.
    pub(crate) fn from_run(run: core::TaskRun, preprocess_ms: f64, vision_ms: f64) -> Self {
        let t = run.timings;
        TaskResult {
            task: run.task.into(),
            output: run.output.into(),
            text: run.text,
            generated_ids: run.generated.ids,
            finish_reason: match run.generated.finish {
                core::FinishReason::Eos => FinishReason::Eos,
                core::FinishReason::MaxTokens => FinishReason::MaxTokens,
            },
            timings: Timings {
                preprocess_ms,
                vision_ms,
                encoder_ms: t.encoder,
                decoder_ms: t.decoder,
                total_ms: t.total + preprocess_ms + vision_ms,
            },
        }
    }
}
