#!/usr/bin/env bash
# Long reliability runs that do not belong in scripts/test.sh (issue 9): fuzzing every cargo-fuzz
# target, the 1000-task soak test, Miri over the scalar preprocess kernels and AddressSanitizer
# over the SIMD paths. Prints a figure for each; exits non-zero if anything failed.
#
#   scripts/stress.sh                # everything, with the issue's budget (1 h or 10 M runs a target)
#   scripts/stress.sh fuzz soak      # only some parts: fuzz, soak, miri, asan
#   FUZZ_SECONDS=600 scripts/stress.sh fuzz   # a shorter fuzz budget per target
#   FUZZ_TARGETS="preprocess:frames core:parse" scripts/stress.sh fuzz
#
# Needs scripts/setup.sh, the nightly toolchain with the miri and rust-src components
# (`rustup toolchain install nightly --component miri,rust-src`) and cargo-fuzz
# (`cargo install cargo-fuzz`). Runs niced: other people share the machine.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
FUZZ_SECONDS=${FUZZ_SECONDS:-3600}
FUZZ_RUNS=${FUZZ_RUNS:-10000000}
FUZZ_TARGETS=${FUZZ_TARGETS:-"preprocess:frames preprocess:yuv_rgb preprocess:decode core:parse core:configs core:prompt core:onnx_scan"}
NICE=${NICE:-10}
LOG=${STRESS_LOG:-target/stress}
mkdir -p "$LOG"
PARTS=("$@")
[ ${#PARTS[@]} -eq 0 ] && PARTS=(fuzz soak miri asan)

FAILED=()
SUMMARY=()
note() { SUMMARY+=("$1"); printf '%s\n' "$1"; }

# Each target stops at FUZZ_RUNS executions or FUZZ_SECONDS, whichever comes first. Debug
# assertions are on (-a), so integer overflow is a finding too. A crash leaves its input in
# crates/<crate>/fuzz/artifacts/<target>/: add it as a regression test, then fix.
fuzz() {
  for spec in $FUZZ_TARGETS; do
    local crate=${spec%%:*} target=${spec#*:}
    local dir=crates/$crate/fuzz log=$LOG/fuzz-$crate-$target.log
    printf '\n==> fuzz %s/%s (%s s or %s runs)\n' "$crate" "$target" "$FUZZ_SECONDS" "$FUZZ_RUNS"
    mkdir -p "$dir/corpus/$target"
    # The ONNX reader starts from real graphs: every lookup pattern and the broken fixtures.
    [ "$target" = onnx_scan ] && cp tests/fixtures/embedding/*.onnx tests/fixtures/broken/*.onnx "$dir/corpus/$target/"
    local rc=0
    (cd "$dir" && nice -n "$NICE" cargo +nightly fuzz run -O -a "$target" -- \
      -max_total_time="$FUZZ_SECONDS" -runs="$FUZZ_RUNS" -print_final_stats=1 -rss_limit_mb=2048 \
      -timeout=10) >"$log" 2>&1 || rc=$?
    local runs secs
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    secs=$(grep -o 'Done [0-9]* runs in [0-9]* second' "$log" | grep -o 'in [0-9]*' | grep -o '[0-9]*' | tail -1)
    if [ "$rc" -eq 0 ]; then
      note "fuzz $crate/$target: ${runs:-?} executions in ${secs:-?} s ($(( ${runs:-0} / (${secs:-1} > 0 ? ${secs:-1} : 1) )) exec/s), no crash"
    else
      note "fuzz $crate/$target: FAILED after ${runs:-?} executions (exit $rc); see $log and $dir/artifacts/$target/"
      FAILED+=("fuzz $crate/$target")
    fi
  done
}

# 1000 sequential mixed tasks through the SDK on the fixture; RSS sampled every 100 tasks.
soak() {
  printf '\n==> soak (1000 tasks through the SDK)\n'
  local rc=0
  SOAK_TASKS=${SOAK_TASKS:-1000} nice -n "$NICE" cargo test --release -p florence2-sdk --test soak -- \
    --ignored --nocapture 2>&1 | tee "$LOG/soak.log" || rc=$?
  grep -q 'test result: ok' "$LOG/soak.log" || rc=1
  if [ "$rc" -eq 0 ]; then
    note "soak: $(grep -o 'rss_kib=.*' "$LOG/soak.log" | tail -1)"
  else
    note "soak: FAILED (see $LOG/soak.log)"
    FAILED+=(soak)
  fi
}

# Miri: the preprocess crate's unit tests (Miri detects no SIMD, so every kernel runs scalar):
# YUV conversion, rotation, crop, resize weights and passes, decode header walks, configs.
miri() {
  printf '\n==> miri (preprocess, scalar kernels)\n'
  local rc=0
  # Skipped: the SIMD-vs-scalar comparisons. Miri detects no SIMD, so they would only compare
  # the scalar code with itself over every size at Miri's ~1000x slowdown (hours); the
  # AddressSanitizer part runs them natively with AVX2/SSE4.1.
  MIRIFLAGS=${MIRIFLAGS:-"-Zmiri-disable-isolation"} \
    nice -n "$NICE" cargo +nightly miri test -p florence2-preprocess --lib -- \
    --skip horizontal_kernels_match_scalar --skip output_row_kernels --skip vertical_kernels_match_scalar \
    --skip every_backend_matches_scalar --skip sixteen_bit_table --skip affine_is_within \
    2>&1 | tee "$LOG/miri.log" || rc=$?
  if [ "$rc" -eq 0 ]; then
    note "miri: $(grep 'test result' "$LOG/miri.log" | tail -1)"
  else
    note "miri: FAILED (see $LOG/miri.log)"
    FAILED+=(miri)
  fi
}

# AddressSanitizer over every preprocess test (unit and integration: SIMD backends against
# scalar over all tail lengths, strides and pixel strides), in its own target dir because
# sanitizer builds cannot share artifacts with normal ones.
asan() {
  printf '\n==> AddressSanitizer (preprocess, SIMD and scalar)\n'
  local rc=0
  RUSTFLAGS="-Zsanitizer=address" RUSTDOCFLAGS="-Zsanitizer=address" ASAN_OPTIONS=detect_leaks=1 \
    CARGO_TARGET_DIR=target/asan nice -n "$NICE" cargo +nightly test --target x86_64-unknown-linux-gnu \
    -p florence2-preprocess --tests 2>&1 | tee "$LOG/asan.log" || rc=$?
  if [ "$rc" -eq 0 ]; then
    note "asan: $(grep 'test result' "$LOG/asan.log" | awk '{p+=$4; f+=$6} END {print p " passed, " f " failed"}') over $(grep -c 'test result' "$LOG/asan.log") test binaries, no report"
  else
    note "asan: FAILED (see $LOG/asan.log)"
    FAILED+=(asan)
  fi
}

for part in "${PARTS[@]}"; do
  case $part in
    fuzz | soak | miri | asan) "$part" ;;
    *) echo "unknown part $part (fuzz, soak, miri, asan)" >&2; exit 2 ;;
  esac
done

printf '\n==> stress.sh summary\n'
printf '  %s\n' "${SUMMARY[@]}"
if ((${#FAILED[@]})); then
  printf 'stress.sh: FAILED: %s\n' "$(IFS=';'; echo "${FAILED[*]}")"
  exit 1
fi
printf 'stress.sh: all parts passed\n'
