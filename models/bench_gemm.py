#!/usr/bin/env python3
"""This CPU's int8 and fp32 GEMM rates through ONNX Runtime, measured side by side in one process.

    .venv/bin/python models/bench_gemm.py [--threads 2] [--runs 15] [--m 9216 --k 512 --n 2048] [--json]

One graph per kernel, each a single node on the same [M, K] · [K, N] problem (the default is the
vision encoder's stage-2 MLP, `[9216 × 512] · [512 × 2048]`):

- fp32 `MatMul` (MLAS SGEMM),
- `DynamicQuantizeLinear` + `MatMulInteger` (u8 × s8, int32 out; what the issue measured),
- `com.microsoft.DynamicQuantizeMatMul` (the op our int8 vision graph uses: quantise, GEMM, scale + bias),
- `com.microsoft.MatMulIntegerToFloat` on pre-quantised u8 input (the q/k/v projections).

Rates are 2·M·K·N / time (GOP/s or GFLOP/s), from the fastest of `--runs` alternating runs, with the
median beside it: on a shared machine the fastest run is the least disturbed one. Prints the CPU
model and the load average, which belong to every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper


def cpu_name() -> str:
    """The `model name` line of /proc/cpuinfo plus the int8 features that MLAS dispatches on."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown CPU"
    name = next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("model name")), "unknown CPU")
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), [])
    feats = [f for f in ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8", "amx_bf16") if f in flags]
    return f"{name} ({', '.join(feats) or 'no AVX2'}), {os.cpu_count()} logical CPUs"


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def _model(nodes, inputs, outputs, inits) -> bytes:
    g = helper.make_graph(nodes, "gemm", inputs, outputs, inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)])
    m.ir_version = 8
    return m.SerializeToString()


def graphs(m: int, k: int, n: int, seed: int = 0) -> dict[str, tuple[bytes, dict]]:
    """{name: (model bytes, feeds)} for the four kernels on one [m, k]·[k, n] problem."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((m, k)).astype(np.float32)
    w = (rng.standard_normal((k, n)) * 0.05).astype(np.float32)
    scale = (np.abs(w).max(axis=0) / 127).astype(np.float32)
    wq = np.clip(np.rint(w / scale), -127, 127).astype(np.int8)
    a_u8 = rng.integers(0, 256, (m, k), dtype=np.uint8)
    fa = helper.make_tensor_value_info("a", TensorProto.FLOAT, [m, k])
    fy = helper.make_tensor_value_info("y", TensorProto.FLOAT, [m, n])
    iy = helper.make_tensor_value_info("y", TensorProto.INT32, [m, n])
    init_w = numpy_helper.from_array(w, "w")
    init_wq = numpy_helper.from_array(wq, "wq")
    init_s = numpy_helper.from_array(scale, "ws")
    init_z = numpy_helper.from_array(np.zeros(n, np.int8), "wz")
    init_z0 = numpy_helper.from_array(np.zeros((), np.int8), "wz0")
    init_b = numpy_helper.from_array(np.zeros(n, np.float32), "b")
    init_as = numpy_helper.from_array(np.array(0.02, np.float32), "as")
    init_az = numpy_helper.from_array(np.array(128, np.uint8), "az")
    u8 = helper.make_tensor_value_info("aq", TensorProto.UINT8, [m, k])
    return {
        "fp32 MatMul": (_model([helper.make_node("MatMul", ["a", "w"], ["y"])], [fa], [fy], [init_w]), {"a": a}),
        "u8s8 DynamicQuantizeLinear+MatMulInteger": (
            _model(
                [helper.make_node("DynamicQuantizeLinear", ["a"], ["q", "qs", "qz"]), helper.make_node("MatMulInteger", ["q", "wq", "qz", "wz0"], ["y"])],
                [fa], [iy], [init_wq, init_z0],
            ),
            {"a": a},
        ),
        "u8s8 DynamicQuantizeMatMul": (
            _model([helper.make_node("DynamicQuantizeMatMul", ["a", "wq", "ws", "wz", "b"], ["y"], domain="com.microsoft")], [fa], [fy], [init_wq, init_s, init_z, init_b]),
            {"a": a},
        ),
        "u8s8 MatMulIntegerToFloat (pre-quantised A)": (
            _model(
                [helper.make_node("MatMulIntegerToFloat", ["aq", "wq", "as", "ws", "az", "wz", "b"], ["y"], domain="com.microsoft")],
                [u8], [fy], [init_wq, init_s, init_z, init_b, init_as, init_az],
            ),
            {"aq": a_u8},
        ),
    }


def measure(m: int, k: int, n: int, threads: int, runs: int) -> list[dict]:
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    cases = graphs(m, k, n)
    sessions = {name: (ort.InferenceSession(model, so, providers=["CPUExecutionProvider"]), feeds) for name, (model, feeds) in cases.items()}
    times: dict[str, list[float]] = {name: [] for name in sessions}
    for name, (s, feeds) in sessions.items():
        s.run(None, feeds)
    for _ in range(runs):
        for name, (s, feeds) in sessions.items():
            t = time.perf_counter()
            s.run(None, feeds)
            times[name].append(time.perf_counter() - t)
    ops = 2.0 * m * k * n
    return [
        {"kernel": name, "best_ms": 1e3 * min(ts), "median_ms": 1e3 * statistics.median(ts), "rate_g": ops / min(ts) / 1e9, "median_rate_g": ops / statistics.median(ts) / 1e9}
        for name, ts in times.items()
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--m", type=int, default=9216)
    ap.add_argument("--k", type=int, default=512)
    ap.add_argument("--n", type=int, default=2048)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--json", action="store_true", help="one JSON line instead of the table")
    args = ap.parse_args(argv)
    before = load_average()
    rows = measure(args.m, args.k, args.n, args.threads, args.runs)
    after = load_average()
    fp32 = next(r for r in rows if r["kernel"] == "fp32 MatMul")
    if args.json:
        print(json.dumps({"cpu": cpu_name(), "ort": ort.__version__, "load": f"{before} → {after}", "shape": [args.m, args.k, args.n], "threads": args.threads, "rows": rows}))
        return 0
    print(f"CPU: {cpu_name()}; ONNX Runtime {ort.__version__}, {args.threads} threads; load average {before} → {after}")
    print(f"[{args.m} × {args.k}] · [{args.k} × {args.n}], {args.runs} alternating runs; rate from the fastest run (median run's rate in brackets)")
    print()
    print("| kernel | best ms | rate G(FL)OP/s | ÷ fp32 |")
    print("|---|---|---|---|")
    for r in rows:
        print(f"| {r['kernel']} | {r['best_ms']:.1f} | {r['rate_g']:.0f} ({r['median_rate_g']:.0f}) | {r['rate_g'] / fp32['rate_g']:.2f}× |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
