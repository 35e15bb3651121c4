#!/usr/bin/env bash
# Installs everything florence2-mobile needs to build and test, from apt, PyPI, npm and crates.io only.
# Idempotent: finished steps leave a marker and are skipped, so a second run takes seconds.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/setup.sh [--with-export] [--help]

Sets up a fresh Debian 12 machine (run as root, or with everything from apt already installed):
  apt      libjna-java (JNA for running Kotlin bindings on the JVM), python3-venv if missing,
           clang and llvm (compile ring's C for the Android check, which has no NDK),
           nasm, libc6-dev-{arm64,armel,i386,amd64}-cross, libjpeg-turbo-progs, libturbojpeg0
           (JPEG decoder build and Android check, JPEG test corpus),
           qemu-user, gcc-aarch64-linux-gnu, libstdc++6-arm64-cross (ARM tests under emulation,
           scripts/test-arm64.sh)
  rustup   Android targets aarch64/armv7/x86_64/i686-linux-android, aarch64-unknown-linux-gnu;
           rustfmt and clippy
  .cache/onnxruntime/   libonnxruntime.so.1.31.1 from the PyPI onnxruntime wheel, plus
                        libonnxruntime.so.1 and libonnxruntime.so symlinks
  .cache/onnxruntime-aarch64/  the same for Linux aarch64 (manylinux_2_28_aarch64 wheel), for
                        the ARM tests under qemu
  .cache/kotlin/        kotlinc 2.4.20 (npm package kotlin-compiler)
  .cache/onnxruntime-android/  Microsoft's ONNX Runtime 1.29.0 Android AAR (npm package
                        com.github.asus4.onnxruntime), for the Android symbol check
  .venv/                Python venv with models/requirements.txt

Options:
  --with-export   also install models/requirements-export.txt (torch, transformers; several GB)
  --help          show this help

Nothing is downloaded at build or test time afterwards. cargo's runs find .cache/onnxruntime/
through .cargo/config.toml (ORT_DYLIB_PATH), the CLI looks for it above its executable, and the
Kotlin scripts export ORT_DYLIB_PATH; set it (or FLORENCE2_ORT_CACHE) to use another library.
EOF
}

WITH_EXPORT=0
for arg in "$@"; do
  case "$arg" in
    --with-export) WITH_EXPORT=1 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "setup.sh: unknown argument '$arg' (see --help)" >&2; exit 2 ;;
  esac
done

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
START=$(date +%s)
CACHE="$ROOT/.cache"
mkdir -p "$CACHE"

ORT_VERSION=1.31.1
# The manylinux x86_64 cp311 wheel; pip checks this hash.
ORT_WHEEL_SHA256=5752bd508126ae7c49894d3b9d2e83f0c3d487319246d04c444b393308d7ad7f
# The manylinux aarch64 cp311 wheel of the same release (scripts/test-arm64.sh runs it under qemu).
ORT_AARCH64_WHEEL_SHA256=da05378364c44d4407e463982d2bf8d5e4cfea873283757e48beeb41df97b7f3
KOTLIN_VERSION=2.4.20
ANDROID_TARGETS=(aarch64-linux-android armv7-linux-androideabi x86_64-linux-android i686-linux-android)
# Linux on 64-bit ARM: the workspace's tests built for it run under qemu-user (scripts/test-arm64.sh).
ARM_TEST_TARGET=aarch64-unknown-linux-gnu
# Microsoft's official ONNX Runtime Android AAR (1.29.0, the C API level our `api-29` build needs),
# as shipped inside this npm package (Maven is not reachable from the build machines). Used by the
# symbol check in tests/android/. Both hashes are pinned.
ORT_ANDROID_NPM=com.github.asus4.onnxruntime@0.4.9
ORT_ANDROID_TGZ_SHA256=e59788788818fdde1b2e522e766a21ba0f7d8391de55737abf81e32cc801785d
ORT_ANDROID_AAR_SHA256=98cddbac92640b4a6af72a03c42e0491851f366d3da66bbaeb5dd66310946cf2
ORT_ANDROID_VERSION=1.29.0

SUMMARY=()
note() { SUMMARY+=("$1"); }
step() { printf '==> %s\n' "$*"; }
die() { printf 'setup.sh: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- apt
apt_packages=()
dpkg -s libjna-java >/dev/null 2>&1 || apt_packages+=(libjna-java)
# `python3 -m venv` needs ensurepip, which Debian ships in python3-venv.
python3 -c 'import ensurepip' >/dev/null 2>&1 || apt_packages+=(python3-venv)
# clang + llvm-ar: the Android check compiles ring (rustls' crypto, HTTPS model downloads) without an NDK.
command -v clang >/dev/null 2>&1 || apt_packages+=(clang)
command -v llvm-ar >/dev/null 2>&1 || apt_packages+=(llvm)
# JPEG decoding (mozjpeg-sys, issue 21): nasm for libjpeg-turbo's x86 SIMD; glibc cross headers for
# compiling its C in the no-NDK Android checks (scripts/android-libc-headers.sh); cjpeg and
# libturbojpeg to write the JPEG test corpus (models/florence2_tools/image_corpus.py).
command -v nasm >/dev/null 2>&1 || apt_packages+=(nasm)
# qemu-user and the aarch64 cross gcc: scripts/test-arm64.sh links the tests for Linux aarch64 and
# runs them emulated (the cross glibc in libc6-dev-arm64-cross is qemu's sysroot; ONNX Runtime
# needs the cross libstdc++).
for p in libc6-dev-arm64-cross libc6-dev-armel-cross libc6-dev-i386-cross libc6-dev-amd64-cross \
  libjpeg-turbo-progs libturbojpeg0 qemu-user gcc-aarch64-linux-gnu libstdc++6-arm64-cross; do
  dpkg -s "$p" >/dev/null 2>&1 || apt_packages+=("$p")
done
if ((${#apt_packages[@]})); then
  step "apt-get install ${apt_packages[*]}"
  [ "$(id -u)" -eq 0 ] || die "need root to apt-get install ${apt_packages[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null
  note "apt: installed ${apt_packages[*]}"
else
  note "apt: libjna-java already installed"
fi
[ -f /usr/share/java/jna.jar ] || die "/usr/share/java/jna.jar missing after installing libjna-java"

# ---------------------------------------------------------------- rustup
command -v rustup >/dev/null || die "rustup not found: install Rust (>= 1.92) with rustup first"
installed_targets=$(rustup target list --installed)
missing_targets=()
for t in "${ANDROID_TARGETS[@]}" "$ARM_TEST_TARGET"; do
  grep -qx "$t" <<<"$installed_targets" || missing_targets+=("$t")
done
if ((${#missing_targets[@]})); then
  step "rustup target add ${missing_targets[*]}"
  rustup target add "${missing_targets[@]}"
  note "rustup: added ${missing_targets[*]}"
else
  note "rustup: Android and $ARM_TEST_TARGET targets present"
fi
installed_components=$(rustup component list --installed)
for c in rustfmt clippy; do
  if ! grep -q "^$c" <<<"$installed_components"; then
    step "rustup component add $c"
    rustup component add "$c"
    note "rustup: added $c"
  fi
done

# ---------------------------------------------------------------- Python venv (created early: its pip fetches the ORT wheel)
VENV="$ROOT/.venv"
if [ ! -x "$VENV/bin/python" ]; then
  step "python3 -m venv .venv"
  python3 -m venv "$VENV"
fi
PY="$VENV/bin/python"

# ---------------------------------------------------------------- ONNX Runtime (desktop libraries from the PyPI wheels)
# ort_from_wheel <platform tag> <sha256> <dir> <label>: libonnxruntime.so.$ORT_VERSION out of the
# onnxruntime wheel for that platform (pip checks the pinned hash), with its two symlinks.
ort_from_wheel() {
  local platform=$1 sha=$2 dir=$3 label=$4 lib wheel_dir wheel
  lib="$dir/libonnxruntime.so.$ORT_VERSION"
  if [ -f "$lib" ] && [ "$(cat "$dir/VERSION" 2>/dev/null)" = "$ORT_VERSION" ]; then
    note "onnxruntime ($label): $ORT_VERSION already in ${dir#"$ROOT/"}"
    return
  fi
  step "pip download onnxruntime==$ORT_VERSION ($platform)"
  wheel_dir="$CACHE/ortwheel-$platform"
  rm -rf "$wheel_dir"
  mkdir -p "$wheel_dir"
  printf 'onnxruntime==%s --hash=sha256:%s\n' "$ORT_VERSION" "$sha" >"$wheel_dir/requirements.txt"
  "$PY" -m pip download --quiet --no-deps --require-hashes --only-binary=:all: \
    --platform "$platform" --python-version 3.11 \
    -d "$wheel_dir" -r "$wheel_dir/requirements.txt"
  wheel=$(ls "$wheel_dir"/onnxruntime-"$ORT_VERSION"-cp311-cp311-"$platform".whl)
  mkdir -p "$dir"
  "$PY" - "$wheel" "$lib" <<'EOF_PY'
import shutil, sys, zipfile
wheel, dest = sys.argv[1], sys.argv[2]
member = "onnxruntime/capi/" + dest.rsplit("/", 1)[1]
with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(dest + ".part", "wb") as out:
    shutil.copyfileobj(src, out)
EOF_PY
  mv "$lib.part" "$lib"
  ln -sfn "libonnxruntime.so.$ORT_VERSION" "$dir/libonnxruntime.so.1"
  ln -sfn "libonnxruntime.so.1" "$dir/libonnxruntime.so"
  echo "$ORT_VERSION" >"$dir/VERSION"
  rm -rf "$wheel_dir" # pip's own cache keeps the wheel
  note "onnxruntime ($label): extracted $ORT_VERSION into ${dir#"$ROOT/"}"
}
if [ "$(uname -m)" = x86_64 ]; then
  ort_from_wheel manylinux_2_28_x86_64 "$ORT_WHEEL_SHA256" "$CACHE/onnxruntime" "host"
elif [ ! -f "$CACHE/onnxruntime/libonnxruntime.so.$ORT_VERSION" ]; then
  die "the pinned onnxruntime wheel is x86_64; on $(uname -m) set ORT_DYLIB_PATH to a local libonnxruntime"
fi
# Linux aarch64 build of the same release: the ARM tests load it under qemu (scripts/test-arm64.sh).
ort_from_wheel manylinux_2_28_aarch64 "$ORT_AARCH64_WHEEL_SHA256" "$CACHE/onnxruntime-aarch64" "aarch64"

# ---------------------------------------------------------------- Kotlin compiler (npm)
KOTLIN_DIR="$CACHE/kotlin"
KOTLINC="$KOTLIN_DIR/kotlinc/bin/kotlinc-jvm"
if [ -x "$KOTLINC" ] && [ "$(cat "$KOTLIN_DIR/VERSION" 2>/dev/null)" = "$KOTLIN_VERSION" ]; then
  note "kotlin: $KOTLIN_VERSION already in .cache/kotlin"
else
  command -v npm >/dev/null || die "npm not found (needed for kotlin-compiler@$KOTLIN_VERSION)"
  step "npm pack kotlin-compiler@$KOTLIN_VERSION"
  rm -rf "$KOTLIN_DIR"
  mkdir -p "$KOTLIN_DIR"
  (cd "$KOTLIN_DIR" && npm pack --silent "kotlin-compiler@$KOTLIN_VERSION" >/dev/null)
  tar -xzf "$KOTLIN_DIR/kotlin-compiler-$KOTLIN_VERSION.tgz" -C "$KOTLIN_DIR"
  mv "$KOTLIN_DIR/package" "$KOTLIN_DIR/kotlinc"
  rm "$KOTLIN_DIR/kotlin-compiler-$KOTLIN_VERSION.tgz"
  chmod +x "$KOTLIN_DIR"/kotlinc/bin/*
  echo "$KOTLIN_VERSION" >"$KOTLIN_DIR/VERSION"
  note "kotlin: unpacked kotlinc $KOTLIN_VERSION into .cache/kotlin/kotlinc"
fi

# ---------------------------------------------------------------- ONNX Runtime Android AAR (npm, for tests/android)
ORT_AAR_DIR="$CACHE/onnxruntime-android"
ORT_AAR="$ORT_AAR_DIR/onnxruntime-android-$ORT_ANDROID_VERSION.aar"
if [ -f "$ORT_AAR" ] && [ "$(sha256sum "$ORT_AAR" | cut -d' ' -f1)" = "$ORT_ANDROID_AAR_SHA256" ]; then
  note "onnxruntime-android: $ORT_ANDROID_VERSION AAR already in .cache/onnxruntime-android"
else
  command -v npm >/dev/null || die "npm not found (needed for $ORT_ANDROID_NPM)"
  step "npm pack $ORT_ANDROID_NPM (ONNX Runtime $ORT_ANDROID_VERSION Android AAR, ~150 MB)"
  rm -rf "$ORT_AAR_DIR"
  mkdir -p "$ORT_AAR_DIR"
  tgz=$(cd "$ORT_AAR_DIR" && npm pack --silent "$ORT_ANDROID_NPM" 2>/dev/null | tail -n1)
  [ "$(sha256sum "$ORT_AAR_DIR/$tgz" | cut -d' ' -f1)" = "$ORT_ANDROID_TGZ_SHA256" ] ||
    die "$ORT_ANDROID_NPM: the downloaded package does not match the pinned sha256"
  tar --no-same-owner -xzf "$ORT_AAR_DIR/$tgz" -C "$ORT_AAR_DIR" package/Plugins/Android/onnxruntime.aar
  mv "$ORT_AAR_DIR/package/Plugins/Android/onnxruntime.aar" "$ORT_AAR.part"
  rm -rf "$ORT_AAR_DIR/package" "${ORT_AAR_DIR:?}/$tgz"
  [ "$(sha256sum "$ORT_AAR.part" | cut -d' ' -f1)" = "$ORT_ANDROID_AAR_SHA256" ] ||
    die "onnxruntime.aar inside $ORT_ANDROID_NPM does not match the pinned sha256"
  mv "$ORT_AAR.part" "$ORT_AAR"
  note "onnxruntime-android: $ORT_ANDROID_VERSION AAR into .cache/onnxruntime-android"
fi

# ---------------------------------------------------------------- Python model-tool requirements
requirements=(models/requirements.txt)
((WITH_EXPORT)) && requirements+=(models/requirements-export.txt)
for r in "${requirements[@]}"; do
  [ -f "$r" ] || die "$r is missing: the Python model tools in models/ define it (cannot set up .venv without it)"
done
req_hash=$(cat "${requirements[@]}" | sha256sum | cut -d' ' -f1)
MARKER="$VENV/.florence2-requirements"
if [ "$(cat "$MARKER" 2>/dev/null)" = "$req_hash" ]; then
  note "venv: ${requirements[*]} unchanged, already installed"
else
  step "pip install ${requirements[*]/#/-r }"
  pip_args=()
  for r in "${requirements[@]}"; do pip_args+=(-r "$r"); done
  "$PY" -m pip install --quiet "${pip_args[@]}"
  echo "$req_hash" >"$MARKER"
  note "venv: installed ${requirements[*]}"
fi

# ---------------------------------------------------------------- summary
printf '\nsetup.sh summary:\n'
printf '  - %s\n' "${SUMMARY[@]}"
printf 'setup.sh: done in %ss\n' "$(($(date +%s) - START))"
