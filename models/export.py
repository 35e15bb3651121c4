#!/usr/bin/env python3
"""Convert a Florence-2 checkpoint into the onnx-community layout the SDK (and transformers.js) loads.

    # a local checkpoint: Microsoft remote-code format or transformers-native, base/large/fine-tune
    .venv/bin/python models/export.py --checkpoint ~/Florence-2-base-ft --out models/out/base-ft

    # the real architecture with seeded random weights (tests, benchmarks)
    .venv/bin/python models/export.py --random --preset tiny --seed 0 --out tests/fixtures/tiny-random

Writes onnx/{vision_encoder,embed_tokens,encoder_model,decoder_model_merged}.onnx (fp32; with
--keep-unmerged also decoder_model.onnx and decoder_with_past_model.onnx), config.json,
generation_config.json, preprocessor_config.json (with the task tables) and the tokenizer files. Then
checks its own output: every graph against PyTorch (max |Δ|) and a greedy onnxruntime loop against
transformers `generate`, token for token. Needs the export stack: scripts/setup.sh --with-export.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

SHARED_TOKENIZER = Path(__file__).resolve().parents[2] / "shared" / "florence2-tokenizer"


def synthetic_images(n: int, seed: int):
    """Deterministic test pictures (gradients, blocks, noise) for the self-check when none are given."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    for i in range(n):
        w, h = int(rng.integers(40, 300)), int(rng.integers(40, 300))
        yy, xx = np.mgrid[0:h, 0:w]
        base = np.stack([(xx * (i + 3)) % 256, (yy * (i + 5)) % 256, ((xx + yy) * 7) % 256], axis=-1)
        noise = rng.integers(0, 64, size=(h, w, 3))
        yield f"synthetic-{i}", Image.fromarray(((base + noise) % 256).astype(np.uint8), "RGB")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", type=Path, help="local checkpoint folder (Microsoft remote-code or transformers-native)")
    src.add_argument("--random", action="store_true", help="seeded random weights in the real architecture")
    ap.add_argument("--preset", default="tiny", help="with --random: tiny, base or large")
    ap.add_argument("--seed", type=int, default=0, help="with --random: weight seed")
    ap.add_argument("--tokenizer", type=Path, help="folder with tokenizer.json (default: the checkpoint, or shared/florence2-tokenizer)")
    ap.add_argument("--out", type=Path, required=True, help="output model folder")
    ap.add_argument("--opset", type=int, default=17)
    ap.add_argument("--keep-unmerged", action="store_true", help="also write decoder_model.onnx and decoder_with_past_model.onnx")
    ap.add_argument("--skip-verify", action="store_true", help="do not check the export against PyTorch")
    ap.add_argument("--verify-images", type=Path, nargs="*", default=None, help="images for the generate self-check (default: synthetic)")
    ap.add_argument("--verify-tasks", nargs="*", default=["<CAPTION>", "<OD>", "<OCR_WITH_REGION>"])
    ap.add_argument("--verify-max-new-tokens", type=int, default=64)
    args = ap.parse_args(argv)

    import torch
    from tokenizers import Tokenizer

    from florence2_tools import checkpoint, export, preprocess, tasks, verify

    torch.set_num_threads(max(1, torch.get_num_threads()))
    t0 = time.perf_counter()
    try:
        if args.random:
            lm = checkpoint.random_model(args.preset, args.seed)
            tok_src = args.tokenizer or SHARED_TOKENIZER
        else:
            lm = checkpoint.load_checkpoint(args.checkpoint)
            tok_src = args.tokenizer or args.checkpoint
    except checkpoint.CheckpointError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"loaded {lm.source}: vocab {lm.vocab_size}, image {lm.image_size}px ({time.perf_counter() - t0:.1f} s)")

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    t1 = time.perf_counter()
    paths = export.export_onnx(lm, out, opset=args.opset, keep_unmerged=args.keep_unmerged)
    export.write_configs(lm, out)
    try:
        export.write_tokenizer(Path(tok_src), out, lm.vocab_size)
    except checkpoint.CheckpointError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for name, p in paths.items():
        print(f"  {p.relative_to(out)}: {p.stat().st_size / 1e6:.1f} MB")
    print(f"exported in {time.perf_counter() - t1:.1f} s")
    if args.skip_verify:
        return 0

    t2 = time.perf_counter()
    diffs = verify.check_components(lm.model, out, lm.image_size)
    for k, v in diffs.items():
        print(f"  max|Δ| {k}: {v:.3g}")
    tokenizer = Tokenizer.from_file(str(out / "tokenizer.json"))
    pre = preprocess.read_preprocessor(out)
    if args.verify_images:
        images = [(p.name, preprocess.load_rgb(p)) for p in args.verify_images]
    else:
        images = list(synthetic_images(3, args.seed))

    def cases():
        for name, img in images:
            pv = preprocess.pixel_values(img, pre)
            for task in args.verify_tasks:
                ids = tokenizer.encode(tasks.construct_prompt(task), add_special_tokens=True).ids
                yield f"{name} {task}", pv, ids

    rows = verify.check_generation(lm.model, out, cases(), args.verify_max_new_tokens)
    for r in rows:
        print(f"  greedy {r['case']}: {r['tokens']} tokens, identical, smallest top-2 logit margin {r['min_top2_margin']:.3g}")
    print(f"verified in {time.perf_counter() - t2:.1f} s: every graph within tolerance, {len(rows)} greedy sequences token-exact")
    (out / "export_report.json").write_text(json.dumps({"source": lm.source, "max_abs_diff": diffs, "greedy": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
