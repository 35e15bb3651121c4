"""Graph weights in 64 KiB-aligned external data files, which ONNX Runtime maps instead of parsing.

A graph whose weights are inline in its protobuf is read whole into ONNX Runtime's heap and parsed
there: at load the process briefly holds the file twice, and glibc keeps much of that transient. A
graph whose large initializers are in an `.onnx_data` file at offsets aligned to 64 KiB (the largest
allocation granularity of the platforms we ship: Windows, and 16 KiB-page Android) is mapped: the
weights ONNX Runtime prepacks are copied once and the mapping released, the others are paged in
from the file. Measured on the base-shaped int8 folder: −35 MB of peak RSS for the vision encoder,
−25 MB in the low-memory mode's text phase for the text encoder (docs/memory.md).
"""

from __future__ import annotations

from pathlib import Path

import onnx
from onnx import TensorProto

#: Alignment of each tensor in a data file (ONNX Runtime maps aligned external data).
ALIGN = 65536
#: Initializers smaller than this stay inline (biases, norms, shapes).
THRESHOLD = 65536


def pad(n: int) -> int:
    """Bytes of padding that bring offset `n` to the next multiple of ALIGN."""
    return (-n) % ALIGN


def data_path(graph: Path) -> Path:
    """The data file of `graph`: `name.onnx` → `name.onnx_data`, next to it."""
    return graph.with_name(graph.name + "_data")


def externalize(model: onnx.ModelProto, data: Path, threshold: int = THRESHOLD) -> int:
    """Moves every inline initializer of at least `threshold` bytes to `data`, each at a 64 KiB
    aligned offset, in graph order. Returns how many moved (none: no file is left behind)."""
    offset = moved = 0
    with open(data, "wb") as f:
        for t in model.graph.initializer:
            if t.data_location == TensorProto.EXTERNAL or not t.HasField("raw_data") or len(t.raw_data) < threshold:
                continue
            raw = t.raw_data
            f.write(b"\0" * pad(offset))
            offset += pad(offset)
            f.write(raw)
            t.ClearField("raw_data")
            t.data_location = TensorProto.EXTERNAL
            for k, v in (("location", data.name), ("offset", str(offset)), ("length", str(len(raw)))):
                e = t.external_data.add()
                e.key, e.value = k, v
            offset += len(raw)
            moved += 1
    if not moved:
        data.unlink()
    return moved


def save_with_data(model: onnx.ModelProto, path: Path, data: Path | None) -> list[Path]:
    """Saves `model` to `path` with its large inline weights moved to `data` (64 KiB aligned; none
    moved: no data file), or all inline when `data` is None, then checks the written file. Old files
    are unlinked first, so a hard link to the input folder is never written through. Returns the
    files written."""
    for p in (path, data):
        if p is not None:
            p.unlink(missing_ok=True)
    if data is not None:
        externalize(model, data)
    onnx.save(model, str(path))
    onnx.checker.check_model(str(path))
    return [p for p in (path, data) if p is not None and p.exists()]


def write_mapped(src: Path, dst: Path) -> list[Path]:
    """Writes the graph `src` (inline or with external data of any layout) to `dst` with its large
    weights in `dst`'s aligned data file; nodes, inputs, outputs and every value unchanged.
    Returns the files written."""
    return save_with_data(onnx.load(str(src), load_external_data=True), dst, data_path(dst))
