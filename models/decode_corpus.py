#!/usr/bin/env python3
"""Compare our image decoder with Pillow on the generated corpus and print the per-kind table.

    .venv/bin/python models/decode_corpus.py [--full] [--keep DIR]

--full: the full corpus (every quality 30..100, sizes up to 4003 pixels, more seeds); default is
the CI subset that models/tests/test_decode_parity.py runs. --keep DIR: write the corpus there
(kept) instead of a temporary folder. Exits 1 if any pixel or outcome differs.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from florence2_tools import image_corpus  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--keep", type=Path)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = args.keep or Path(tmp)
        t0 = time.time()
        cases = image_corpus.generate(base / "corpus", full=args.full)
        t1 = time.time()
        decoder = image_corpus.build_decoder(ROOT)
        t2 = time.time()
        results, problems = image_corpus.compare(cases, decoder, base / "ours")
        t3 = time.time()
        sizes = Counter(c.path.suffix for c in cases)
        print(f"{len(cases)} files ({dict(sizes)}): generated in {t1 - t0:.0f} s, decoder build {t2 - t1:.0f} s, "
              f"compared in {t3 - t2:.0f} s\n")
        print(image_corpus.table(results))
        for p in problems:
            print(p)
        return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
