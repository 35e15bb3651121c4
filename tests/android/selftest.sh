#!/usr/bin/env bash
# Gives the two AAR checkers teeth: each must reject synthetic AARs with known defects (naming
# each defect) and accept a well-formed one. Builds tiny x86_64 ELF files with the host C compiler;
# needs cc, zip and readelf. ~1 s.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$ROOT/tests/android
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
CC=${CC:-cc}
failures=0
expect() { # expect <pass|fail> <log> <pattern>...
  local want=$1 log=$2 status=$3
  shift 3
  if { [ "$want" = pass ] && [ "$status" -ne 0 ]; } || { [ "$want" = fail ] && [ "$status" -ne 1 ]; }; then
    echo "  SELFTEST FAIL: expected the checker to $want (exit $status):"; sed 's/^/    /' "$log"
    failures=$((failures + 1))
  fi
  for pattern in "$@"; do
    grep -qF -- "$pattern" "$log" || {
      echo "  SELFTEST FAIL: output lacks '$pattern'"; failures=$((failures + 1))
    }
  done
}
run() { local log=$1; shift; set +e; "$@" >"$log" 2>&1; local s=$?; set -e; echo "$s"; }

# ---- check-ort-aar.sh: an old, incomplete "ONNX Runtime" (x86_64 only, no NNAPI, 4 KB pages).
mkdir -p "$tmp/ort/jni/x86_64" "$tmp/ort/headers"
printf 'void *OrtGetApiBase(void) { return 0; }\n' >"$tmp/ort.c"
printf 'VERS_1.28.0 { global: OrtGetApiBase; local: *; };\n' >"$tmp/ort.map"
"$CC" -shared -fPIC -nostdlib -Wl,--version-script="$tmp/ort.map" -Wl,-z,max-page-size=4096 \
  -o "$tmp/ort/jni/x86_64/libonnxruntime.so" "$tmp/ort.c"
printf '#define ORT_API_VERSION 28\n' >"$tmp/ort/headers/onnxruntime_c_api.h"
printf '<manifest><uses-sdk android:minSdkVersion="26" /></manifest>\n' >"$tmp/ort/AndroidManifest.xml"
(cd "$tmp/ort" && zip -qr "$tmp/old-ort.aar" .)
status=$(run "$tmp/ort.log" "$HERE/check-ort-aar.sh" "$tmp/old-ort.aar")
expect fail "$tmp/ort.log" "$status" \
  "arm64-v8a: jni/arm64-v8a/libonnxruntime.so is missing" \
  "x86_64: exports OrtGetApiBase" \
  "x86_64: does not export OrtSessionOptionsAppendExecutionProvider_Nnapi" \
  "x86_64: VERS_1.28.0 is older than the C API level" \
  "x86_64: no XnnpackExecutionProvider inside" \
  "x86_64: LOAD alignment 4096 < 16384" \
  "headers: ORT_API_VERSION '28'" \
  "manifest: minSdk '26'"

# ---- check-aar-layout.sh: a well-formed x86_64-only AAR passes ...
make_aar() { # make_aar <dir> <page size> <strip:0|1>
  local dir=$1
  mkdir -p "$dir/jni/x86_64" "$dir/classes"
  printf 'int florence2_probe(void) { return 1; }\n' >"$tmp/sdk.c"
  "$CC" -shared -fPIC -nostdlib -Wl,-soname,libflorence2_sdk.so -Wl,-z,max-page-size="$2" \
    -o "$dir/jni/x86_64/libflorence2_sdk.so" "$tmp/sdk.c"
  [ "$3" -eq 1 ] && strip "$dir/jni/x86_64/libflorence2_sdk.so"
  mkdir -p "$dir/classes/ai/florence2"
  for c in Florence2 Florence2Options ImageInput ExecutionProvider Florence2Kt; do
    : >"$dir/classes/ai/florence2/$c.class"
  done
  (cd "$dir/classes" && zip -qr ../classes.jar ai) && rm -rf "$dir/classes"
  printf '<manifest />\n' >"$dir/AndroidManifest.xml"
  cp "$ROOT/bindings/android/consumer-rules.pro" "$dir/proguard.txt"
}
make_aar "$tmp/good" 16384 1
(cd "$tmp/good" && zip -qr "$tmp/good.aar" .)
status=$(run "$tmp/good.log" "$HERE/check-aar-layout.sh" --abis x86_64 "$tmp/good.aar")
expect pass "$tmp/good.log" "$status" "x86_64: SONAME libflorence2_sdk.so" "check-aar-layout: all checks passed"

# ... and one with every defect is rejected, naming each.
make_aar "$tmp/bad" 4096 0
rm "$tmp/bad/proguard.txt"
cp "$tmp/ort/jni/x86_64/libonnxruntime.so" "$tmp/bad/jni/x86_64/"
(cd "$tmp/bad" && zip -qr "$tmp/bad.aar" . -x classes.jar)
status=$(run "$tmp/bad.log" "$HERE/check-aar-layout.sh" --abis arm64-v8a,x86_64 "$tmp/bad.aar")
expect fail "$tmp/bad.log" "$status" \
  "proguard.txt (consumer rules" "classes.jar is missing" \
  "arm64-v8a: jni/arm64-v8a/libflorence2_sdk.so is missing" \
  "x86_64: not stripped" "x86_64: LOAD alignment 4096 < 16384" "bundles jni/x86_64/libonnxruntime.so"

if [ "$failures" -ne 0 ]; then
  echo "tests/android selftest: $failures failure(s)"
  exit 1
fi
echo "tests/android selftest: the checkers reject 13 planted defects and accept a well-formed AAR"
