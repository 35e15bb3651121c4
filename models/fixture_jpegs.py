#!/usr/bin/env python3
"""Write the JPEG fixtures (tests/fixtures/images-jpeg): 4:2:0, 4:2:2 with EXIF orientation 6,
4:4:0 progressive, 4:1:1 with restart markers, CMYK, grayscale. Their reference outputs are
recorded by models/reference.py into tests/fixtures/reference/tiny-random-jpeg.json.

    .venv/bin/python models/fixture_jpegs.py tests/fixtures/images-jpeg
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from florence2_tools.image_corpus import write_fixture_jpegs  # noqa: E402

if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    for p in write_fixture_jpegs(Path(sys.argv[1])):
        print(f"{p.name}: {p.stat().st_size / 1e3:.0f} kB")
