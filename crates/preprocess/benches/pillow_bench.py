"""Pillow (and numpy), and OpenCV when installed, doing the work of `benches/preprocess.rs`, for the
same-session comparison.

    .venv/bin/pip install opencv-python-headless   # optional: adds the OpenCV rows
    .venv/bin/python crates/preprocess/benches/pillow_bench.py

Prints the median of N runs per case, in ms, one thread. Inputs are made like the Rust bench's:
a 1920x1080 NV21 frame of the astronaut fixture stretched with BICUBIC, a 4032x3024 JPEG
(quality 90) of the coffee fixture stretched, and the 512x512 astronaut PNG.
"""

import io
import os
import statistics
import time

import numpy as np
from PIL import Image

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "..")
IMAGES = os.path.join(ROOT, "tests", "fixtures", "images")
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32).reshape(3, 1, 1)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32).reshape(3, 1, 1)
RESCALE = 0.00392156862745098


def normalise(img):
    """transformers' CLIPImageProcessor after the resize: HWC uint8 -> CHW float32."""
    x = (np.asarray(img).astype(np.float64) * RESCALE).astype(np.float32)
    return ((x.transpose(2, 0, 1) - MEAN) / STD).astype(np.float32)


def nv21_frame():
    rgb = np.asarray(
        Image.open(os.path.join(IMAGES, "astronaut_512x512.png")).convert("RGB").resize((1920, 1080), Image.BICUBIC)
    ).astype(np.float64)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = np.round(16 + 0.257 * r + 0.504 * g + 0.098 * b).astype(np.uint8)
    sub = rgb[::2, ::2]
    r, g, b = sub[..., 0], sub[..., 1], sub[..., 2]
    v = np.clip(np.round(128 + 0.439 * r - 0.368 * g - 0.071 * b), 0, 255).astype(np.uint8)
    u = np.clip(np.round(128 - 0.148 * r - 0.291 * g + 0.439 * b), 0, 255).astype(np.uint8)
    vu = np.stack([v, u], axis=-1).reshape(-1)
    return np.concatenate([y.reshape(-1), vu]).tobytes()


def nv21_numpy_bt601(data, w=1920, h=1080):
    """NV21 -> RGB with numpy (BT.601 limited range, chroma replicated), as our Reference does."""
    buf = np.frombuffer(data, dtype=np.uint8)
    y = buf[: w * h].reshape(h, w).astype(np.int32) - 16
    vu = buf[w * h :].reshape(h // 2, w // 2, 2).astype(np.int32) - 128
    v = vu[..., 0].repeat(2, 0).repeat(2, 1)
    u = vu[..., 1].repeat(2, 0).repeat(2, 1)
    yl = 74 * y + (y >> 1) + 32
    rgb = np.stack([yl + 102 * v, yl - 25 * u - 52 * v, yl + 129 * u], axis=-1) >> 6
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB")


def nv21_pillow_ycbcr(data, w=1920, h=1080):
    """NV21 -> RGB with Pillow's own YCbCr conversion (JPEG full-range matrix; the cheapest Pillow way)."""
    buf = np.frombuffer(data, dtype=np.uint8)
    y = Image.frombuffer("L", (w, h), buf[: w * h].tobytes(), "raw", "L", 0, 1)
    vu = buf[w * h :].reshape(h // 2, w // 2, 2)
    cb = Image.fromarray(np.ascontiguousarray(vu[..., 1])).resize((w, h), Image.NEAREST)
    cr = Image.fromarray(np.ascontiguousarray(vu[..., 0])).resize((w, h), Image.NEAREST)
    return Image.merge("YCbCr", (y, cb, cr)).convert("RGB")


def opencv_cases(frame, w=1920, h=1080):
    """OpenCV's camera path, one thread: NV21 -> RGB (cvtColor), resize to 768², normalise to CHW
    float32 (the work our Fast mode fuses). Empty when OpenCV is not installed."""
    try:
        import cv2
    except ImportError:
        return []
    cv2.setNumThreads(1)
    yuv = np.frombuffer(frame, dtype=np.uint8).reshape(h * 3 // 2, w)
    scale = (RESCALE / STD).reshape(3).astype(np.float32)
    shift = (-MEAN / STD).reshape(3).astype(np.float32)

    def tensor(interpolation):
        rgb = cv2.resize(cv2.cvtColor(yuv, cv2.COLOR_YUV2RGB_NV21), (768, 768), interpolation=interpolation)
        chw = np.empty((3, 768, 768), np.float32)
        for c, plane in enumerate(cv2.split(rgb)):
            chw[c] = plane.astype(np.float32) * scale[c] + shift[c]
        return chw

    name = f"OpenCV {cv2.__version__}"
    return [
        (f"nv21 1080p -> 768 tensor: {name} cvtColor + INTER_AREA + normalise", lambda: tensor(cv2.INTER_AREA), 30),
        (f"nv21 1080p -> 768 tensor: {name} cvtColor + INTER_LINEAR + normalise", lambda: tensor(cv2.INTER_LINEAR), 30),
    ]


def median_ms(f, n):
    f()
    times = []
    for _ in range(n):
        t = time.perf_counter()
        f()
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def main():
    import PIL

    print(f"Pillow {PIL.__version__}, numpy {np.__version__}")
    frame = nv21_frame()
    big = Image.open(os.path.join(IMAGES, "coffee_600x400.png")).convert("RGB").resize((4032, 3024), Image.BICUBIC)
    out = io.BytesIO()
    big.save(out, "JPEG", quality=90)
    jpeg = out.getvalue()
    png_path = os.path.join(IMAGES, "astronaut_512x512.png")
    rgb1080 = nv21_numpy_bt601(frame)
    decoded = Image.open(io.BytesIO(jpeg))
    decoded.load()

    cases = [
        ("nv21 1080p -> 768 tensor: numpy BT.601 + Pillow BICUBIC", lambda: normalise(nv21_numpy_bt601(frame).resize((768, 768), Image.BICUBIC)), 15),
        ("nv21 1080p -> 768 tensor: Pillow YCbCr + BICUBIC", lambda: normalise(nv21_pillow_ycbcr(frame).resize((768, 768), Image.BICUBIC)), 15),
        ("nv21 1080p -> 768 tensor: Pillow YCbCr + BILINEAR", lambda: normalise(nv21_pillow_ycbcr(frame).resize((768, 768), Image.BILINEAR)), 15),
        ("rgb 1080p -> 768 tensor (BICUBIC + normalise only)", lambda: normalise(rgb1080.resize((768, 768), Image.BICUBIC)), 15),
        ("jpeg 4032x3024 decode only", lambda: Image.open(io.BytesIO(jpeg)).load(), 5),
        ("jpeg 4032x3024 -> 768 tensor (decode + BICUBIC + normalise)", lambda: normalise(Image.open(io.BytesIO(jpeg)).convert("RGB").resize((768, 768), Image.BICUBIC)), 5),
        ("jpeg 4032x3024 decoded -> 768 tensor (BICUBIC + normalise)", lambda: normalise(decoded.resize((768, 768), Image.BICUBIC)), 5),
        ("png 512x512 -> 768 tensor (decode + BICUBIC + normalise)", lambda: normalise(Image.open(png_path).convert("RGB").resize((768, 768), Image.BICUBIC)), 15),
    ] + opencv_cases(frame)
    for name, f, n in cases:
        print(f"{name:<66} {median_ms(f, n):8.2f} ms")


if __name__ == "__main__":
    main()
