"""Calibration data for static quantisation: what each graph sees when the FP32 pipeline runs.

1. Images → `pixel_values` through our own preprocessing (`florence2 preprocess`, the Rust code the SDK
   runs), so the vision encoder is calibrated on exactly the tensors it gets at run time.
2. The FP32 pipeline (plain onnxruntime, `ortloop.OrtFlorence2`) runs over every (image, task) sample:
   vision encoder, prompt embedding, text encoder, then greedy decoding with the generation_config
   processors. The recorded activations feed one data reader per component:
   - `vision_encoder`  ← pixel_values;
   - `embed_tokens`    ← prompt ids and the generated ids (the decoder embeds those too);
   - `encoder_model`   ← [image features ; prompt embeddings] and the attention mask;
   - `decoder_model` (first step of the merged decoder) ← step-0 inputs;
   - `decoder_with_past_model` (its cache branch) ← every later step's inputs incl. the past K/V,
     replayed teacher-forced on the recorded FP32 tokens.
Readers are generators: decoder steps are recomputed on demand rather than stored (a base-size step's
cache is tens of MB).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .ortloop import OrtFlorence2, apply_processors
from .tasks import construct_prompt

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
# Tasks without text input, cycled over the calibration images (one task per image).
DEFAULT_TASKS = (
    "<CAPTION>",
    "<OD>",
    "<DETAILED_CAPTION>",
    "<OCR_WITH_REGION>",
    "<MORE_DETAILED_CAPTION>",
    "<DENSE_REGION_CAPTION>",
    "<OCR>",
    "<REGION_PROPOSAL>",
)
_REPO = Path(__file__).resolve().parents[2]


def find_cli(explicit: Path | None = None) -> Path:
    """The `florence2` binary: `explicit`, `$FLORENCE2_CLI`, else target/release or target/debug."""
    candidates = [explicit] if explicit else []
    if os.environ.get("FLORENCE2_CLI"):
        candidates.append(Path(os.environ["FLORENCE2_CLI"]))
    candidates += [_REPO / "target/release/florence2", _REPO / "target/debug/florence2"]
    for c in candidates:
        if c and c.is_file() and os.access(c, os.X_OK):
            return c
    raise FileNotFoundError(
        "the florence2 CLI was not found (tried " + ", ".join(str(c) for c in candidates if c) + "); "
        "build it with `cargo build --release -p florence2-cli` or pass --cli"
    )


def list_images(folder: Path, limit: int | None = None) -> list[Path]:
    """PNG/JPEG files of `folder` (recursively), sorted by path; the first `limit` of them."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"calibration image folder {folder} does not exist")
    images = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not images:
        raise ValueError(f"no PNG/JPEG images in {folder}")
    return images[:limit] if limit else images


def preprocess_images(cli: Path, model: Path, images: list[Path], out_dir: Path) -> list[Path]:
    """`florence2 preprocess --model MODEL IMAGE --out X.npy` per image; cached by image content and
    preprocessor config, so a second run with the same images costs nothing."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    config = (Path(model) / "preprocessor_config.json").read_bytes()
    paths = []
    for image in images:
        key = hashlib.sha256(config + Path(image).read_bytes()).hexdigest()[:16]
        out = out_dir / f"{Path(image).stem}-{key}.npy"
        if not out.is_file():
            tmp = out.with_suffix(".tmp.npy")
            done = subprocess.run(
                [str(cli), "preprocess", "--model", str(model), str(image), "--out", str(tmp)],
                capture_output=True,
                text=True,
            )
            if done.returncode != 0:
                raise RuntimeError(f"florence2 preprocess failed on {image}: {done.stderr.strip()}")
            shutil.move(tmp, out)
        paths.append(out)
    return paths


@dataclass
class Sample:
    """One calibration case: a preprocessed image and a task, with the FP32 pipeline's record of it."""

    image: Path
    pixel_values: Path
    task: str
    prompt_ids: np.ndarray = None  # [1, S_txt] int64
    image_features: np.ndarray = None  # [1, S_img, D]
    hidden: np.ndarray = None  # text encoder output [1, S_enc, D]
    generated: list[int] = field(default_factory=list)  # starting with the decoder start token


class Fp32Recorder:
    """Runs the FP32 pipeline over the samples once and replays per-component inputs as readers."""

    def __init__(self, model: Path, samples: list[Sample], max_new_tokens: int = 32, threads: int = 0):
        from tokenizers import Tokenizer

        self.model = OrtFlorence2(Path(model), threads=threads)
        self.tokenizer = Tokenizer.from_file(str(Path(model) / "tokenizer.json"))
        self.samples = samples
        self.max_new_tokens = max_new_tokens
        for s in samples:
            self._record(s)

    def _record(self, s: Sample) -> None:
        m = self.model
        ids = self.tokenizer.encode(construct_prompt(s.task)).ids
        s.prompt_ids = np.array([ids], dtype=np.int64)
        s.image_features = m.vision.run(None, {"pixel_values": np.load(s.pixel_values)})[0]
        feeds = self.encoder_feeds(s)
        s.hidden = m.encoder.run(None, feeds)[0]
        s.generated = [m.generation.get("decoder_start_token_id", 2)]
        for _feeds in self._steps(s, teacher_forced=False):
            pass

    def encoder_feeds(self, s: Sample) -> dict:
        txt = self.model.embed.run(None, {"input_ids": s.prompt_ids})[0]
        embeds = np.concatenate([s.image_features, txt], axis=1)
        return {"inputs_embeds": embeds, "attention_mask": np.ones(embeds.shape[:2], dtype=np.int64)}

    def _steps(self, s: Sample, teacher_forced: bool):
        """Yields the merged decoder's feeds of every step (step 0 first). Free-running (recording
        `s.generated`, greedy with the generation processors) or replaying `s.generated`."""
        m = self.model
        gen = m.generation
        eos = gen.get("eos_token_id", 2)
        max_length = 1 + self.max_new_tokens
        mask = np.ones(s.hidden.shape[:2], dtype=np.int64)
        feeds = {"encoder_attention_mask": mask, "encoder_hidden_states": s.hidden}
        _ORT_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16}
        for inp in m.past_inputs:
            shape = [1 if d == "batch_size" else 0 if isinstance(d, str) or d is None else d for d in inp.shape]
            feeds[inp.name] = np.zeros(shape, dtype=_ORT_TYPES[inp.type])
        ids = list(s.generated[:1])
        cross = {}
        while len(ids) < max_length:
            if teacher_forced and len(ids) >= len(s.generated):
                break
            feeds["inputs_embeds"] = m.embed.run(None, {"input_ids": np.array([[ids[-1]]], dtype=np.int64)})[0]
            feeds["use_cache_branch"] = np.array([len(ids) > 1])
            yield dict(feeds)
            outs = dict(zip(m.output_names, m.decoder.run(None, feeds)))
            for name, value in outs.items():
                if name.startswith("present."):
                    past = name.replace("present.", "past_key_values.")
                    if ".encoder." in name:
                        if len(ids) == 1:
                            cross[past] = value
                        feeds[past] = cross[past]
                    else:
                        feeds[past] = value
            if teacher_forced:
                ids.append(s.generated[len(ids)])
                continue
            logits = outs["logits"][0, -1].astype(np.float32).copy()
            apply_processors(logits, ids, gen.get("no_repeat_ngram_size", 0) or 0, gen.get("forced_bos_token_id"), gen.get("forced_eos_token_id"), max_length)
            ids.append(int(np.argmax(logits)))
            s.generated.append(ids[-1])
            if ids[-1] == eos:
                break

    # One generator per component; each yields feed dicts keyed by the graph's input names.

    def vision_encoder(self):
        for s in self.samples:
            yield {"pixel_values": np.load(s.pixel_values)}

    def embed_tokens(self):
        for s in self.samples:
            yield {"input_ids": s.prompt_ids}
            yield {"input_ids": np.array([s.generated], dtype=np.int64)}

    def encoder_model(self):
        for s in self.samples:
            yield self.encoder_feeds(s)

    def decoder_model(self):
        """Step 0 of every sample (the merged decoder's else-branch)."""
        for s in self.samples:
            for feeds in self._steps(s, teacher_forced=True):
                yield feeds
                break

    def decoder_with_past_model(self):
        """Every later step (the cache branch), teacher-forced on the recorded FP32 tokens."""
        for s in self.samples:
            for i, feeds in enumerate(self._steps(s, teacher_forced=True)):
                if i > 0:
                    yield feeds


class FeedReader:
    """onnxruntime `CalibrationDataReader` over a generator of feed dicts, keeping the graph's inputs only."""

    def __init__(self, make_iter, input_names: list[str]):
        self._make = make_iter
        self._names = list(input_names)
        self._it = None
        self.count = 0

    def get_next(self):
        if self._it is None:
            self._it = iter(self._make())
        feeds = next(self._it, None)
        if feeds is None:
            return None
        missing = [n for n in self._names if n not in feeds]
        if missing:
            raise KeyError(f"calibration feeds lack inputs {missing}")
        self.count += 1
        return {n: feeds[n] for n in self._names}

    def rewind(self):
        self._it = None

    def __iter__(self):
        self.rewind()
        while (item := self.get_next()) is not None:
            yield item


def make_samples(images: list[Path], pixel_values: list[Path], tasks: list[str]) -> list[Sample]:
    """One sample per image, tasks cycled over the images."""
    return [Sample(image=img, pixel_values=pv, task=tasks[i % len(tasks)]) for i, (img, pv) in enumerate(zip(images, pixel_values))]
