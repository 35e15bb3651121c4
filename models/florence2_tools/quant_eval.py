"""Agreement of a reduced-precision variant with FP32 (standing in for CIDEr where real weights are absent).

- `PlanPipeline`: the plain onnxruntime pipeline (`ortloop.OrtFlorence2`) with one file suffix per component.
- `teacher_forced_logits`: the decoder's raw logits at every step while it is fed a fixed token sequence
  (the FP32 greedy output), so FP32 and a variant are compared on identical histories.
- `cosine_per_step`, `token_agreement`: the numbers the report prints.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort

from .ortloop import OrtFlorence2

COMPONENT_STEMS = ("vision_encoder", "embed_tokens", "encoder_model", "decoder_model_merged")


class PlanPipeline(OrtFlorence2):
    """`OrtFlorence2` whose four sessions may use different precision suffixes (`{"decoder_model_merged": "_int8"}`)."""

    def __init__(self, folder: Path, suffixes: dict[str, str] | str = "", threads: int = 0):
        folder = Path(folder)
        if isinstance(suffixes, str):
            suffixes = {c: suffixes for c in COMPONENT_STEMS}
        self.folder = folder
        self.config = json.loads((folder / "config.json").read_text())
        self.generation = json.loads((folder / "generation_config.json").read_text())
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1

        def load(stem):
            path = folder / "onnx" / f"{stem}{suffixes.get(stem, '')}.onnx"
            return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])

        self.vision = load("vision_encoder")
        self.embed = load("embed_tokens")
        self.encoder = load("encoder_model")
        self.decoder = load("decoder_model_merged")
        self.past_inputs = [i for i in self.decoder.get_inputs() if i.name.startswith("past_key_values.")]
        self.output_names = [o.name for o in self.decoder.get_outputs()]


_ORT_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16}


def teacher_forced_logits(model: OrtFlorence2, pixel_values: np.ndarray, input_ids: np.ndarray, ids: list[int]) -> np.ndarray:
    """[len(ids) - 1, vocab] float32: the raw logits predicting ids[1:], each step fed ids[:k] (merged-decoder protocol)."""
    hidden, mask = model.encode(pixel_values, input_ids)
    feeds = {"encoder_attention_mask": mask, "encoder_hidden_states": hidden}
    for inp in model.past_inputs:
        shape = [1 if d == "batch_size" else 0 if isinstance(d, str) or d is None else d for d in inp.shape]
        feeds[inp.name] = np.zeros(shape, dtype=_ORT_TYPES[inp.type])
    cross = {}
    rows = []
    for k in range(1, len(ids)):
        feeds["inputs_embeds"] = model.embed.run(None, {"input_ids": np.array([[ids[k - 1]]], dtype=np.int64)})[0]
        feeds["use_cache_branch"] = np.array([k > 1])
        outs = dict(zip(model.output_names, model.decoder.run(None, feeds)))
        rows.append(outs["logits"][0, -1].astype(np.float32))
        for name, value in outs.items():
            if name.startswith("present."):
                past = name.replace("present.", "past_key_values.")
                if ".encoder." in name:
                    if k == 1:
                        cross[past] = value
                    feeds[past] = cross[past]
                else:
                    feeds[past] = value
    return np.stack(rows) if rows else np.zeros((0, 0), np.float32)


def cosine_per_step(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity of two [steps, vocab] logit matrices."""
    num = (a.astype(np.float64) * b).sum(axis=1)
    den = np.linalg.norm(a.astype(np.float64), axis=1) * np.linalg.norm(b.astype(np.float64), axis=1)
    return num / np.maximum(den, 1e-30)


def token_agreement(reference: list[int], other: list[int]) -> dict:
    """Free-running agreement of two generated sequences: exact match, the common prefix as a share of
    the reference, and the positional match rate over the reference's length."""
    prefix = 0
    for x, y in zip(reference, other):
        if x != y:
            break
        prefix += 1
    same = sum(1 for x, y in zip(reference, other) if x == y)
    n = max(1, len(reference))
    return {"exact": reference == other, "prefix": prefix / n, "positional": same / n}
