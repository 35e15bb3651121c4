#!/usr/bin/env bash
# Symbol check of the official ONNX Runtime Android AAR against what our build calls.
#
#   tests/android/check-ort-aar.sh [onnxruntime.aar]   (default: the AAR scripts/setup.sh caches)
#
# For every ABI (arm64-v8a, armeabi-v7a, x86_64, x86), jni/<abi>/libonnxruntime.so must
#  - be an ELF of that ABI's machine,
#  - export OrtGetApiBase (ort's entry point with load-dynamic) and
#    OrtSessionOptionsAppendExecutionProvider_Nnapi (what ort's nnapi feature looks up),
#  - carry the symbol version VERS_1.<minor> with minor >= the `api-NN` level of ort in Cargo.toml,
#  - contain XNNPACK (ExecutionProvider.XNNPACK is offered on Android),
#  - on 64-bit ABIs, have PT_LOAD segments aligned to at least 16 KB (Android 15+ 16 KB pages).
# And the AAR: headers' ORT_API_VERSION >= our level, its minSdk <= ours, and the
# onnxruntime-android version in bindings/android/gradle/libs.versions.toml is at least 1.<level>.
# Exit status 1 if any check fails.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$ROOT/tests/android/lib.sh"

AAR=${1:-$ROOT/.cache/onnxruntime-android/onnxruntime-android-1.29.0.aar}
[ -f "$AAR" ] || { echo "check-ort-aar: $AAR not found (run scripts/setup.sh)" >&2; exit 2; }
API=$(ort_api_level)
[ -n "$API" ] || { echo "check-ort-aar: no api-NN feature on ort in Cargo.toml" >&2; exit 2; }
MIN_SDK=$(catalog_version androidMinSdk)
GRADLE_ORT=$(catalog_version onnxruntime)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
unzip -q "$AAR" 'jni/*' 'headers/onnxruntime_c_api.h' AndroidManifest.xml -d "$tmp" 2>/dev/null || true

echo "ONNX Runtime AAR $(basename "$AAR"): our ort C API level $API, minSdk $MIN_SDK"
for abi in arm64-v8a armeabi-v7a x86_64 x86; do
  so=$tmp/jni/$abi/libonnxruntime.so
  if [ ! -f "$so" ]; then
    fail "$abi: jni/$abi/libonnxruntime.so is missing"
    continue
  fi
  machine=$(elf_machine "$so")
  [ "$machine" = "$(abi_machine "$abi")" ] && pass "$abi: ELF machine $machine" ||
    fail "$abi: ELF machine is '$machine', expected '$(abi_machine "$abi")'"
  syms=$(exported_symbols "$so")
  for sym in OrtGetApiBase OrtSessionOptionsAppendExecutionProvider_Nnapi; do
    grep -q "^$sym " <<<"$syms" && pass "$abi: exports $sym" || fail "$abi: does not export $sym"
  done
  version=$(awk '$1 == "OrtGetApiBase" { print $2 }' <<<"$syms")
  minor=$(sed -n 's/^VERS_1\.\([0-9][0-9]*\)\..*/\1/p' <<<"$version")
  if [ -z "$minor" ]; then
    fail "$abi: OrtGetApiBase has no VERS_1.N.M symbol version (got '$version')"
  elif [ "$minor" -ge "$API" ]; then
    pass "$abi: $version >= API level $API"
  else
    fail "$abi: $version is older than the C API level $API our build needs"
  fi
  grep -q -a -m1 XnnpackExecutionProvider "$so" && pass "$abi: contains XnnpackExecutionProvider" ||
    fail "$abi: no XnnpackExecutionProvider inside"
  case $abi in
    arm64-v8a | x86_64)
      align=$(min_load_align "$so")
      [ "$align" -ge 16384 ] && pass "$abi: LOAD segments aligned to $align bytes (16 KB pages OK)" ||
        fail "$abi: LOAD alignment $align < 16384 (breaks on 16 KB-page devices)"
      ;;
  esac
done

header=$tmp/headers/onnxruntime_c_api.h
if [ -f "$header" ]; then
  hv=$(sed -n 's/^#define ORT_API_VERSION \([0-9][0-9]*\).*/\1/p' "$header")
  [ -n "$hv" ] && [ "$hv" -ge "$API" ] && pass "headers: ORT_API_VERSION $hv >= $API" ||
    fail "headers: ORT_API_VERSION '${hv}' < $API"
else
  fail "headers/onnxruntime_c_api.h is missing"
fi
aar_min=$(sed -n 's/.*android:minSdkVersion="\([0-9]*\)".*/\1/p' "$tmp/AndroidManifest.xml" 2>/dev/null || true)
if [ -n "$aar_min" ] && [ -n "$MIN_SDK" ] && [ "$aar_min" -le "$MIN_SDK" ]; then
  pass "manifest: minSdk $aar_min <= ours ($MIN_SDK)"
else
  fail "manifest: minSdk '${aar_min}' is not <= ours ('${MIN_SDK}')"
fi
gradle_minor=$(sed -n 's/^1\.\([0-9][0-9]*\)\..*/\1/p' <<<"$GRADLE_ORT")
if [ -n "$gradle_minor" ] && [ "$gradle_minor" -ge "$API" ]; then
  pass "gradle: com.microsoft.onnxruntime:onnxruntime-android:$GRADLE_ORT >= 1.$API"
else
  fail "gradle: onnxruntime-android '$GRADLE_ORT' (libs.versions.toml) is below 1.$API"
fi

if [ "$FAILURES" -ne 0 ]; then
  echo "check-ort-aar: $FAILURES check(s) failed"
  exit 1
fi
echo "check-ort-aar: all checks passed"
