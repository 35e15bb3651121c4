#!/usr/bin/env bash
# Builds the Android library (AAR) of the Florence-2 SDK with YOUR Android NDK and Gradle:
#
#   ANDROID_NDK_HOME=~/Android/Sdk/ndk/28.0.13004108 scripts/build-android.sh [options]
#
#   1. libflorence2_sdk.so for each ABI with cargo-ndk, profile `release-android` (opt-level s, fat
#      LTO, one codegen unit, symbols stripped, panic=unwind so a Rust panic is a Kotlin
#      exception), linked with 16 KB page alignment (-z max-page-size=16384, required on Android 15+
#      devices with 16 KB pages) and SONAME libflorence2_sdk.so, into bindings/android/build/rustJniLibs/<abi>/;
#   2. the Kotlin bindings generated from the arm64 library by the workspace's uniffi-bindgen into
#      bindings/android/build/generated/uniffi/;
#   3. the AAR, assembled by Gradle from bindings/android (dependencies: onnxruntime-android, JNA's
#      AAR, kotlinx-coroutines) into bindings/android/build/outputs/aar/florence2-android-release.aar,
#      then checked by tests/android/check-aar-layout.sh.
#
# Options:
#   --abis LIST     comma-separated subset of arm64-v8a,armeabi-v7a,x86_64,x86 (default: all four)
#   --no-aar        stop after steps 1 and 2 (no Gradle needed)
#   --publish-local also `publishToMavenLocal` (ai.florence2:florence2-android:<version>)
#
# Needs: ANDROID_NDK_HOME (r27 or newer; r28+ links 16 KB-aligned by default anyway), cargo-ndk
# (`cargo install cargo-ndk`), the rustup Android targets, and for the AAR a Gradle >= 8.9 (`gradle`
# on PATH or GRADLE=/path/to/gradle) with ANDROID_HOME pointing at an Android SDK (platform 35).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
ABIS=arm64-v8a,armeabi-v7a,x86_64,x86
AAR=1
PUBLISH=0
while [ $# -gt 0 ]; do
  case $1 in
    --abis) ABIS=$2; shift 2 ;;
    --no-aar) AAR=0; shift ;;
    --publish-local) PUBLISH=1; shift ;;
    -h | --help) sed -n '2,27p' "$0"; exit 0 ;;
    *) echo "build-android.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
die() { printf 'build-android.sh: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- prerequisites
NDK=${ANDROID_NDK_HOME:-${ANDROID_NDK_ROOT:-}}
if [ -z "$NDK" ]; then
  cat >&2 <<'MSG'
build-android.sh: ANDROID_NDK_HOME is not set.

Building the Android libraries needs the Android NDK (r27 or newer), which this script does not
download. Install it with Android Studio (SDK Manager > SDK Tools > NDK) or
  sdkmanager "ndk;28.0.13004108"
then run, e.g.:
  ANDROID_NDK_HOME=$HOME/Android/Sdk/ndk/28.0.13004108 scripts/build-android.sh

Without an NDK, `cargo check --target aarch64-linux-android -p florence2-sdk` still type-checks the
Android build, and tests/android/link-check.sh links it link-only (see docs/android.md).
MSG
  exit 1
fi
[ -d "$NDK/toolchains/llvm/prebuilt" ] ||
  die "ANDROID_NDK_HOME=$NDK does not look like an NDK (no toolchains/llvm/prebuilt inside)"
export ANDROID_NDK_HOME=$NDK
cargo ndk --version >/dev/null 2>&1 ||
  die "cargo-ndk is not installed: run \`cargo install cargo-ndk --locked\`"
# Our 16 KB and SONAME flags go in CARGO_TARGET_<triple>_RUSTFLAGS; RUSTFLAGS would replace them.
[ -z "${RUSTFLAGS:-}${CARGO_ENCODED_RUSTFLAGS:-}" ] ||
  die "unset RUSTFLAGS/CARGO_ENCODED_RUSTFLAGS (they override the per-target link flags this script sets)"

MIN_SDK=$(sed -n 's/^androidMinSdk *= *"\([0-9]*\)".*/\1/p' bindings/android/gradle/libs.versions.toml)
[ -n "$MIN_SDK" ] || die "androidMinSdk missing from bindings/android/gradle/libs.versions.toml"

declare -A TRIPLE=([arm64-v8a]=aarch64-linux-android [armeabi-v7a]=armv7-linux-androideabi
  [x86_64]=x86_64-linux-android [x86]=i686-linux-android)
IFS=, read -r -a abis <<<"$ABIS"
ndk_args=()
for abi in "${abis[@]}"; do
  triple=${TRIPLE[$abi]:-}
  [ -n "$triple" ] || die "unknown ABI '$abi' (arm64-v8a, armeabi-v7a, x86_64, x86)"
  rustup target list --installed | grep -qx "$triple" || rustup target add "$triple"
  ndk_args+=(-t "$abi")
  upper=$(tr 'a-z-' 'A-Z_' <<<"$triple")
  # Through the NDK's clang: 16 KB-aligned LOAD segments (NDK r27 still defaults to 4 KB) and a
  # SONAME (rustc sets none; Android's loader and tools expect one).
  export "CARGO_TARGET_${upper}_RUSTFLAGS=-C link-arg=-Wl,-z,max-page-size=16384 -C link-arg=-Wl,-soname,libflorence2_sdk.so"
done

# ---------------------------------------------------------------- 1. native libraries
JNI_OUT=bindings/android/build/rustJniLibs
rm -rf "$JNI_OUT"
mkdir -p "$JNI_OUT"
echo "==> cargo ndk (${abis[*]}), profile release-android, minSdk $MIN_SDK"
cargo ndk "${ndk_args[@]}" --platform "$MIN_SDK" \
  build --locked -p florence2-sdk --lib --profile release-android
# Copied here rather than with cargo-ndk's -o, whose handling of custom profiles varies by version.
for abi in "${abis[@]}"; do
  built=${CARGO_TARGET_DIR:-target}/${TRIPLE[$abi]}/release-android/libflorence2_sdk.so
  [ -f "$built" ] || die "cargo ndk did not produce $built"
  mkdir -p "$JNI_OUT/$abi"
  cp "$built" "$JNI_OUT/$abi/"
  printf '    %s: %s\n' "$abi" "$(du -h "$built" | cut -f1)"
done

# ---------------------------------------------------------------- 2. Kotlin bindings
GEN_OUT=bindings/android/build/generated/uniffi
echo "==> uniffi-bindgen (Kotlin, from the ${abis[0]} library)"
cargo build --locked -q -p uniffi-bindgen
rm -rf "$GEN_OUT"
"${CARGO_TARGET_DIR:-target}/debug/uniffi-bindgen" generate --no-format --library "$JNI_OUT/${abis[0]}/libflorence2_sdk.so" \
  --language kotlin --config uniffi.toml --out-dir "$GEN_OUT" >/dev/null
if ! diff -r "$GEN_OUT" bindings/kotlin/generated >/dev/null 2>&1; then
  echo "    note: differs from the committed bindings/kotlin/generated (uncommitted Rust API changes?);" \
    "the AAR uses the freshly generated code"
fi

if [ "$AAR" -eq 0 ]; then
  echo "build-android.sh: native libraries in $JNI_OUT, Kotlin in $GEN_OUT (--no-aar: Gradle skipped)"
  exit 0
fi

# ---------------------------------------------------------------- 3. AAR
GRADLE=${GRADLE:-$(command -v gradle || true)}
[ -n "$GRADLE" ] || die "Gradle not found: install Gradle >= 8.9 or set GRADLE=/path/to/bin/gradle (or use --no-aar)"
gradle_version=$("$GRADLE" --version 2>/dev/null | sed -n 's/^Gradle \([0-9][0-9.]*\).*/\1/p')
major=${gradle_version%%.*}
minor=${gradle_version#*.}
minor=${minor%%.*}
if [ -z "$gradle_version" ] || [ "$major" -lt 8 ] || { [ "$major" -eq 8 ] && [ "$minor" -lt 9 ]; }; then
  die "Gradle ${gradle_version:-?} at $GRADLE is too old: the Android Gradle Plugin 8.7 needs Gradle >= 8.9"
fi
[ -n "${ANDROID_HOME:-${ANDROID_SDK_ROOT:-}}" ] || [ -f bindings/android/local.properties ] ||
  die "set ANDROID_HOME to your Android SDK (or write sdk.dir=... into bindings/android/local.properties)"
tasks=(assembleRelease)
[ "$PUBLISH" -eq 1 ] && tasks+=(publishToMavenLocal)
echo "==> gradle ${tasks[*]} (bindings/android)"
"$GRADLE" -p bindings/android --no-daemon "-Pflorence2.generatedKotlinDir=$ROOT/$GEN_OUT" \
  "-Pflorence2.jniLibsDir=$ROOT/$JNI_OUT" "${tasks[@]}"
OUT=bindings/android/build/outputs/aar/florence2-android-release.aar
[ -f "$OUT" ] || die "Gradle finished but $OUT is missing"
tests/android/check-aar-layout.sh --abis "$ABIS" "$OUT"
echo "build-android.sh: $OUT ($(du -h "$OUT" | cut -f1))"
