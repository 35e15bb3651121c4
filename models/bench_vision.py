#!/usr/bin/env python3
"""Vision encoder only: stock vs optimised graphs side by side (time, per-op profile, memory).

    .venv/bin/python models/bench_vision.py time    --graphs A.onnx B.onnx ... [--runs 7] [--threads 2]
    .venv/bin/python models/bench_vision.py profile --graphs A.onnx B.onnx [--runs 3]
    .venv/bin/python models/bench_vision.py memory  --graphs A.onnx B.onnx [--arena on|off]

- `time`: one process, every graph loaded, runs alternating graph by graph (each graph is warmed up
  first); median and fastest run per graph, and each graph's ratio to the first one.
- `profile`: ONNX Runtime's own profiler, kernel time summed per operator type (per node the fastest
  of `--runs` runs, the graphs' runs alternating, so a disturbed run on a shared machine counts less).
- `memory`: each graph in a fresh process: RSS after loading, peak RSS (VmHWM) during one run, and
  their difference, the vision phase's activation peak over the loaded weights. `--arena off`
  disables ONNX Runtime's CPU arena and sets glibc's mmap threshold, so the peak is the live set;
  `on` is what the engine runs with.

The input is the model's preprocessor size, taken from the graph's input shape (or `--size`).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort


def _size(sess: ort.InferenceSession, default: int) -> tuple[int, int]:
    shape = sess.get_inputs()[0].shape
    h, w = shape[2], shape[3]
    return (h if isinstance(h, int) else default, w if isinstance(w, int) else default)


def _session(path: str, threads: int, arena: bool = True, profile: bool = False) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.enable_cpu_mem_arena = arena
    if profile:
        so.enable_profiling = True
        so.profile_file_prefix = f"/tmp/bench_vision_{os.getpid()}"
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def _pixels(h: int, w: int) -> np.ndarray:
    return np.random.default_rng(0).standard_normal((1, 3, h, w)).astype(np.float32)


def cmd_time(args) -> None:
    sessions = [(g, _session(g, args.threads)) for g in args.graphs]
    h, w = _size(sessions[0][1], args.size)
    x = _pixels(h, w)
    times = {g: [] for g in args.graphs}
    for _, s in sessions:
        s.run(None, {"pixel_values": x})
    for _ in range(args.runs):
        for g, s in sessions:
            t = time.perf_counter()
            s.run(None, {"pixel_values": x})
            times[g].append(1e3 * (time.perf_counter() - t))
    base = statistics.median(times[args.graphs[0]])
    print(f"| graph | median ms | fastest ms | ÷ first (median) |")
    print("|---|---|---|---|")
    for g in args.graphs:
        med = statistics.median(times[g])
        print(f"| {g} | {med:.0f} | {min(times[g]):.0f} | {med / base:.2f} |")


def profile_many(paths: list[str], threads: int, runs: int, size: int) -> list[dict[str, tuple[float, int]]]:
    """Per graph {op_type: (ms, nodes)}: per node the fastest of `runs` profiled runs, summed per op
    type. The graphs' runs alternate (A, B, A, B, ...) so that a burst of load hits all of them alike."""
    sessions = [_session(p, threads, profile=True) for p in paths]
    h, w = _size(sessions[0], size)
    x = _pixels(h, w)
    for s in sessions:
        s.run(None, {"pixel_values": x})
    for _ in range(runs):
        for s in sessions:
            s.run(None, {"pixel_values": x})
    out = []
    for s in sessions:
        f = s.end_profiling()
        events = json.loads(Path(f).read_text())
        os.remove(f)
        starts = sorted(e["ts"] for e in events if e.get("name") == "model_run")
        per_node: dict[str, list[float]] = collections.defaultdict(list)
        op_of = {}
        for e in events:
            if e.get("cat") == "Node" and e["name"].endswith("_kernel_time") and e["ts"] >= starts[1]:
                per_node[e["name"]].append(e["dur"])
                op_of[e["name"]] = e["args"].get("op_name", "?")
        agg: dict[str, list] = collections.defaultdict(lambda: [0.0, 0])
        for name, durs in per_node.items():
            agg[op_of[name]][0] += min(durs) / 1e3
            agg[op_of[name]][1] += 1
        out.append({k: (v[0], v[1]) for k, v in agg.items()})
    return out


def cmd_profile(args) -> None:
    for g, agg in zip(args.graphs, profile_many(args.graphs, args.threads, args.runs, args.size)):
        total = sum(v[0] for v in agg.values())
        print(f"\n{g}: {total:.0f} ms of kernel time (per node the fastest of {args.runs} alternating runs)\n")
        print("| operator | ms | share | nodes |")
        print("|---|---|---|---|")
        for op, (ms, n) in sorted(agg.items(), key=lambda kv: -kv[1][0]):
            if ms / total >= 0.002:
                print(f"| {op} | {ms:.0f} | {100 * ms / total:.1f} % | {n} |")


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def memory_child(path: str, threads: int, arena: bool, size: int) -> dict:
    s = _session(path, threads, arena=arena)
    h, w = _size(s, size)
    x = _pixels(h, w)
    loaded = _status_kb("VmRSS")
    # VmHWM so far is the load transient; reset it so the run's own peak is measured.
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
    out = s.run(None, {"pixel_values": x})[0]
    peak = _status_kb("VmHWM")
    return {"graph": path, "loaded_mb": loaded / 1024, "peak_mb": peak / 1024, "activation_peak_mb": (peak - loaded) / 1024, "out_shape": list(out.shape)}


def cmd_memory(args) -> None:
    rows = []
    for g in args.graphs:
        env = dict(os.environ)
        if args.arena == "off":
            env["MALLOC_MMAP_THRESHOLD_"] = "131072"
        r = subprocess.run([sys.executable, __file__, "_memory_child", g, str(args.threads), args.arena, str(args.size)], env=env, capture_output=True, text=True, check=True)
        rows.append(json.loads(r.stdout.strip().splitlines()[-1]))
    print(f"arena {args.arena}{' (MALLOC_MMAP_THRESHOLD_=131072)' if args.arena == 'off' else ''}:\n")
    print("| graph | RSS loaded MB | peak RSS in the run MB | activation peak over loaded MB |")
    print("|---|---|---|---|")
    for r in rows:
        print(f"| {r['graph']} | {r['loaded_mb']:.0f} | {r['peak_mb']:.0f} | **{r['activation_peak_mb']:.0f}** |")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "_memory_child":
        _, g, threads, arena, size = argv
        print(json.dumps(memory_child(g, int(threads), arena == "on", int(size))))
        return 0
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=("time", "profile", "memory"))
    ap.add_argument("--graphs", nargs="+", required=True)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--size", type=int, default=768, help="input size when the graph's is dynamic")
    ap.add_argument("--arena", choices=("on", "off"), default="off")
    args = ap.parse_args(argv)
    {"time": cmd_time, "profile": cmd_profile, "memory": cmd_memory}[args.mode](args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
