#!/usr/bin/env bash
# Decode speed of the Rust engine (`florence2` CLI, release) against a plain Python onnxruntime loop
# over the same model files, image, task and greedy token budget, alternating within one run (the
# machine is shared and noisy: compare medians measured side by side, never numbers from different runs).
#
#   scripts/bench-decode.sh [MODEL_DIR] [RUNS] [THREADS] [MAX_NEW_TOKENS]
# Default model: models/out/base-random (make it with:
#   .venv/bin/python models/export.py --random --preset base --seed 0 --out models/out/base-random)
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${1:-models/out/base-random}
RUNS=${2:-5}
THREADS=${3:-2}
TOKENS=${4:-64}
IMAGE=tests/fixtures/images/astronaut_512x512.png
TASK='<CAPTION>'
[ -f "$MODEL/onnx/decoder_model_merged.onnx" ] || { echo "no model at $MODEL (see the header of this script)" >&2; exit 2; }
cargo build --release --locked -q -p florence2-cli
BIN=target/release/florence2
out=$(mktemp -d)
for i in $(seq "$RUNS"); do
  "$BIN" run --model "$MODEL" --task "$TASK" --num-beams 1 --max-new-tokens "$TOKENS" --threads "$THREADS" --json "$IMAGE" >"$out/rust.$i.json"
  .venv/bin/python models/bench_ortloop.py --model "$MODEL" --image "$IMAGE" --task "$TASK" --max-new-tokens "$TOKENS" --threads "$THREADS" >"$out/py.$i.json"
done
.venv/bin/python - "$out" "$RUNS" "$MODEL" "$THREADS" <<'PY'
import json, statistics, sys
out, runs, model, threads = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
rust = [json.loads(open(f"{out}/rust.{i}.json").read()) for i in range(1, runs + 1)]
py = [json.loads(open(f"{out}/py.{i}.json").read()) for i in range(1, runs + 1)]
def rs(r, k):
    t = r["timings_ms"]
    steps = len(r["generated_ids"]) - 1
    return {"vision": t["vision"], "encoder": t["encoder"], "per_token": t["decoder"] / steps, "decode": t["decoder"], "steps": steps}[k]
def ps(r, k):
    return {"vision": r["vision_ms"], "encoder": r["encoder_ms"], "per_token": r["ms_per_token"], "decode": r["decode_ms"], "steps": r["steps"]}[k]
same = all(r["generated_ids"] == p["ids"] for r, p in zip(rust, py))
print(f"model {model}, {threads} threads, {runs} alternating runs each, greedy; identical ids: {same}")
print()
print("| stage | Rust engine (median, min–max) | Python onnxruntime loop | ratio Rust/Python |")
print("|---|---|---|---|")
for key, label in (("vision", "vision encoder ms"), ("encoder", "embed + text encoder ms"), ("per_token", "decode ms/token"), ("decode", "decode total ms"), ("steps", "tokens")):
    a = [rs(r, key) for r in rust]; b = [ps(p, key) for p in py]
    ma, mb = statistics.median(a), statistics.median(b)
    print(f"| {label} | {ma:.2f} ({min(a):.2f}–{max(a):.2f}) | {mb:.2f} ({min(b):.2f}–{max(b):.2f}) | {ma / mb:.2f} |")
PY
rm -rf "$out"
