#!/usr/bin/env bash
# End-to-end benchmark of our engine against the peers, on the same model files, image, task and
# token count, alternating the contenders inside one run (the machine may be shared: only ratios
# measured side by side in one run mean anything). Writes a markdown table (medians, min–max, peak
# RSS, our ratio to each peer) into docs/benchmarks.md between its bench markers.
#
#   scripts/bench.sh [--runs 5] [--precision fp32,int8] [--contenders cli,kotlin,tjs,ort,torch]
#                    [--tokens 64] [--threads 2] [--model models/out/base-random]
#                    [--optimized models/out/base-random-opt] [--no-gemm]
#                    [--cli-before PATH] [--out docs/benchmarks.md] [--section bench] [--no-write]
#
# Contenders (each a fresh process per run; peak RSS from /usr/bin/time -v of that process):
#   cli     our `florence2 run --json` (release build)
#   kotlin  our SDK from Kotlin on the JVM (scripts/bench/kotlin, release cdylib, JNA)
#   tjs     transformers.js 4.3.1 + onnxruntime-node, offline on the same folder (scripts/bench/transformersjs)
#   ort     a plain Python onnxruntime loop (models/bench_ortloop.py)
#   torch   transformers (PyTorch) generate on the same weights (models/bench_torch.py; fp32 only)
#   cli-before  with --cli-before PATH: another `florence2` build (e.g. before an optimisation)
#   cli-opt, kotlin-opt  our CLI / SDK on the folder written by models/optimize.py (--optimized DIR,
#               default MODEL-opt): stock and optimised layouts side by side in one run
#   cli-low, kotlin-low, cli-opt-low, kotlin-opt-low  the same in the low-memory mode
#               (`--memory low`, Florence2Options.memoryMode = LOW; docs/memory.md)
# Every round also measures this CPU's int8 and fp32 GEMM rates (models/bench_gemm.py; --no-gemm skips).
# The quiet-machine table of the optimised layout (issue 17), one line:
#   scripts/bench.sh --runs 5 --precision int8,fp32 --contenders cli,cli-opt,kotlin,kotlin-opt,tjs,ort --section optimized
# The image is tests/fixtures/images/astronaut_512x512.png resized once with Pillow to the model's
# input size, so every contender (transformers.js resizes differently) sees the same pixels.
# Greedy, TOKENS new tokens (transformers.js and PyTorch get min_new_tokens = TOKENS; our engine and
# the Python loop run to TOKENS on this image; the table shows the steps each made).
# Model: .venv/bin/python models/export.py --random --preset base --seed 0 --out models/out/base-random
#        .venv/bin/python models/quantize.py --model models/out/base-random --precision int8
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

RUNS=5 PRECISIONS=fp32,int8 CONTENDERS=cli,kotlin,tjs,ort,torch TOKENS=64 THREADS=2
MODEL=models/out/base-random OUT=docs/benchmarks.md SECTION=bench CLI_BEFORE= WRITE=1 TASK='<CAPTION>'
OPT_MODEL= GEMM=1
while [ $# -gt 0 ]; do
  case $1 in
    --runs) RUNS=$2; shift 2 ;;
    --precision) PRECISIONS=$2; shift 2 ;;
    --contenders) CONTENDERS=$2; shift 2 ;;
    --tokens) TOKENS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --model) MODEL=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --section) SECTION=$2; shift 2 ;;
    --cli-before) CLI_BEFORE=$(realpath "$2"); shift 2 ;;
    --optimized) OPT_MODEL=$2; shift 2 ;;
    --no-gemm) GEMM=; shift ;;
    --no-write) WRITE=; shift ;;
    -h|--help) sed -n '2,31p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ -f "$MODEL/onnx/decoder_model_merged.onnx" ] || { echo "no model at $MODEL (see the header of this script)" >&2; exit 2; }
MODEL=$(realpath "$MODEL")
PY=$ROOT/.venv/bin/python
[ -n "$CLI_BEFORE" ] && CONTENDERS="cli-before,$CONTENDERS"
has() { [[ ",$CONTENDERS," == *",$1,"* ]]; }
OPT_MODEL=${OPT_MODEL:-$MODEL-opt}
if has cli-opt || has kotlin-opt || has cli-opt-low || has kotlin-opt-low; then
  [ -f "$OPT_MODEL/optimize_report.json" ] || { echo "no optimised folder at $OPT_MODEL: .venv/bin/python models/optimize.py --model $MODEL --out $OPT_MODEL" >&2; exit 2; }
  OPT_MODEL=$(realpath "$OPT_MODEL")
fi

WORK=$ROOT/target/bench
mkdir -p "$WORK"
RES=$(mktemp -d "$WORK/run.XXXXXX")
IMAGE=$RES/image.png
SIZE=$("$PY" -c "import json,sys; c=json.load(open(sys.argv[1])); s=c.get('crop_size') or c['size']; print(s['height'], s['width'])" "$MODEL/preprocessor_config.json")
"$PY" - "$ROOT/tests/fixtures/images/astronaut_512x512.png" "$IMAGE" $SIZE <<'PY'
import sys
from PIL import Image
src, dst, h, w = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
Image.open(src).convert("RGB").resize((w, h), Image.BICUBIC).save(dst)
PY

# --- builds and installs (not timed) ---------------------------------------------------------------
if has cli || has cli-opt || has cli-low || has cli-opt-low; then cargo build --release --locked -q -p florence2-cli; fi
KOTLIN_HOME=${KOTLIN_HOME:-$ROOT/.cache/kotlin/kotlinc}
KT=$KOTLIN_HOME/lib
KCP=${JNA_JAR:-/usr/share/java/jna.jar}:$KT/kotlinx-coroutines-core-jvm.jar
KJAR=$WORK/kotlin-bench.jar
if has kotlin || has kotlin-opt || has kotlin-low || has kotlin-opt-low; then
  cargo build --release --locked -q -p florence2-sdk
  # The generated bindings and the hand-written façade (`Florence2`, which the harness drives).
  if [ ! -f "$KJAR" ] || [ -n "$(find scripts/bench/kotlin bindings/kotlin/generated bindings/kotlin/src -name '*.kt' -newer "$KJAR")" ]; then
    "$KOTLIN_HOME/bin/kotlinc-jvm" -nowarn -cp "$KCP" -d "$KJAR" \
      bindings/kotlin/generated/ai/florence2/*.kt bindings/kotlin/src/ai/florence2/*.kt scripts/bench/kotlin/*.kt
  fi
fi
TJS=$ROOT/.cache/bench/transformersjs
if has tjs; then
  mkdir -p "$TJS"
  cp scripts/bench/transformersjs/{package.json,package-lock.json,run.mjs} "$TJS/"
  if ! cmp -s "$TJS/package-lock.json" "$TJS/node_modules/.bench-lock"; then
    # onnxruntime-node's install script fetches GPU extras from a host we cannot reach; its CPU
    # library is already inside the npm package.
    (cd "$TJS" && npm ci --ignore-scripts --no-audit --no-fund -s && ONNXRUNTIME_NODE_INSTALL=skip npm rebuild -s)
    cp "$TJS/package-lock.json" "$TJS/node_modules/.bench-lock"
  fi
fi
if has torch; then "$PY" models/bench_torch.py --model "$MODEL" --image "$IMAGE" --prepare >/dev/null; fi

# --- the alternating runs --------------------------------------------------------------------------
command_for() { # contender precision
  case $1 in
    cli) echo "$ROOT/target/release/florence2 run --model $MODEL --task $TASK --num-beams 1 --max-new-tokens $TOKENS --threads $THREADS --precision $2 --json $IMAGE" ;;
    cli-opt) echo "$ROOT/target/release/florence2 run --model $OPT_MODEL --task $TASK --num-beams 1 --max-new-tokens $TOKENS --threads $THREADS --precision $2 --json $IMAGE" ;;
    # A build elsewhere does not find .cache/onnxruntime next to itself: point it at the same library.
    cli-before) echo "env ORT_DYLIB_PATH=$ROOT/.cache/onnxruntime/libonnxruntime.so $CLI_BEFORE run --model $MODEL --task $TASK --num-beams 1 --max-new-tokens $TOKENS --threads $THREADS --precision $2 --json $IMAGE" ;;
    kotlin) echo "env ORT_DYLIB_PATH=$ROOT/.cache/onnxruntime/libonnxruntime.so java -Djna.library.path=$ROOT/target/release -cp $KJAR:$KT/kotlin-stdlib.jar:$KCP ai.florence2.bench.Florence2BenchKt $MODEL $IMAGE $TASK $TOKENS $THREADS $2" ;;
    kotlin-opt) echo "env ORT_DYLIB_PATH=$ROOT/.cache/onnxruntime/libonnxruntime.so java -Djna.library.path=$ROOT/target/release -cp $KJAR:$KT/kotlin-stdlib.jar:$KCP ai.florence2.bench.Florence2BenchKt $OPT_MODEL $IMAGE $TASK $TOKENS $THREADS $2" ;;
    cli-low) echo "$(command_for cli "$2") --memory low" ;;
    cli-opt-low) echo "$(command_for cli-opt "$2") --memory low" ;;
    kotlin-low) echo "$(command_for kotlin "$2") low" ;;
    kotlin-opt-low) echo "$(command_for kotlin-opt "$2") low" ;;
    tjs) echo "node $TJS/run.mjs $MODEL $IMAGE $TASK $TOKENS $THREADS $2" ;;
    ort) echo "$PY models/bench_ortloop.py --model $MODEL --image $IMAGE --task $TASK --max-new-tokens $TOKENS --threads $THREADS --precision $2" ;;
    torch) [ "$2" = fp32 ] && echo "$PY models/bench_torch.py --model $MODEL --image $IMAGE --task $TASK --max-new-tokens $TOKENS --threads $THREADS" ;;
  esac
}
IFS=, read -r -a CS <<<"$CONTENDERS"
IFS=, read -r -a PS <<<"$PRECISIONS"
START=$(date -u +%Y-%m-%dT%H:%MZ)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
t0=$(date +%s)
for i in $(seq "$RUNS"); do
  # This CPU's int8 and fp32 GEMM rates, in the same run as the contenders.
  if [ -n "$GEMM" ]; then "$PY" models/bench_gemm.py --threads "$THREADS" --runs 5 --json >"$RES/gemm.$i.json" 2>/dev/null || rm -f "$RES/gemm.$i.json"; fi
  for p in "${PS[@]}"; do
    n=${#CS[@]}
    for k in $(seq 0 $((n - 1))); do
      c=${CS[$(((k + i) % n))]}   # rotate the order each run so no contender always goes first
      cmd=$(command_for "$c" "$p") || continue
      [ -z "$cmd" ] && continue
      f=$RES/$c.$p.$i
      if /usr/bin/time -v -o "$f.time" $cmd >"$f.json" 2>"$f.err"; then
        printf '%s %s run %s: ok\n' "$c" "$p" "$i" >&2
      else
        printf '%s %s run %s: FAILED (see %s.err)\n' "$c" "$p" "$i" "$f" >&2
        tail -3 "$f.err" >&2
        rm -f "$f.json"
      fi
    done
  done
done
ELAPSED=$(($(date +%s) - t0))
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
"$PY" scripts/bench/report.py --results "$RES" --model "$MODEL" --tokens "$TOKENS" --threads "$THREADS" \
  --task "$TASK" --runs "$RUNS" --contenders "$CONTENDERS" --precisions "$PRECISIONS" --started "$START" \
  --elapsed "$ELAPSED" --load "$LOAD_BEFORE → $LOAD_AFTER" --section "$SECTION" ${WRITE:+--write "$OUT"}
echo "raw results: $RES" >&2
