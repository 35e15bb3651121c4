"""The Python onnxruntime loop's logits processors, checked against brute force and the spec."""

from __future__ import annotations

import itertools

import numpy as np

from florence2_tools.ortloop import apply_processors, banned_ngram_tokens


def _brute_banned(ids, n):
    banned = set()
    for i in range(len(ids) - n + 1):
        if ids[i : i + n - 1] == ids[len(ids) - n + 1 :]:
            banned.add(ids[i + n - 1])
    return banned if len(ids) >= n - 1 else set()


def test_no_repeat_ngram_matches_brute_force():
    rng = np.random.default_rng(0)
    for length, n in itertools.product(range(0, 12), (2, 3, 4)):
        for _ in range(20):
            ids = [int(t) for t in rng.integers(0, 4, size=length)]
            assert banned_ngram_tokens(ids, n) == _brute_banned(ids, n), (ids, n)


def test_forced_bos_then_forced_eos_at_the_limit():
    logits = np.zeros(10, np.float32)
    apply_processors(logits, [2], 3, forced_bos=0, forced_eos=2, max_length=5)
    assert int(np.argmax(logits)) == 0 and np.isinf(logits[1:]).all()
    logits = np.arange(10, dtype=np.float32)
    apply_processors(logits, [2, 0, 5, 6], 3, forced_bos=0, forced_eos=2, max_length=5)
    assert int(np.argmax(logits)) == 2
    logits = np.arange(10, dtype=np.float32)
    apply_processors(logits, [2, 5, 9, 7, 5, 9], 3, forced_bos=0, forced_eos=2, max_length=50)
    assert logits[7] == -np.inf and int(np.argmax(logits)) == 9 and np.isfinite(logits[8])
