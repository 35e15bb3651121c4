#!/usr/bin/env python3
"""Write a Florence-2 model folder whose default graphs are our optimised layout.

    .venv/bin/python models/optimize.py --model IN --out OUT [--precision fp32 int8]

IN is any model folder in the public onnx-community layout (the published files, or models/export.py
output; a PyTorch checkpoint must go through export.py first). OUT is a complete, self-contained
folder (configs, tokenizer, graphs) that core, the SDK and the CLI load with no extra flag: for each
`--precision` the four graphs exist under their public names (`onnx/vision_encoder.onnx`,
`onnx/vision_encoder_int8.onnx`, ...). The vision encoder is rewritten (florence2_tools/optimize/
vision_graph.py); the other graphs are copied from IN, and int8 variants IN lacks are written with
models/quantize.py's dynamic int8 (and per-row int8 embeddings). Every graph OUT holds keeps its large
weights in a 64 KiB-aligned `NAME.onnx_data` next to it, which ONNX Runtime maps instead of parsing
into its heap (the copied graphs are otherwise unchanged: same nodes, same values).

The tool is deterministic (the same IN gives byte-identical graphs) and checks its own output: every
optimised graph against IN's fp32 graph on the same inputs (max |Δ| of `image_features`; fp32 must be
within 1e-4 × max(1, max |stock|), int8 within cosine 0.99), on `--check-images` (default: two synthetic
images). The numbers go to OUT/optimize_report.json. OUT is assembled in a hidden staging folder and
renamed into place at the end: it never exists half-written.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from florence2_tools.optimize.errors import OptimizeError  # noqa: E402
from florence2_tools.optimize.external_data import data_path, write_mapped  # noqa: E402
from florence2_tools.optimize.folder import COMPONENTS, SUFFIX, Staging, check_input, graph_path  # noqa: E402
from florence2_tools.optimize.layouts import Context, layouts  # noqa: E402

#: Precisions optimize.py can produce, and how components without a layout get that precision when IN lacks it.
PRECISIONS = ("fp32", "int8")


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _copy_component(model: Path, staging: Staging, component: str, precision: str) -> tuple[Path, str]:
    """IN's graph of `component` at `precision`, or a fresh dynamic int8 one, written with its large
    weights in a 64 KiB-aligned `.onnx_data` file (mapped by ONNX Runtime; graph and values unchanged)."""
    src = graph_path(model, component, precision)
    rel = f"onnx/{src.name}"
    dst = staging.path / rel
    if src.is_file():
        write_mapped(src, dst)
        return dst, "copied from the input folder (weights moved to a mapped .onnx_data)"
    if precision != "int8":
        raise OptimizeError(f"the input folder has no {rel} and this tool only makes int8 variants itself")
    import quantize

    # write_variant reads onnx/{component}.onnx next to the destination: give it the fp32 graph.
    fp32 = graph_path(staging.path, component, "fp32")
    if not fp32.exists():
        staging.put(graph_path(model, component, "fp32"), f"onnx/{fp32.name}")
    written = quantize.write_variant(staging.path, component, "int8")
    write_mapped(written, dst)
    return dst, "dynamic int8 written by models/quantize.py (the input folder had none; weights in a mapped .onnx_data)"


def _input_sha(model: Path, layout) -> str:
    """SHA-256 of the stock fp32 graph a layout reads (the merged decoder for the decoder layout)."""
    stem = "decoder_model_merged" if layout.component == "decoder" else layout.component
    return sha256(graph_path(model, stem, "fp32"))


def optimize(model: Path, out: Path, precisions: list[str], check_images: list[Path], threads: int, force: bool) -> dict:
    """Writes OUT; returns the report (also written to OUT/optimize_report.json)."""
    t0 = time.perf_counter()
    model = Path(model).resolve()
    out = Path(out).resolve()
    if out == model or model in out.parents:
        raise OptimizeError(f"--out {out} must not be the input folder or inside it")
    for p in precisions:
        if p not in PRECISIONS:
            raise OptimizeError(f"unknown --precision {p!r}; this tool writes {', '.join(PRECISIONS)}")
    config = check_input(model)
    for img in check_images:
        if not Path(img).is_file():
            raise OptimizeError(f"--check-images: {img} is not a file")
    preprocessor = json.loads((model / "preprocessor_config.json").read_text())
    ctx = Context(model=model, config=config, preprocessor=preprocessor, check_images=list(check_images), threads=threads)
    active = layouts()
    for layout in active.values():
        layout.prepare(ctx)  # reads and validates the stock graphs before anything is written

    staging = Staging(out, force)
    try:
        for f in sorted(model.iterdir()):
            if f.is_file() and f.name != "optimize_report.json":
                staging.put(f, f.name)
        report = {"tool": "models/optimize.py", "input": str(model), "precisions": list(precisions), "graphs": {}}
        fp32_needed = "fp32" in precisions
        owned = {c for layout in active.values() for c in layout.replaces}
        for precision in precisions:
            for component in COMPONENTS:
                if component in owned:
                    continue
                dst, how = _copy_component(model, staging, component, precision)
                report["graphs"][f"onnx/{dst.name}"] = {"source": how}
                if data_path(dst).exists():
                    report["graphs"][f"onnx/{data_path(dst).name}"] = {"source": f"weights of onnx/{dst.name}"}
            for name, layout in active.items():
                t1 = time.perf_counter()
                for path in layout.write(ctx, precision, staging.path):
                    report["graphs"][f"onnx/{path.name}"] = {"source": f"optimised {name} layout", "input_sha256": _input_sha(model, layout)}
                result = layout.check(ctx, precision, staging.path)
                entry = report["graphs"][result["file"]]
                entry.update(result)
                entry["seconds"] = round(time.perf_counter() - t1, 1)
                print(f"{result['file']}: written and checked, max |Δ| {result['max_abs_diff']:.3g} vs the stock fp32 graph ({entry['seconds']} s)", flush=True)
        if not fp32_needed:
            # Every precision's folder still needs the fp32 graphs only if a precision uses them: drop unused copies.
            for component in COMPONENTS:
                p = graph_path(staging.path, component, "fp32")
                if p.exists() and f"onnx/{p.name}" not in report["graphs"]:
                    p.unlink()
        for rel, entry in report["graphs"].items():
            entry["sha256"] = sha256(staging.path / rel)
            entry["bytes"] = (staging.path / rel).stat().st_size
        report["seconds"] = round(time.perf_counter() - t0, 1)
        staging.commit(report)
    except BaseException:
        staging.abort()
        raise
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, required=True, help="input folder in the public layout (fp32 graphs required)")
    ap.add_argument("--out", type=Path, required=True, help="output folder (must not exist unless --force)")
    ap.add_argument("--precision", nargs="+", default=["fp32", "int8"], help=f"precisions to write ({', '.join(PRECISIONS)}); default both")
    ap.add_argument("--check-images", nargs="*", type=Path, default=[], help="images for the self-check (default: two synthetic ones)")
    ap.add_argument("--threads", type=int, default=2, help="onnxruntime threads of the self-check")
    ap.add_argument("--force", action="store_true", help="replace an existing --out (atomically)")
    args = ap.parse_args(argv)
    try:
        report = optimize(args.model, args.out, args.precision, args.check_images, args.threads, args.force)
    except OptimizeError as e:
        print(f"optimize.py: error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {args.out} ({', '.join(args.precision)}) in {report['seconds']} s; report: {args.out / 'optimize_report.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
