"""One `Layout` per component whose graph we replace with our own.

A layout reads the stock fp32 graph(s) of its component from the input folder and writes our graph for
each precision it supports, under the public file name of that precision, so that core, the SDK and
any onnx-community client load it with no extra flag. `check` compares a written graph with the stock
fp32 graph on the same inputs.

Today: `VisionLayout` (issue 17). The decoder (issue 18) adds a `DecoderLayout` to `LAYOUTS` with the
same three methods; it may also write files of its own (e.g. a cross-attention K/V graph) by returning
more than one path from `write`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import onnx

from .errors import OptimizeError
from .folder import graph_path
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

    def prepare(self, ctx: Context) -> None:
        """Reads and validates the stock graph(s) (cheap checks first); raises OptimizeError."""

    def write(self, ctx: Context, precision: str, out_folder: Path) -> list[Path]:
        """Writes the optimised graph(s) of `precision` into `out_folder`; returns the paths."""

    def check(self, ctx: Context, precision: str, out_folder: Path) -> dict:
        """The written graph against the stock fp32 graph; raises OptimizeError past tolerance."""


def _save(model: onnx.ModelProto, path: Path) -> None:
    onnx.checker.check_model(model)
    check_allowed(model, str(path.name))
    if model.ByteSize() > 1_900_000_000:
        onnx.save(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True, location=path.name + "_data")
    else:
        onnx.save(model, str(path))


class VisionLayout:
    """The channels-last DaViT with fused attention (vision_graph.py)."""

    component = "vision_encoder"
    precisions = ("fp32", "int8")
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
        _save(model, path)
        return [path]

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


def layouts() -> dict[str, Layout]:
    """The layouts by component stem (issue 18 adds the decoder here)."""
    return {"vision_encoder": VisionLayout()}


