//! `florence2`: run Florence-2 tasks on images from the command line.
//!
//! ```text
//! florence2 run --model DIR --task '<OD>' photo.jpg
//! florence2 run --model DIR --task '<CAPTION_TO_PHRASE_GROUNDING>' --text 'a red car' --json a.png b.png
//! florence2 parse --task '<OD>' --image-size 640,480 '</s><s>car<loc_53><loc_333><loc_933><loc_774></s>'
//! florence2 preprocess --model DIR photo.jpg --out pixel_values.npy
//! florence2 preprocess --model DIR --yuv nv21 --size 1920x1080 --rotate 90 --fast frame.nv21 --out pv.npy
//! florence2 preprocess --model DIR --crop 100,40,800,600 --rotate 270 photo.jpg --out pv.npy
//! ```

mod draw;

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use florence2_core::{
    CancelFlag, Florence2, ImageInput, LoadOptions, MemoryMode, OptimizationLevel, Precision, PrecisionPlan,
    RunOptions, Task, TaskOutput, TaskRequest, task,
};
use serde_json::json;

#[derive(Parser)]
#[command(
    name = "florence2",
    version,
    about = "Florence-2 on ONNX Runtime: captions, detection, OCR, grounding, segmentation"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a task on one or more images.
    Run(RunArgs),
    /// Post-process generated text (as decoded with special tokens) for a task and image size.
    Parse {
        /// Task token, e.g. `<OD>`.
        #[arg(long)]
        task: String,
        /// Original image size `W,H` in pixels.
        #[arg(long, value_parser = parse_size)]
        image_size: (u32, u32),
        /// The generated text.
        text: String,
    },
    /// Write the vision encoder's `pixel_values` of an image or raw camera frame as `.npy`
    /// (float32, `[1, 3, H, W]`), for calibration data and debugging.
    Preprocess(PreprocessArgs),
}

#[derive(clap::Args)]
struct PreprocessArgs {
    /// Model folder (its `preprocessor_config.json` gives size, rescale, mean and std).
    #[arg(long)]
    model: PathBuf,
    /// The input is a raw 4:2:0 frame in this layout (needs `--size`); else a PNG or JPEG.
    #[arg(long, value_parser = ["nv21", "nv12", "i420"])]
    yuv: Option<String>,
    /// Size `WxH` of a raw frame.
    #[arg(long, value_parser = parse_wxh)]
    size: Option<(u32, u32)>,
    /// Clockwise rotation in degrees (a multiple of 90), applied after `--crop`.
    #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
    rotate: i32,
    /// Use only the rectangle `X,Y,W,H` of the input (before rotation; even X and Y for `--yuv`).
    #[arg(long, value_parser = parse_rect)]
    crop: Option<(u32, u32, u32, u32)>,
    /// Keep an image file's stored pixels instead of turning it upright by its EXIF orientation
    /// (the PyTorch reference does not apply it).
    #[arg(long)]
    no_exif: bool,
    /// Use the fast resize mode instead of the Pillow-exact reference.
    #[arg(long)]
    fast: bool,
    /// Output `.npy` file.
    #[arg(long)]
    out: PathBuf,
    /// Image file, or raw frame with `--yuv`.
    input: PathBuf,
}

fn parse_rect(s: &str) -> Result<(u32, u32, u32, u32), String> {
    let parts: Vec<u32> = s
        .split(',')
        .map(|p| p.trim().parse::<u32>().map_err(|e| format!("{p:?}: {e}")))
        .collect::<Result<_, _>>()?;
    match parts[..] {
        [x, y, w, h] => Ok((x, y, w, h)),
        _ => Err("expected X,Y,W,H".into()),
    }
}

fn parse_wxh(s: &str) -> Result<(u32, u32), String> {
    let (w, h) = s.split_once(['x', 'X']).ok_or("expected WxH")?;
    Ok((
        w.trim().parse().map_err(|e| format!("{e}"))?,
        h.trim().parse().map_err(|e| format!("{e}"))?,
    ))
}

#[derive(clap::Args)]
struct RunArgs {
    /// Model folder in the onnx-community layout.
    #[arg(long)]
    model: PathBuf,
    /// Task token, e.g. `<CAPTION>`, `<OD>`, `<OCR_WITH_REGION>`.
    #[arg(long)]
    task: String,
    /// Text input of the task (phrase, expression, or `<loc_..>` region).
    #[arg(long)]
    text: Option<String>,
    /// Tokens to generate at most (default: generation_config, else 1024).
    #[arg(long)]
    max_new_tokens: Option<usize>,
    /// Beam width (default: generation_config's num_beams, 3 for Florence-2; 1 = greedy).
    #[arg(long)]
    num_beams: Option<usize>,
    /// Precision: one name for all graphs (`fp32`, `fp16`, `q8`, `int8`, `uint8`, `q4`, `q4f16`,
    /// `bnb4`) or per graph: `vision=fp16,embed=fp32,encoder=int8,decoder=int8`.
    #[arg(long, default_value = "fp32")]
    precision: String,
    /// Intra-op threads per session (0 = one per core, at most 256).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// ONNX Runtime's graph optimisation level: disabled, basic, extended or all.
    #[arg(long, default_value = "all")]
    optimization: String,
    /// Token embeddings: `file` reads rows straight from embed_tokens*.onnx when it is a plain
    /// lookup (no resident table); `session` always loads it into ONNX Runtime.
    #[arg(long, default_value = "file", value_parser = ["file", "session"])]
    embeddings: String,
    /// How images are resized to the model's input: `reference` (Pillow's antialiased bicubic,
    /// token-exact with transformers) or `fast` (for camera frames: a triangle filter).
    #[arg(long, default_value = "reference", value_parser = ["reference", "fast"])]
    resize: String,
    /// Keep the vision encoder's activation memory reserved between images (faster repeated
    /// images, ~0.3 GB more resident) instead of handing it back after each one.
    #[arg(long)]
    keep_vision_memory: bool,
    /// Load the vision graph on a second thread while the text graphs load (faster on idle
    /// cores, higher peak memory while loading).
    #[arg(long)]
    parallel_load: bool,
    /// Memory mode: `standard` (every graph stays loaded) or `low` (the vision and text halves
    /// are never loaded together: a lower peak, both halves loaded again for every image; see
    /// docs/memory.md).
    #[arg(long, default_value = "standard", value_parser = ["standard", "low"])]
    memory: String,
    /// One JSON object per image per line instead of the human-readable summary.
    #[arg(long)]
    json: bool,
    /// Write the (first) image with the result drawn on it.
    #[arg(long)]
    draw: Option<PathBuf>,
    /// Images (PNG or JPEG).
    #[arg(required = true)]
    images: Vec<PathBuf>,
}

fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let (w, h) = s.split_once(',').ok_or("expected W,H")?;
    Ok((
        w.trim().parse().map_err(|e| format!("{e}"))?,
        h.trim().parse().map_err(|e| format!("{e}"))?,
    ))
}

fn parse_precision(spec: &str) -> Result<PrecisionPlan> {
    if !spec.contains('=') {
        return Ok(PrecisionPlan::uniform(spec.parse::<Precision>()?));
    }
    let mut plan = PrecisionPlan::default();
    for part in spec.split(',') {
        let (name, value) = part.split_once('=').context("expected graph=precision")?;
        let p: Precision = value.parse()?;
        match name.trim() {
            "vision" | "vision_encoder" => plan.vision_encoder = p,
            "embed" | "embed_tokens" => plan.embed_tokens = p,
            "encoder" | "encoder_model" | "text_encoder" => plan.text_encoder = p,
            "decoder" | "decoder_model_merged" => plan.decoder = p,
            other => bail!("unknown graph {other:?} (vision, embed, encoder, decoder)"),
        }
    }
    Ok(plan)
}

fn main() -> std::process::ExitCode {
    match dispatch(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", chain_text(&e));
            std::process::ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, each cause once (typed errors often repeat their
/// source's text in their own).
fn chain_text(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let message = cause.to_string();
        if !text.contains(&message) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&message);
        }
    }
    text
}

fn dispatch(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Parse {
            task,
            image_size,
            text,
        } => {
            let task: Task = task.parse()?;
            let output = task::post_process(task, &text, image_size.0, image_size.1);
            println!("{}", output.to_json(task));
            Ok(())
        }
        Command::Run(args) => run(args),
        Command::Preprocess(args) => preprocess(&args),
    }
}

fn preprocess(args: &PreprocessArgs) -> Result<()> {
    use florence2_preprocess::{
        CropRect, DecodeLimits, PreprocessConfig, Preprocessor, ResizeMode, Rotation, YuvFormat, YuvView,
    };
    let config = PreprocessConfig::from_model_dir(&args.model)?;
    let mode = if args.fast {
        ResizeMode::Fast
    } else {
        ResizeMode::Reference
    };
    let mut pre = Preprocessor::new(config)?.with_resize_mode(mode);
    let mut out = vec![0f32; pre.output_len()];
    let rotation = Rotation::from_degrees(args.rotate)?;
    let t0 = Instant::now();
    if let Some(layout) = &args.yuv {
        let format = match layout.as_str() {
            "nv21" => YuvFormat::Nv21,
            "nv12" => YuvFormat::Nv12,
            _ => YuvFormat::I420,
        };
        let (w, h) = args.size.context("--yuv needs --size WxH")?;
        let data = std::fs::read(&args.input).with_context(|| format!("reading {}", args.input.display()))?;
        let mut frame = YuvView::from_packed(&data, w, h, format)?;
        if let Some((x, y, cw, ch)) = args.crop {
            frame = frame.crop(CropRect::new(x, y, cw, ch))?;
        }
        pre.process_yuv(&frame, rotation, &mut out)?;
    } else {
        if args.size.is_some() {
            bail!("--size applies to raw frames (--yuv)");
        }
        let limits = DecodeLimits::default().with_exif_orientation(!args.no_exif);
        let image = florence2_preprocess::open_with_limits(&args.input, &limits)
            .with_context(|| format!("reading {}", args.input.display()))?;
        let mut view = image.view();
        if let Some((x, y, cw, ch)) = args.crop {
            view = view.crop(CropRect::new(x, y, cw, ch))?;
        }
        pre.process_rotated(view, rotation, &mut out)?;
    }
    let ms = t0.elapsed().as_secs_f64() * 1e3;
    let [c, h, w] = pre.output_shape();
    write_npy_f32(&args.out, &[1, c, h, w], &out)?;
    eprintln!(
        "wrote {} [1, {c}, {h}, {w}] ({mode:?}, {ms:.1} ms)",
        args.out.display()
    );
    Ok(())
}

/// Writes a C-order little-endian float32 `.npy` (format version 1.0).
fn write_npy_f32(path: &std::path::Path, shape: &[usize], values: &[f32]) -> Result<()> {
    let dims: Vec<String> = shape.iter().map(ToString::to_string).collect();
    let mut header = format!(
        "{{'descr': '<f4', 'fortran_order': False, 'shape': ({},), }}",
        dims.join(", ")
    );
    // Magic (6) + version (2) + length (2) + header + newline, padded to a multiple of 64.
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    header.push('\n');
    let mut bytes = Vec::with_capacity(10 + header.len() + values.len() * 4);
    bytes.extend_from_slice(b"\x93NUMPY\x01\x00");
    bytes.extend_from_slice(&u16::try_from(header.len())?.to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    for v in values {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

/// The ONNX Runtime library of this checkout's `scripts/setup.sh`, found above the executable
/// (`target/release/florence2` → `.cache/onnxruntime/`), unless the environment names one.
fn setup_cache_runtime() -> Option<PathBuf> {
    let named = |var: &str| std::env::var_os(var).is_some_and(|v| !v.is_empty());
    if named(florence2_core::runtime::ORT_DYLIB_PATH_ENV) || named(florence2_core::runtime::CACHE_DIR_ENV) {
        return None;
    }
    let exe = std::env::current_exe().ok()?;
    exe.ancestors()
        .skip(1)
        .map(|dir| dir.join(".cache/onnxruntime/libonnxruntime.so"))
        .find(|lib| lib.is_file())
}

fn run(args: RunArgs) -> Result<()> {
    let task: Task = args.task.parse()?;
    let mut options = LoadOptions {
        precision: parse_precision(&args.precision)?,
        onnx_runtime: setup_cache_runtime(),
        release_vision_memory: !args.keep_vision_memory,
        parallel_load: args.parallel_load,
        memory_mode: args.memory.parse::<MemoryMode>()?,
        ..LoadOptions::default()
    };
    options.session.intra_threads = args.threads;
    options.session.optimization_level = args.optimization.parse::<OptimizationLevel>()?;
    if args.embeddings == "session" {
        options.embeddings = florence2_core::EmbeddingLookup::Session;
    }
    let t_load = Instant::now();
    let model = Florence2::load(&args.model, &options)?;
    let load_ms = t_load.elapsed().as_secs_f64() * 1e3;
    let embeddings = match model.embedding_source() {
        florence2_core::EmbeddingSource::File { .. } => "file".to_string(),
        florence2_core::EmbeddingSource::Session { reason: None } => "session".to_string(),
        florence2_core::EmbeddingSource::Session { reason: Some(why) } => format!("session ({why})"),
    };
    if !args.json {
        eprintln!(
            "loaded {} in {:.0} ms (token embeddings: {embeddings})",
            args.model.display(),
            load_ms
        );
    }
    let request = TaskRequest::with_text(task, args.text.as_deref()).with_options(RunOptions {
        max_new_tokens: args.max_new_tokens,
        num_beams: args.num_beams,
        resize_mode: Some(if args.resize == "fast" {
            florence2_core::ResizeMode::Fast
        } else {
            florence2_core::ResizeMode::Reference
        }),
    });
    // Core checks the request before any image is read, then pipelines the images (the next one
    // is encoded while this one decodes).
    let images: Vec<ImageInput> = args.images.iter().cloned().map(ImageInput::File).collect();
    let runs = model.run_batch(&images, &request, &CancelFlag::new())?;
    for (path, result) in args.images.iter().zip(&runs) {
        if args.json {
            let line = json!({
                "image": path.display().to_string(),
                "task": task.token(),
                "prompt": result.prompt,
                "generated_ids": result.generated.ids,
                "text": result.text,
                "result": result.output.to_json(task),
                "finish_reason": result.generated.finish,
                "timings_ms": result.timings,
                "tokens_per_second": result.tokens_per_second(),
                "load_ms": load_ms,
                "embeddings": embeddings,
                "memory_mode": args.memory,
                "memory_mb": memory_mb(),
            });
            println!("{line}");
        } else {
            print_human(path, result);
        }
    }
    if let (Some(out), Some(first), Some(result)) = (&args.draw, args.images.first(), runs.first()) {
        let image =
            florence2_preprocess::open(first).with_context(|| format!("reading {}", first.display()))?;
        draw::draw_result(&image, &result.output, out)?;
        if !args.json {
            eprintln!("drew the result on {}", out.display());
        }
    }
    Ok(())
}

/// Resident set now and its high-water mark so far, in MB, from `/proc/self/status` (Linux);
/// `null` where that file does not exist.
fn memory_mb() -> serde_json::Value {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return serde_json::Value::Null;
    };
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map(|kb| kb / 1024.0)
    };
    json!({ "rss": field("VmRSS:"), "peak": field("VmHWM:") })
}

fn print_human(path: &std::path::Path, run: &florence2_core::TaskRun) {
    let t = &run.timings;
    println!(
        "{}  {}  ({} tokens, {:.1} tok/s; preprocess {:.0} ms, vision {:.0} ms, encoder {:.0} ms, decoder {:.0} ms)",
        path.display(),
        run.task.token(),
        run.generated.ids.len().saturating_sub(1),
        run.tokens_per_second(),
        t.preprocess,
        t.vision,
        t.encoder,
        t.decoder
    );
    let fmt = |v: &[f64]| v.iter().map(|x| format!("{x:.1}")).collect::<Vec<_>>().join(", ");
    match &run.output {
        TaskOutput::Text(text) => println!("  {text}"),
        TaskOutput::Boxes { boxes, labels } => {
            for (b, l) in boxes.iter().zip(labels) {
                println!("  {l:<30} [{}]", fmt(&[b.x1, b.y1, b.x2, b.y2]));
            }
        }
        other => println!("  {}", other.to_json(run.task)),
    }
}
