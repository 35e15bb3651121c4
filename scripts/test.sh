#!/usr/bin/env bash
# The one test command (README, CI). Run scripts/setup.sh once before.
# Every step shares target/ and the dev profile, so later steps reuse earlier builds.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
START=$(date +%s)
ANDROID_TARGETS=(aarch64-linux-android armv7-linux-androideabi x86_64-linux-android i686-linux-android)

# Every step runs even if an earlier one failed, so one run shows every problem; the exit
# status is non-zero if any step failed.
FAILED=()
STEPS=0
run() {
  local name=$1
  shift
  printf '\n==> %s\n' "$name"
  local t0 rc=0
  t0=$(date +%s)
  "$@" || rc=$?
  STEPS=$((STEPS + 1))
  if [ "$rc" -eq 0 ]; then
    printf '    ok: %s (%ss)\n' "$name" "$(($(date +%s) - t0))"
  else
    printf '    FAILED: %s (exit %s, %ss)\n' "$name" "$rc" "$(($(date +%s) - t0))"
    FAILED+=("$name")
  fi
}

# --locked: CI must build exactly the committed Cargo.lock.
run "cargo fmt" cargo fmt --all -- --check
run "cargo clippy" cargo clippy --workspace --all-targets --locked -- -D warnings
# --no-fail-fast: report every failing test binary, not only the first.
# ONNX Runtime: .cargo/config.toml points ORT_DYLIB_PATH at .cache/onnxruntime for cargo's runs.
run "cargo test" cargo test --workspace --locked --no-fail-fast
# The Kotlin API on the desktop JVM: bindings up to date, one kotlinc compile, the JVM tests
# (fixture results equal the CLI's, errors, cancellation, concurrency, close, Flow streaming).
run "kotlin tests" tests/kotlin/run.sh

if [ -d models/tests ]; then
  if [ -x .venv/bin/python ]; then
    run "pytest models/tests" .venv/bin/python -m pytest -q models/tests
  else
    run "pytest models/tests (.venv missing: run scripts/setup.sh)" false
  fi
fi

# clippy rather than plain check (same cost): code behind cfg(target_os = "android") must also be
# warning-free. Only checked, not linked: there is no Android NDK on the build machines.
# ring (rustls' crypto provider: HTTPS model downloads) compiles C and assembly for the target.
# Without an NDK, Debian's clang does it in ring's no-sysroot mode; the objects are never linked
# here. Real Android builds use the NDK's clang (cargo-ndk sets CC_<target>).
android_cc=()
for t in "${ANDROID_TARGETS[@]}"; do
  cflags="-nostdlibinc -DRING_CORE_NOSTDLIBINC=1 -D__MM_MALLOC_H"
  [ "$t" = armv7-linux-androideabi ] && cflags="--target=armv7a-linux-androideabi $cflags"
  # libjpeg-turbo (mozjpeg-sys) needs C library headers: compile-only, see the script.
  cflags="$cflags $(scripts/android-libc-headers.sh "$t")"
  android_cc+=("CC_${t//-/_}=clang" "AR_${t//-/_}=llvm-ar" "CFLAGS_${t//-/_}=$cflags")
done
# One cargo call per target: Cargo unifies target-specific dependency features over the targets of
# one call, and mozjpeg-sys must build without its SIMD on armv7 (crates/preprocess/Cargo.toml).
android_clippy() {
  local t
  for t in "${ANDROID_TARGETS[@]}"; do
    env "${android_cc[@]}" cargo clippy -p florence2-sdk --locked --target "$t" "$@" -- -D warnings || return 1
  done
}
run "cargo clippy florence2-sdk (Android: ${ANDROID_TARGETS[*]})" android_clippy
# Apps that bundle their models build the SDK without model delivery (no HTTP, TLS or ring).
run "cargo clippy florence2-sdk --no-default-features (Android, no downloads)" android_clippy --no-default-features
# Code generation for Android, not only type checks: a staticlib needs no linker (no NDK here).
run "staticlib florence2-sdk (aarch64-linux-android)" \
  env "${android_cc[@]}" cargo rustc -p florence2-sdk --lib --locked --target aarch64-linux-android --crate-type staticlib
# The official ONNX Runtime Android AAR (cached by setup.sh) exports what our build calls, per ABI;
# the AAR checkers reject planted defects (~4 s; tests/android/link-check.sh is the optional,
# slow link-only check).
run "android checks (ONNX Runtime AAR symbols, AAR checker self-test, optimised graphs' operators)" \
  bash -c 'tests/android/check-ort-aar.sh && tests/android/selftest.sh && tests/android/check-optimized-ops.sh'
# The ARM code run on (emulated) ARM, and the Android build path without an NDK (issue 19): the
# preprocess suite (NEON vs scalar) and a fragile subset of the fixture parity with ONNX Runtime's
# aarch64 kernels under qemu-user; then every step of scripts/build-android.sh that needs no NDK
# or Gradle. Both run even if the other fails.
run "ARM tests under qemu-aarch64, build-android.sh --host-check" \
  bash -c 'rc=0; scripts/test-arm64.sh || rc=1; scripts/build-android.sh --host-check || rc=1; exit $rc'

elapsed=$(($(date +%s) - START))
if ((${#FAILED[@]})); then
  printf '\ntest.sh: %s of %s steps FAILED in %ss: %s\n' "${#FAILED[@]}" "$STEPS" "$elapsed" "$(IFS=';'; echo "${FAILED[*]}")"
  exit 1
fi
printf '\ntest.sh: all %s steps passed in %ss\n' "$STEPS" "$elapsed"
