"""Reference preprocessing with Pillow and numpy only (no torch): what the PyTorch reference feeds.

Equal, bit for bit, to transformers' PIL-backend CLIP image processor with a Florence-2
`preprocessor_config.json` (reference.py asserts this for every fixture image): RGB conversion
(grayscale replicated, alpha dropped), Pillow BICUBIC resize of the uint8 image to size x size
(aspect ratio not kept), `x * rescale_factor` in float64 stored as float32, `(x - mean) / std` in
float32, channels first.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image


def load_rgb(path: Path) -> Image.Image:
    """Opens an image file as transformers' `load_image` does: turned upright by its EXIF
    orientation (`ImageOps.exif_transpose`), then 8-bit RGB (grayscale replicated, alpha dropped)."""
    from PIL import ImageOps

    img = Image.open(path)
    img.load()
    return ImageOps.exif_transpose(img).convert("RGB")


def pixel_values(image: Image.Image, preprocessor: dict) -> np.ndarray:
    """[1, 3, H, W] float32 for one RGB image."""
    size = preprocessor["size"]
    h, w = size["height"], size["width"]
    resample = Image.Resampling(preprocessor.get("resample", 3))
    img = image.convert("RGB") if image.mode != "RGB" else image
    if preprocessor.get("do_resize", True):
        img = img.resize((w, h), resample=resample)
    x = np.asarray(img)
    if preprocessor.get("do_rescale", True):
        x = (x.astype(np.float64) * preprocessor["rescale_factor"]).astype(np.float32)
    else:
        x = x.astype(np.float32)
    if preprocessor.get("do_normalize", True):
        mean = np.array(preprocessor["image_mean"], dtype=np.float32)
        std = np.array(preprocessor["image_std"], dtype=np.float32)
        x = (x - mean) / std
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None].astype(np.float32))


def read_preprocessor(folder: Path) -> dict:
    """The model folder's preprocessor_config.json."""
    return json.loads((Path(folder) / "preprocessor_config.json").read_text())
