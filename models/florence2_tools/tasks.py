"""Florence-2 task prompts (Microsoft remote-code semantics, the ones the public ONNX files were used with)."""

from __future__ import annotations

import math

from .config import TASK_PROMPTS_WITH_INPUT, TASK_PROMPTS_WITHOUT_INPUT


def construct_prompt(task: str, text: str | None = None) -> str:
    """Task token (+ user text) -> the prompt string that is tokenised.

    Tasks without input map to a fixed sentence; for tasks with input, `{input}` is replaced by the user
    text verbatim (Microsoft's processor does not trim it). Anything else is passed through unchanged.
    """
    if task in TASK_PROMPTS_WITHOUT_INPUT:
        if text:
            raise ValueError(f"task {task} takes no text input, got {text!r}")
        return TASK_PROMPTS_WITHOUT_INPUT[task]
    if task in TASK_PROMPTS_WITH_INPUT:
        if text is None:
            raise ValueError(f"task {task} needs a text input")
        return TASK_PROMPTS_WITH_INPUT[task].format(input=text)
    return task + (text or "")


def loc_tokens(box: tuple[float, float, float, float], width: int, height: int) -> str:
    """Pixel box (x1, y1, x2, y2) -> `<loc_x1><loc_y1><loc_x2><loc_y2>` with floor(v / (dim/1000)) in [0, 999].

    The division is rounded first and then floored, as Microsoft's and transformers' quantizers do
    (`(x / per_bin).floor()`); Python's float `//` floors the exact quotient instead and gives one bin
    less on exact bin boundaries (`256 // 0.512 == 499`).
    """
    bins = []
    for i, v in enumerate(box):
        dim = width if i % 2 == 0 else height
        bins.append(min(999, max(0, math.floor(v / (dim / 1000)))))
    return "".join(f"<loc_{b}>" for b in bins)
