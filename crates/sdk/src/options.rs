//! How to load a model ([`Florence2Options`]) and its mapping onto core's load and decoding
//! options; every check lives in core.

use std::path::PathBuf;

use florence2_core as core;

use crate::error::Florence2Error;
use crate::graph::PrecisionPlan;
use crate::image::non_negative;
use crate::provider::{ExecutionProvider, NnapiOptions, XnnpackOptions};

/// How an image is brought to the model's input size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ResizeMode {
    /// Pillow's antialiased bicubic, bit-exact with the PyTorch reference (the default).
    Reference,
    /// For camera frames: a triangle filter, YUV frames resized before conversion (about half the
    /// preprocessing time; about one grey level from `REFERENCE` on average, see the README).
    Fast,
}

impl From<ResizeMode> for core::ResizeMode {
    fn from(mode: ResizeMode) -> Self {
        match mode {
            ResizeMode::Reference => Self::Reference,
            ResizeMode::Fast => Self::Fast,
        }
    }
}

/// Per-call settings that override the model's defaults (`Florence2Options`); `null` fields keep
/// them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, uniffi::Record)]
pub struct RunOptions {
    /// Tokens to generate at most.
    #[uniffi(default = None)]
    pub max_new_tokens: Option<i32>,
    /// Beam width (1: greedy, fastest).
    #[uniffi(default = None)]
    pub num_beams: Option<i32>,
    /// How the image is resized (ignored for an image encoded earlier).
    #[uniffi(default = None)]
    pub resize_mode: Option<ResizeMode>,
}

/// A count given as a Kotlin `Int`, as core's unsigned count; `InvalidInput` naming the field
/// when negative.
fn count(field: &str, value: i32) -> Result<usize, Florence2Error> {
    Ok(non_negative(field, value)? as usize)
}

impl RunOptions {
    /// These options over `defaults`.
    pub(crate) fn over(&self, defaults: &core::RunOptions) -> Result<core::RunOptions, Florence2Error> {
        Ok(core::RunOptions {
            max_new_tokens: match self.max_new_tokens {
                Some(n) => Some(count("RunOptions.maxNewTokens", n)?),
                None => defaults.max_new_tokens,
            },
            num_beams: match self.num_beams {
                Some(n) => Some(count("RunOptions.numBeams", n)?),
                None => defaults.num_beams,
            },
            resize_mode: self.resize_mode.map(Into::into).or(defaults.resize_mode),
        })
    }
}

/// How much graph optimisation ONNX Runtime applies when loading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum OptimizationLevel {
    /// None.
    Disabled,
    /// Constant folding and redundant-node removal.
    Basic,
    /// Plus operator fusions.
    Extended,
    /// Everything, including layout changes (the default).
    All,
}

impl From<OptimizationLevel> for core::OptimizationLevel {
    fn from(level: OptimizationLevel) -> Self {
        match level {
            OptimizationLevel::Disabled => Self::Disabled,
            OptimizationLevel::Basic => Self::Basic,
            OptimizationLevel::Extended => Self::Extended,
            OptimizationLevel::All => Self::All,
        }
    }
}

/// How much memory a loaded model keeps resident, traded against latency per image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum MemoryMode {
    /// Every graph stays loaded (the default): no load time per image.
    Standard,
    /// The vision half and the text half of the model are never loaded together: a call unloads
    /// the half it does not need and loads its own if it was unloaded. A lower peak, paid with
    /// the load time of both halves on every new image; further tasks on an image encoded earlier
    /// (`runEncoded`) reload nothing. Calls run one at a time, and `runBatch` encodes its images
    /// one after the other. Base INT8 model in the optimised layout, one caption, measured on a
    /// desktop: peak 261 MB instead of 388 MB (native process), about 1.2× the time per image;
    /// docs/memory.md has the method and the figures for other layouts.
    Low,
}

impl From<MemoryMode> for core::MemoryMode {
    fn from(mode: MemoryMode) -> Self {
        match mode {
            MemoryMode::Standard => Self::Standard,
            MemoryMode::Low => Self::Low,
        }
    }
}

/// How to load a model: `Florence2Options()` gives sensible defaults.
#[derive(Debug, Clone, Default, PartialEq, uniffi::Record)]
pub struct Florence2Options {
    /// Precision of each graph (default: float32 everywhere).
    #[uniffi(default)]
    pub precision: PrecisionPlan,
    /// Intra-op threads per graph; 0 lets ONNX Runtime choose (one per core); at most 256.
    #[uniffi(default = 0)]
    pub threads: i32,
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
    /// Default token limit of every call (`null`: the model's, else 1024, enough for polygons;
    /// never more than the decoder's positions). A call's `RunOptions` override it.
    #[uniffi(default = None)]
    pub max_new_tokens: Option<i32>,
    /// Default beam width of every call (`null`: the model's `generation_config.json`, 3 for
    /// Florence-2; 1 is greedy and fastest). A call's `RunOptions` override it.
    #[uniffi(default = None)]
    pub num_beams: Option<i32>,
    /// Default resize mode of every call (`null`: `REFERENCE`, exact with transformers; `FAST`
    /// for camera frames). A call's `RunOptions` override it.
    #[uniffi(default = None)]
    pub resize_mode: Option<ResizeMode>,
    /// An explicit `libonnxruntime` to load (`null`: found automatically; on Android the one
    /// packaged with the app).
    #[uniffi(default = None)]
    pub onnx_runtime_path: Option<String>,
    /// Largest image accepted, in pixels (width × height), for every kind of `ImageInput`: files
    /// and encoded bytes are refused from their header, RGBA/BGRA/YUV buffers from their declared
    /// size, before any pixel memory is allocated (`Florence2Exception.InvalidInput`, naming the
    /// size and the limit). `null`: 64 Mi pixels (8192 × 8192, about 200 MB of RGB).
    #[uniffi(default = None)]
    pub max_image_pixels: Option<i64>,
    /// How much graph optimisation ONNX Runtime applies when loading (`null`: all). Lower levels
    /// load faster and help to tell an optimiser problem from a model problem.
    #[uniffi(default = None)]
    pub optimization_level: Option<OptimizationLevel>,
    /// `false` (default): the vision encoder's activation memory (about 0.3 GB at 768²) goes back
    /// to the system after each image, so an idle model holds only its weights. `true` keeps it
    /// reserved: repeated images skip re-touching that memory (a few percent faster) at the cost
    /// of a larger resident set.
    #[uniffi(default = false)]
    pub keep_vision_memory: bool,
    /// How much memory the model keeps resident (`null`: `STANDARD`). `LOW` cannot be combined
    /// with `keepVisionMemory = true` (`Florence2Exception.InvalidInput`).
    #[uniffi(default = None)]
    pub memory_mode: Option<MemoryMode>,
}

impl Florence2Options {
    /// Core's load options (core checks their values when loading; negative numbers are refused
    /// here).
    pub(crate) fn load_options(&self) -> Result<core::LoadOptions, Florence2Error> {
        let provider = core::ProviderOptions {
            provider: self.execution_provider.unwrap_or(ExecutionProvider::Cpu).into(),
            xnnpack: core::XnnpackOptions {
                threads: count("XnnpackOptions.threads", self.xnnpack.threads)?,
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
        let limits = core::DecodeLimits::default();
        let max_image_pixels = match self.max_image_pixels {
            Some(max) => Some(u64::try_from(max).map_err(|_| Florence2Error::InvalidInput {
                detail: format!("Florence2Options.maxImagePixels is {max}; it must not be negative"),
            })?),
            None => None,
        };
        Ok(core::LoadOptions {
            precision: (&self.precision).into(),
            session: core::SessionOptions {
                intra_threads: count("Florence2Options.threads", self.threads)?,
                optimization_level: self.optimization_level.map_or_else(Default::default, Into::into),
                provider,
            },
            onnx_runtime: self.onnx_runtime_path.as_ref().map(PathBuf::from),
            release_vision_memory: !self.keep_vision_memory,
            image_limits: match max_image_pixels {
                Some(max) => limits.with_max_pixels(max),
                None => limits,
            },
            resize_mode: self.resize_mode.map_or_else(Default::default, Into::into),
            memory_mode: self.memory_mode.map_or_else(Default::default, Into::into),
            ..core::LoadOptions::default()
        })
    }

    /// The defaults of every call.
    pub(crate) fn run_defaults(&self) -> Result<core::RunOptions, Florence2Error> {
        RunOptions {
            max_new_tokens: self.max_new_tokens,
            num_beams: self.num_beams,
            resize_mode: None,
        }
        .over(&core::RunOptions::default())
    }
}
