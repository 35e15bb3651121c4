"""A plain Python onnxruntime pipeline over an exported model folder (the public four-file layout).

Used by export.py (to check the export token-for-token against transformers), by the fixture tests
(CI: onnxruntime + numpy only, no torch) and by the benchmarks as the "plain Python loop" contender.
It follows the merged-decoder protocol of the spec: empty past on step 0, step-0 cross-attention K/V
kept, `use_cache_branch` true afterwards; greedy with the generation_config processors
(forced BOS, no-repeat-n-gram, forced EOS at the length limit).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnxruntime as ort

_ORT_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(int64)": np.int64}


@dataclass
class GreedyResult:
    """Generated ids (starting with the decoder start token) and per-stage timings in ms."""

    ids: list[int]
    timings_ms: dict = field(default_factory=dict)
    min_top2_margin: float = float("inf")


class OrtFlorence2:
    """Sessions for vision_encoder, embed_tokens, encoder_model and decoder_model_merged."""

    def __init__(self, folder: Path, threads: int = 0, suffix: str = ""):
        folder = Path(folder)
        self.folder = folder
        self.config = json.loads((folder / "config.json").read_text())
        self.generation = json.loads((folder / "generation_config.json").read_text())
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1

        def load(stem):
            return ort.InferenceSession(str(folder / "onnx" / f"{stem}{suffix}.onnx"), opts, providers=["CPUExecutionProvider"])

        self.vision = load("vision_encoder")
        self.embed = load("embed_tokens")
        self.encoder = load("encoder_model")
        self.decoder = load("decoder_model_merged")
        self.past_inputs = [i for i in self.decoder.get_inputs() if i.name.startswith("past_key_values.")]
        self.output_names = [o.name for o in self.decoder.get_outputs()]

    def encode(self, pixel_values: np.ndarray, input_ids: np.ndarray):
        """Vision encoder, prompt embedding and text encoder; returns (hidden states, attention mask)."""
        t0 = time.perf_counter()
        img = self.vision.run(None, {"pixel_values": pixel_values})[0]
        self.last_vision_ms = (time.perf_counter() - t0) * 1e3
        txt = self.embed.run(None, {"input_ids": input_ids})[0]
        embeds = np.concatenate([img, txt], axis=1)
        mask = np.ones(embeds.shape[:2], dtype=np.int64)
        hidden = self.encoder.run(None, {"inputs_embeds": embeds, "attention_mask": mask})[0]
        return hidden, mask

    def greedy(self, pixel_values: np.ndarray, input_ids: np.ndarray, max_new_tokens: int) -> GreedyResult:
        """Greedy generation for one image (batch 1), transformers `generate` semantics."""
        gen = self.generation
        start = gen.get("decoder_start_token_id", 2)
        eos = gen.get("eos_token_id", 2)
        forced_bos = gen.get("forced_bos_token_id")
        forced_eos = gen.get("forced_eos_token_id")
        ngram = gen.get("no_repeat_ngram_size", 0) or 0
        max_length = 1 + max_new_tokens
        t0 = time.perf_counter()
        hidden, mask = self.encode(pixel_values, input_ids)
        t1 = time.perf_counter()

        feeds = {"encoder_attention_mask": mask, "encoder_hidden_states": hidden}
        for inp in self.past_inputs:
            shape = [1 if d == "batch_size" else 0 if isinstance(d, str) or d is None else d for d in inp.shape]
            feeds[inp.name] = np.zeros(shape, dtype=_ORT_TYPES[inp.type])
        ids = [start]
        result = GreedyResult(ids=ids)
        cross = {}
        while len(ids) < max_length:
            feeds["inputs_embeds"] = self.embed.run(None, {"input_ids": np.array([[ids[-1]]], dtype=np.int64)})[0]
            feeds["use_cache_branch"] = np.array([len(ids) > 1])
            outs = dict(zip(self.output_names, self.decoder.run(None, feeds)))
            logits = outs["logits"][0, -1].astype(np.float32).copy()
            for name, value in outs.items():
                if name.startswith("present."):
                    past = name.replace("present.", "past_key_values.")
                    if ".encoder." in name:
                        if len(ids) == 1:
                            cross[past] = value
                        feeds[past] = cross[past]
                    else:
                        feeds[past] = value
            apply_processors(logits, ids, ngram, forced_bos, forced_eos, max_length)
            top2 = np.partition(logits, -2)[-2:]
            if np.isfinite(top2).all():
                result.min_top2_margin = min(result.min_top2_margin, float(top2[1] - top2[0]))
            nxt = int(np.argmax(logits))
            ids.append(nxt)
            if nxt == eos:
                break
        t2 = time.perf_counter()
        result.timings_ms = {
            "vision": self.last_vision_ms,
            "encoder": (t1 - t0) * 1e3 - self.last_vision_ms,
            "decode": (t2 - t1) * 1e3,
            "steps": len(ids) - 1,
        }
        return result


def banned_ngram_tokens(ids: list[int], n: int) -> set[int]:
    """Tokens that would repeat an n-gram already in `ids` (transformers NoRepeatNGramLogitsProcessor)."""
    if n <= 0 or len(ids) + 1 < n:
        return set()
    prefix = tuple(ids[len(ids) - n + 1 :])
    banned = set()
    for i in range(len(ids) - n + 1):
        if tuple(ids[i : i + n - 1]) == prefix:
            banned.add(ids[i + n - 1])
    return banned


def apply_processors(logits: np.ndarray, ids: list[int], ngram: int, forced_bos, forced_eos, max_length: int):
    """In place, in transformers' order: no-repeat-n-gram, forced BOS, forced EOS."""
    for t in banned_ngram_tokens(ids, ngram):
        logits[t] = -np.inf
    if forced_bos is not None and len(ids) == 1:
        logits[:] = -np.inf
        logits[forced_bos] = 0.0
    if forced_eos is not None and len(ids) == max_length - 1:
        logits[:] = -np.inf
        logits[forced_eos] = 0.0
