#!/usr/bin/env python3
"""One timed greedy run of transformers (PyTorch) `generate` on the weights of an exported folder.

The PyTorch contender of scripts/bench.sh. Prints one JSON line with the keys of models/bench_ortloop.py
(load_ms, preprocess_ms, vision_ms, encoder_ms, decode_ms, steps, ms_per_token, e2e_ms, ids).

The ONNX files hold no PyTorch checkpoint. For a folder made by `export.py --random` the weights are
rebuilt from the recipe recorded in its export_report.json (`random:<preset>:seed=<n>`, the same
seeded code path the exporter ran) and cached once as a transformers checkpoint in `<model>/pytorch/`,
so the timed load is an ordinary `from_pretrained`. A folder exported from a real checkpoint needs
`--checkpoint` pointing at it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from florence2_tools import preprocess, tasks  # noqa: E402


def ensure_checkpoint(model_dir: Path) -> Path:
    """`<model>/pytorch/` (transformers format), rebuilt from export_report.json's recipe if missing."""
    out = model_dir / "pytorch"
    if (out / "config.json").exists():
        return out
    report = json.loads((model_dir / "export_report.json").read_text())
    source = report.get("source", "")
    if not source.startswith("random:"):
        raise SystemExit(f"{model_dir} was exported from {source!r}: pass --checkpoint with that folder")
    _, preset, seed = source.split(":")
    from florence2_tools import checkpoint

    lm = checkpoint.random_model(preset, int(seed.removeprefix("seed=")))
    lm.model.save_pretrained(str(out))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, required=True, help="exported folder (configs, tokenizer, export_report.json)")
    ap.add_argument("--checkpoint", type=Path, help="transformers checkpoint of the same weights (default: <model>/pytorch)")
    ap.add_argument("--image", type=Path, required=True)
    ap.add_argument("--task", default="<CAPTION>")
    ap.add_argument("--max-new-tokens", type=int, default=64)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--prepare", action="store_true", help="only build the cached checkpoint, then exit")
    args = ap.parse_args()

    ckpt = args.checkpoint or ensure_checkpoint(args.model)
    if args.prepare:
        print(f"checkpoint ready: {ckpt}")
        return 0
    import torch
    from tokenizers import Tokenizer
    from transformers import Florence2ForConditionalGeneration

    if args.threads:
        torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    model = Florence2ForConditionalGeneration.from_pretrained(str(ckpt), dtype=torch.float32).eval()
    tok = Tokenizer.from_file(str(args.model / "tokenizer.json"))
    load_ms = (time.perf_counter() - t0) * 1e3

    t1 = time.perf_counter()
    pv = preprocess.pixel_values(preprocess.load_rgb(args.image), preprocess.read_preprocessor(args.model))
    ids = tok.encode(tasks.construct_prompt(args.task)).ids
    pre_ms = (time.perf_counter() - t1) * 1e3
    n = args.max_new_tokens
    with torch.no_grad():
        inner = model.model
        t2 = time.perf_counter()
        img = inner.get_image_features(torch.from_numpy(pv)).pooler_output
        t3 = time.perf_counter()
        txt = inner.language_model.get_input_embeddings()(torch.tensor([ids], dtype=torch.long))
        embeds = torch.cat([img, txt], dim=1)
        mask = torch.ones(embeds.shape[:2], dtype=torch.long)
        enc = inner.language_model.encoder(inputs_embeds=embeds, attention_mask=mask)
        t4 = time.perf_counter()
        out = model.generate(
            encoder_outputs=enc,
            attention_mask=mask,
            max_new_tokens=n,
            min_new_tokens=n,
            num_beams=1,
            do_sample=False,
            no_repeat_ngram_size=3,
            forced_bos_token_id=0,
            forced_eos_token_id=2,
            decoder_start_token_id=2,
            bos_token_id=0,
            eos_token_id=2,
            pad_token_id=1,
        )
        t5 = time.perf_counter()
    gen = out[0].tolist()
    steps = len(gen) - 1
    decode_ms = (t5 - t4) * 1e3
    print(json.dumps({
        "load_ms": load_ms,
        "preprocess_ms": pre_ms,
        "vision_ms": (t3 - t2) * 1e3,
        "encoder_ms": (t4 - t3) * 1e3,
        "decode_ms": decode_ms,
        "steps": steps,
        "ms_per_token": decode_ms / max(1, steps),
        "e2e_ms": pre_ms + (t5 - t2) * 1e3,
        "ids": gen,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
