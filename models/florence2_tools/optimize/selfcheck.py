"""The optimised graphs against the stock ones: max |Δ| of the outputs on the same inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort

from .errors import OptimizeError


def probe_pixels(height: int, width: int, images: list[Path], preprocessor: dict, seed: int = 0) -> list[tuple[str, np.ndarray]]:
    """Inputs for the check: the given images (reference preprocessing) or, without any, two
    deterministic synthetic ones (a smooth colour ramp with blocks, and normalised noise)."""
    out = []
    if images:
        from ..preprocess import load_rgb, pixel_values

        for p in images:
            out.append((Path(p).name, pixel_values(load_rgb(Path(p)), preprocessor)))
        return out
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    ramp = np.stack([np.sin(xx / 23.0) * 1.5, np.cos(yy / 17.0) * 1.5, ((xx // 48 + yy // 48) % 2) * 2.0 - 1.0])[None]
    out.append(("synthetic-ramp", ramp.astype(np.float32)))
    rng = np.random.default_rng(seed)
    out.append(("synthetic-noise", rng.standard_normal((1, 3, height, width)).astype(np.float32)))
    return out


def session(path: Path, threads: int) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    try:
        return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime raises several unrelated exception types
        raise OptimizeError(f"ONNX Runtime cannot load {path}: {e}") from e


def compare(reference: ort.InferenceSession, candidate: ort.InferenceSession, probes: list[tuple[str, np.ndarray]], input_name: str, output_name: str) -> list[dict]:
    """Per probe: max |Δ|, max |reference|, cosine and relative RMS error of `output_name`."""
    rows = []
    for name, x in probes:
        a = reference.run([output_name], {input_name: x})[0].astype(np.float64)
        b = candidate.run([output_name], {input_name: x})[0].astype(np.float64)
        if a.shape != b.shape:
            raise OptimizeError(f"{output_name}: the optimised graph gives shape {b.shape}, the stock one {a.shape}")
        d = np.abs(a - b)
        cos = float((a * b).sum() / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-30))
        rows.append({
            "probe": name,
            "max_abs_diff": float(d.max()),
            "max_abs_reference": float(np.abs(a).max()),
            "cosine": cos,
            "relative_rms": float(np.sqrt((d ** 2).mean()) / max(np.sqrt((a ** 2).mean()), 1e-30)),
        })
    return rows
