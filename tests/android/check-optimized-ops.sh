#!/usr/bin/env bash
# The operators of our optimised graphs (models/optimize.py) against the ONNX Runtime we ship on
# Android (the 1.29.0 AAR).
#
#   tests/android/check-optimized-ops.sh [graph.onnx ...]   (default: the tiny fixture, optimised now)
#
# For every graph:
#  - each (domain, operator) is listed in tests/android/ort-1.29-cpu-ops.txt, the operators with a
#    CPU kernel in ONNX Runtime 1.29.0 on every ABI (the file says where each is registered);
#  - each operator name is present in the AAR's arm64-v8a and x86_64 libonnxruntime.so (a necessary
#    condition only: schemas and kernels share the name strings);
#  - with ORT129_PYTHON set to a Python that has onnxruntime==1.29.0 (e.g. a venv made with
#    `pip install onnxruntime==1.29.0`), the graph loads with every graph optimisation off, so each
#    node needs a kernel of its own in that exact release.
# Exit status 1 if any check fails.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$ROOT/tests/android/lib.sh"
PY=${PYTHON:-$ROOT/.venv/bin/python}
AAR=${AAR:-$ROOT/.cache/onnxruntime-android/onnxruntime-android-1.29.0.aar}
LIST=$ROOT/tests/android/ort-1.29-cpu-ops.txt
[ -x "$PY" ] || { echo "check-optimized-ops: $PY not found (run scripts/setup.sh)" >&2; exit 2; }
[ -f "$AAR" ] || { echo "check-optimized-ops: $AAR not found (run scripts/setup.sh)" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
graphs=("$@")
if [ ${#graphs[@]} -eq 0 ]; then
  "$PY" "$ROOT/models/optimize.py" --model "$ROOT/tests/fixtures/tiny-random" --out "$tmp/opt" \
    --precision fp32 int8 --threads 1 >"$tmp/optimize.log" 2>&1 || { cat "$tmp/optimize.log"; exit 1; }
  graphs=()
  for stem in vision_encoder decoder_step decoder_cross_kv embed_tokens; do
    graphs+=("$tmp/opt/onnx/$stem.onnx" "$tmp/opt/onnx/${stem}_int8.onnx")
  done
fi
unzip -q "$AAR" 'jni/arm64-v8a/libonnxruntime.so' 'jni/x86_64/libonnxruntime.so' -d "$tmp/aar"

echo "optimised graphs against ONNX Runtime 1.29.0 ($(basename "$AAR"))"
for g in "${graphs[@]}"; do
  name=$(basename "$g")
  ops=$("$PY" - "$g" <<'PY'
import sys, onnx
m = onnx.load(sys.argv[1], load_external_data=False)
ops = set()
def walk(graph):
    for n in graph.node:
        ops.add(((n.domain or "ai.onnx"), n.op_type))
        for a in n.attribute:
            if a.type == onnx.AttributeProto.GRAPH:
                walk(a.g)
walk(m.graph)
for d, o in sorted(ops):
    print(d, o)
PY
)
  while read -r domain op; do
    if awk -v d="$domain" -v o="$op" '$1 == d && $2 == o { found = 1 } END { exit !found }' "$LIST"; then
      pass "$name: $domain $op is in $(basename "$LIST")"
    else
      fail "$name: $domain $op is not in $(basename "$LIST") (no known CPU kernel in ONNX Runtime 1.29)"
    fi
    for abi in arm64-v8a x86_64; do
      grep -q -a -m1 "$op" "$tmp/aar/jni/$abi/libonnxruntime.so" ||
        fail "$name: $op does not occur in the AAR's $abi libonnxruntime.so"
    done
  done <<<"$ops"
  if [ -n "${ORT129_PYTHON:-}" ]; then
    if "$ORT129_PYTHON" - "$g" <<'PY'
import sys, onnxruntime as ort
assert ort.__version__ == "1.29.0", ort.__version__
so = ort.SessionOptions()
so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
ort.InferenceSession(sys.argv[1], so, providers=["CPUExecutionProvider"])
PY
    then pass "$name: loads in onnxruntime 1.29.0 with graph optimisations off"
    else fail "$name: onnxruntime 1.29.0 cannot load it with graph optimisations off"
    fi
  fi
done
if [ "$FAILURES" -ne 0 ]; then
  echo "check-optimized-ops: $FAILURES check(s) failed"
  exit 1
fi
echo "check-optimized-ops: all checks passed"
