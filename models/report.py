#!/usr/bin/env python3
"""The quantisation report: size, memory, speed and agreement with FP32 per precision, as a markdown table.

    .venv/bin/python models/report.py --model models/out/base-random --out docs/quant-base-random.md
    .venv/bin/python models/report.py --model tests/fixtures/tiny-random --work models/out/tiny-quant \\
        --static-methods minmax entropy percentile --out docs/quant-tiny-random.md

Per precision (fp32, fp16, dynamic int8, static int8, q4 by default):
- file size of each component;
- RSS after load and peak RSS during a caption: the `florence2` CLI run on one image, RSS read from
  /proc when the CLI reports the model loaded, peak from the kernel's rusage (ru_maxrss) at exit;
- vision encoder ms and decoder tokens/s as the CLI reports them (median of `--repeats` runs, the
  precisions interleaved so every figure has its FP32 baseline from the same minutes);
- agreement with FP32, standing in for CIDEr (no real weights can be had here): greedy token agreement
  of the CLI over images x tasks, and, teacher-forced on the FP32 tokens, the per-step cosine similarity
  of the raw logits and how often their argmax agrees (plain onnxruntime loop, same pixel values).
Missing variants are written first (`models/quantize.py`); a model under tests/fixtures is never written
to: give `--work DIR` (a copy is made there).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from florence2_tools import calib, quant_eval  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
STEMS = quant_eval.COMPONENT_STEMS
SUFFIX = {"fp32": "", "fp16": "_fp16", "q8": "_quantized", "int8": "_int8", "uint8": "_uint8", "q4": "_q4", "static_int8": "_static_int8"}
LABEL = {"fp32": "fp32", "fp16": "fp16 (float32 I/O)", "int8": "dynamic int8", "uint8": "dynamic uint8", "q8": "dynamic q8", "q4": "q4 (MatMulNBits)", "static_int8": "static int8 (QDQ)"}
_HUMAN = re.compile(r"\((\d+) tokens, ([\d.]+) tok/s; preprocess ([\d.]+) ms, vision ([\d.]+) ms, encoder ([\d.]+) ms, decoder ([\d.]+) ms\)")


def _mb(n: float) -> str:
    return f"{n / 1e6:.1f}"


def prepare_work(model: Path, work: Path | None) -> Path:
    """The folder variants are written to: `model` itself, or a copy of it in `work`."""
    if work is None:
        if "tests/fixtures" in str(model.resolve()):
            raise SystemExit("refusing to write variants into tests/fixtures: pass --work DIR")
        return model
    work.mkdir(parents=True, exist_ok=True)
    for p in model.iterdir():
        if p.is_file() and not (work / p.name).exists():
            shutil.copy2(p, work / p.name)
    (work / "onnx").mkdir(exist_ok=True)
    for p in (model / "onnx").iterdir():
        if not (work / "onnx" / p.name).exists():
            shutil.copy2(p, work / "onnx" / p.name)
    return work


def ensure_variants(folder: Path, precisions: list[str], static_args: list[str]) -> None:
    """Runs models/quantize.py for every precision whose files are missing."""
    for precision in precisions:
        if precision == "fp32" or all((folder / "onnx" / f"{s}{SUFFIX[precision]}.onnx").is_file() for s in STEMS):
            continue
        cmd = [sys.executable, str(ROOT / "models/quantize.py"), "--model", str(folder), "--precision", precision]
        if precision == "static_int8":
            cmd += static_args
        print("+", " ".join(cmd), flush=True)
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL if precision != "static_int8" else None)


def _vmrss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def perf_run(cli: Path, folder: Path, precision: str, image: Path, task: str, max_new: int, threads: int) -> dict:
    """One CLI caption: RSS after load (from /proc at the 'loaded' line), peak RSS (rusage), timings."""
    cmd = [str(cli), "run", "--model", str(folder), "--precision", precision, "--task", task, "--num-beams", "1", "--max-new-tokens", str(max_new), "--threads", str(threads), str(image)]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    loaded_kb = 0
    err_lines = []
    for line in p.stderr:
        err_lines.append(line)
        if line.startswith("loaded "):
            loaded_kb = _vmrss_kb(p.pid)
            break
    out = p.stdout.read()
    err_lines.append(p.stderr.read())
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {''.join(err_lines)}")
    m = _HUMAN.search(out)
    if not m:
        raise RuntimeError(f"unexpected CLI output: {out!r}")
    return {
        "loaded_mb": loaded_kb / 1024,
        "peak_mb": usage.ru_maxrss / 1024,
        "tokens": int(m.group(1)),
        "tok_s": float(m.group(2)),
        "vision_ms": float(m.group(4)),
        "encoder_ms": float(m.group(5)),
        "decoder_ms": float(m.group(6)),
    }


def cli_generate(cli: Path, folder: Path, precision: str, images: list[Path], task: str, max_new: int, threads: int) -> dict[str, list[int]]:
    """Greedy ids of every image for one task (one CLI process)."""
    cmd = [str(cli), "run", "--json", "--model", str(folder), "--precision", precision, "--task", task, "--num-beams", "1", "--max-new-tokens", str(max_new), "--threads", str(threads)] + [str(i) for i in images]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {done.stderr}")
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    return {Path(r["image"]).name: r["generated_ids"] for r in rows}


def machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    import onnxruntime as ort

    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GB RAM, {platform.system()} {platform.machine()}, ONNX Runtime {ort.__version__} (Python) / the SDK's bundled library (CLI)"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, required=True, help="exported fp32 model folder")
    ap.add_argument("--work", type=Path, help="write variants into a copy here (required for tests/fixtures)")
    ap.add_argument("--precisions", nargs="+", default=["fp32", "fp16", "int8", "static_int8", "q4"], choices=sorted(SUFFIX))
    ap.add_argument("--static-methods", nargs="+", default=["minmax"], choices=("minmax", "entropy", "percentile"), help="one static row per calibration method (extra methods go to sibling folders)")
    ap.add_argument("--calib-images", type=Path, default=ROOT / "models/out/calib-images", help="calibration folder (generated by florence2_tools/calib_images.py if missing)")
    ap.add_argument("--calib-count", type=int, default=16)
    ap.add_argument("--calib-max-new-tokens", type=int, default=24)
    ap.add_argument("--images", type=Path, default=ROOT / "tests/fixtures/images", help="evaluation images (agreement)")
    ap.add_argument("--image-count", type=int, default=0, help="use the first N evaluation images (0 = all)")
    ap.add_argument("--tasks", nargs="+", default=["<CAPTION>", "<DETAILED_CAPTION>", "<OD>", "<OCR>"])
    ap.add_argument("--max-new-tokens", type=int, default=32, help="agreement: tokens per case")
    ap.add_argument("--cosine-cases", type=int, default=0, help="teacher-forced cases (0 = every image x task)")
    ap.add_argument("--perf-image", type=Path, default=ROOT / "tests/fixtures/images/chelsea_451x300.png")
    ap.add_argument("--perf-tokens", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cli", type=Path, help="the florence2 binary (default: target/release, else target/debug)")
    ap.add_argument("--out", type=Path, help="markdown file to write (also printed)")
    ap.add_argument("--json-out", type=Path, help="raw figures as JSON")
    ap.add_argument("--perf-json", type=Path, help="reuse the speed/memory runs of an earlier report (its --json-out 'perf', keyed by row label)")
    args = ap.parse_args(argv)

    t_start = time.time()
    cli = calib.find_cli(args.cli)
    folder = prepare_work(args.model, args.work)
    if not args.calib_images.is_dir():
        from florence2_tools import calib_images

        calib_images.write_images(args.calib_images, max(24, args.calib_count))
    static_common = ["--calib-images", str(args.calib_images), "--calib-count", str(args.calib_count), "--calib-max-new-tokens", str(args.calib_max_new_tokens), "--cli", str(cli), "--threads", str(args.threads)]

    # Rows: (label, folder, precision name passed to the CLI).
    rows = []
    for p in args.precisions:
        if p != "static_int8":
            rows.append((LABEL[p], folder, p))
            continue
        for method in args.static_methods:
            target = folder if method == args.static_methods[0] else folder.parent / f"{folder.name}-static-{method}"
            if target != folder:
                target.mkdir(exist_ok=True)
                for f in folder.iterdir():
                    if f.is_file() and not (target / f.name).exists():
                        shutil.copy2(f, target / f.name)
                (target / "onnx").mkdir(exist_ok=True)
                for s in STEMS:
                    link = target / "onnx" / f"{s}.onnx"
                    if not link.exists():
                        link.symlink_to((folder / "onnx" / f"{s}.onnx").resolve())
            ensure_variants(target, ["static_int8"], static_common + ["--calib-method", method])
            rows.append((f"{LABEL[p]}, {method}", target, p))
    ensure_variants(folder, [p for p in args.precisions if p != "static_int8"], [])

    # Sizes.
    sizes = {}
    for label, f, p in rows:
        sizes[label] = [(f / "onnx" / f"{s}{SUFFIX[p]}.onnx").stat().st_size for s in STEMS]

    # Speed and memory: precisions interleaved, medians.
    perf: dict[str, list[dict]] = {label: [] for label, _, _ in rows}
    if args.perf_json:
        saved = json.loads(args.perf_json.read_text())
        saved = saved.get("perf", saved)
        perf = {label: saved[label] for label, _, _ in rows}
    for r in range(0 if args.perf_json else args.repeats):
        for label, f, p in rows:
            perf[label].append(perf_run(cli, f, p, args.perf_image, "<CAPTION>", args.perf_tokens, args.threads))
            print(f"perf {r + 1}/{args.repeats} {label}: {perf[label][-1]}", flush=True)

    # Agreement: greedy ids from the CLI.
    images = calib.list_images(args.images, args.image_count or None)
    generated: dict[str, dict] = {}
    for label, f, p in rows:
        generated[label] = {t: cli_generate(cli, f, p, images, t, args.max_new_tokens, args.threads) for t in args.tasks}
        print(f"generated {label}", flush=True)
    ref_label = rows[0][0]
    agreement = {}
    for label, _, _ in rows:
        per = [quant_eval.token_agreement(generated[ref_label][t][i.name], generated[label][t][i.name]) for t in args.tasks for i in images]
        agreement[label] = {
            "exact": float(np.mean([a["exact"] for a in per])),
            "prefix": float(np.mean([a["prefix"] for a in per])),
            "positional": float(np.mean([a["positional"] for a in per])),
            "cases": len(per),
        }

    # Teacher-forced logits on the FP32 tokens (plain onnxruntime, pixel values from our preprocessing).
    from tokenizers import Tokenizer

    from florence2_tools.tasks import construct_prompt

    import tempfile

    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    with tempfile.TemporaryDirectory(prefix="f2report.") as tmp:
        pvs = calib.preprocess_images(cli, folder, images, Path(tmp))
        cases = [(t, img, pv) for t in args.tasks for img, pv in zip(images, pvs)]
        if args.cosine_cases:
            cases = cases[: args.cosine_cases]
        ref_logits = {}
        cosine = {}
        for label, f, p in rows:
            pipe = quant_eval.PlanPipeline(f, SUFFIX[p], threads=args.threads)
            cos, top1 = [], []
            for t, img, pv in cases:
                ids = generated[ref_label][t][img.name]
                prompt = np.array([tok.encode(construct_prompt(t)).ids], dtype=np.int64)
                logits = quant_eval.teacher_forced_logits(pipe, np.load(pv), prompt, ids)
                key = (t, img.name)
                if label == ref_label:
                    ref_logits[key] = logits
                ref = ref_logits[key]
                cos.append(quant_eval.cosine_per_step(ref, logits))
                top1.append(ref.argmax(1) == logits.argmax(1))
            del pipe
            allc = np.concatenate(cos)
            cosine[label] = {"mean": float(allc.mean()), "min": float(allc.min()), "top1": float(np.concatenate(top1).mean()), "cases": len(cases), "steps": int(allc.size)}
            print(f"cosine {label}: {cosine[label]}", flush=True)

    # Table.
    med = {label: {k: statistics.median(r[k] for r in runs) for k in runs[0]} for label, runs in perf.items()}
    base = med[ref_label]
    lines = []
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines.append(f"Model: `{args.model}` ({json.loads((folder / 'config.json').read_text()).get('text_config', {}).get('d_model', '?')}-wide text model), measured {now} on {machine()}.")
    lines.append("")
    lines.append("| precision | vision_encoder MB | embed_tokens MB | encoder_model MB | decoder_model_merged MB | total MB | RSS after load MB | peak RSS, caption MB | vision ms (x fp32) | decoder tok/s (x fp32) | greedy exact match | greedy prefix agreement | teacher-forced top-1 | logits cosine mean (min) |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, _, _ in rows:
        sz = sizes[label]
        m = med[label]
        a = agreement[label]
        c = cosine[label]
        lines.append(
            f"| {label} | {' | '.join(_mb(x) for x in sz)} | {_mb(sum(sz))} | {m['loaded_mb']:.0f} | {m['peak_mb']:.0f} | "
            f"{m['vision_ms']:.0f} ({m['vision_ms'] / base['vision_ms']:.2f}) | {m['tok_s']:.1f} ({m['tok_s'] / base['tok_s']:.2f}) | "
            f"{100 * a['exact']:.0f}% | {100 * a['prefix']:.0f}% | {100 * c['top1']:.1f}% | {c['mean']:.4f} ({c['min']:.4f}) |"
        )
    lines.append("")
    lines.append(
        f"Speed/memory: `florence2 run --precision P --task '<CAPTION>' --num-beams 1 --max-new-tokens {args.perf_tokens} --threads {args.threads}` on "
        f"`{args.perf_image.name}`, median of {len(perf[ref_label])} runs per precision, precisions interleaved (shared machine: other jobs were running). "
        f"Agreement: {agreement[ref_label]['cases']} greedy cases ({len(images)} images of `{args.images.name}` x {', '.join(args.tasks)}; up to {args.max_new_tokens} tokens), "
        f"compared with the fp32 CLI output; teacher-forced figures over {cosine[ref_label]['steps']} decoder steps of {cosine[ref_label]['cases']} cases. "
        f"Static int8 calibrated on {args.calib_count} images of `{args.calib_images.name}` ({args.calib_max_new_tokens} decoder steps each)."
    )
    lines.append("")
    lines.append(
        "**Real Florence-2 weights cannot be downloaded here, so agreement with fp32 stands in for CIDEr.** The weights are random: "
        "logits of a random model are nearly flat, so tiny perturbations flip the argmax and greedy agreement is pessimistic; "
        "the absolute numbers say little about a trained model's captions. Sizes, memory and speed do carry over (same shapes and ops)."
    )
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    if args.json_out:
        args.json_out.write_text(json.dumps({"sizes": sizes, "perf": perf, "agreement": agreement, "cosine": cosine}, indent=1) + "\n")
    print(f"report done in {time.time() - t_start:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
