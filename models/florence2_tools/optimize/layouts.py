"""One `Layout` per component whose graph we replace with our own.

A layout reads the stock fp32 graph(s) of its component from the input folder and writes our graph for
each precision it supports, under the public file name of that precision, so that core, the SDK and
any onnx-community client load it with no extra flag. `check` compares a written graph with the stock
fp32 graph on the same inputs.

- `VisionLayout` (issue 17): the vision encoder, same inputs and outputs as the stock graph;
- `DecoderLayout` (issue 18): the decoder as `decoder_cross_kv` + `decoder_step` over a pre-allocated
  cache, and `embed_tokens` rewritten over one token table shared with the LM head
  (docs/decoder-layout.md). The stock `decoder_model_merged*.onnx` stay in the folder (copied), so
  clients that do not know the layout still load it.

`replaces` names the public components a layout writes itself (optimize.py does not copy those).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import onnx

from .decoder_check import compare as decoder_compare
from .decoder_graph import DecoderOptions, build_cross_kv, build_embed_lookup, build_step, write_token_table
from .external_data import data_path, save_with_data
from .decoder_weights import TextArch, extract_decoder, read_token_table
from .errors import OptimizeError
from .folder import SUFFIX, graph_path
from .opset import check_allowed, op_set
from .selfcheck import compare, probe_pixels, session
from .vision_graph import VisionOptions, build_vision
from .vision_weights import VisionArch, extract


@dataclass
class Context:
    """What every layout gets: the input folder, its configs, and the check settings."""

    model: Path
    config: dict
    preprocessor: dict
    check_images: list[Path] = field(default_factory=list)
    threads: int = 2


class Layout(Protocol):
    """A component rewritten by the optimiser."""

    component: str
    precisions: tuple[str, ...]
    replaces: tuple[str, ...]

    def prepare(self, ctx: Context) -> None:
        """Reads and validates the stock graph(s) (cheap checks first); raises OptimizeError."""

    def write(self, ctx: Context, precision: str, out_folder: Path) -> list[Path]:
        """Writes the optimised graph(s) of `precision` into `out_folder`; returns the paths."""

    def check(self, ctx: Context, precision: str, out_folder: Path) -> dict:
        """The written graph against the stock fp32 graph; raises OptimizeError past tolerance."""


class VisionLayout:
    """The channels-last DaViT with fused attention (vision_graph.py)."""

    component = "vision_encoder"
    precisions = ("fp32", "int8")
    replaces = ("vision_encoder",)
    #: fp32: max |Δ| ≤ this × max(1, max |stock|); int8: cosine ≥ INT8_MIN_COSINE.
    FP32_TOLERANCE = 1e-4
    INT8_MIN_COSINE = 0.99

    def __init__(self, options: dict[str, VisionOptions] | None = None):
        self.options = options or {"fp32": VisionOptions(quant="none"), "int8": VisionOptions(quant="dynamic")}
        self.weights = None

    def size(self, ctx: Context) -> tuple[int, int]:
        size = ctx.preprocessor.get("crop_size") or ctx.preprocessor.get("size") or {}
        try:
            return int(size["height"]), int(size["width"])
        except (KeyError, TypeError, ValueError) as e:
            raise OptimizeError(f"preprocessor_config.json has no size/crop_size height and width: {size!r}") from e

    def prepare(self, ctx: Context) -> None:
        arch = VisionArch.from_config(ctx.config)
        path = graph_path(ctx.model, self.component, "fp32")
        try:
            stock = onnx.load(str(path))
        except Exception as e:  # protobuf raises DecodeError, onnx its own types
            raise OptimizeError(f"{path}: not a readable ONNX file ({e})") from e
        ins = [i.name for i in stock.graph.input if i.name not in {t.name for t in stock.graph.initializer}]
        outs = [o.name for o in stock.graph.output]
        if ins != ["pixel_values"] or "image_features" not in outs:
            raise OptimizeError(f"{path} is not a Florence-2 vision encoder: inputs {ins}, outputs {outs} (expected pixel_values → image_features)")
        try:
            self.weights = extract(stock, arch)
        except OptimizeError as e:
            raise OptimizeError(f"{path}: {e}") from e
        self.height, self.width = self.size(ctx)

    def write(self, ctx: Context, precision: str, out_folder: Path) -> list[Path]:
        if precision not in self.precisions:
            raise OptimizeError(f"the vision layout has no {precision!r} variant (it has {', '.join(self.precisions)})")
        model = build_vision(self.weights, self.height, self.width, self.options[precision])
        path = graph_path(out_folder, self.component, precision)
        data = data_path(path)
        # weights in a 64 KiB-aligned data file: ONNX Runtime maps them instead of parsing the
        # graph's bytes into its heap (−35 MB peak at base int8, docs/memory.md)
        _save_checked(model, path, data)
        return [p for p in (path, data) if p.exists()]

    def check(self, ctx: Context, precision: str, out_folder: Path) -> dict:
        stock = session(graph_path(ctx.model, self.component, "fp32"), ctx.threads)
        ours_path = graph_path(out_folder, self.component, precision)
        ours = session(ours_path, ctx.threads)
        rows = compare(stock, ours, probe_pixels(self.height, self.width, ctx.check_images, ctx.preprocessor), "pixel_values", "image_features")
        worst = max(rows, key=lambda r: r["max_abs_diff"])
        if precision == "fp32":
            limit = self.FP32_TOLERANCE * max(1.0, worst["max_abs_reference"])
            if worst["max_abs_diff"] > limit:
                raise OptimizeError(f"self-check failed: {ours_path.name} differs from the stock vision encoder by {worst['max_abs_diff']:.3g} on {worst['probe']} (limit {limit:.3g}); the input graph is not the DaViT this tool reads")
        else:
            low = min(rows, key=lambda r: r["cosine"])
            if low["cosine"] < self.INT8_MIN_COSINE:
                raise OptimizeError(f"self-check failed: {ours_path.name} has cosine {low['cosine']:.4f} to the stock fp32 output on {low['probe']} (minimum {self.INT8_MIN_COSINE})")
        model = onnx.load(str(ours_path), load_external_data=False)
        return {
            "file": f"onnx/{ours_path.name}",
            "layout": self.options[precision].describe(),
            "input_size": [self.height, self.width],
            "against": "onnx/vision_encoder.onnx of the input folder (fp32)",
            "probes": rows,
            "max_abs_diff": worst["max_abs_diff"],
            "operators": sorted(f"{d or 'ai.onnx'}:{op}" for d, op in op_set(model)),
        }


class DecoderLayout:
    """The decoder over a pre-allocated cache (decoder_graph.py), its cross K/V graph, and the token
    table shared by `embed_tokens` and the LM head."""

    component = "decoder"
    precisions = ("fp32", "int8")
    replaces = ("embed_tokens",)
    #: fp32: max |Δ| of the logits ≤ this × max(1, max |stock|); int8: cosine ≥ INT8_MIN_COSINE.
    FP32_TOLERANCE = 1e-4
    INT8_MIN_COSINE = 0.99

    def __init__(self, options: dict[str, DecoderOptions] | None = None):
        self.options = options or {"fp32": DecoderOptions(quant="none"), "int8": DecoderOptions(quant="dynamic")}
        self.weights = None
        self.table = None

    def prepare(self, ctx: Context) -> None:
        arch = TextArch.from_config(ctx.config)
        path = graph_path(ctx.model, "decoder_model_merged", "fp32")
        embed = graph_path(ctx.model, "embed_tokens", "fp32")
        models = {}
        for p in (path, embed):
            try:
                models[p] = onnx.load(str(p))
            except Exception as e:  # protobuf raises DecodeError, onnx its own types
                raise OptimizeError(f"{p}: not a readable ONNX file ({e})") from e
        stock = models[path]
        ins = {i.name for i in stock.graph.input}
        outs = [o.name for o in stock.graph.output]
        if not {"encoder_hidden_states", "inputs_embeds"} <= ins or not outs or outs[0] != "logits":
            raise OptimizeError(f"{path} is not a Florence-2 merged decoder: inputs {sorted(ins)}, outputs {outs[:3]}")
        try:
            self.weights = extract_decoder(stock, arch)
        except OptimizeError as e:
            raise OptimizeError(f"{path}: {e}") from e
        try:
            self.table = read_token_table(models[embed])
        except OptimizeError as e:
            raise OptimizeError(f"{embed}: {e}") from e
        lm = self.weights.lm_head.w
        if self.table.table.shape != (lm.shape[1], lm.shape[0]):
            raise OptimizeError(f"{embed}: table {self.table.table.shape} does not match the decoder's LM head {lm.shape[::-1]}")
        #: the LM head is the (transposed) token table: store it once
        self.tied = bool(np.array_equal(self.table.table, lm.T))

    def files(self, precision: str) -> dict[str, str]:
        sfx = SUFFIX[precision]
        return {"step": f"decoder_step{sfx}.onnx", "cross_kv": f"decoder_cross_kv{sfx}.onnx", "embed": f"embed_tokens{sfx}.onnx", "table": f"token_table{sfx}.onnx_data",
                "step_data": f"decoder_step{sfx}.onnx_data", "cross_kv_data": f"decoder_cross_kv{sfx}.onnx_data"}

    def write(self, ctx: Context, precision: str, out_folder: Path) -> list[Path]:
        if precision not in self.precisions:
            raise OptimizeError(f"the decoder layout has no {precision!r} variant (it has {', '.join(self.precisions)})")
        opts = self.options[precision]
        names = self.files(precision)
        onnx_dir = out_folder / "onnx"
        quantized = opts.quant == "dynamic"
        for p in (onnx_dir / n for n in names.values()):
            p.unlink(missing_ok=True)  # never write through a hard link to the input folder
        # the token table, stored once: the embedding lookup reads it, and the LM head too when tied
        table_path = onnx_dir / names["table"]
        info = write_token_table(table_path, self.table.table, quantized)
        embed = build_embed_lookup(info, self.table.ops)
        _save_checked(embed, onnx_dir / names["embed"])
        _save_checked(build_cross_kv(self.weights, opts), onnx_dir / names["cross_kv"], onnx_dir / names["cross_kv_data"])
        _save_checked(build_step(self.weights, opts, info if self.tied else None), onnx_dir / names["step"], onnx_dir / names["step_data"])
        return [p for p in (onnx_dir / names[k] for k in ("step", "cross_kv", "embed", "table", "step_data", "cross_kv_data")) if p.exists()]

    def check(self, ctx: Context, precision: str, out_folder: Path) -> dict:
        names = self.files(precision)
        stock_decoder = graph_path(ctx.model, "decoder_model_merged", "fp32")
        stock_embed = graph_path(ctx.model, "embed_tokens", "fp32")
        start = int(json.loads((ctx.model / "generation_config.json").read_text()).get("decoder_start_token_id", 2)) if (ctx.model / "generation_config.json").is_file() else 2
        try:
            row = decoder_compare(stock_decoder, stock_embed, out_folder, SUFFIX[precision], start, ctx.threads)
        except Exception as e:  # onnxruntime raises several unrelated exception types
            if isinstance(e, OptimizeError):
                raise
            raise OptimizeError(f"ONNX Runtime cannot run the optimised decoder {names['step']}: {e}") from e
        if precision == "fp32":
            limit = self.FP32_TOLERANCE * max(1.0, row["max_abs_reference"])
            if row["max_abs_diff"] > limit:
                raise OptimizeError(f"self-check failed: {names['step']} differs from the stock decoder by {row['max_abs_diff']:.3g} in the logits (limit {limit:.3g}); the input graph is not the decoder this tool reads")
        elif row["min_cosine"] < self.INT8_MIN_COSINE:
            raise OptimizeError(f"self-check failed: {names['step']} has logits cosine {row['min_cosine']:.4f} to the stock fp32 decoder (minimum {self.INT8_MIN_COSINE})")
        ops = set()
        for n in ("step", "cross_kv", "embed"):
            ops |= op_set(onnx.load(str(out_folder / "onnx" / names[n]), load_external_data=False))
        return {
            "file": f"onnx/{names['step']}",
            "layout": self.options[precision].describe(),
            "files": {k: f"onnx/{v}" for k, v in names.items()},
            "token_table": {"kind": info_kind(out_folder / "onnx" / names["embed"]), "shared_with_lm_head": self.tied, "embedding": self.table.pattern, "scales_after_lookup": [f"{op}({v:g})" for op, v in self.table.ops],
                            "rows": int(self.table.table.shape[0]), "dim": int(self.table.table.shape[1])},
            "max_positions": self.weights.arch.max_positions,
            "against": "onnx/decoder_model_merged.onnx + onnx/embed_tokens.onnx of the input folder (fp32)",
            "probes": [row],
            "max_abs_diff": row["max_abs_diff"],
            "operators": sorted(f"{d or 'ai.onnx'}:{op}" for d, op in ops),
        }


def info_kind(embed: Path) -> str:
    """The token table's storage, from the lookup graph we wrote."""
    m = onnx.load(str(embed), load_external_data=False)
    types = {i.data_type: list(i.dims) for i in m.graph.initializer if len(i.dims) >= 2}
    if onnx.TensorProto.UINT8 in types:
        return f"8-bit blocks of {types[onnx.TensorProto.UINT8][-1]} (q + 128, a float scale per block)"
    if onnx.TensorProto.INT8 in types:
        return "int8 rows (a float scale per row)"
    return "float32"


def _save_checked(model: onnx.ModelProto, path: Path, data: Path | None = None) -> None:
    """Checks the graph's operators against the Android list, then saves it (its large weights in
    `data`, 64 KiB-aligned, when given) and checks the file."""
    check_allowed(model, str(path.name))
    save_with_data(model, path, data)


def layouts() -> dict[str, Layout]:
    """The layouts by name: each writes the components in its `replaces` (and files of its own)."""
    return {"vision_encoder": VisionLayout(), "decoder": DecoderLayout()}


