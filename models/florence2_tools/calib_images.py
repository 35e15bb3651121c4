"""A varied calibration image folder from public sample photos (scikit-image's data, a PyPI package).

Stands in for "200-500 images from your own domain" where no such images exist (this machine, CI):
the fixture photos plus deterministic variations of scikit-image's sample images — crops at several
scales and aspect ratios, flips, brightness/contrast changes, grayscale — so the calibrated ranges are
not fitted to a handful of pictures. For a real model, calibrate on your own images instead.

    .venv/bin/python models/florence2_tools/calib_images.py models/out/calib-images --count 24
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageOps

_SOURCES = ("astronaut", "coffee", "chelsea", "rocket", "cat", "camera", "coins", "page", "text", "moon", "hubble_deep_field", "immunohistochemistry", "logo", "retina", "horse", "brick", "grass", "gravel", "clock", "colorwheel")


def _source_images() -> list[tuple[str, Image.Image]]:
    import skimage.data as data

    out = []
    for name in _SOURCES:
        fn = getattr(data, name, None)
        if fn is None:
            continue
        try:
            arr = np.asarray(fn())
        except Exception:  # some sample files are fetched on demand; skip what is not packaged
            continue
        if arr.dtype == bool:
            arr = arr.astype(np.uint8) * 255
        if arr.dtype != np.uint8:
            arr = (255 * (arr - arr.min()) / max(1e-9, float(arr.max() - arr.min()))).astype(np.uint8)
        img = Image.fromarray(arr)
        out.append((name, img.convert("RGB") if img.mode not in ("RGB", "L") else img))
    return out


def make_images(count: int, seed: int = 0) -> dict[str, Image.Image]:
    """`count` images: each source photo once, then random variations of them."""
    rng = np.random.default_rng(seed)
    sources = _source_images()
    if not sources:
        raise RuntimeError("scikit-image sample data is not available")
    images: dict[str, Image.Image] = {}
    for name, img in sources[:count]:
        images[f"{name}.png"] = img
    i = 0
    while len(images) < count:
        name, img = sources[i % len(sources)]
        i += 1
        w, h = img.size
        scale = rng.uniform(0.35, 0.9)
        aspect = rng.uniform(0.6, 1.6)
        cw = max(16, min(w, int(w * scale * np.sqrt(aspect))))
        ch = max(16, min(h, int(h * scale / np.sqrt(aspect))))
        x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
        v = img.crop((x0, y0, x0 + cw, y0 + ch))
        if rng.random() < 0.5:
            v = ImageOps.mirror(v)
        if v.mode == "RGB" and rng.random() < 0.2:
            v = v.convert("L")
        v = ImageEnhance.Brightness(v).enhance(rng.uniform(0.6, 1.4))
        v = ImageEnhance.Contrast(v).enhance(rng.uniform(0.6, 1.4))
        images[f"{name}_var{i:03d}_{cw}x{ch}.png"] = v
    return images


def write_images(out: Path, count: int, seed: int = 0) -> list[Path]:
    """Writes the images as PNG into `out` (created); returns their paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, img in make_images(count, seed).items():
        path = out / name
        if not path.exists():
            img.save(path)
        paths.append(path)
    return paths


def main(argv: list[str]) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("--count", type=int, default=24)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    paths = write_images(args.out, args.count, args.seed)
    print(f"{len(paths)} images in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
