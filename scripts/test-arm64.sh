#!/usr/bin/env bash
# The ARM code paths, run for real: the tests built for Linux aarch64 and executed under qemu-user
# (no ARM machine, device or emulator needed). Called by scripts/test.sh; needs scripts/setup.sh
# (qemu-user, gcc-aarch64-linux-gnu, the rustup target, ONNX Runtime's aarch64 library).
#
#   scripts/test-arm64.sh [--full] [--cpu NAME]
#
#   1. builds the tests of florence2-preprocess and florence2-core's reference parity for
#      aarch64-unknown-linux-gnu (target/aarch64-unknown-linux-gnu/; linker in .cargo/config.toml);
#   2. runs the whole preprocess suite emulated: every NEON kernel against its scalar twin, bit for
#      bit (the crate's unit tests), and the integration tests (Pillow parity, YUV, rotation, fast
#      mode, JPEG decoding with libjpeg-turbo's NEON code); tests/backend.rs fails unless the NEON
#      backend is the one selected;
#   3. runs core's fixture parity (crates/core/tests/reference_parity.rs) with ONNX Runtime's Linux
#      aarch64 library from the PyPI wheel (its NEON kernels): by default the most fragile subset
#      (the greedy sequences with the smallest top-2 logit margins in the reference, and two beam
#      cases); with --full all 105 greedy + 28 beam sequences (about an hour emulated on 2 cores).
#      The optimised-folder variant of that test is not run here (it needs the host's Python).
#
#   --cpu NAME   qemu CPU model (default cortex-a76: a phone-class core with NEON and dot product,
#                no SVE; `max` turns on every ARMv8/v9 feature qemu has, so ONNX Runtime's SVE,
#                i8mm and bf16 code may run instead)
#   --full       every parity sequence (see 3)
#
# Environment: ORT_AARCH64_DYLIB (default .cache/onnxruntime-aarch64/libonnxruntime.so),
# FLORENCE2_PARITY_FRAGILE (default 6,2: greedy and beam counts of the subset).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
TARGET=aarch64-unknown-linux-gnu
CPU=cortex-a76
FULL=0
while [ $# -gt 0 ]; do
  case $1 in
    --full) FULL=1; shift ;;
    --cpu) CPU=$2; shift 2 ;;
    -h | --help) sed -n '2,30p' "$0"; exit 0 ;;
    *) echo "test-arm64.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
die() { printf 'test-arm64.sh: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- prerequisites
SYSROOT=/usr/aarch64-linux-gnu
command -v qemu-aarch64 >/dev/null || die "qemu-aarch64 missing (apt: qemu-user; run scripts/setup.sh)"
command -v aarch64-linux-gnu-gcc >/dev/null || die "aarch64-linux-gnu-gcc missing (apt: gcc-aarch64-linux-gnu)"
[ -f "$SYSROOT/lib/ld-linux-aarch64.so.1" ] || die "$SYSROOT has no aarch64 glibc (apt: libc6-dev-arm64-cross)"
rustup target list --installed | grep -qx "$TARGET" || die "rustup target $TARGET missing (run scripts/setup.sh)"
ORT=${ORT_AARCH64_DYLIB:-$ROOT/.cache/onnxruntime-aarch64/libonnxruntime.so}
[ -f "$ORT" ] || die "$ORT missing: run scripts/setup.sh (ONNX Runtime's manylinux aarch64 wheel)"
[ "$(readelf -h "$ORT" | sed -n 's/^ *Machine: *//p')" = AArch64 ] || die "$ORT is not an AArch64 library"

# qemu's root for the emulated processes (-L): the cross glibc, and a /proc/cpuinfo that describes
# ARM cores. qemu 7.2 passes the host's x86 /proc/cpuinfo through, and ONNX Runtime's aarch64
# build (its cpuinfo library) dereferences NULL at start-up when no entry names an ARM core. qemu
# looks up every absolute path under -L first, so this file shadows the host's. It says Cortex-A76
# (MIDR part 0xd0b) with that core's features; ONNX Runtime takes its instruction-set choices
# from the auxiliary vector (HWCAP), which qemu sets from -cpu.
QROOT=${CARGO_TARGET_DIR:-$ROOT/target}/qemu-aarch64-root
mkdir -p "$QROOT/proc"
ln -sfn "$SYSROOT/lib" "$QROOT/lib"
cores=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)
: >"$QROOT/proc/cpuinfo.part"
i=0
while [ "$i" -lt "$cores" ]; do
  printf 'processor\t: %s\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x4\nCPU part\t: 0xd0b\nCPU revision\t: 1\n\n' "$i" >>"$QROOT/proc/cpuinfo.part"
  i=$((i + 1))
done
mv "$QROOT/proc/cpuinfo.part" "$QROOT/proc/cpuinfo"

# Overrides the runner of .cargo/config.toml with this root and the CPU asked for.
UPPER=$(printf '%s' "$TARGET" | tr 'a-z-' 'A-Z_')
export "CARGO_TARGET_${UPPER}_RUNNER=qemu-aarch64 -L $QROOT -cpu $CPU"
export ORT_DYLIB_PATH=$ORT
# ring and libjpeg-turbo compile their C for the target with the cross gcc (cc-rs finds it by name).

# Test binaries of core besides the parity test are not built: they exercise the same Rust on
# both architectures and would add minutes of cross linking to CI (run them with `cargo test
# --target aarch64-unknown-linux-gnu -p florence2-core` if needed).
build_args=(--locked --target "$TARGET" -p florence2-preprocess)
core_args=(--locked --target "$TARGET" -p florence2-core --test reference_parity)

t0=$(date +%s)
echo "==> build (aarch64, dev profile)"
cargo test "${build_args[@]}" --no-run
cargo test "${core_args[@]}" --no-run
echo "    built in $(($(date +%s) - t0))s"

t1=$(date +%s)
echo "==> florence2-preprocess under qemu-aarch64 -cpu $CPU (NEON vs scalar, bit for bit)"
cargo test "${build_args[@]}" --no-fail-fast -q
echo "    preprocess suite in $(($(date +%s) - t1))s"

t2=$(date +%s)
if [ "$FULL" -eq 1 ]; then
  echo "==> core fixture parity, every sequence, ONNX Runtime aarch64"
  env -u FLORENCE2_PARITY_FRAGILE cargo test "${core_args[@]}" -- --exact every_reference_sequence_is_reproduced
else
  subset=${FLORENCE2_PARITY_FRAGILE:-6,2}
  echo "==> core fixture parity, fragile subset $subset (greedy,beam), ONNX Runtime aarch64 (--full: all 133)"
  FLORENCE2_PARITY_FRAGILE=$subset cargo test "${core_args[@]}" -- --exact every_reference_sequence_is_reproduced
fi
echo "    parity in $(($(date +%s) - t2))s"
echo "test-arm64.sh: passed in $(($(date +%s) - t0))s (qemu-aarch64 -cpu $CPU)"
