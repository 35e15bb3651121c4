#!/usr/bin/env python3
"""The "shapes" demo model: a small Florence-2 (real architecture, real tokenizer) trained from scratch
on generated pictures of coloured shapes, so the SDK has a model whose answers mean something offline.

    # train (resumable: run it again with the same --run to continue from the last checkpoint); the
    # committed model's recipe (models/README.md says why each flag is there):
    .venv/bin/python models/train_demo.py train --run models/out/demo-run --steps 5000 --vision-pretrain 1000 \
        --curriculum 300 --unused-column row --loc-init sincos --aux-weight 1.0 --lr 1e-3

    # held-out metrics of a checkpoint (PyTorch) or of an exported folder (our Rust CLI, any precision)
    .venv/bin/python models/train_demo.py eval --run models/out/demo-run --n 500
    .venv/bin/python models/train_demo.py eval-cli --model models/demo-shapes --precision int8 --n 500

    # the best checkpoint as a transformers-native folder, then through our exporter
    .venv/bin/python models/train_demo.py save --run models/out/demo-run --out models/out/demo-hf
    .venv/bin/python models/export.py --checkpoint models/out/demo-hf --out models/out/demo-onnx
    .venv/bin/python models/quantize.py --model models/out/demo-onnx --precision int8
    .venv/bin/python models/train_demo.py package --model models/out/demo-onnx --out models/demo-shapes

    # pictures of the world (the test and the README use these)
    .venv/bin/python models/train_demo.py images --seed 7 --n 4 --out /tmp/shapes
    .venv/bin/python models/train_demo.py images --seed 7 --index 0 2 4 --out tests/fixtures/shapes  # the committed ones

The world: RGB, 224-640 px per side, one light background colour (each channel 170-255), Gaussian
noise sigma 1-6 on half of the images; 1-4 filled shapes (circle = inscribed disc, square = the box,
triangle = apex top centre, base on the bottom edge) in square boxes of 12-40 % of the shorter side,
fully inside and at least 4 px apart; colours red, green, blue, yellow, black (+-15 per channel).
Tasks: <OD> (objects left to right by box centre), <CAPTION> ("a red circle, a blue square and a green
triangle."), <CAPTION_TO_PHRASE_GROUNDING> with a label ("red circle") -> the boxes with that label.

Training computes logits only over the token rows the world uses (prompts, answers, the 1000 <loc_N>
tokens, the specials) plus one constant column log(#unused) that stands for all other rows, which
stay exactly zero: this is the full-vocabulary cross-entropy of a model whose unused rows are zero,
so the exported 51289-row model decodes the same tokens, and the zero rows compress to almost nothing.

Deterministic: picture i of training step s comes from numpy's generator seeded with (seed, s, i);
the held-out set uses a separate stream (seed, "eval"); torch is seeded and single-process.
Dependencies: numpy, pillow, tokenizers (world, metrics); torch + transformers (training): the
export stack (models/requirements-export.txt).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent))

from florence2_tools import tasks as tasksmod  # noqa: E402
from florence2_tools.config import TASK_PROMPTS_WITH_INPUT, TASK_PROMPTS_WITHOUT_INPUT  # noqa: E402

SHARED_TOKENIZER = Path(__file__).resolve().parents[2] / "shared" / "florence2-tokenizer"
REPO_TOKENIZER = Path(__file__).resolve().parent / "demo-shapes"

COLOURS = {
    "red": (220, 30, 30),
    "green": (30, 160, 60),
    "blue": (40, 70, 220),
    "yellow": (235, 200, 20),
    "black": (20, 20, 20),
}
SHAPES = ("circle", "square", "triangle")
LABELS = [f"{c} {s}" for c in COLOURS for s in SHAPES]
TASKS = ("<OD>", "<CAPTION>", "<CAPTION_TO_PHRASE_GROUNDING>")
LOC0 = 50269
EVAL_STREAM = 0x5EED  # the held-out set's stream id (training uses step numbers >= 0, never this)


# ----------------------------------------------------------------------------------------- the world
@dataclass
class Obj:
    """One shape: its label and its box (x1, y1, x2, y2) in pixels, continuous coordinates."""

    label: str
    box: tuple[float, float, float, float]


def make_sample(rng: np.random.Generator, max_objects: int = 4) -> tuple[Image.Image, list[Obj]]:
    """One picture of the world and its objects, left to right by box centre (at most `max_objects`:
    the training curriculum starts with 1-2; the world itself has 1-4)."""
    w, h = int(rng.integers(224, 641)), int(rng.integers(224, 641))
    bg = tuple(int(v) for v in rng.integers(170, 256, size=3))
    img = Image.new("RGB", (w, h), bg)
    draw = ImageDraw.Draw(img)
    short = min(w, h)
    want = int(rng.integers(1, max_objects + 1))
    boxes: list[tuple[int, int, int]] = []
    objs: list[Obj] = []
    for _ in range(want):
        for _attempt in range(50):
            side = int(round(rng.uniform(0.12, 0.40) * short))
            x0 = int(rng.integers(0, w - side + 1))
            y0 = int(rng.integers(0, h - side + 1))
            # at least 4 px between boxes: the gap along x or along y must be >= 4
            if all(x0 >= bx + bs + 4 or bx >= x0 + side + 4 or y0 >= by + bs + 4 or by >= y0 + side + 4 for bx, by, bs in boxes):
                break
        else:
            continue
        boxes.append((x0, y0, side))
        colour = str(rng.choice(list(COLOURS)))
        shape = str(rng.choice(SHAPES))
        rgb = tuple(int(np.clip(c + rng.integers(-15, 16), 0, 255)) for c in COLOURS[colour])
        x1, y1 = x0 + side - 1, y0 + side - 1  # Pillow's shapes include their last pixel
        if shape == "circle":
            draw.ellipse((x0, y0, x1, y1), fill=rgb)
        elif shape == "square":
            draw.rectangle((x0, y0, x1, y1), fill=rgb)
        else:
            draw.polygon([(x0 + (side - 1) / 2, y0), (x0, y1), (x1, y1)], fill=rgb)
        objs.append(Obj(f"{colour} {shape}", (float(x0), float(y0), float(x0 + side), float(y0 + side))))
    if rng.random() < 0.5:
        sigma = rng.uniform(1.0, 6.0)
        a = np.asarray(img).astype(np.float32) + rng.normal(0.0, sigma, size=(h, w, 3)).astype(np.float32)
        img = Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8), "RGB")
    objs.sort(key=lambda o: (o.box[0] + o.box[2]) / 2)
    return img, objs


def sample_rng(seed: int, stream: int, index: int) -> np.random.Generator:
    """The generator of picture `index` in `stream` (a training step, or EVAL_STREAM)."""
    return np.random.default_rng([seed, stream, index])


def caption(objs: list[Obj]) -> str:
    """'a red circle.', 'a red circle and a blue square.', 'a red circle, a blue square and a green triangle.'"""
    parts = [f"a {o.label}" for o in objs]
    if len(parts) == 1:
        return parts[0] + "."
    return ", ".join(parts[:-1]) + " and " + parts[-1] + "."


def od_target(objs: list[Obj], w: int, h: int) -> str:
    """The <OD> answer: label + 4 loc tokens per object, left to right."""
    return "".join(o.label + tasksmod.loc_tokens(o.box, w, h) for o in objs)


def grounding_target(objs: list[Obj], label: str, w: int, h: int) -> str:
    """The <CAPTION_TO_PHRASE_GROUNDING> answer for `label`: the label once, then every box with it."""
    return label + "".join(tasksmod.loc_tokens(o.box, w, h) for o in objs if o.label == label)


def examples(img: Image.Image, objs: list[Obj], rng: np.random.Generator) -> list[tuple[str, str, str | None]]:
    """(prompt, answer, grounding label or None) for the three tasks on one picture."""
    w, h = img.size
    label = objs[int(rng.integers(0, len(objs)))].label
    return [
        (tasksmod.construct_prompt("<OD>"), od_target(objs, w, h), None),
        (tasksmod.construct_prompt("<CAPTION>"), caption(objs), None),
        (tasksmod.construct_prompt("<CAPTION_TO_PHRASE_GROUNDING>", label), grounding_target(objs, label, w, h), label),
    ]


# ------------------------------------------------------------------------------------ answers, metrics
_RUN = re.compile(r"([^<]*)((?:<loc_\d+>){4,})")


def parse_boxes(text: str, w: int, h: int) -> list[tuple[str, tuple[float, float, float, float]]]:
    """Florence-2's description_with_bboxes parser: label + groups of 4 locs, bins back to pixels."""
    text = text.replace("<s>", "").replace("</s>", "").replace("<pad>", "")
    out = []
    for label, locs in _RUN.findall(text):
        bins = [int(b) for b in re.findall(r"<loc_(\d+)>", locs)]
        for i in range(0, len(bins) - 3, 4):
            x1, y1, x2, y2 = bins[i : i + 4]
            out.append((label.strip(), ((x1 + 0.5) * w / 1000, (y1 + 0.5) * h / 1000, (x2 + 0.5) * w / 1000, (y2 + 0.5) * h / 1000)))
    return out


def iou(a, b) -> float:
    """Intersection over union of two (x1, y1, x2, y2) boxes."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def match(pred, gt, thr: float = 0.5) -> int:
    """Greedy one-to-one matching (best IoU first), same label and IoU >= thr; returns the matches."""
    pairs = sorted(((iou(p[1], g[1]), i, j) for i, p in enumerate(pred) for j, g in enumerate(gt) if p[0] == g[0]), reverse=True)
    used_p, used_g, n = set(), set(), 0
    for v, i, j in pairs:
        if v < thr or i in used_p or j in used_g:
            continue
        used_p.add(i)
        used_g.add(j)
        n += 1
    return n


class Metrics:
    """OD precision/recall/F1 (IoU >= 0.5, exact label), caption exact match, grounding exact set."""

    def __init__(self):
        self.tp = self.npred = self.ngt = 0
        self.cap_ok = self.cap_n = self.gr_ok = self.gr_n = 0
        self.ious: list[float] = []

    def add_od(self, text: str, objs: list[Obj], w: int, h: int):
        self.add_od_boxes(parse_boxes(text, w, h), objs)

    def add_od_boxes(self, pred, objs: list[Obj]):
        """Scores predicted (label, box) pairs against the objects (OD precision, recall, IoU)."""
        gt = [(o.label, o.box) for o in objs]
        self.tp += match(pred, gt)
        self.npred += len(pred)
        self.ngt += len(gt)
        for g in gt:
            same = [iou(p[1], g[1]) for p in pred if p[0] == g[0]]
            self.ious.append(max(same) if same else 0.0)

    def add_caption(self, text: str, objs: list[Obj]):
        self.cap_ok += int(clean(text) == caption(objs))
        self.cap_n += 1

    def add_grounding(self, text: str, objs: list[Obj], label: str, w: int, h: int):
        pred = [(label, b) for _, b in parse_boxes(text, w, h)]
        gt = [(o.label, o.box) for o in objs if o.label == label]
        self.gr_ok += int(len(pred) == len(gt) and match(pred, gt) == len(gt))
        self.gr_n += 1

    def summary(self) -> dict:
        p = self.tp / self.npred if self.npred else 0.0
        r = self.tp / self.ngt if self.ngt else 0.0
        return {
            "od_precision": round(p, 4),
            "od_recall": round(r, 4),
            "od_f1": round(2 * p * r / (p + r), 4) if p + r else 0.0,
            "od_mean_iou": round(float(np.mean(self.ious)), 4) if self.ious else 0.0,
            "caption_exact": round(self.cap_ok / self.cap_n, 4) if self.cap_n else 0.0,
            "grounding": round(self.gr_ok / self.gr_n, 4) if self.gr_n else 0.0,
            "images": self.cap_n,
        }


def clean(text: str) -> str:
    """Decoded answer without the specials around it."""
    return text.replace("<s>", "").replace("</s>", "").replace("<pad>", "").strip()


def eval_set(seed: int, n: int):
    """The held-out pictures: (image, objects, grounding label), n of them, from their own stream."""
    for i in range(n):
        rng = sample_rng(seed, EVAL_STREAM, i)
        img, objs = make_sample(rng)
        label = objs[int(rng.integers(0, len(objs)))].label
        yield img, objs, label


# ----------------------------------------------------------------------------------------- the model
IMAGE_SIZE = 128


def model_preset():
    """The demo architecture: image 128 px (DaViT maps 32/16/8/4, window 4, so 4x4+1 = 17 image tokens),
    DaViT 16/32/64/128 (depths 1,1,2,1), text d_model 128 with 2+2 layers: 1.7 M parameters besides the
    token table, so fp32 + int8 fit the 15 MB the repository allows (8.6 M would need 43 MB)."""
    from florence2_tools.config import Preset

    return Preset(
        d_model=128,
        encoder_layers=2,
        decoder_layers=2,
        encoder_heads=4,
        decoder_heads=4,
        ffn_dim=512,
        vision_dims=(16, 32, 64, 128),
        vision_heads=(1, 2, 4, 8),
        vision_depths=(1, 1, 2, 1),
        window_size=4,
        image_size=IMAGE_SIZE,
        max_position_embeddings=128,
    )


def build_model(seed: int, loc_init: str = "random"):
    import torch
    from transformers import Florence2ForConditionalGeneration

    from florence2_tools import config as cfgmod

    torch.manual_seed(seed)
    cfg = cfgmod.native_config_from_preset(model_preset())
    cfg.text_config.dropout = 0.0
    cfg.text_config.attention_dropout = 0.0
    cfg.text_config.activation_dropout = 0.0
    if hasattr(cfg.vision_config, "drop_path_rate"):
        cfg.vision_config.drop_path_rate = 0.0
    model = Florence2ForConditionalGeneration(cfg)
    # The image tokens' learned 2-D position (row + column embeddings added to the DaViT features)
    # starts at std 0.02 next to features of std ~0.4-1: the tokens carry almost no position. Start them
    # at std 0.2 (an init choice; same architecture): position without drowning the picture (std 1 did).
    pe = model.model.multi_modal_projector.image_position_embed
    with torch.no_grad():
        pe.row_embeddings.weight.normal_(0.0, 0.2)
        pe.column_embeddings.weight.normal_(0.0, 0.2)
    if loc_init == "sincos":
        init_loc_rows(model.model.language_model.shared.weight)
    return model


def init_loc_rows(table) -> None:
    """Start the 1000 <loc_N> rows as sines and cosines of N (an init choice; same architecture, the rows
    stay trainable). With random rows each bin is its own class, seen about once per ten steps, and
    nothing says bin 412 is next to 413; with these rows a hidden state that is itself a sinusoid of a
    position p has logits sum_j cos(w_j (p - N)), peaked at N = p: neighbouring bins share what is
    learned, and the decoder reads the previous coordinate's value from its input row. Frequencies are
    geometric from 1/4 to 100 cycles over the 1000 bins; the row norm matches the random rows'."""
    import torch

    d = table.shape[1]
    half = d // 2
    n = torch.arange(1000, dtype=torch.float64)[:, None]
    cycles = torch.logspace(math.log10(0.25), 2.0, half, dtype=torch.float64)[None, :]
    ang = 2 * math.pi * n * cycles / 1000.0
    rows = torch.zeros(1000, d, dtype=torch.float64)
    rows[:, 0 : 2 * half : 2] = torch.cos(ang)
    rows[:, 1 : 2 * half : 2] = torch.sin(ang)
    rows *= float(table[:LOC0].detach().norm(dim=1).mean()) / math.sqrt(half)
    with torch.no_grad():
        table[LOC0 : LOC0 + 1000] = rows.to(table.dtype)


def load_tokenizer():
    from tokenizers import Tokenizer

    for folder in (SHARED_TOKENIZER, REPO_TOKENIZER):
        if (folder / "tokenizer.json").exists():
            return Tokenizer.from_file(str(folder / "tokenizer.json"))
    raise SystemExit("error: no tokenizer.json in shared/florence2-tokenizer or models/demo-shapes")


def used_token_ids(tok) -> list[int]:
    """Every id the world can produce or prompt with: specials, loc tokens, prompts, labels, captions."""
    texts = [tasksmod.construct_prompt("<OD>"), tasksmod.construct_prompt("<CAPTION>")]
    texts += [tasksmod.construct_prompt("<CAPTION_TO_PHRASE_GROUNDING>", lab) for lab in LABELS]
    texts += [lab + "<loc_1><loc_2><loc_3><loc_4>" + lab2 for lab in LABELS for lab2 in LABELS]
    import itertools

    for n in range(1, 5):
        for combo in itertools.product(LABELS, repeat=n):
            texts.append(caption([Obj(lab, (0, 0, 1, 1)) for lab in combo]))
    ids = {0, 1, 2, 3}
    ids.update(range(LOC0, LOC0 + 1000))
    for enc in tok.encode_batch(texts):
        ids.update(enc.ids)
    return sorted(ids)


def pixel_batch(images: list[Image.Image]):
    from florence2_tools import config as cfgmod
    from florence2_tools import preprocess

    pre = cfgmod.preprocessor_config(IMAGE_SIZE)
    return np.concatenate([preprocess.pixel_values(im, pre) for im in images], axis=0)


class Trainer:
    """Training and evaluation on the restricted vocabulary (see the module docstring)."""

    def __init__(self, model, tok, used: list[int]):
        import torch

        self.torch = torch
        self.model = model
        self.tok = tok
        vocab = model.config.text_config.vocab_size
        self.used = torch.tensor(used, dtype=torch.long)
        self.remap = torch.full((vocab,), -100, dtype=torch.long)
        self.remap[self.used] = torch.arange(len(used))
        self.log_unused = math.log(vocab - len(used))
        used_set = set(used)
        self.first_unused = next(i for i in range(vocab) if i not in used_set)
        lm = model.model.language_model
        with torch.no_grad():
            keep = torch.zeros(vocab, dtype=torch.bool)
            keep[self.used] = True
            lm.shared.weight[~keep] = 0.0
        self.lm = lm

    def encode(self, pv, prompts: list[list[int]], repeat: int):
        """Vision once per picture, then `repeat` prompts per picture -> encoder states and mask."""
        torch = self.torch
        img = self.model.model.get_image_features(pv).pooler_output  # [B, N, D]
        self.image_features = img
        img = img.repeat_interleave(repeat, dim=0)
        L = max(len(p) for p in prompts)
        ids = torch.full((len(prompts), L), 1, dtype=torch.long)
        mask = torch.zeros((len(prompts), L), dtype=torch.long)
        for i, p in enumerate(prompts):
            ids[i, : len(p)] = torch.tensor(p)
            mask[i, : len(p)] = 1
        txt = self.lm.shared(ids)
        embeds = torch.cat([img, txt], dim=1)
        full_mask = torch.cat([torch.ones(img.shape[:2], dtype=torch.long), mask], dim=1)
        enc = self.lm.encoder(inputs_embeds=embeds, attention_mask=full_mask).last_hidden_state
        return enc, full_mask

    def logits(self, hidden):
        """Logits over the used rows plus the constant column standing for every unused (zero) row."""
        torch = self.torch
        w = self.lm.shared.weight.index_select(0, self.used)
        lg = torch.nn.functional.linear(hidden, w)
        const = torch.full(lg.shape[:-1] + (1,), self.log_unused, dtype=lg.dtype)
        return torch.cat([lg, const], dim=-1)

    def loss(self, pv, prompts, answers, repeat):
        torch = self.torch
        enc, mask = self.encode(pv, prompts, repeat)
        T = max(len(a) for a in answers)
        labels = torch.full((len(answers), T), -100, dtype=torch.long)
        dec_in = torch.full((len(answers), T), 1, dtype=torch.long)
        for i, a in enumerate(answers):
            at = torch.tensor(a)
            labels[i, : len(a)] = self.remap[at]
            dec_in[i, 0] = 2
            dec_in[i, 1 : len(a)] = at[:-1]
        dec_mask = (labels != -100).long()
        out = self.lm.decoder(input_ids=dec_in, attention_mask=dec_mask, encoder_hidden_states=enc, encoder_attention_mask=mask)
        lg = self.logits(out.last_hidden_state)
        return torch.nn.functional.cross_entropy(lg.reshape(-1, lg.shape[-1]), labels.reshape(-1), ignore_index=-100)

    def greedy(self, pv, prompts, repeat, max_new: int = 48) -> list[list[int]]:
        """Greedy decoding (no cache; the answers are short), as the exported model decodes: the best
        used row against the unused rows, whose logits are exactly 0 (the first of them wins ties).
        (The constant column log(#unused) belongs in the loss, which sums over the unused rows; it is
        no single row's logit, and taking it for one made every early evaluation read <unk>.)"""
        torch = self.torch
        with torch.no_grad():
            enc, mask = self.encode(pv, prompts, repeat)
            n = enc.shape[0]
            seq = torch.full((n, 1), 2, dtype=torch.long)
            done = torch.zeros(n, dtype=torch.bool)
            for step in range(max_new):
                out = self.lm.decoder(input_ids=seq, encoder_hidden_states=enc, encoder_attention_mask=mask)
                lg = self.logits(out.last_hidden_state[:, -1])[:, :-1]
                best, idx = lg.max(-1)
                nxt = torch.where(best >= 0.0, self.used[idx], torch.full_like(idx, self.first_unused))
                if step == 0:
                    nxt = torch.zeros_like(nxt)  # forced BOS
                nxt = torch.where(done, torch.ones_like(nxt), nxt)
                seq = torch.cat([seq, nxt[:, None]], dim=1)
                done |= nxt == 2
                if bool(done.all()):
                    break
        return [[t for t in row.tolist() if t != 1] for row in seq]


class VisionAux:
    """A training-only head on the image tokens the text encoder receives (never exported).

    Measured on runs 1-6 and demo-a/b (models/README.md): the vision tower's output grows a large
    constant part (rms 0.4 -> 22.6 in 900 steps while its picture-dependent part stays at 0.14), and
    after the projector's LayerNorm the picture is 0.1 % of each token: the text side learns the
    answers' language first and the cheapest way to lower the loss is to drown the (still random)
    picture. This head asks the same tokens, from the first step, what the answers will need: per
    grid cell of the spatial tokens, the label of the object whose box centre falls in it (or none)
    and that box; on the global token, which labels are present. The tokens must carry the picture,
    so the text side has something worth reading."""

    def __init__(self, d_model: int, grid: int):
        import torch

        self.torch = torch
        self.grid = grid
        self.cell = torch.nn.Linear(d_model, 1 + len(LABELS) + 4)
        self.present = torch.nn.Linear(d_model, len(LABELS))

    def parameters(self):
        return list(self.cell.parameters()) + list(self.present.parameters())

    def state_dict(self) -> dict:
        return {"cell": self.cell.state_dict(), "present": self.present.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.cell.load_state_dict(state["cell"])
        self.present.load_state_dict(state["present"])

    def loss(self, feats, samples: list[tuple[Image.Image, list[Obj]]]):
        """feats: [B, 1 + grid*grid, D]: the projector's pooled token first, then the spatial tokens
        row-major (transformers' Florence2MultiModalProjector: cat([mean over positions, per position]))."""
        torch = self.torch
        g = self.grid
        n = len(samples)
        cls = torch.zeros((n, g * g), dtype=torch.long)
        box = torch.zeros((n, g * g, 4))
        has_box = torch.zeros((n, g * g), dtype=torch.bool)
        present = torch.zeros((n, len(LABELS)))
        for i, (img, objs) in enumerate(samples):
            w, h = img.size
            for o in sorted(objs, key=lambda o: -(o.box[2] - o.box[0])):  # smaller boxes win a shared cell
                x1, y1, x2, y2 = o.box[0] / w, o.box[1] / h, o.box[2] / w, o.box[3] / h
                cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
                k = min(g - 1, int(cy * g)) * g + min(g - 1, int(cx * g))
                cls[i, k] = 1 + LABELS.index(o.label)
                box[i, k] = torch.tensor([x1, y1, x2, y2])
                has_box[i, k] = True
                present[i, LABELS.index(o.label)] = 1.0
        out = self.cell(feats[:, 1:])
        lc = torch.nn.functional.cross_entropy(out[..., : 1 + len(LABELS)].reshape(-1, 1 + len(LABELS)), cls.reshape(-1))
        lb = torch.nn.functional.l1_loss(out[..., 1 + len(LABELS) :][has_box], box[has_box]) * 2.0
        lp = torch.nn.functional.binary_cross_entropy_with_logits(self.present(feats[:, 0]), present)
        return lc + lb + lp


def evaluate(trainer: Trainer, seed: int, n: int, batch: int = 25) -> dict:
    m = Metrics()
    tok = trainer.tok
    items = list(eval_set(seed, n))
    trainer.model.eval()
    for s in range(0, n, batch):
        chunk = items[s : s + batch]
        pv = trainer.torch.from_numpy(pixel_batch([c[0] for c in chunk]))
        prompts = []
        for img, objs, label in chunk:
            prompts += [
                tok.encode(tasksmod.construct_prompt("<OD>")).ids,
                tok.encode(tasksmod.construct_prompt("<CAPTION>")).ids,
                tok.encode(tasksmod.construct_prompt("<CAPTION_TO_PHRASE_GROUNDING>", label)).ids,
            ]
        outs = trainer.greedy(pv, prompts, 3)
        for k, (img, objs, label) in enumerate(chunk):
            w, h = img.size
            od, cap, gr = (tok.decode(outs[3 * k + j], skip_special_tokens=False) for j in range(3))
            m.add_od(od, objs, w, h)
            m.add_caption(cap, objs)
            m.add_grounding(gr, objs, label, w, h)
    trainer.model.train()
    return m.summary()


def score(metrics: dict) -> float:
    return metrics["od_f1"] + metrics["caption_exact"] + metrics["grounding"]


def cmd_train(args) -> int:
    import torch

    torch.set_num_threads(args.threads)
    run: Path = args.run
    run.mkdir(parents=True, exist_ok=True)
    log = open(run / "train.log", "a")

    def say(msg: str):
        line = f"{time.strftime('%H:%M:%S')} {msg}"
        print(line, flush=True)
        log.write(line + "\n")
        log.flush()

    tok = load_tokenizer()
    used = used_token_ids(tok)
    model = build_model(args.seed, args.loc_init)
    trainer = Trainer(model, tok, used)
    if args.unused_column == "row":
        # one zero row instead of all of them: the used rows need not climb above log(#unused) first
        # (150-300 steps here); greedy decoding is the same (a used row must beat a zero row), the loss
        # is no longer the exported model's full-vocabulary cross-entropy
        trainer.log_unused = 0.0
    # the vision side (DaViT + projector) may learn faster than the text side, which otherwise learns
    # the answers' language long before it reads the picture (models/README.md)
    vision = [p for n, p in model.named_parameters() if n.startswith(("model.vision_tower.", "model.multi_modal_projector."))]
    vision_ids = {id(p) for p in vision}
    text = [p for p in model.parameters() if id(p) not in vision_ids]
    groups = [{"params": text, "lr_mult": 1.0}, {"params": vision, "lr_mult": args.vision_lr_mult}]
    aux = None
    if args.vision_pretrain > 0 and args.aux_weight <= 0:
        raise SystemExit("error: --vision-pretrain trains the auxiliary head: give --aux-weight > 0")
    if args.aux_weight > 0:
        grid = IMAGE_SIZE // 32
        aux = VisionAux(model.config.text_config.d_model, grid)
        groups.append({"params": aux.parameters(), "lr_mult": args.vision_lr_mult})
    opt = torch.optim.AdamW(groups, lr=args.lr, betas=(0.9, 0.98), weight_decay=0.01)
    step, best = 0, -1.0
    ck = run / "ckpt.pt"
    if ck.exists():
        state = torch.load(ck, map_location="cpu", weights_only=False)
        model.load_state_dict(state["model"])
        if aux is not None:
            aux.load_state_dict(state["aux"])
        opt.load_state_dict(state["opt"])
        step, best = state["step"], state["best"]
        say(f"resumed at step {step} (best score {best:.3f})")
    else:
        n_params = sum(p.numel() for p in model.parameters())
        n_emb = model.model.language_model.shared.weight.numel()
        say(f"new run: {n_params / 1e6:.2f} M parameters ({(n_params - n_emb) / 1e6:.2f} M without the token table), "
            f"{len(used)} token rows used, args {vars(args)}")
        (run / "args.json").write_text(json.dumps({k: str(v) for k, v in vars(args).items()}, indent=1))

    def lr_at(s: int) -> float:
        if s < args.warmup:
            return args.lr * (s + 1) / args.warmup
        t = min(1.0, (s - args.warmup) / max(1, args.steps - args.warmup))
        return args.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * t)))

    def save(path: Path, extra: dict | None = None):
        tmp = path.with_suffix(".tmp")
        extra = dict(extra or {})
        if aux is not None:
            extra["aux"] = aux.state_dict()
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "best": best, **extra}, tmp)
        tmp.replace(path)

    model.train()
    t_last, loss_acc, gn_acc, n_acc, aux_acc = time.perf_counter(), 0.0, 0.0, 0, 0.0
    while step < args.steps:
        imgs, prompts, answers, samples = [], [], [], []
        # curriculum: one object per picture for the first --curriculum steps, then 1-2 for as many
        # again, then the whole world (the decoder first has to find the picture at all)
        # (counted from the end of the vision pre-training, which sees the whole world)
        text_step = step - args.vision_pretrain
        if text_step < 0:
            max_objects = 4
        else:
            max_objects = 1 if text_step < args.curriculum else 2 if text_step < 2 * args.curriculum else 4
        for i in range(args.batch):
            rng = sample_rng(args.seed, step, i)
            img, objs = make_sample(rng, max_objects)
            imgs.append(img)
            samples.append((img, objs))
            for prompt, answer, _ in examples(img, objs, rng):
                prompts.append(tok.encode(prompt).ids)
                answers.append(tok.encode(answer).ids)
        pv = torch.from_numpy(pixel_batch(imgs))
        for g in opt.param_groups:
            g["lr"] = lr_at(step) * g.get("lr_mult", 1.0)
        if text_step < 0:
            # vision pre-training: only the image tokens and the auxiliary head (the text side waits
            # until the tokens carry the picture)
            loss = torch.zeros(())
            total = aux.loss(model.model.get_image_features(pv).pooler_output, samples)
            aux_acc += total.item()
        else:
            loss = trainer.loss(pv, prompts, answers, 3)
            total = loss
            if aux is not None:
                aux_loss = aux.loss(trainer.image_features, samples)
                total = loss + args.aux_weight * aux_loss
                aux_acc += aux_loss.item()
        opt.zero_grad(set_to_none=True)
        total.backward()
        gnorm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0))
        opt.step()
        step += 1
        loss_acc += loss.item()
        gn_acc += gnorm
        n_acc += 1
        if step % args.log_every == 0:
            dt = time.perf_counter() - t_last
            aux_txt = f" aux {aux_acc / n_acc:.4f}" if aux is not None else ""
            say(f"step {step} loss {loss_acc / n_acc:.4f}{aux_txt} grad norm {gn_acc / n_acc:.2f} lr {lr_at(step):.2e} {dt / n_acc:.2f} s/step")
            t_last, loss_acc, gn_acc, n_acc, aux_acc = time.perf_counter(), 0.0, 0.0, 0, 0.0
        if step % args.ckpt_every == 0 or step == args.steps:
            save(ck)
        if (step % args.eval_every == 0 and step > args.vision_pretrain) or step == args.steps:
            t0 = time.perf_counter()
            met = evaluate(trainer, args.seed, args.eval_n)
            sc = score(met)
            say(f"eval step {step} on {args.eval_n}: {json.dumps(met)} ({time.perf_counter() - t0:.0f} s)")
            with open(run / "metrics.jsonl", "a") as f:
                f.write(json.dumps({"step": step, **met}) + "\n")
            if sc > best:
                best = sc
                save(run / "best.pt", {"metrics": met})
                say(f"new best at step {step}: score {sc:.3f}")
            save(ck)
            t_last = time.perf_counter()
    say("done")
    return 0


def load_run(run: Path, which: str):
    import torch

    model = build_model(0)
    state = torch.load(run / which, map_location="cpu", weights_only=False)
    model.load_state_dict(state["model"])
    model.eval()
    return model, state


def cmd_eval(args) -> int:
    import torch

    torch.set_num_threads(args.threads)
    model, state = load_run(args.run, args.which)
    tok = load_tokenizer()
    trainer = Trainer(model, tok, used_token_ids(tok))
    met = evaluate(trainer, args.seed, args.n)
    print(json.dumps({"step": state["step"], **met}))
    return 0


def cmd_save(args) -> int:
    """The checkpoint as a transformers-native folder export.py --checkpoint reads (image size included)."""
    from florence2_tools import config as cfgmod

    model, state = load_run(args.run, args.which)
    args.out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(args.out))
    (args.out / "preprocessor_config.json").write_text(json.dumps(cfgmod.preprocessor_config(IMAGE_SIZE), indent=2))
    (args.out / "train_state.json").write_text(json.dumps({"step": state["step"], "metrics": state.get("metrics")}, indent=1))
    # the tokenizer the model was trained with, so export.py --checkpoint finds it in the folder
    import shutil

    src = next(f for f in (SHARED_TOKENIZER, REPO_TOKENIZER) if (f / "tokenizer.json").exists())
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt", "special_tokens_map.json", "added_tokens.json"):
        if (src / name).exists():
            shutil.copyfile(src / name, args.out / name)
    print(f"saved step {state['step']} to {args.out}")
    return 0


def cli_metrics(cli: Path, model: Path, items, workdir: Path, precision: str = "fp32", extra: list[str] | None = None) -> dict:
    """Held-out metrics through our Rust CLI (core's preprocessing, ONNX Runtime, greedy decoding, core's
    post-processing): `items` are (image, objects, grounding label). Adds the decode time per image
    (the CLI's own timings) and the largest resident set of the CLI processes."""
    import resource
    import subprocess
    from collections import defaultdict

    workdir.mkdir(parents=True, exist_ok=True)
    pics = []
    for i, (img, objs, label) in enumerate(items):
        p = workdir / f"shapes_{i}.png"
        img.save(p)
        pics.append((p, img.size, objs, label))

    def run(task: str, paths: list[Path], text: str | None = None) -> list[dict]:
        cmd = [str(cli), "run", "--model", str(model), "--task", task, "--num-beams", "1", "--precision", precision, "--json"]
        cmd += extra or []
        if text is not None:
            cmd += ["--text", text]
        out = subprocess.run(cmd + [str(p) for p in paths], check=True, capture_output=True, text=True).stdout
        rows = [json.loads(line) for line in out.splitlines() if line.strip().startswith("{")]
        if len(rows) != len(paths):
            raise RuntimeError(f"{cmd[:8]}: {len(rows)} results for {len(paths)} images:\n{out[-2000:]}")
        return rows

    def boxes(row: dict, task: str):
        res = row["result"][task]
        return [(str(lab).strip(), tuple(b)) for lab, b in zip(res["labels"], res["bboxes"])]

    m = Metrics()
    ms: list[float] = []
    paths = [p for p, *_ in pics]
    for row, (_, _, objs, _) in zip(run("<OD>", paths), pics):
        m.add_od_boxes(boxes(row, "<OD>"), objs)
        ms.append(float(row["timings_ms"]["total"]))
    for row, (_, _, objs, _) in zip(run("<CAPTION>", paths), pics):
        m.add_caption(str(row["result"]["<CAPTION>"]), objs)
        ms.append(float(row["timings_ms"]["total"]))
    by_label = defaultdict(list)
    for item in pics:
        by_label[item[3]].append(item)
    for label, group in sorted(by_label.items()):
        for row, (_, _, objs, _) in zip(run("<CAPTION_TO_PHRASE_GROUNDING>", [g[0] for g in group], label), group):
            pred = [(label, b) for _, b in boxes(row, "<CAPTION_TO_PHRASE_GROUNDING>")]
            gt = [(o.label, o.box) for o in objs if o.label == label]
            m.gr_ok += int(len(pred) == len(gt) and match(pred, gt) == len(gt))
            m.gr_n += 1
            ms.append(float(row["timings_ms"]["total"]))
    out = m.summary()
    out["ms_per_answer_median"] = round(float(np.median(ms)), 2)
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)
    return out


def cmd_eval_cli(args) -> int:
    import tempfile

    items = list(eval_set(args.seed, args.n))
    with tempfile.TemporaryDirectory() as d:
        met = cli_metrics(args.cli, args.model, items, Path(d), args.precision, ["--threads", str(args.threads)])
    print(json.dumps({"model": str(args.model), "precision": args.precision, **met}))
    return 0


MODEL_FILES = (
    "config.json", "generation_config.json", "preprocessor_config.json", "processor_config.json",
    "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json", "vocab.json",
    "merges.txt", "export_report.json",
)
GRAPHS = ("vision_encoder", "embed_tokens", "encoder_model", "decoder_model_merged")


def cmd_package(args) -> int:
    """An exported (and quantized) folder -> the committed model folder: the public layout with fp32 and
    the chosen precision variants, and the demo world's decoding defaults.

    Florence-2's generation_config.json blocks repeated 3-grams (natural captions rarely repeat); this
    world's captions and grounding answers do ("a red circle, a blue square and a red circle."), so the
    demo model ships no_repeat_ngram_size 0. Everything is written to a sibling folder first and swapped
    in at the end: a failure never leaves a half-written model folder behind. A README.md already in the
    destination is kept."""
    import shutil

    src: Path = args.model
    out: Path = args.out
    missing = [f for f in MODEL_FILES if not (src / f).is_file()]
    missing += [f"onnx/{g}{sfx}.onnx" for g in GRAPHS for sfx in [""] + [f"_{p}" for p in args.precision] if not (src / "onnx" / f"{g}{sfx}.onnx").is_file()]
    if missing:
        raise SystemExit(f"error: {src} lacks {', '.join(missing)} (export.py, then quantize.py --precision {' '.join(args.precision)})")
    tmp = out.with_name(out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "onnx").mkdir(parents=True)
    for f in MODEL_FILES:
        shutil.copyfile(src / f, tmp / f)
    for g in GRAPHS:
        for sfx in [""] + [f"_{p}" for p in args.precision]:
            shutil.copyfile(src / "onnx" / f"{g}{sfx}.onnx", tmp / "onnx" / f"{g}{sfx}.onnx")
    gen = json.loads((tmp / "generation_config.json").read_text())
    gen["no_repeat_ngram_size"] = 0
    (tmp / "generation_config.json").write_text(json.dumps(gen, indent=2) + "\n")
    if (out / "README.md").is_file():
        shutil.copyfile(out / "README.md", tmp / "README.md")
    old = out.with_name(out.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if out.exists():
        out.rename(old)
    tmp.rename(out)
    shutil.rmtree(old, ignore_errors=True)
    print(f"packaged {src} -> {out} (fp32 + {', '.join(args.precision)})")
    return 0


def cmd_images(args) -> int:
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in args.index if args.index else range(args.n):
        rng = sample_rng(args.seed, EVAL_STREAM, i)
        img, objs = make_sample(rng)
        p = args.out / f"shapes_{args.seed}_{i}.png"
        img.save(p)
        rows.append({"file": p.name, "width": img.width, "height": img.height, "caption": caption(objs),
                     "objects": [{"label": o.label, "box": list(o.box)} for o in objs]})
    (args.out / f"shapes_{args.seed}.json").write_text(json.dumps(rows, indent=1))
    print(f"wrote {len(rows)} images and shapes_{args.seed}.json to {args.out}")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="train (resumes from RUN/ckpt.pt)")
    t.add_argument("--run", type=Path, required=True)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--steps", type=int, default=1200)
    t.add_argument("--batch", type=int, default=12, help="pictures per step (x3 tasks)")
    t.add_argument("--lr", type=float, default=5e-4)
    t.add_argument("--warmup", type=int, default=100)
    t.add_argument("--curriculum", type=int, default=150, help="steps with 1-2 objects per picture")
    t.add_argument("--threads", type=int, default=2)
    t.add_argument("--unused-column", choices=("sum", "row"), default="sum",
                   help="the column standing for the unused rows: their sum, log(#unused) (exact loss), or one zero row")
    t.add_argument("--loc-init", choices=("random", "sincos"), default="random",
                   help="the <loc_N> rows at the start: random like every row, or sines/cosines of N (neighbouring bins related)")
    t.add_argument("--vision-lr-mult", type=float, default=1.0, help="the vision tower's and projector's lr over --lr")
    t.add_argument("--aux-weight", type=float, default=0.0,
                   help="weight of the training-only vision head's loss (VisionAux; 0 = off)")
    t.add_argument("--vision-pretrain", type=int, default=0,
                   help="first steps train only the vision side through the auxiliary head (needs --aux-weight)")
    t.add_argument("--log-every", type=int, default=20)
    t.add_argument("--ckpt-every", type=int, default=100)
    t.add_argument("--eval-every", type=int, default=300)
    t.add_argument("--eval-n", type=int, default=100)
    e = sub.add_parser("eval", help="held-out metrics of a checkpoint (PyTorch)")
    e.add_argument("--run", type=Path, required=True)
    e.add_argument("--which", default="best.pt")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--n", type=int, default=500)
    e.add_argument("--threads", type=int, default=2)
    s = sub.add_parser("save", help="a checkpoint as a transformers-native folder for export.py")
    s.add_argument("--run", type=Path, required=True)
    s.add_argument("--which", default="best.pt")
    s.add_argument("--out", type=Path, required=True)
    c = sub.add_parser("eval-cli", help="held-out metrics of an exported folder through the Rust CLI")
    c.add_argument("--model", type=Path, required=True)
    c.add_argument("--cli", type=Path, default=Path("target/release/florence2"))
    c.add_argument("--precision", default="fp32")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--n", type=int, default=500)
    c.add_argument("--threads", type=int, default=1)
    im = sub.add_parser("images", help="write pictures of the world with their ground truth")
    im.add_argument("--seed", type=int, default=1)
    im.add_argument("--n", type=int, default=4, help="pictures 0..n-1 of the seed's stream")
    im.add_argument("--index", type=int, nargs="+", help="only these pictures of the stream (instead of --n)")
    im.add_argument("--out", type=Path, required=True)
    pk = sub.add_parser("package", help="an exported folder -> the committed model folder (fp32 + variants, demo decoding defaults)")
    pk.add_argument("--model", type=Path, required=True)
    pk.add_argument("--out", type=Path, default=REPO_TOKENIZER)
    pk.add_argument("--precision", nargs="*", default=["int8"], help="variants to ship besides fp32 (public suffixes)")
    args = ap.parse_args(argv)
    cmds = {"train": cmd_train, "eval": cmd_eval, "save": cmd_save, "images": cmd_images, "eval-cli": cmd_eval_cli, "package": cmd_package}
    return cmds[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
