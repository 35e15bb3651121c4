#!/usr/bin/env bash
# Generates the Kotlin bindings of florence2-sdk into bindings/kotlin/generated/ with the
# workspace's pinned uniffi-bindgen (library mode) and the root uniffi.toml (package ai.florence2).
#
#   scripts/gen-bindings.sh            # build the debug cdylib, regenerate
#   scripts/gen-bindings.sh --check    # fail if the committed bindings differ from freshly generated ones
#
# The generated Kotlin is committed (so Kotlin users and reviewers can read the API without a
# Rust toolchain); scripts/test.sh runs --check so it can never drift from the Rust code.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
OUT=bindings/kotlin/generated

cargo build --locked -q -p florence2-sdk -p uniffi-bindgen
generate() {
  rm -rf "$1"
  target/debug/uniffi-bindgen generate --no-format --library target/debug/libflorence2_sdk.so \
    --language kotlin --config uniffi.toml --out-dir "$1" >/dev/null
}

if [ "${1:-}" = "--check" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  generate "$tmp/generated"
  if ! diff -r "$tmp/generated" "$OUT" >/dev/null 2>&1; then
    diff -ru "$OUT" "$tmp/generated" | head -40 || true
    echo "bindings/kotlin/generated is out of date: run scripts/gen-bindings.sh and commit it" >&2
    exit 1
  fi
  echo "bindings/kotlin/generated is up to date"
else
  generate "$OUT"
  find "$OUT" -name '*.kt' -print
fi
