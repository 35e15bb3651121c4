"""The input model folder's checks, and the output folder written atomically.

An output folder is assembled in a hidden staging folder next to it (`.NAME.partial-PID`) and renamed
into place only after every graph was written and checked, so `OUT` either does not exist or is
complete; `optimize_report.json` is its last file. A crash leaves only the hidden `.partial` folder,
which the next run removes.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from .errors import OptimizeError

#: The four graphs of the public layout, by file stem.
COMPONENTS = ("vision_encoder", "embed_tokens", "encoder_model", "decoder_model_merged")
#: Files a usable folder must have besides the graphs.
REQUIRED_FILES = ("config.json", "generation_config.json", "preprocessor_config.json", "tokenizer.json")
#: Public precision suffixes (transformers.js names), plus ours.
SUFFIX = {"fp32": "", "fp16": "_fp16", "q8": "_quantized", "int8": "_int8", "uint8": "_uint8", "q4": "_q4", "q4f16": "_q4f16", "bnb4": "_bnb4", "static_int8": "_static_int8"}
REPORT = "optimize_report.json"


def graph_path(folder: Path, component: str, precision: str) -> Path:
    return Path(folder) / "onnx" / f"{component}{SUFFIX[precision]}.onnx"


def check_input(folder: Path) -> dict:
    """Validates IN before any expensive work; returns its parsed config.json."""
    folder = Path(folder)
    if not folder.is_dir():
        raise OptimizeError(f"--model {folder}: {'not a directory' if folder.exists() else 'does not exist'}")
    if not (folder / "onnx").is_dir() and (any(folder.glob("*.safetensors")) or any(folder.glob("pytorch_model*.bin"))):
        raise OptimizeError(f"--model {folder} is a PyTorch checkpoint, not an ONNX model folder: convert it first with models/export.py --checkpoint {folder} --out DIR")
    missing = [f for f in REQUIRED_FILES if not (folder / f).is_file()]
    missing += [f"onnx/{c}.onnx" for c in COMPONENTS if not graph_path(folder, c, "fp32").is_file()]
    if missing:
        held = sorted(p.name for p in (folder / "onnx").glob("*.onnx")) if (folder / "onnx").is_dir() else []
        raise OptimizeError(f"--model {folder} is not a complete Florence-2 folder in the public layout: missing {', '.join(missing)} (onnx/ holds: {', '.join(held) or 'nothing'})")
    try:
        config = json.loads((folder / "config.json").read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise OptimizeError(f"{folder / 'config.json'}: {e}") from e
    return config


class Staging:
    """A hidden folder next to OUT that becomes OUT on `commit()`; removed on failure."""

    def __init__(self, out: Path, force: bool):
        self.out = Path(out).resolve()
        if self.out.exists() and not force:
            raise OptimizeError(f"--out {self.out} already exists (give --force to replace it)")
        if self.out.exists() and not self.out.is_dir():
            raise OptimizeError(f"--out {self.out} exists and is not a directory")
        self.out.parent.mkdir(parents=True, exist_ok=True)
        for stale in self.out.parent.glob(f".{self.out.name}.partial-*"):
            pid = stale.name.rsplit("-", 1)[-1]
            if not (pid.isdigit() and _alive(int(pid))):
                shutil.rmtree(stale, ignore_errors=True)
        self.path = self.out.parent / f".{self.out.name}.partial-{os.getpid()}"
        shutil.rmtree(self.path, ignore_errors=True)
        (self.path / "onnx").mkdir(parents=True)

    def put(self, src: Path, rel: str) -> Path:
        """Hard-links (or copies) `src` to `rel` inside the staging folder."""
        dst = self.path / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)
        return dst

    def commit(self, report: dict) -> Path:
        """Writes the report last, then renames the staging folder to OUT (replacing an old OUT)."""
        (self.path / REPORT).write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
        old = None
        if self.out.exists():
            old = self.out.parent / f".{self.out.name}.old-{os.getpid()}"
            os.rename(self.out, old)
        os.rename(self.path, self.out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return self.out

    def abort(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return pid != os.getpid()
