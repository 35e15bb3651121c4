#!/usr/bin/env python3
"""Write the fixture images: real photos from scikit-image's sample data (PyPI package data) in the
shapes and modes a preprocessing or parity test needs: downscaling and upscaling, non-square, odd
sizes, grayscale, RGBA. All PNG, so every decoder sees the same pixels.

    .venv/bin/python models/fixture_images.py tests/fixtures/images
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import skimage.data as data
from PIL import Image


def fixture_images() -> dict[str, Image.Image]:
    """name -> image."""
    return {
        "astronaut_512x512.png": Image.fromarray(data.astronaut()),
        "coffee_600x400.png": Image.fromarray(data.coffee()),
        "chelsea_451x300.png": Image.fromarray(data.chelsea()),
        "camera_gray_300x220.png": Image.fromarray(np.ascontiguousarray(data.camera()[60:280, 100:400]), "L"),
        "logo_rgba_250x250.png": Image.fromarray(data.logo()).resize((250, 250), Image.Resampling.LANCZOS),
        "hubble_strip_31x517.png": Image.fromarray(np.ascontiguousarray(data.hubble_deep_field()[100:617, 300:331])),
        "coffee_tiny_23x17.png": Image.fromarray(np.ascontiguousarray(data.coffee()[180:197, 300:323])),
    }


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    for name, img in fixture_images().items():
        img.save(out / name, optimize=True)
        print(f"{name}: {img.size[0]}x{img.size[1]} {img.mode}, {(out / name).stat().st_size / 1e3:.0f} kB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
