"""The optimised decoder against the stock merged decoder: teacher-forced logits on the same tokens.

Both run `rows` sequences over the same synthetic encoder output (seeded), fed the same seeded
tokens, for `steps` steps. Half way, the rows are reordered as beam search does (row b takes row
order[b]): the stock cache by gathering its `present.*.decoder.*` tensors, ours in place. Per step:
max |Δ| of the logits, the cosine, and whether the top-1 tokens agree.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort

from ..steploop import OptimisedDecoder

_ORT_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16}


def _session(path: Path, threads: int) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def stock_logits(decoder: ort.InferenceSession, embed: ort.InferenceSession, hidden: np.ndarray, tokens: np.ndarray, reorder_at: int, order: list[int]) -> list[np.ndarray]:
    """Logits [rows, vocab] per step of the stock merged decoder (merged-decoder protocol)."""
    rows, steps = tokens.shape
    names = [o.name for o in decoder.get_outputs()]
    feeds = {"encoder_hidden_states": np.repeat(hidden, rows, axis=0), "encoder_attention_mask": np.ones((rows, hidden.shape[1]), np.int64)}
    for inp in decoder.get_inputs():
        if inp.name.startswith("past_key_values."):
            feeds[inp.name] = np.zeros([rows, inp.shape[1], 0, inp.shape[3]], dtype=_ORT_TYPES[inp.type])
    out, cross = [], {}
    for t in range(steps):
        if t == reorder_at:
            for name in list(feeds):
                if name.startswith("past_key_values.") and ".decoder." in name:
                    feeds[name] = feeds[name][order]
        feeds["inputs_embeds"] = embed.run(None, {"input_ids": tokens[:, t:t + 1]})[0]
        feeds["use_cache_branch"] = np.array([t > 0])
        res = dict(zip(names, decoder.run(None, feeds)))
        out.append(res["logits"][:, -1].astype(np.float32))
        for name, value in res.items():
            if name.startswith("present."):
                past = name.replace("present.", "past_key_values.")
                if ".encoder." in name:
                    if t == 0:
                        cross[past] = value
                    feeds[past] = cross[past]
                else:
                    feeds[past] = value
    return out


def ours_logits(dec: OptimisedDecoder, hidden: np.ndarray, tokens: np.ndarray, reorder_at: int, order: list[int]) -> list[np.ndarray]:
    rows, steps = tokens.shape
    dec.start(hidden, rows=rows, capacity=steps)
    out = []
    for t in range(steps):
        out.append(dec.step(tokens[:, t].tolist(), order if t == reorder_at else None).copy())
    return out


def probe(d_model: int, vocab: int, start: int, steps: int, rows: int = 2, seq: int = 23, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A seeded encoder output [1, seq, D] (unit-variance, like a layer-normed state) and tokens."""
    rng = np.random.default_rng(seed)
    hidden = rng.standard_normal((1, seq, d_model)).astype(np.float32)
    tokens = rng.integers(3, vocab, size=(rows, steps), dtype=np.int64)
    tokens[:, 0] = start
    return hidden, tokens


def compare(stock_decoder: Path, stock_embed: Path, folder: Path, suffix: str, start: int, threads: int, steps: int = 12) -> dict:
    """Teacher-forced logits of the optimised layout in `folder` against the stock fp32 decoder."""
    dec = OptimisedDecoder(folder, suffix, threads)
    steps = min(steps, dec.max_positions)
    hidden, tokens = probe(dec.d_model, dec.vocab, start, steps)
    order = [1, 0]
    reorder_at = steps // 2
    ref = stock_logits(_session(stock_decoder, threads), _session(stock_embed, threads), hidden, tokens, reorder_at, order)
    # the reordered rows continue with the other row's tokens from reorder_at on, in both runs
    got = ours_logits(dec, hidden, tokens, reorder_at, order)
    diffs, cos, agree, peak = [], [], [], 0.0
    for a, b in zip(ref, got):
        a64, b64 = a.astype(np.float64), b.astype(np.float64)
        diffs.append(float(np.abs(a64 - b64).max()))
        peak = max(peak, float(np.abs(a64).max()))
        for r in range(a.shape[0]):
            cos.append(float(a64[r] @ b64[r] / max(np.linalg.norm(a64[r]) * np.linalg.norm(b64[r]), 1e-30)))
            agree.append(int(np.argmax(a[r]) == np.argmax(b[r])))
    return {
        "probe": f"synthetic encoder output [1, {hidden.shape[1]}, {dec.d_model}], {tokens.shape[0]} rows x {steps} teacher-forced tokens, rows swapped at step {reorder_at}",
        "max_abs_diff": max(diffs),
        "max_abs_reference": peak,
        "min_cosine": min(cos),
        "top1_agreement": sum(agree) / len(agree),
    }
