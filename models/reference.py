#!/usr/bin/env python3
"""Record what the PyTorch reference (transformers) produces for a model folder, images and tasks.

    .venv/bin/python models/reference.py --model tests/fixtures/tiny-random --weights random:tiny:0 \\
        --images tests/fixtures/images --out tests/fixtures/reference/tiny-random.json

The PyTorch model comes from `--weights`: `random:PRESET:SEED` (the export tool's seeded random
weights) or a checkpoint folder (the one the model folder was exported from). Per image it records
the Pillow-resized RGB image (PNG, for bit-exact preprocessing tests), pixel_values statistics and a
SHA-256 of their float32 bytes (the full array as .npy for the first --full-arrays images). Per
image x task: the prompt, input ids, greedy ids (generation_config processors on: forced BOS,
no-repeat-3-gram, forced EOS at the limit), beam ids (num_beams 3, early stopping), the text decoded
with special tokens kept, and the post-processed result twice: float coordinates
`(bin + 0.5) * size / 1000` (Microsoft's remote code and transformers.js) and transformers 5's
integer-truncated ones. It also checks that gross preprocessing errors (BGR order, no normalisation)
change the output, and records the smallest top-2 logit margin per greedy sequence.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import types
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}

# (task, text input). Region tasks get a box in pixels, converted to <loc_N> tokens per image.
DEFAULT_TASKS = [
    ("<CAPTION>", None),
    ("<DETAILED_CAPTION>", None),
    ("<MORE_DETAILED_CAPTION>", None),
    ("<OCR>", None),
    ("<OCR_WITH_REGION>", None),
    ("<OD>", None),
    ("<DENSE_REGION_CAPTION>", None),
    ("<REGION_PROPOSAL>", None),
    ("<CAPTION_TO_PHRASE_GROUNDING>", "A cat sitting next to a red cup."),
    ("<REFERRING_EXPRESSION_SEGMENTATION>", "the cup on the left"),
    ("<OPEN_VOCABULARY_DETECTION>", "cat"),
    ("<REGION_TO_SEGMENTATION>", "box:0.1,0.2,0.6,0.9"),
    ("<REGION_TO_CATEGORY>", "box:0.25,0.25,0.75,0.75"),
    ("<REGION_TO_DESCRIPTION>", "box:0.0,0.0,0.5,0.5"),
    ("<REGION_TO_OCR>", "box:0.3,0.1,0.9,0.4"),
]


def _float_dequantizer(base_cls):
    """transformers' Florence-2 post-processor with float bin-centre coordinates instead of ints."""
    import torch

    class FloatPostProcessor(base_cls):
        def dequantize(self, locations, size):
            w, h = size
            loc = locations.to(torch.float64)
            scale = torch.tensor([w, h] * (loc.shape[-1] // 2), dtype=torch.float64)
            return (loc + 0.5) * scale / 1000.0

    return FloatPostProcessor


def make_post_processors(tokenizer):
    """(float, int) callables: (text, task, (width, height)) -> {task: answer}."""
    from transformers.models.florence2 import processing_florence2 as pf

    from florence2_tools.config import TASK_ANSWER_TYPES

    cfg = {
        "ocr": {"area_threshold": 0.0},
        "phrase_grounding": {"banned_grounding_tokens": list(BANNED_GROUNDING)},
        "pure_text": {},
        "description_with_bboxes": {},
        "description_with_polygons": {},
        "polygons": {},
        "bboxes": {},
        "description_with_bboxes_or_polygons": {},
    }
    out = []
    for cls in (_float_dequantizer(pf.Florence2PostProcessor), pf.Florence2PostProcessor):
        fake = types.SimpleNamespace(tasks_answer_post_processing_type=TASK_ANSWER_TYPES, post_processor=cls(cfg, tokenizer))

        def run(text, task, size, fake=fake):
            return pf.Florence2Processor.post_process_generation(fake, text=text, task=task, image_size=size)

        out.append(run)
    return out


# The phrase-grounding ban list of the florence-community processor config.
BANNED_GROUNDING = (
    "it I me mine you your yours he him his she her hers they them their theirs one oneself we us our ours "
    "its myself yourself himself herself itself ourselves yourselves themselves this that these those who "
    "whom whose which what all another any anybody anyone anything each everybody everyone everything few "
    "many nobody none several some somebody someone something image images the a an lots"
).split() + ["each other", "one another", "the image", "a group", "other objects", "a set"]


def text_input_for(spec: str | None, width: int, height: int) -> str | None:
    """`box:x1,y1,x2,y2` in fractions of the image -> `<loc_..>` tokens; other text unchanged."""
    from florence2_tools.tasks import loc_tokens

    if spec is None or not spec.startswith("box:"):
        return spec
    fx1, fy1, fx2, fy2 = (float(v) for v in spec[4:].split(","))
    return loc_tokens((fx1 * width, fy1 * height, fx2 * width, fy2 * height), width, height)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, required=True, help="exported model folder (configs + tokenizer)")
    ap.add_argument("--weights", required=True, help="random:PRESET:SEED or a checkpoint folder")
    ap.add_argument("--images", type=Path, required=True, help="folder of images")
    ap.add_argument("--out", type=Path, required=True, help="output JSON; arrays and resized images go beside it")
    ap.add_argument("--tasks", nargs="*", help="task tokens (default: all 15 with built-in inputs)")
    ap.add_argument("--max-new-tokens", type=int, default=128)
    ap.add_argument("--num-beams", type=int, default=3)
    ap.add_argument("--beam-tasks", nargs="*", default=["<CAPTION>", "<OD>", "<OCR_WITH_REGION>", "<CAPTION_TO_PHRASE_GROUNDING>"])
    ap.add_argument("--full-arrays", type=int, default=2, help="save pixel_values .npy for this many images")
    ap.add_argument(
        "--probe-beyond-limit",
        action="store_true",
        help="for greedy sequences that stop by length, also ask transformers for one token more "
        "and record whether it fails (proves where the decoder's position limit is)",
    )
    args = ap.parse_args(argv)

    import torch
    import transformers
    from PIL import Image
    from transformers import AutoTokenizer, CLIPImageProcessorPil

    from florence2_tools import checkpoint, preprocess, tasks, verify

    transformers.logging.set_verbosity_error()
    if args.weights.startswith("random:"):
        _, preset, seed = args.weights.split(":")
        lm = checkpoint.random_model(preset, int(seed))
    else:
        lm = checkpoint.load_checkpoint(Path(args.weights))
    model = lm.model
    pre = preprocess.read_preprocessor(args.model)
    hf_tok = AutoTokenizer.from_pretrained(str(args.model))
    from tokenizers import Tokenizer

    fast_tok = Tokenizer.from_file(str(args.model / "tokenizer.json"))
    post_float, post_int = make_post_processors(hf_tok)
    clip = CLIPImageProcessorPil(
        do_resize=True,
        size=pre["size"],
        resample=pre["resample"],
        do_center_crop=False,
        do_rescale=True,
        rescale_factor=pre["rescale_factor"],
        do_normalize=True,
        image_mean=pre["image_mean"],
        image_std=pre["image_std"],
        do_convert_rgb=True,
    )

    task_list = DEFAULT_TASKS
    if args.tasks:
        known = dict(DEFAULT_TASKS)
        task_list = [(t, known.get(t)) for t in args.tasks]

    out_dir = args.out.parent
    arrays_dir = out_dir / "pixel_values"
    resized_dir = out_dir / "resized"
    arrays_dir.mkdir(parents=True, exist_ok=True)
    resized_dir.mkdir(parents=True, exist_ok=True)
    image_paths = sorted(p for p in args.images.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not image_paths:
        print(f"error: no images in {args.images}", file=sys.stderr)
        return 2

    images, cases = [], []
    for idx, path in enumerate(image_paths):
        original = Image.open(path)
        rgb = preprocess.load_rgb(path)
        w, h = rgb.size
        pv = preprocess.pixel_values(rgb, pre)
        ref_pv = clip(rgb, return_tensors="np")["pixel_values"].astype(np.float32)
        if not np.array_equal(pv, ref_pv):
            raise AssertionError(f"{path.name}: numpy preprocessing differs from transformers' PIL CLIP processor by {np.abs(pv - ref_pv).max()}")
        resized = rgb.resize((pre["size"]["width"], pre["size"]["height"]), Image.Resampling(pre["resample"]))
        resized.save(resized_dir / f"{path.stem}.png")
        entry = {
            "file": path.name,
            "width": w,
            "height": h,
            "mode": original.mode,
            "resized_png": f"resized/{path.stem}.png",
            "pixel_values": {
                "shape": list(pv.shape),
                "mean": float(pv.astype(np.float64).mean()),
                "std": float(pv.astype(np.float64).std()),
                "min": float(pv.min()),
                "max": float(pv.max()),
                "channel_means": [float(pv[0, c].astype(np.float64).mean()) for c in range(3)],
                "sha256_f32": hashlib.sha256(pv.tobytes()).hexdigest(),
            },
        }
        if idx < args.full_arrays:
            np.save(arrays_dir / f"{path.stem}.npy", pv)
            entry["pixel_values"]["npy"] = f"pixel_values/{path.stem}.npy"
        # Gross preprocessing errors must change the output, or parity tests would prove little.
        cap_ids = fast_tok.encode(tasks.construct_prompt("<CAPTION>"), add_special_tokens=True).ids
        base = verify.reference_generate(model, pv, cap_ids, 32)
        bgr = verify.reference_generate(model, np.ascontiguousarray(pv[:, ::-1]), cap_ids, 32)
        raw = np.asarray(resized, dtype=np.float32).transpose(2, 0, 1)[None] / 255.0
        unnorm = verify.reference_generate(model, np.ascontiguousarray(raw), cap_ids, 32)
        entry["sensitivity"] = {"bgr_changes_caption": bgr != base, "no_normalisation_changes_caption": unnorm != base}
        images.append(entry)

        for task, spec in task_list:
            text = text_input_for(spec, w, h)
            prompt = tasks.construct_prompt(task, text)
            ids = fast_tok.encode(prompt, add_special_tokens=True).ids
            hf_ids = hf_tok(prompt)["input_ids"]
            if ids != hf_ids:
                raise AssertionError(f"tokenizers and transformers disagree on {prompt!r}: {ids} vs {hf_ids}")
            g_ids, margin = verify.reference_greedy_with_margin(model, pv, ids, args.max_new_tokens)
            case = {
                "image": path.name,
                "task": task,
                "text_input": text,
                "prompt": prompt,
                "input_ids": ids,
                "max_new_tokens": args.max_new_tokens,
                "greedy": _decoded(g_ids, hf_tok, post_float, post_int, task, (w, h), args.max_new_tokens),
            }
            case["greedy"]["min_top2_margin"] = margin
            if args.probe_beyond_limit and case["greedy"]["finish"] == "length":
                case["beyond_limit"] = _probe(verify, model, pv, ids, args.max_new_tokens + 1)
            if task in args.beam_tasks:
                b_ids = verify.reference_generate(model, pv, ids, args.max_new_tokens, num_beams=args.num_beams)
                case["beam"] = _decoded(b_ids, hf_tok, post_float, post_int, task, (w, h), args.max_new_tokens)
                case["beam"]["num_beams"] = args.num_beams
            cases.append(case)
        print(f"{path.name}: {w}x{h} {original.mode}, {len(task_list)} tasks", flush=True)

    margins = [c["greedy"]["min_top2_margin"] for c in cases]
    doc = {
        "about": "Outputs of the PyTorch reference (transformers) for this model folder; written by models/reference.py",
        "weights": args.weights,
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__},
        "generation": {
            "decoder_start_token_id": 2,
            "forced_bos_token_id": 0,
            "forced_eos_token_id": 2,
            "no_repeat_ngram_size": 3,
            "eos_token_id": 2,
            "length_penalty": 1.0,
            "early_stopping": True,
        },
        "coordinates": "result: float (bin + 0.5) * size / 1000 (Microsoft remote code, transformers.js); "
        "result_transformers: transformers 5 (same parser, coordinates truncated to int)",
        "smallest_top2_margin": min(margins),
        "images": images,
        "cases": cases,
    }
    args.out.write_text(json.dumps(doc, indent=1, ensure_ascii=False))
    print(f"wrote {args.out}: {len(images)} images, {len(cases)} cases, {sum('beam' in c for c in cases)} beam cases; smallest top-2 margin {min(margins):.3g}")
    return 0


def _probe(verify, model, pv, ids, max_new_tokens):
    """What transformers does when asked for `max_new_tokens`: the ids, or the error it raises."""
    try:
        out = verify.reference_generate(model, pv, ids, max_new_tokens)
    except Exception as e:  # noqa: BLE001 - the failure itself is what is recorded
        return {"max_new_tokens": max_new_tokens, "error": f"{type(e).__name__}: {e}"[:300]}
    return {"max_new_tokens": max_new_tokens, "ids": out}


def _decoded(ids, hf_tok, post_float, post_int, task, size, max_new_tokens):
    text = hf_tok.decode(ids, skip_special_tokens=False)
    # At the limit ForcedEOS makes the last token </s> too: that is still a length stop.
    finish = "length" if len(ids) - 1 >= max_new_tokens else "eos"
    return {
        "ids": ids,
        "text": text,
        "finish": finish,
        "result": post_float(text, task, size),
        "result_transformers": post_int(text, task, size),
    }


if __name__ == "__main__":
    sys.exit(main())
