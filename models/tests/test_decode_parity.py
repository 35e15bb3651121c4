"""Our image decoder (crates/preprocess, through its `decode_files` example) against Pillow 13 on a
generated corpus of JPEG and PNG files (florence2_tools.image_corpus): every pixel must equal
`ImageOps.exif_transpose(Image.open(f)).convert("RGB")` (what transformers' `load_image` gives),
and without the EXIF step `Image.open(f).convert("RGB")`; a file one side refuses must be refused
by the other too.

CI runs the subset (~420 files, one 4000x3000 photo). FLORENCE2_FULL_CORPUS=1 runs the full
corpus (~1000 files, every quality 30..100, more sizes up to 4003 pixels, more seeds); so does
`models/decode_corpus.py --full`, which prints the per-kind table.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from florence2_tools import image_corpus

ROOT = Path(__file__).resolve().parents[2]
FULL = os.environ.get("FLORENCE2_FULL_CORPUS") == "1"

pytestmark = pytest.mark.skipif(
    shutil.which("cjpeg") is None or shutil.which("cargo") is None,
    reason="needs cjpeg (Debian libjpeg-turbo-progs) and cargo: run scripts/setup.sh",
)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[image_corpus.Case]:
    return image_corpus.generate(tmp_path_factory.mktemp("corpus"), full=FULL)


@pytest.fixture(scope="module")
def decoder() -> Path:
    return image_corpus.build_decoder(ROOT)


def test_corpus_covers_every_kind(corpus: list[image_corpus.Case]) -> None:
    kinds = {c.kind for c in corpus}
    for samp in ("444", "422", "420", "440", "411"):
        for mode in ("base", "prog"):
            assert f"jpeg-{samp}-{mode}" in kinds
    for kind in ("jpeg-gray", "jpeg-cmyk", "jpeg-ycck", "jpeg-restart", "jpeg-exif", "jpeg-large", "jpeg-quality",
                 "png-rgb16", "png-gray16", "png-palette-trns", "png-gray-alpha", "png-exif"):
        assert kind in kinds, kind
    assert len(corpus) >= 400
    names = {c.name for c in corpus}
    assert any("adam7" in n for n in names) and any("4000x3000" in n for n in names)
    # Every EXIF orientation on JPEG and PNG.
    for o in range(1, 9):
        assert f"pil_exif{o}_420.jpg" in names and f"png_exif{o}.png" in names


def test_every_pixel_equals_pillow(corpus, decoder, tmp_path) -> None:
    results, problems = image_corpus.compare(corpus, decoder, tmp_path / "ours")
    print("\n" + image_corpus.table(results))
    assert not problems, "\n".join(problems[:50])
    assert sum(r.pixels for r in results.values()) > 12_000_000


def test_without_exif_orientation_equals_plain_pillow_decode(corpus, decoder, tmp_path) -> None:
    oriented = [c for c in corpus if "exif" in c.kind]
    results, problems = image_corpus.compare(oriented, decoder, tmp_path / "ours", exif=False)
    assert not problems, "\n".join(problems)
    assert sum(r.files for r in results.values()) == len(oriented) >= 40


def test_truncated_jpeg_is_refused_like_pillow(corpus, decoder, tmp_path) -> None:
    # Cut inside the scan: Pillow raises "image file is truncated"; we give a Truncated error.
    source = next(c for c in corpus if c.kind == "jpeg-420-prog" and c.path.stat().st_size > 2000)
    cuts = []
    for i, keep in enumerate((0.3, 0.7, 0.999)):
        data = source.path.read_bytes()
        path = tmp_path / f"cut_{i}.jpg"
        path.write_bytes(data[: int(len(data) * keep)])
        cuts.append(image_corpus.Case(path.name, "jpeg-truncated", path))
    results, problems = image_corpus.compare(cuts, decoder, tmp_path / "ours")
    assert not problems, "\n".join(problems)
    assert results["jpeg-truncated"].both_refused == 3
    for case in cuts:
        assert (tmp_path / "ours" / f"{case.name}.err").read_text().startswith("Truncated:")
