#!/usr/bin/env python3
"""Writes the EXIF-orientation test files of florence2-preprocess (project venv, from anywhere):

    .venv/bin/python crates/preprocess/tests/data/make_exif_cases.py

Outputs in exif/, next to this script:
- orient_N.jpg (N = 1..8): the same 24x16 picture, stored so that a viewer honouring EXIF
  Orientation = N shows it upright. The picture is a 3x2 grid of flat 8x8 blocks in six distinct
  colours (block edges on JPEG's 8x8 DCT blocks, quality 100, no chroma subsampling), so every
  decoder reproduces it within a few grey levels and each of the 8 orientations gives a different
  arrangement.
- orient_6.png: the same with the orientation in a PNG eXIf chunk (lossless).
- upright.png: the picture itself (what orient_6.png must decode to, exactly).
- upright_N.png: Pillow 13's `ImageOps.exif_transpose(Image.open("orient_N.jpg")).convert("RGB")`,
  the expected decode (as PNG, lossless), made by Pillow and not by the code under test.
"""

from pathlib import Path

from PIL import Image, ImageOps

OUT = Path(__file__).resolve().parent / "exif"
COLOURS = [(230, 30, 30), (30, 200, 40), (40, 60, 220), (240, 220, 40), (200, 40, 210), (20, 20, 20)]

# Orientation N means: the stored pixels, transformed by `exif_transpose`, are upright. So store
# the inverse transform of the upright picture.
INVERSE = {
    1: [],
    2: [Image.Transpose.FLIP_LEFT_RIGHT],
    3: [Image.Transpose.ROTATE_180],
    4: [Image.Transpose.FLIP_TOP_BOTTOM],
    5: [Image.Transpose.TRANSPOSE],
    6: [Image.Transpose.ROTATE_90],  # exif_transpose rotates 270 (cw 90) for 6
    7: [Image.Transpose.TRANSVERSE],
    8: [Image.Transpose.ROTATE_270],
}


def upright() -> Image.Image:
    img = Image.new("RGB", (24, 16))
    for i, colour in enumerate(COLOURS):
        bx, by = i % 3, i // 3
        img.paste(colour, (8 * bx, 8 * by, 8 * bx + 8, 8 * by + 8))
    return img


def main() -> None:
    OUT.mkdir(exist_ok=True)
    base = upright()
    base.save(OUT / "upright.png")
    for n, ops in INVERSE.items():
        stored = base
        for op in ops:
            stored = stored.transpose(op)
        exif = Image.Exif()
        exif[0x0112] = n
        path = OUT / f"orient_{n}.jpg"
        stored.save(path, quality=100, subsampling=0, exif=exif.tobytes())
        shown = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
        assert shown.size == base.size, (n, shown.size)
        shown.save(OUT / f"upright_{n}.png")
        if n == 6:
            stored.save(OUT / "orient_6.png", exif=exif.tobytes())
            png = ImageOps.exif_transpose(Image.open(OUT / "orient_6.png")).convert("RGB")
            assert png.tobytes() == base.tobytes()


if __name__ == "__main__":
    main()
