#!/usr/bin/env python3
"""Turns the per-run files of scripts/bench.sh into markdown tables (medians with min–max, ratios).

Each run left `<contender>.<precision>.<run>.json` (one JSON line: load_ms, preprocess_ms, vision_ms,
encoder_ms, decode_ms, steps, ms_per_token, e2e_ms, ids; our CLI's own `--json` format is mapped here)
and `.time` (`/usr/bin/time -v`, for the peak RSS of the whole process). With --write FILE the
tables replace what is between `<!-- SECTION:begin -->` and `<!-- SECTION:end -->` in FILE (or are
appended with those markers).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
from pathlib import Path

NAMES = {
    "cli": "our CLI (`florence2`)",
    "cli-before": "our CLI, before",
    "cli-opt": "our CLI, optimised layout",
    "kotlin": "our SDK, Kotlin/JVM",
    "kotlin-opt": "our SDK, Kotlin/JVM, optimised layout",
    "cli-low": "our CLI, low-memory mode",
    "cli-opt-low": "our CLI, optimised layout, low-memory mode",
    "kotlin-low": "our SDK, Kotlin/JVM, low-memory mode",
    "kotlin-opt-low": "our SDK, Kotlin/JVM, optimised layout, low-memory mode",
    "tjs": "transformers.js 4.3.1 (onnxruntime-node)",
    "ort": "Python onnxruntime loop",
    "torch": "transformers 5.23 (PyTorch) generate",
}
METRICS = [
    ("load_ms", "load ms"),
    ("preprocess_ms", "preprocess ms"),
    ("vision_ms", "vision ms"),
    ("encoder_ms", "text encoder ms"),
    ("ms_per_token", "decode ms/token"),
    ("e2e_ms", "end to end ms"),
    ("peak_rss_mb", "peak RSS MB"),
]
OURS = ("cli-opt-low", "kotlin-opt-low", "cli-low", "kotlin-low", "cli-opt", "kotlin-opt", "cli", "kotlin")
OPTIMISED = ("cli-opt", "kotlin-opt", "cli-low", "kotlin-low", "cli-opt-low", "kotlin-opt-low")


def gemm_rates(results: Path) -> str:
    """One sentence with the best int8 and fp32 GEMM rates of models/bench_gemm.py over the run's rounds."""
    rows: dict[str, list[float]] = {}
    cpu = ""
    shape = None
    for f in sorted(results.glob("gemm.*.json")):
        try:
            d = json.loads(f.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        cpu, shape = d["cpu"], d["shape"]
        for r in d["rows"]:
            rows.setdefault(r["kernel"], []).append(r["rate_g"])
    if not rows:
        return ""
    fp32 = max(rows.get("fp32 MatMul", [0.0]))
    parts = [f"{k}: {max(v):.0f} G(FL)OP/s ({max(v) / fp32:.1f}× fp32)" if fp32 else f"{k}: {max(v):.0f}" for k, v in rows.items()]
    m, k, n = shape
    return f"GEMM rates of this CPU ({cpu}) in the same run, `models/bench_gemm.py`, [{m}×{k}]·[{k}×{n}], best of {len(list(results.glob('gemm.*.json')))} rounds: " + "; ".join(parts) + "."


def read_run(json_path: Path) -> dict | None:
    text = json_path.read_text().strip()
    if not text:
        return None
    d = json.loads(text.splitlines()[-1])
    if "timings_ms" in d:  # our CLI's --json line
        t = d["timings_ms"]
        steps = len(d["generated_ids"]) - 1
        d = {
            "load_ms": d.get("load_ms"),
            "preprocess_ms": t["preprocess"],
            "vision_ms": t["vision"],
            "encoder_ms": t["encoder"],
            "decode_ms": t["decoder"],
            "steps": steps,
            "ms_per_token": t["decoder"] / max(1, steps),
            "e2e_ms": t["total"],
            "ids": d["generated_ids"],
        }
    time_file = json_path.with_suffix(".time")
    if time_file.exists():
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", time_file.read_text())
        if m:
            d["peak_rss_mb"] = int(m.group(1)) / 1024
    return d


def fmt(values: list[float]) -> str:
    if not values:
        return "–"
    med = statistics.median(values)
    digits = 0 if med >= 100 else 1 if med >= 10 else 2
    return f"{med:.{digits}f} ({min(values):.{digits}f}–{max(values):.{digits}f})"


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        mem = f", {kb / 1024**2:.0f} GB RAM"
    except (OSError, AttributeError):
        pass
    return f"{platform.system()} {platform.machine()}, {cpu}, {os.cpu_count()} cores{mem}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--results", type=Path, required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--tokens", type=int, required=True)
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--task", required=True)
    ap.add_argument("--runs", type=int, required=True)
    ap.add_argument("--contenders", required=True)
    ap.add_argument("--precisions", required=True)
    ap.add_argument("--started", required=True)
    ap.add_argument("--elapsed", type=int, required=True)
    ap.add_argument("--load", default="")
    ap.add_argument("--write", type=Path)
    ap.add_argument("--section", default="bench", help="marker name in the written file (several runs, several sections)")
    args = ap.parse_args()

    contenders = args.contenders.split(",")
    out = [
        f"Run {args.started} on {machine()}; load average (1/5/15 min) before → after: {args.load}; "
        f"{args.elapsed} s in all.",
        "",
        f"Model `{Path(args.model).name}` (base-shaped, random weights), task `{args.task}`, greedy, "
        f"{args.tokens} new tokens, {args.threads} intra-op threads, {args.runs} alternating runs per "
        "contender (a fresh process each). Cells: median (min–max). Peak RSS is the whole process "
        "(`/usr/bin/time -v`), so it includes each runtime's own interpreter or VM.",
        "",
    ]
    rates = gemm_rates(args.results)
    if rates:
        out += [rates, ""]
    for precision in args.precisions.split(","):
        runs: dict[str, list[dict]] = {}
        for c in contenders:
            rs = []
            for i in range(1, args.runs + 1):
                p = args.results / f"{c}.{precision}.{i}.json"
                if p.exists() and (r := read_run(p)) is not None:
                    rs.append(r)
            if rs:
                runs[c] = rs
        if not runs:
            continue
        ref_ids = runs.get("cli", runs.get("ort", [{}]))[0].get("ids")
        out += [f"### {precision}", ""]
        out.append("| contender | " + " | ".join(label for _, label in METRICS) + " | tokens | same ids as our CLI |")
        out.append("|---" * (len(METRICS) + 3) + "|")
        for c, rs in runs.items():
            cells = [fmt([r[k] for r in rs if r.get(k) is not None]) for k, _ in METRICS]
            steps = sorted({r["steps"] for r in rs})
            same = "–" if ref_ids is None else ("yes" if all(r.get("ids") == ref_ids for r in rs) else "no")
            out.append(f"| {NAMES.get(c, c)} | " + " | ".join(cells) + f" | {'/'.join(map(str, steps))} | {same} |")
        out.append("")
        ours = [c for c in OURS if c in runs]
        peers = [c for c in runs if c not in OURS]
        if ours and (peers or any(c in runs for c in OPTIMISED)):
            out.append("Ratio of medians, ours ÷ peer (below 1 = we are faster or leaner):")
            out.append("")
            out.append("| ours ÷ peer | " + " | ".join(label for _, label in METRICS) + " |")
            out.append("|---" * (len(METRICS) + 1) + "|")
            for o in ours:
                # the optimised layout is also compared with the same front end on the stock layout
                # and the low-memory mode with the standard mode of the same front end and folder
                stock = {
                    "cli-opt": "cli",
                    "kotlin-opt": "kotlin",
                    "cli-low": "cli",
                    "kotlin-low": "kotlin",
                    "cli-opt-low": "cli-opt",
                    "kotlin-opt-low": "kotlin-opt",
                }.get(o)
                for p in ([stock] if stock in runs else []) + peers:
                    cells = []
                    for k, _ in METRICS:
                        a = [r[k] for r in runs[o] if r.get(k) is not None]
                        b = [r[k] for r in runs[p] if r.get(k) is not None]
                        if a and b and statistics.median(b) > 0:
                            cells.append(f"{statistics.median(a) / statistics.median(b):.2f}")
                        else:
                            cells.append("–")
                    out.append(f"| {NAMES[o]} ÷ {NAMES.get(p, p)} | " + " | ".join(cells) + " |")
            out.append("")
    table = "\n".join(out)
    print(table)
    if args.write:
        begin, end = f"<!-- {args.section}:begin -->", f"<!-- {args.section}:end -->"
        text = args.write.read_text() if args.write.exists() else ""
        if begin in text and end in text:
            head, rest = text.split(begin, 1)
            _, tail = rest.split(end, 1)
            text = f"{head}{begin}\n{table}\n{end}{tail}"
        else:
            text = (text or "# Benchmarks\n") + f"\n{begin}\n{table}\n{end}\n"
        args.write.parent.mkdir(parents=True, exist_ok=True)
        args.write.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
