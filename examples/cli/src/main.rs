//! `florence2`: run Florence-2 tasks on images from the command line.
//!
//! ```text
//! florence2 run --model DIR --task '<OD>' photo.jpg
//! florence2 run --model DIR --task '<CAPTION_TO_PHRASE_GROUNDING>' --text 'a red car' --json a.png b.png
//! florence2 parse --task '<OD>' --image-size 640,480 '</s><s>car<loc_53><loc_333><loc_933><loc_774></s>'
//! ```

mod draw;

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use florence2_core::generate::NoObserver;
use florence2_core::{
    CancelFlag, Florence2, GenerateOptions, LoadOptions, Precision, PrecisionPlan, Task, TaskOutput, task,
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
    /// Precision: one name for all components (`fp32`, `fp16`, `q8`, `int8`, `uint8`, `q4`, `q4f16`,
    /// `bnb4`) or per component: `vision=fp16,embed=fp32,encoder=int8,decoder=int8`.
    #[arg(long, default_value = "fp32")]
    precision: String,
    /// Intra-op threads per session (0 = one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
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
        let (name, value) = part.split_once('=').context("expected component=precision")?;
        let p: Precision = value.parse()?;
        match name.trim() {
            "vision" | "vision_encoder" => plan.vision_encoder = p,
            "embed" | "embed_tokens" => plan.embed_tokens = p,
            "encoder" | "encoder_model" | "text_encoder" => plan.text_encoder = p,
            "decoder" | "decoder_model_merged" => plan.decoder = p,
            other => bail!("unknown component {other:?} (vision, embed, encoder, decoder)"),
        }
    }
    Ok(plan)
}

fn main() -> std::process::ExitCode {
    match dispatch(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
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
    }
}

fn run(args: RunArgs) -> Result<()> {
    let task: Task = args.task.parse()?;
    let mut options = LoadOptions {
        precision: parse_precision(&args.precision)?,
        ..LoadOptions::default()
    };
    options.session.intra_threads = args.threads;
    let t_load = Instant::now();
    let mut model = Florence2::load(&args.model, &options)?;
    let load_ms = t_load.elapsed().as_secs_f64() * 1e3;
    if !args.json {
        eprintln!("loaded {} in {:.0} ms", args.model.display(), load_ms);
    }
    let generate = GenerateOptions {
        max_new_tokens: args.max_new_tokens,
        num_beams: args.num_beams,
        ..Default::default()
    };
    for (index, path) in args.images.iter().enumerate() {
        let t0 = Instant::now();
        let image =
            florence2_preprocess::open(path).with_context(|| format!("reading {}", path.display()))?;
        let decode_ms = t0.elapsed().as_secs_f64() * 1e3;
        let t1 = Instant::now();
        let (encoded, preprocess_ms) = model.encode_image(image.view(), &CancelFlag::new())?;
        let vision_ms = t1.elapsed().as_secs_f64() * 1e3 - preprocess_ms;
        let mut result = model.run(
            &encoded,
            task,
            args.text.as_deref(),
            &generate,
            &CancelFlag::new(),
            &mut NoObserver,
        )?;
        result.timings.preprocess = decode_ms + preprocess_ms;
        result.timings.vision = vision_ms;
        result.timings.total += result.timings.preprocess + vision_ms;
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
            });
            println!("{line}");
        } else {
            print_human(path, &result);
        }
        if index == 0
            && let Some(out) = &args.draw
        {
            draw::draw_result(&image, &result.output, out)?;
            if !args.json {
                eprintln!("drew the result on {}", out.display());
            }
        }
    }
    Ok(())
}

fn print_human(path: &std::path::Path, run: &florence2_core::pipeline::TaskRun) {
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
