#!/usr/bin/env bash
# The one test command (README, CI). Run scripts/setup.sh once before.
# Every step shares target/ and the dev profile, so later steps reuse earlier builds.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
START=$(date +%s)
ANDROID_TARGETS=(aarch64-linux-android armv7-linux-androideabi x86_64-linux-android i686-linux-android)

CURRENT=""
STEPS=0
run() {
  CURRENT="$1"
  shift
  printf '\n==> %s\n' "$CURRENT"
  local t0
  t0=$(date +%s)
  "$@"
  STEPS=$((STEPS + 1))
  printf '    (%s: %ss)\n' "$CURRENT" "$(($(date +%s) - t0))"
}
on_exit() {
  local rc=$?
  if [ "$rc" -ne 0 ]; then
    printf '\ntest.sh: FAILED at step "%s" (exit %s) after %ss\n' "$CURRENT" "$rc" "$(($(date +%s) - START))"
  fi
}
trap on_exit EXIT

# --locked: CI must build exactly the committed Cargo.lock.
run "cargo fmt" cargo fmt --all -- --check
run "cargo clippy" cargo clippy --workspace --all-targets --locked -- -D warnings
# --no-fail-fast: report every failing test binary, not only the first.
# ONNX Runtime is found in .cache/onnxruntime by the code itself; no ORT_DYLIB_PATH needed.
run "cargo test" cargo test --workspace --locked --no-fail-fast

if [ -d models/tests ]; then
  [ -x .venv/bin/python ] || { echo "test.sh: .venv missing: run scripts/setup.sh" >&2; exit 1; }
  run "pytest models/tests" .venv/bin/python -m pytest -q models/tests
fi

target_args=()
for t in "${ANDROID_TARGETS[@]}"; do target_args+=(--target "$t"); done
run "cargo check florence2-sdk (Android: ${ANDROID_TARGETS[*]})" \
  cargo check -p florence2-sdk --locked "${target_args[@]}"

CURRENT="summary"
printf '\ntest.sh: all %s steps passed in %ss\n' "$STEPS" "$(($(date +%s) - START))"
