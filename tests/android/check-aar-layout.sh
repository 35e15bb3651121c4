#!/usr/bin/env bash
# Layout check of a florence2-android AAR (what scripts/build-android.sh assembles, or the
# layout-only AAR of tests/android/link-check.sh).
#
#   tests/android/check-aar-layout.sh [--abis arm64-v8a,x86_64] [--allow-unstripped] [--host-libs] <florence2.aar>
#
# --host-libs: the .so files are Linux host builds (scripts/build-android.sh --host-check), so
# glibc's libraries are accepted as NEEDED in place of Android's.
#
# Checks: AndroidManifest.xml; classes.jar holding the ai.florence2 API (generated bindings +
# façade); proguard.txt (the consumer R8 rules for JNA/UniFFI); for every ABI asked for,
# jni/<abi>/libflorence2_sdk.so that is an ELF of that ABI, has SONAME libflorence2_sdk.so, needs
# only Android system libraries (libc/libm/libdl/liblog/libandroid: ONNX Runtime is opened at run
# time, not linked), has no text relocations, is stripped, and on 64-bit ABIs has PT_LOAD
# segments aligned to 16 KB; and that it does not bundle libonnxruntime.so (that comes from the
# onnxruntime-android dependency). Exit status 1 if any check fails.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$ROOT/tests/android/lib.sh"

ABIS=arm64-v8a,armeabi-v7a,x86_64,x86
ALLOWED_NEEDED=" libc.so libm.so libdl.so liblog.so libandroid.so "
STRIPPED=1
AAR=
while [ $# -gt 0 ]; do
  case $1 in
    --abis) ABIS=$2; shift 2 ;;
    --allow-unstripped) STRIPPED=0; shift ;;
    --host-libs) ALLOWED_NEEDED="$ALLOWED_NEEDED libc.so.6 libm.so.6 libgcc_s.so.1 ld-linux-x86-64.so.2 "; shift ;;
    -h | --help) sed -n '2,17p' "$0"; exit 0 ;;
    *) AAR=$1; shift ;;
  esac
done
[ -n "$AAR" ] && [ -f "$AAR" ] || { echo "check-aar-layout: give an existing .aar (got '${AAR}')" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
unzip -q "$AAR" -d "$tmp/aar"
echo "AAR layout of $(basename "$AAR") (ABIs: $ABIS)"

[ -f "$tmp/aar/AndroidManifest.xml" ] && pass "AndroidManifest.xml" || fail "AndroidManifest.xml is missing"
[ -f "$tmp/aar/proguard.txt" ] && grep -q 'com.sun.jna' "$tmp/aar/proguard.txt" &&
  pass "proguard.txt keeps JNA" || fail "proguard.txt (consumer rules keeping JNA/ai.florence2) is missing"
if [ -f "$tmp/aar/classes.jar" ]; then
  classes=$(unzip -Z1 "$tmp/aar/classes.jar")
  for c in ai/florence2/Florence2.class ai/florence2/Florence2Options.class ai/florence2/ImageInput.class \
    ai/florence2/ExecutionProvider.class ai/florence2/Florence2Kt.class; do
    grep -qx "$c" <<<"$classes" && pass "classes.jar: $c" || fail "classes.jar: $c is missing"
  done
else
  fail "classes.jar is missing"
fi

IFS=, read -r -a abis <<<"$ABIS"
for abi in "${abis[@]}"; do
  so=$tmp/aar/jni/$abi/libflorence2_sdk.so
  if [ ! -f "$so" ]; then
    fail "$abi: jni/$abi/libflorence2_sdk.so is missing"
    continue
  fi
  machine=$(elf_machine "$so")
  [ "$machine" = "$(abi_machine "$abi")" ] && pass "$abi: ELF machine $machine" ||
    fail "$abi: ELF machine is '$machine', expected '$(abi_machine "$abi")'"
  dynamic=$("$READELF" -dW "$so")
  soname=$(sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p' <<<"$dynamic")
  [ "$soname" = libflorence2_sdk.so ] && pass "$abi: SONAME $soname" || fail "$abi: SONAME is '$soname'"
  bad_needed=""
  for lib in $(sed -n 's/.*(NEEDED).*\[\(.*\)\].*/\1/p' <<<"$dynamic"); do
    [[ $ALLOWED_NEEDED == *" $lib "* ]] || bad_needed+=" $lib"
  done
  [ -z "$bad_needed" ] && pass "$abi: needs only Android system libraries" || fail "$abi: needs$bad_needed"
  grep -q TEXTREL <<<"$dynamic" && fail "$abi: has text relocations" || pass "$abi: no text relocations"
  if [ "$STRIPPED" -eq 1 ]; then
    sections=$("$READELF" -SW "$so") # not piped: grep -q would end readelf early (pipefail)
    grep -q ' \.symtab ' <<<"$sections" && fail "$abi: not stripped (.symtab present)" || pass "$abi: stripped"
  fi
  case $abi in
    arm64-v8a | x86_64)
      align=$(min_load_align "$so")
      [ "$align" -ge 16384 ] && pass "$abi: LOAD segments aligned to $align bytes" ||
        fail "$abi: LOAD alignment $align < 16384 (breaks on 16 KB-page devices)"
      ;;
  esac
done
bundled=$(cd "$tmp/aar" && find jni -name 'libonnxruntime*.so' 2>/dev/null || true)
[ -z "$bundled" ] && pass "no bundled libonnxruntime.so" || fail "bundles $bundled (comes from onnxruntime-android)"

if [ "$FAILURES" -ne 0 ]; then
  echo "check-aar-layout: $FAILURES check(s) failed"
  exit 1
fi
echo "check-aar-layout: all checks passed"
