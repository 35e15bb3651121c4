#!/usr/bin/env python3
"""Writes the Pillow parity data of florence2-preprocess (run from anywhere with the project venv):

    .venv/bin/python crates/preprocess/tests/data/make_pillow_cases.py

Outputs, next to this script:
- pillow_cases.json: resize cases and normalisation tables. The source images are not stored: both
  this script and the Rust tests generate them from (seed, kind, format, size) with the PRNG below.
  For each case, Pillow's `convert("RGB").resize((w, h), Image.BICUBIC)` is stored as the SHA-256
  and the byte sum of its RGB bytes.
- decode/: small PNG files of every PNG colour type / bit depth and JPEGs, with Pillow's
  `Image.open(f).convert("RGB")` bytes as SHA-256 (PNG) or as a lossless PNG (JPEG, to measure
  the decoder difference).

PRNG ("splitmix64 bytes"): byte i (i = 0, 1, ...) of stream `seed` is the top byte of SplitMix64's
output number i + 1 from state `seed`:
    z = seed + (i + 1) * 0x9E3779B97F4A7C15            (mod 2^64)
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9           (mod 2^64)
    z = (z ^ (z >> 27)) * 0x94D049BB133111EB           (mod 2^64)
    z = z ^ (z >> 31);  byte = z >> 56
Source kinds, for a packed buffer of `w * h * bpp` bytes in the case's pixel format (bpp = 1 gray,
3 rgb, 4 rgba / bgra), with x, y the pixel and c the byte within the pixel:
    noise:    value = byte(i) where i = (y * w + x) * bpp + c
    binary:   value = 255 if byte(i) >= 128 else 0
    blocks:   value = byte(((y // 8) * ((w + 7) // 8) + x // 8) * bpp + c)
    gradient: value = (x + 2 * y + 85 * c) % 256
"""

from __future__ import annotations

import hashlib
import json
import random
import struct
import sys
import warnings
import zlib
from pathlib import Path

import numpy as np
import PIL
from PIL import Image

HERE = Path(__file__).resolve().parent
M64 = (1 << 64) - 1

# (src w, src h, dst w, dst h, kind, format, row padding in the Rust test)
CASES = [
    (1, 1, 7, 5, "noise", "rgb", 0),
    (1, 1, 1, 1, "noise", "rgb", 3),
    (1, 1, 768, 768, "noise", "gray", 0),
    (2, 2, 160, 160, "noise", "rgba", 1),
    (5, 3, 2, 2, "noise", "rgb", 0),
    (517, 31, 160, 160, "noise", "rgb", 0),
    (31, 517, 160, 160, "blocks", "rgb", 5),
    (2000, 3, 768, 768, "noise", "rgb", 0),
    (3, 2000, 768, 768, "noise", "bgra", 0),
    (800, 1, 768, 768, "binary", "rgb", 0),
    (1, 800, 768, 768, "gradient", "gray", 2),
    (768, 768, 768, 768, "noise", "rgb", 0),
    (768, 768, 768, 768, "noise", "bgra", 4),
    (768, 768, 767, 768, "noise", "rgb", 0),
    (768, 700, 768, 768, "blocks", "rgba", 0),
    (769, 767, 768, 768, "noise", "rgb", 0),
    (1000, 1000, 768, 768, "noise", "rgb", 0),
    (1000, 1000, 768, 768, "blocks", "gray", 0),
    (1536, 1536, 768, 768, "binary", "rgb", 0),
    (384, 384, 768, 768, "blocks", "rgb", 0),
    (640, 480, 768, 768, "gradient", "rgba", 0),
    (1920, 1080, 768, 768, "blocks", "rgb", 0),
    (1080, 1920, 160, 160, "noise", "bgra", 8),
    (97, 89, 160, 160, "noise", "rgb", 0),
    (211, 173, 768, 768, "binary", "rgb", 0),
    (1009, 1013, 383, 389, "noise", "rgb", 7),
    (23, 17, 160, 160, "blocks", "gray", 0),
    (160, 160, 1, 1, "noise", "rgb", 0),
    (160, 160, 1, 160, "noise", "rgb", 0),
    (1000, 9, 9, 1000, "gradient", "rgb", 0),
    (300, 220, 160, 160, "binary", "gray", 0),
    (4001, 3, 2, 3, "noise", "rgb", 0),
    # Pass order (Pillow 13 runs the vertical pass first when in_h - out_h > 2 * (in_w - out_w)).
    (300, 400, 250, 300, "noise", "rgb", 0),  # 100 == 2 * 50: horizontal first
    (300, 401, 250, 300, "noise", "rgba", 0),  # 101 > 100: vertical first
    (220, 300, 160, 160, "blocks", "gray", 3),
    (100, 500, 160, 160, "noise", "bgra", 0),  # width up, height down
    (1080, 1920, 768, 768, "noise", "rgb", 0),  # portrait photo: vertical first
    (640, 1280, 768, 768, "gradient", "rgba", 2),
]

# A sweep of small random geometries (every combination of up/down/same per axis), all formats.
_sweep = random.Random(2024)
SWEEP = [
    (
        _sweep.randint(1, 90),
        _sweep.randint(1, 90),
        _sweep.randint(1, 90),
        _sweep.randint(1, 90),
        _sweep.choice(["noise", "binary", "blocks", "gradient"]),
        _sweep.choice(["gray", "rgb", "rgba", "bgra"]),
        _sweep.choice([0, 0, 1, 5]),
    )
    for _ in range(200)
]

BPP = {"gray": 1, "rgb": 3, "rgba": 4, "bgra": 4}

# (name, rescale_factor, mean, std) -> numpy's float32 result for every byte value and channel.
NORMALIZE = [
    ("florence2", 0.00392156862745098, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    ("clip", 1 / 255, [0.48145466, 0.4578275, 0.40821073], [0.26862954, 0.26130258, 0.27577711]),
    ("half", 0.00392156862745098, [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]),
    ("odd", 0.0078125, [0.1, -0.3, 1e-3], [3.0, 0.017, 1.7]),
]


def prng_bytes(seed: int, n: int) -> np.ndarray:
    i = np.arange(1, n + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = np.uint64(seed) + i * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(56)).astype(np.uint8)


def source(seed: int, kind: str, fmt: str, w: int, h: int) -> np.ndarray:
    bpp = BPP[fmt]
    if kind == "noise":
        flat = prng_bytes(seed, w * h * bpp)
    elif kind == "binary":
        flat = np.where(prng_bytes(seed, w * h * bpp) >= 128, 255, 0).astype(np.uint8)
    elif kind == "blocks":
        bw, bh = (w + 7) // 8, (h + 7) // 8
        blocks = prng_bytes(seed, bw * bh * bpp).reshape(bh, bw, bpp)
        flat = blocks[np.arange(h)[:, None] // 8, np.arange(w)[None, :] // 8].reshape(-1)
    elif kind == "gradient":
        y, x, c = np.meshgrid(np.arange(h), np.arange(w), np.arange(bpp), indexing="ij")
        flat = ((x + 2 * y + 85 * c) % 256).astype(np.uint8).reshape(-1)
    else:
        raise ValueError(kind)
    return flat.reshape(h, w, bpp)


def to_pil_rgb(arr: np.ndarray, fmt: str) -> Image.Image:
    if fmt == "gray":
        return Image.fromarray(arr[:, :, 0], "L").convert("RGB")
    if fmt == "rgb":
        return Image.fromarray(arr, "RGB")
    if fmt == "rgba":
        return Image.fromarray(arr, "RGBA").convert("RGB")
    if fmt == "bgra":
        return Image.fromarray(np.ascontiguousarray(arr[:, :, [2, 1, 0, 3]]), "RGBA").convert("RGB")
    raise ValueError(fmt)


def write_png(path: Path, arr: np.ndarray, bitdepth: int, colortype: int, palette=None, trns=None) -> None:
    """A PNG of any colour type and bit depth (Pillow cannot write all of them)."""
    h, w = arr.shape[:2]

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    raw = b""
    for y in range(h):
        row = arr[y]
        if bitdepth == 16:
            rb = row.astype(">u2").tobytes()
        elif bitdepth == 8:
            rb = row.astype(np.uint8).tobytes()
        else:
            vals = row.reshape(-1).astype(np.uint8)
            per = 8 // bitdepth
            vals = np.concatenate([vals, np.zeros((-len(vals)) % per, np.uint8)])
            rb = bytes(
                sum(int(v) << (8 - bitdepth * (k + 1)) for k, v in enumerate(vals[j : j + per]))
                for j in range(0, len(vals), per)
            )
        raw += b"\x00" + rb
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, bitdepth, colortype, 0, 0, 0))
    if palette is not None:
        data += chunk(b"PLTE", bytes(int(v) for v in palette))
    if trns is not None:
        data += chunk(b"tRNS", trns)
    data += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    path.write_bytes(data)


def decode_cases(out: Path) -> list[dict]:
    out.mkdir(exist_ok=True)
    rng = np.random.default_rng(7)
    w, h = 13, 7
    pal = rng.integers(0, 256, 16 * 3)
    pngs = [
        ("gray1.png", rng.integers(0, 2, (h, w)), 1, 0, None, None),
        ("gray2.png", rng.integers(0, 4, (h, w)), 2, 0, None, None),
        ("gray4.png", rng.integers(0, 16, (h, w)), 4, 0, None, None),
        ("gray8_trns.png", rng.integers(0, 256, (h, w)), 8, 0, None, b"\x00\x10"),
        ("gray16.png", rng.integers(0, 65536, (h, w)), 16, 0, None, None),
        ("gray16_low.png", rng.integers(0, 600, (h, w)), 16, 0, None, None),
        ("gray_alpha8.png", rng.integers(0, 256, (h, w, 2)), 8, 4, None, None),
        ("gray_alpha16.png", rng.integers(0, 65536, (h, w, 2)), 16, 4, None, None),
        ("rgb8_trns.png", rng.integers(0, 256, (h, w, 3)), 8, 2, None, b"\x00\x10\x00\x20\x00\x30"),
        ("rgb16.png", rng.integers(0, 65536, (h, w, 3)), 16, 2, None, None),
        ("rgba8.png", rng.integers(0, 256, (h, w, 4)), 8, 6, None, None),
        ("rgba16.png", rng.integers(0, 65536, (h, w, 4)), 16, 6, None, None),
        ("palette4.png", rng.integers(0, 16, (h, w)), 4, 3, pal, None),
        ("palette8_trns.png", rng.integers(0, 16, (h, w)), 8, 3, pal, bytes(range(0, 160, 10))),
    ]
    cases = []
    for name, arr, depth, ctype, palette, trns in pngs:
        write_png(out / name, arr, depth, ctype, palette, trns)
        im = Image.open(out / name)
        im.load()
        rgb = im.convert("RGB")
        cases.append({"file": name, "pillow_mode": im.mode, "rgb_sha256": hashlib.sha256(rgb.tobytes()).hexdigest()})

    # JPEGs: a smooth scene with edges and texture, as photos have; Pillow's decoded pixels kept as PNG.
    y, x = np.mgrid[0:48, 0:64]
    scene = np.stack([(x * 4) % 256, (y * 5 + x) % 256, 128 + 100 * np.sin(x / 5.0) * np.cos(y / 7.0)], -1)
    scene = np.clip(scene + rng.normal(0, 12, scene.shape), 0, 255).astype(np.uint8)
    jpegs = [("jpeg_420_q90.jpg", "RGB", 2), ("jpeg_444_q90.jpg", "RGB", 0), ("jpeg_gray_q90.jpg", "L", 0)]
    for name, mode, subsampling in jpegs:
        img = Image.fromarray(scene, "RGB").convert(mode)
        img.save(out / name, quality=90, subsampling=subsampling)
        dec = Image.open(out / name)
        dec.load()
        ref = name.replace(".jpg", "_pillow.png")
        dec.convert("RGB").save(out / ref)
        cases.append({"file": name, "pillow_mode": dec.mode, "pillow_rgb_png": ref})
    return cases


def main() -> int:
    # Pillow warns that palette transparency in bytes "should be converted to RGBA": that is the point.
    warnings.filterwarnings("ignore", message="Palette images with Transparency")
    cases = []
    for n, (sw, sh, dw, dh, kind, fmt, pad) in enumerate(CASES + SWEEP):
        seed = 1000 + n
        src = to_pil_rgb(source(seed, kind, fmt, sw, sh), fmt)
        out = np.asarray(src.resize((dw, dh), Image.Resampling.BICUBIC))
        assert out.shape == (dh, dw, 3)
        cases.append(
            {
                "seed": seed,
                "kind": kind,
                "format": fmt,
                "src": [sw, sh],
                "dst": [dw, dh],
                "pad": pad,
                "rgb_sha256": hashlib.sha256(out.tobytes()).hexdigest(),
                "rgb_sum": int(out.astype(np.uint64).sum()),
            }
        )
    normalize = []
    values = np.arange(256, dtype=np.uint8)
    for name, factor, mean, std in NORMALIZE:
        x = (values.astype(np.float64) * factor).astype(np.float32)
        m = np.array(mean, dtype=np.float32)
        s = np.array(std, dtype=np.float32)
        table = [((x - m[c]) / s[c]).astype(np.float32).view(np.uint32).tolist() for c in range(3)]
        normalize.append({"name": name, "rescale_factor": factor, "mean": mean, "std": std, "f32_bits": table})
    doc = {
        "about": "Pillow parity data for florence2-preprocess; written by make_pillow_cases.py (see its docstring)",
        "versions": {"pillow": PIL.__version__, "numpy": np.__version__, "python": sys.version.split()[0]},
        "cases": cases,
        "normalize": normalize,
        "decode": decode_cases(HERE / "decode"),
    }
    (HERE / "pillow_cases.json").write_text(json.dumps(doc, indent=1) + "\n")
    print(f"{len(cases)} resize cases ({len(SWEEP)} of them a random sweep), {len(normalize)} normalisation tables, {len(doc['decode'])} decode files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
