#!/usr/bin/env bash
# Generates the Kotlin bindings of florence2-sdk into bindings/kotlin/generated/ with the
# workspace's pinned uniffi-bindgen (library mode) and the root uniffi.toml (package ai.florence2).
#
#   scripts/gen-bindings.sh            # build the debug cdylib, regenerate
#   scripts/gen-bindings.sh --check    # fail if the committed bindings differ from freshly generated ones
#   scripts/gen-bindings.sh --out-dir DIR   # generate into DIR instead (scripts/build-android.sh
#                                           # --host-check compares its own output with this)
#
# The generated Kotlin is committed (so Kotlin users and reviewers can read the API without a
# Rust toolchain); scripts/test.sh runs --check so it can never drift from the Rust code.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
OUT=bindings/kotlin/generated
MODE=write
while [ $# -gt 0 ]; do
  case $1 in
    --check) MODE=check; shift ;;
    --out-dir) [ $# -ge 2 ] || { echo "gen-bindings.sh: --out-dir needs a directory" >&2; exit 2; }
      OUT=$2; shift 2 ;;
    *) echo "gen-bindings.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done

cargo build --locked -q -p florence2-sdk -p uniffi-bindgen
generate() {
  rm -rf "$1"
  target/debug/uniffi-bindgen generate --no-format --library target/debug/libflorence2_sdk.so \
    --language kotlin --config uniffi.toml --out-dir "$1" >/dev/null
}

if [ "$MODE" = check ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  generate "$tmp/generated"
  if ! diff -r "$tmp/generated" "$OUT" >/dev/null 2>&1; then
    diff -ru "$OUT" "$tmp/generated" | head -40 || true
    echo "$OUT is out of date: run scripts/gen-bindings.sh and commit it" >&2
    exit 1
  fi
  echo "$OUT is up to date"
else
  generate "$OUT"
  find "$OUT" -name '*.kt' -print
fi
