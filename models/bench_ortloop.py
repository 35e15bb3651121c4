#!/usr/bin/env python3
"""One timed greedy run of the plain Python onnxruntime loop (the benchmark's baseline contender).

Prints one JSON line: load_ms, preprocess_ms, vision_ms, encoder_ms, decode_ms, steps, ms_per_token,
e2e_ms (preprocess + vision + encoder + decode) and ids. `--precision int8` loads the `*_int8.onnx` files.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from florence2_tools import ortloop, preprocess, tasks  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--image", type=Path, required=True)
    ap.add_argument("--task", default="<CAPTION>")
    ap.add_argument("--max-new-tokens", type=int, default=64)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--precision", default="fp32", help="fp32, or a public suffix name: int8, uint8, fp16, q4, ...")
    args = ap.parse_args()
    from tokenizers import Tokenizer

    t0 = time.perf_counter()
    suffix = "" if args.precision == "fp32" else f"_{'quantized' if args.precision == 'q8' else args.precision}"
    runner = ortloop.OrtFlorence2(args.model, threads=args.threads, suffix=suffix)
    tok = Tokenizer.from_file(str(args.model / "tokenizer.json"))
    load_ms = (time.perf_counter() - t0) * 1e3
    t1 = time.perf_counter()
    pv = preprocess.pixel_values(preprocess.load_rgb(args.image), preprocess.read_preprocessor(args.model))
    pre_ms = (time.perf_counter() - t1) * 1e3
    ids = np.array([tok.encode(tasks.construct_prompt(args.task)).ids], dtype=np.int64)
    result = runner.greedy(pv, ids, args.max_new_tokens)
    t = result.timings_ms
    print(json.dumps({
        "load_ms": load_ms,
        "preprocess_ms": pre_ms,
        "vision_ms": t["vision"],
        "encoder_ms": t["encoder"],
        "decode_ms": t["decode"],
        "steps": t["steps"],
        "ms_per_token": t["decode"] / max(1, t["steps"]),
        "e2e_ms": pre_ms + t["vision"] + t["encoder"] + t["decode"],
        "ids": result.ids,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
