#!/usr/bin/env python3
"""Write a download manifest (JSON) for a local Florence-2 model folder, for apps that host their own
model (a fine-tune, a quantised variant) and download it with the SDK's ModelDownloader.

    .venv/bin/python models/manifest.py models/out/base-ft \\
        --base-url https://models.example.com/florence2-base-ft/v1/ --out base-ft.manifest.json

Every file gets its size and SHA-256 (so the first download is verified too), and every precision
whose four graphs are all in onnx/ becomes a preset named like the SDK's precisions (`fp32`, `fp16`,
`int8`, `q8`, ...), plus `mobile-int8` when the int8 graphs exist. More presets, mixing precisions:

    --preset vision-fp16=vision_encoder:fp16,embed_tokens:fp32,encoder_model:int8,decoder_model_merged:int8

Upload the folder so that <base-url><path> serves each file (e.g. onnx/decoder_model_merged_int8.onnx).
The format is read by florence2-core's `download::Manifest` (schema 1).

A folder written by models/optimize.py keeps the public file names, so its manifest names the
optimised graphs by the usual paths; their SHA-256 pins tell them from the stock files, and the
manifest's `note` and preset descriptions say which graphs are in our optimised layout.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

SCHEMA = 1
# The graph stems and the precision suffixes florence2-core loads (crates/core/src/model_files.rs).
STEMS = ("vision_encoder", "embed_tokens", "encoder_model", "decoder_model_merged")
SUFFIXES = {
    "fp32": "",
    "fp16": "_fp16",
    "q8": "_quantized",
    "int8": "_int8",
    "uint8": "_uint8",
    "q4": "_q4",
    "q4f16": "_q4f16",
    "bnb4": "_bnb4",
    "static_int8": "_static_int8",
}
# Files the core reads besides the graphs (generation_config.json is optional for it).
CONFIG_FILES = ("config.json", "generation_config.json", "preprocessor_config.json", "tokenizer.json")
REQUIRED = ("config.json", "preprocessor_config.json", "tokenizer.json")
DESCRIPTIONS = {
    "mobile-int8": "Dynamic INT8 weights for all four graphs: the smallest download that keeps float activations.",
    "fp32": "Float32 weights: the reference precision and the largest download.",
    "fp16": "Float16 weights (float32 inputs/outputs): half the fp32 size.",
}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def graph_path(stem: str, precision: str) -> str:
    return f"onnx/{stem}{SUFFIXES[precision]}.onnx"


def parse_preset(spec: str) -> tuple[str, dict[str, str]]:
    """`name=stem:precision,...` (all four stems) or `name=precision` (the same for all four)."""
    if "=" not in spec:
        raise ValueError(f"--preset {spec!r}: expected NAME=PRECISION or NAME=stem:precision,...")
    name, rest = spec.split("=", 1)
    if ":" not in rest:
        if rest not in SUFFIXES:
            raise ValueError(f"--preset {spec!r}: unknown precision {rest!r} (known: {', '.join(SUFFIXES)})")
        return name, {stem: rest for stem in STEMS}
    chosen: dict[str, str] = {}
    for part in rest.split(","):
        stem, _, precision = part.partition(":")
        if stem not in STEMS:
            raise ValueError(f"--preset {spec!r}: unknown graph {stem!r} (graphs: {', '.join(STEMS)})")
        if precision not in SUFFIXES:
            raise ValueError(f"--preset {spec!r}: unknown precision {precision!r} (known: {', '.join(SUFFIXES)})")
        chosen[stem] = precision
    missing = [s for s in STEMS if s not in chosen]
    if missing:
        raise ValueError(f"--preset {spec!r}: no precision for {', '.join(missing)}")
    return name, chosen


def build_manifest(model_dir: Path, base_url: str, model_id: str | None = None,
                   presets: list[str] | None = None) -> dict:
    """The manifest of `model_dir` (raises ValueError naming what is missing)."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise ValueError(f"{model_dir} is not a folder")
    if not base_url.startswith(("http://", "https://")):
        raise ValueError(f"--base-url {base_url!r} must be an http(s) URL")
    if not base_url.endswith("/"):
        base_url += "/"
    for name in REQUIRED:
        if not (model_dir / name).is_file():
            raise ValueError(f"{model_dir} has no {name}: not a Florence-2 model folder")
    configs = [name for name in CONFIG_FILES if (model_dir / name).is_file()]

    selected: list[tuple[str, dict[str, str]]] = []
    for precision in SUFFIXES:
        if all((model_dir / graph_path(stem, precision)).is_file() for stem in STEMS):
            selected.append((precision, {stem: precision for stem in STEMS}))
    if any(name == "int8" for name, _ in selected):
        selected.insert(0, ("mobile-int8", {stem: "int8" for stem in STEMS}))
    for spec in presets or []:
        name, chosen = parse_preset(spec)
        selected = [(n, c) for n, c in selected if n != name] + [(name, chosen)]
    if not selected:
        raise ValueError(f"{model_dir}/onnx holds no precision with all four graphs ({', '.join(STEMS)})")

    preset_entries = []
    used: list[str] = list(configs)
    for name, chosen in selected:
        graphs = [graph_path(stem, chosen[stem]) for stem in STEMS]
        for g in graphs:
            if not (model_dir / g).is_file():
                raise ValueError(f"preset {name!r} needs {g}, which is not in {model_dir}")
        graphs += decoder_layout_files(model_dir, chosen["decoder_model_merged"])
        graphs += [c for g in list(graphs) for c in companions(model_dir, g) if c not in graphs]
        for g in graphs:
            if g not in used:
                used.append(g)
        description = DESCRIPTIONS.get(name) or ", ".join(f"{stem} {chosen[stem]}" for stem in STEMS)
        preset_entries.append({"name": name, "description": description, "files": configs + graphs})

    files = [{"path": rel, "size": (model_dir / rel).stat().st_size, "sha256": sha256_of(model_dir / rel)}
             for rel in used]
    manifest = {
        "schema": SCHEMA,
        "id": model_id or model_dir.resolve().name,
        "base_url": base_url,
        "files": files,
        "presets": preset_entries,
    }
    optimised = optimised_graphs(model_dir)
    if optimised:
        manifest["note"] = ("Written by models/optimize.py: " + ", ".join(sorted(optimised)) +
                            " in the florence2-mobile optimised layout (the vision encoder with the public inputs and outputs;"
                            " the decoder as decoder_step + decoder_cross_kv over one token table, docs/decoder-layout.md,"
                            " beside the public decoder_model_merged for other clients).")
        for preset in preset_entries:
            mine = [f for f in preset["files"] if f in optimised]
            if mine:
                preset["description"] += " Optimised layout: " + ", ".join(mine) + "."
    return manifest


def companions(model_dir: Path, rel: str) -> list[str]:
    """The external-data files graph `rel` reads (as onnx/... paths); none if it has none or is not
    a readable ONNX file."""
    try:
        import onnx

        model = onnx.load(str(Path(model_dir) / rel), load_external_data=False)
    except Exception:  # not an ONNX file (or onnx missing): nothing to add
        return []
    out = []
    for init in model.graph.initializer:
        for entry in init.external_data:
            if entry.key == "location":
                path = str(Path(rel).parent / entry.value)
                if path not in out:
                    out.append(path)
    return out


def decoder_layout_files(model_dir: Path, precision: str) -> list[str]:
    """The optimised decoder's graphs of `precision` (docs/decoder-layout.md), if the folder has both."""
    files = [graph_path("decoder_step", precision), graph_path("decoder_cross_kv", precision)]
    return files if all((Path(model_dir) / f).is_file() for f in files) else []


def optimised_graphs(model_dir: Path) -> set[str]:
    """The graphs of `model_dir` that models/optimize.py wrote (from its optimize_report.json)."""
    report = Path(model_dir) / "optimize_report.json"
    if not report.is_file():
        return set()
    try:
        graphs = json.loads(report.read_text()).get("graphs", {})
    except (OSError, json.JSONDecodeError):
        return set()
    return {path for path, entry in graphs.items() if str(entry.get("source", "")).startswith("optimised")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model_dir", type=Path, help="a model folder in the onnx-community layout")
    parser.add_argument("--base-url", required=True, help="URL prefix that serves the folder's files")
    parser.add_argument("--id", help="the model's name (default: the folder name)")
    parser.add_argument("--preset", action="append", default=[], help="extra preset NAME=PRECISION or NAME=stem:precision,...")
    parser.add_argument("--out", type=Path, help="write here instead of standard output")
    args = parser.parse_args(argv)
    try:
        manifest = build_manifest(args.model_dir, args.base_url, args.id, args.preset)
    except ValueError as e:
        print(f"manifest.py: {e}", file=sys.stderr)
        return 2
    text = json.dumps(manifest, indent=2) + "\n"
    if args.out:
        args.out.write_text(text)
        total = sum(f["size"] for f in manifest["files"])
        print(f"wrote {args.out}: {len(manifest['files'])} files, {total} bytes, presets "
              f"{', '.join(p['name'] for p in manifest['presets'])}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
