#!/usr/bin/env python3
"""Agreement of the optimised layout with fp32, next to the stock layout's (the issue's fidelity table).

    .venv/bin/python models/optimize_eval.py --stock IN --optimized OUT [--images DIR] [--count N]
        [--tasks '<CAPTION>' '<OD>'] [--max-new-tokens 32] [--threads 2]

For every image × task, the fp32 stock pipeline (plain onnxruntime loop, florence2_tools/ortloop.py)
generates greedy ids; every other pipeline is then fed those ids (teacher forcing), and at each step
its top-1 token is compared with fp32's, and its logits' cosine with fp32's. Pipelines:

- fp32 optimised (must agree everywhere: same maths),
- int8 vision encoder only (other graphs fp32), stock vs optimised: the vision layout's own effect,
- int8 everywhere, stock folder vs optimised folder (the same int8 text graphs in both).

Images are preprocessed with the reference preprocessing (florence2_tools/preprocess.py). Prints a
markdown table; `--json FILE` keeps the numbers.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from florence2_tools import preprocess, quant_eval  # noqa: E402
from florence2_tools.tasks import construct_prompt  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def pipelines(stock: Path, optimized: Path) -> list[tuple[str, Path, dict[str, str] | str]]:
    v = "vision_encoder"
    return [
        ("fp32, stock (reference)", stock, ""),
        ("fp32, optimised vision", optimized, ""),
        ("int8 vision only, stock", stock, {v: "_int8"}),
        ("int8 vision only, optimised", optimized, {v: "_int8"}),
        ("int8 all graphs, stock", stock, "_int8"),
        ("int8 all graphs, optimised vision", optimized, "_int8"),
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stock", type=Path, required=True)
    ap.add_argument("--optimized", type=Path, required=True)
    ap.add_argument("--images", type=Path, default=ROOT / "tests/fixtures/images")
    ap.add_argument("--count", type=int, default=0, help="first N images (0 = all)")
    ap.add_argument("--tasks", nargs="+", default=["<CAPTION>", "<DETAILED_CAPTION>", "<OD>", "<OCR>"])
    ap.add_argument("--max-new-tokens", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    from tokenizers import Tokenizer

    images = sorted(p for p in args.images.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    if args.count:
        images = images[: args.count]
    pre = preprocess.read_preprocessor(args.stock)
    pixels = {p.name: preprocess.pixel_values(preprocess.load_rgb(p), pre) for p in images}
    tok = Tokenizer.from_file(str(args.stock / "tokenizer.json"))
    prompts = {t: np.array([tok.encode(construct_prompt(t)).ids], dtype=np.int64) for t in args.tasks}
    t0 = time.perf_counter()
    rows = []
    reference_ids: dict[tuple[str, str], list[int]] = {}
    reference_logits: dict[tuple[str, str], np.ndarray] = {}
    for label, folder, suffixes in pipelines(args.stock, args.optimized):
        pipe = quant_eval.PlanPipeline(folder, suffixes, threads=args.threads)
        top1, cos, exact = [], [], []
        for name, pv in pixels.items():
            for task, prompt in prompts.items():
                key = (name, task)
                if key not in reference_ids:
                    reference_ids[key] = pipe.greedy(pv, prompt, args.max_new_tokens).ids
                ids = reference_ids[key]
                logits = quant_eval.teacher_forced_logits(pipe, pv, prompt, ids)
                if key not in reference_logits:
                    reference_logits[key] = logits
                ref = reference_logits[key]
                top1.append(ref.argmax(1) == logits.argmax(1))
                cos.append(quant_eval.cosine_per_step(ref, logits))
                exact.append(bool(np.all(top1[-1])))
        del pipe
        t = np.concatenate(top1)
        c = np.concatenate(cos)
        rows.append({"pipeline": label, "top1": float(t.mean()), "steps": int(t.size), "cases": len(exact), "all_steps_agree": sum(exact), "cosine_mean": float(c.mean()), "cosine_min": float(c.min())})
        print(f"{label}: top-1 {100 * t.mean():.2f} % over {t.size} steps", file=sys.stderr, flush=True)
    print(f"Model `{args.stock.name}` vs `{args.optimized.name}`; {len(images)} images of `{args.images.name}` × {', '.join(args.tasks)}; "
          f"teacher-forced on the fp32 stock pipeline's greedy ids (up to {args.max_new_tokens} tokens); {time.perf_counter() - t0:.0f} s.\n")
    print("| pipeline | teacher-forced top-1 agreement with fp32 | steps | cases with every step in agreement | logits cosine mean (min) |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['pipeline']} | {100 * r['top1']:.2f} % | {r['steps']} | {r['all_steps_agree']}/{r['cases']} | {r['cosine_mean']:.6f} ({r['cosine_min']:.4f}) |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
