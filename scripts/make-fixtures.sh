#!/usr/bin/env bash
# Regenerates everything under tests/fixtures/ from its recipe (needs `scripts/setup.sh --with-export`):
#   images/                  real photos from scikit-image in the shapes tests need (models/fixture_images.py)
#   tiny-random/             Florence-2 architecture, seeded random weights, onnx-community layout (models/export.py)
#   reference/tiny-random.json + resized/ + pixel_values/   transformers' outputs (models/reference.py)
#   tiny-positions/          like tiny-random with only 64 decoder positions (models/export.py)
#   reference/tiny-positions.json   transformers generating up to that limit, and failing one past it
# Deterministic: running it again must leave `git status` clean (CPU PyTorch, fixed seeds).
# The optimised fixture (models/optimize.py on tiny-random) is not committed: the tests that need it
# write it in their run (crates/core/tests/reference_parity.rs, models/tests/test_optimize.py).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
FIX=tests/fixtures
if ! "$PY" -c "import torch, transformers" 2>/dev/null; then
  echo "error: the PyTorch export stack is missing; run scripts/setup.sh --with-export first" >&2
  exit 2
fi
rm -rf "$FIX/images" "$FIX/tiny-random" "$FIX/tiny-positions" "$FIX/reference"
"$PY" models/fixture_images.py "$FIX/images"
"$PY" models/export.py --random --preset tiny --seed 0 --out "$FIX/tiny-random" --verify-images "$FIX"/images/*.png
"$PY" models/reference.py --model "$FIX/tiny-random" --weights random:tiny:0 --images "$FIX/images" \
  --out "$FIX/reference/tiny-random.json" --max-new-tokens 128
# The position limit: 64 new tokens on a model with 64 positions, and a probe of 65.
LIMIT_IMAGES=$(mktemp -d)
LIMIT_OUT=$(mktemp -d)
trap 'rm -rf "$LIMIT_IMAGES" "$LIMIT_OUT"' EXIT
cp "$FIX"/images/{astronaut_512x512,chelsea_451x300,coffee_600x400}.png "$LIMIT_IMAGES"/
"$PY" models/export.py --random --preset tiny-positions --seed 0 --out "$FIX/tiny-positions" \
  --verify-images "$LIMIT_IMAGES"/*.png
"$PY" models/reference.py --model "$FIX/tiny-positions" --weights random:tiny-positions:0 --images "$LIMIT_IMAGES" \
  --out "$LIMIT_OUT/tiny-positions.json" --tasks '<CAPTION>' '<OD>' '<OCR_WITH_REGION>' '<CAPTION_TO_PHRASE_GROUNDING>' \
  --max-new-tokens 64 --full-arrays 0 --probe-beyond-limit
# Its resized images are tiny-random's (same preprocessor): keep only the JSON.
cp "$LIMIT_OUT/tiny-positions.json" "$FIX/reference/"
du -sh "$FIX"
