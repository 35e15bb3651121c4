#!/usr/bin/env bash
# Builds the Android library (AAR) of the Florence-2 SDK with YOUR Android NDK and Gradle:
#
#   ANDROID_NDK_HOME=~/Android/Sdk/ndk/28.0.13004108 scripts/build-android.sh [options]
#
#   1. libflorence2_sdk.so for each ABI with cargo-ndk, profile `release-android` (opt-level s, fat
#      LTO, one codegen unit, panic=unwind so a Rust panic is a Kotlin exception), linked with 16 KB
#      page alignment (-z max-page-size=16384, required on Android 15+ devices with 16 KB pages) and
#      SONAME libflorence2_sdk.so. Built with its symbol table (only debug info stripped): UniFFI
#      reads its metadata from those symbols. Unstripped copies stay in
#      bindings/android/build/unstripped/<abi>/ (for ndk-stack and crash symbolication);
#   2. the Kotlin bindings generated from the unstripped arm64 library by the workspace's
#      uniffi-bindgen into bindings/android/build/generated/uniffi/;
#   3. each library stripped with the NDK's llvm-strip into bindings/android/build/rustJniLibs/<abi>/;
#   4. the AAR, assembled by Gradle from bindings/android (dependencies: onnxruntime-android, JNA's
#      AAR, kotlinx-coroutines) into bindings/android/build/outputs/aar/florence2-android-release.aar,
#      then checked by tests/android/check-aar-layout.sh (with the NDK's llvm-readelf).
#
# Options:
#   --abis LIST     comma-separated subset of arm64-v8a,armeabi-v7a,x86_64,x86 (default: all four)
#   --no-aar        stop after step 3 (no Gradle needed)
#   --publish-local also `publishToMavenLocal` (ai.florence2:florence2-android:<version>)
#   --host-check    no NDK, no Gradle: run every step that does not need them on this machine
#                   (scripts/test.sh does): the same profile built for the host (x86_64 Linux) with
#                   the same flags, the same bindgen command on it, compared with the committed
#                   bindings and with scripts/gen-bindings.sh's output, the same strip, the AAR's
#                   layout assembled from the host artefacts and checked by tests/android's checker,
#                   and the version pins (JNA, Gradle wrapper, jvmTarget, AGP). See docs/android.md
#                   for what this leaves unverified.
#
# Needs: ANDROID_NDK_HOME (r27 or newer; r28+ links 16 KB-aligned by default anyway), cargo-ndk
# (`cargo install cargo-ndk`), the rustup Android targets, and for the AAR a Gradle >= 8.9 (the
# projects' wrapper, see docs/android.md, `gradle` on PATH or GRADLE=/path/to/gradle) with
# ANDROID_HOME pointing at an Android SDK (platform 35). Runs with macOS's bash 3.2.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
ABIS=arm64-v8a,armeabi-v7a,x86_64,x86
AAR=1
PUBLISH=0
HOST_CHECK=0
while [ $# -gt 0 ]; do
  case $1 in
    --abis) ABIS=$2; shift 2 ;;
    --no-aar) AAR=0; shift ;;
    --publish-local) PUBLISH=1; shift ;;
    --host-check) HOST_CHECK=1; shift ;;
    -h | --help) sed -n '2,35p' "$0"; exit 0 ;;
    *) echo "build-android.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
die() { printf 'build-android.sh: %s\n' "$*" >&2; exit 1; }

TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
CATALOG=bindings/android/gradle/libs.versions.toml
SO=libflorence2_sdk.so

# ---------------------------------------------------------------- shared by both paths
# The Rust target of an Android ABI (a function, not an associative array: bash 3.2 has none).
abi_triple() {
  case $1 in
    arm64-v8a) echo aarch64-linux-android ;;
    armeabi-v7a) echo armv7-linux-androideabi ;;
    x86_64) echo x86_64-linux-android ;;
    x86) echo i686-linux-android ;;
    *) return 1 ;;
  esac
}

# rustflags_for <triple>: the per-target flags, exported as CARGO_TARGET_<TRIPLE>_RUSTFLAGS (a
# plain RUSTFLAGS would replace them): 16 KB-aligned LOAD segments (NDK r27 still defaults to 4 KB)
# and a SONAME (rustc sets none; Android's loader and tools expect one).
rustflags_for() {
  local upper
  upper=$(printf '%s' "$1" | tr 'a-z-' 'A-Z_')
  export "CARGO_TARGET_${upper}_RUSTFLAGS=-C link-arg=-Wl,-z,max-page-size=16384 -C link-arg=-Wl,-soname,$SO"
}

# The release-android profile strips symbols (`strip = true`, for anyone building it directly);
# here only debug info goes at link time, because uniffi-bindgen finds UniFFI's metadata through the
# symbol table. Step 3 strips the rest after bindgen has read it.
export CARGO_PROFILE_RELEASE_ANDROID_STRIP=debuginfo

# generate_kotlin <library> <out dir>: THE bindgen command of this script (both paths run it).
generate_kotlin() {
  cargo build --locked -q -p uniffi-bindgen
  rm -rf "$2"
  "$TARGET_DIR/debug/uniffi-bindgen" generate --no-format --library "$1" \
    --language kotlin --config uniffi.toml --out-dir "$2" >/dev/null
}

# strip_to <strip tool> <in> <out>: what `strip = true` would have done (symbol table and debug
# info gone; the dynamic symbols JNA needs stay).
strip_to() {
  mkdir -p "$(dirname "$3")"
  "$1" --strip-all -o "$3" "$2"
}

[ -z "${RUSTFLAGS:-}${CARGO_ENCODED_RUSTFLAGS:-}" ] ||
  die "unset RUSTFLAGS/CARGO_ENCODED_RUSTFLAGS (they override the per-target link flags this script sets)"

IFS=, read -r -a abis <<<"$ABIS"
for abi in "${abis[@]}"; do
  abi_triple "$abi" >/dev/null || die "unknown ABI '$abi' (arm64-v8a, armeabi-v7a, x86_64, x86)"
done

MIN_SDK=$(sed -n 's/^androidMinSdk *= *"\([0-9]*\)".*/\1/p' "$CATALOG")
[ -n "$MIN_SDK" ] || die "androidMinSdk missing from $CATALOG"

# ndk_bin <ndk>: the NDK's LLVM tool folder (macOS has no readelf; the NDK ships llvm-readelf
# and llvm-strip for every ABI). Empty if <ndk> lacks them.
ndk_bin() {
  local d
  for d in "$1"/toolchains/llvm/prebuilt/*/bin; do
    if [ -x "$d/llvm-strip" ] && [ -x "$d/llvm-readelf" ]; then
      echo "$d"
      return 0
    fi
  done
}

# ---------------------------------------------------------------- --host-check
# Every step above that needs no NDK or Gradle, run for real on the build machine (x86_64 Linux).
# Failures are counted and listed; exit status 1 if any.
host_check() {
  local host=x86_64-unknown-linux-gnu work lib gen failures=0 fake_ndk sections tool
  work=$TARGET_DIR/android-host-check
  rm -rf "$work"
  mkdir -p "$work"
  ok() { printf '  ok:   %s\n' "$*"; }
  bad() { printf '  FAIL: %s\n' "$*"; failures=$((failures + 1)); }

  # The NDK's tool lookup, run on a stand-in NDK tree holding the host's LLVM tools (Debian's
  # llvm package: the same llvm-strip/llvm-readelf programs the NDK ships, not its build of them).
  fake_ndk=$work/ndk
  mkdir -p "$fake_ndk/toolchains/llvm/prebuilt/linux-x86_64/bin"
  for tool in llvm-strip llvm-readelf; do
    command -v "$tool" >/dev/null || die "--host-check needs $tool on PATH (apt: llvm)"
    ln -s "$(command -v "$tool")" "$fake_ndk/toolchains/llvm/prebuilt/linux-x86_64/bin/$tool"
  done
  NDK_BIN=$(ndk_bin "$fake_ndk")
  [ -n "$NDK_BIN" ] && ok "NDK tool lookup finds llvm-strip and llvm-readelf" || bad "NDK tool lookup"
  [ -z "$(ndk_bin "$work/no-ndk")" ] && ok "NDK tool lookup rejects a folder without them" ||
    bad "NDK tool lookup accepted an empty folder"

  echo "==> 1. release-android for the host ($host), same link flags and strip setting as step 1"
  # In a subshell: the host's link flags must not leak into the later host builds (uniffi-bindgen,
  # gen-bindings.sh's debug library), which would otherwise rebuild from scratch with them and
  # evict the test suite's cached artefacts.
  (
    rustflags_for "$host"
    cargo build --locked -q -p florence2-sdk --lib --profile release-android --target "$host"
  )
  lib=$TARGET_DIR/$host/release-android/$SO
  mkdir -p "$work/unstripped/x86_64"
  cp "$lib" "$work/unstripped/x86_64/$SO"
  lib=$work/unstripped/x86_64/$SO
  # Into a variable first: `readelf | grep -q` fails under pipefail when grep stops reading early.
  sections=$("$NDK_BIN/llvm-readelf" -SW "$lib")
  grep -q ' \.symtab ' <<<"$sections" && ok "built with its symbol table" ||
    bad "built without .symtab: bindgen cannot read UniFFI metadata"
  grep -q ' \.debug_info ' <<<"$sections" && bad "debug info left in" ||
    ok "no debug info (strip = debuginfo)"

  echo "==> 2. the bindgen command of step 2, on the unstripped library"
  gen=$work/generated
  if generate_kotlin "$lib" "$gen"; then
    ok "uniffi-bindgen read the metadata ($(find "$gen" -name '*.kt' | wc -l | tr -d ' ') Kotlin file(s))"
  else
    bad "uniffi-bindgen failed on the unstripped release-android library"
  fi
  diff -r "$gen" bindings/kotlin/generated >/dev/null 2>&1 &&
    ok "identical to the committed bindings/kotlin/generated" ||
    bad "differs from the committed bindings/kotlin/generated (run scripts/gen-bindings.sh)"
  scripts/gen-bindings.sh --out-dir "$work/generated-debug" >/dev/null
  diff -r "$gen" "$work/generated-debug" >/dev/null 2>&1 &&
    ok "identical to scripts/gen-bindings.sh's output (debug library)" ||
    bad "differs from scripts/gen-bindings.sh's output"

  echo "==> 3. the strip of step 3"
  strip_to "$NDK_BIN/llvm-strip" "$lib" "$work/aar/jni/x86_64/$SO"
  # Why the order matters: the stripped library has no metadata left for bindgen.
  if generate_kotlin "$work/aar/jni/x86_64/$SO" "$work/generated-stripped" 2>"$work/stripped.log"; then
    bad "uniffi-bindgen read metadata from the STRIPPED library (the unstripped copy may be unnecessary)"
  else
    grep -q 'No UniFFI metadata' "$work/stripped.log" &&
      ok "the stripped library has no UniFFI metadata (bindgen must run before the strip)" ||
      bad "bindgen on the stripped library failed for another reason: $(head -n3 "$work/stripped.log")"
  fi
  printf '    x86_64 host build: %s unstripped, %s stripped\n' "$(du -h "$lib" | cut -f1)" \
    "$(du -h "$work/aar/jni/x86_64/$SO" | cut -f1)"

  echo "==> 4. the AAR's layout from the host artefacts (Gradle's packaging itself is not run)"
  classes_jar "$work/classes.jar" || bad "no classes.jar (kotlinc)"
  cp "$work/classes.jar" "$work/aar/classes.jar"
  cp bindings/android/src/main/AndroidManifest.xml "$work/aar/AndroidManifest.xml"
  cp bindings/android/consumer-rules.pro "$work/aar/proguard.txt"
  (cd "$work/aar" && zip -qr "$work/florence2-android-host.aar" AndroidManifest.xml classes.jar proguard.txt jni)
  # --host-libs: a Linux build needs glibc's libraries where Android's needs Bionic's.
  if READELF=$NDK_BIN/llvm-readelf tests/android/check-aar-layout.sh --abis x86_64 --host-libs \
    "$work/florence2-android-host.aar" >"$work/layout.log" 2>&1; then
    ok "tests/android/check-aar-layout.sh accepts it (with the NDK-style llvm-readelf)"
  else
    bad "tests/android/check-aar-layout.sh rejects it:"
    sed 's/^/      /' "$work/layout.log"
  fi

  echo "==> version pins and portability"
  pin_checks || failures=$((failures + $?))

  if [ "$failures" -ne 0 ]; then
    echo "build-android.sh --host-check: $failures check(s) FAILED"
    return 1
  fi
  echo "build-android.sh --host-check: passed (NDK build, Gradle and the device remain unverified: docs/android.md)"
}

# classes_jar <out>: the AAR's Kotlin (generated bindings, façade, the Android helper) compiled by
# kotlinc against Android stubs, stubs left out. tests/kotlin/run.sh compiles the same sources into
# target/kotlin-tests/tests.jar: reused when it is newer than every source.
classes_jar() {
  local out=$1 kt=${KOTLIN_HOME:-$ROOT/.cache/kotlin/kotlinc} tests_jar=$TARGET_DIR/kotlin-tests/tests.jar
  local srcs=(bindings/kotlin/generated bindings/kotlin/src bindings/android/src/main/kotlin) tmp
  tmp=$(dirname "$out")/classes
  rm -rf "$tmp"
  mkdir -p "$tmp"
  if [ -f "$tests_jar" ] && [ -z "$(find "${srcs[@]}" -name '*.kt' -newer "$tests_jar" | head -n1)" ]; then
    (cd "$tmp" && unzip -q "$tests_jar" 'ai/florence2/*')
  else
    [ -x "$kt/bin/kotlinc-jvm" ] || { echo "kotlinc missing: run scripts/setup.sh" >&2; return 1; }
    "$kt/bin/kotlinc-jvm" -nowarn -d "$tmp" \
      -cp "${JNA_JAR:-/usr/share/java/jna.jar}:$kt/lib/kotlinx-coroutines-core-jvm.jar" \
      $(find "${srcs[@]}" tests/kotlin/android-stubs -name '*.kt') || return 1
    find "$tmp" -mindepth 1 -maxdepth 1 ! -name ai ! -name META-INF -exec rm -rf {} +
  fi
  rm -f "$out"
  (cd "$tmp" && zip -qr "$out" .)
}

# pin_checks: the packaging fixes of issue 19 stay in place. Prints ok/FAIL lines; returns the
# number of failures.
pin_checks() {
  local n=0 jna agp wrapper first="" url sum f gradle_v
  vge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]; } # vge A B: A >= B
  p() { printf '  ok:   %s\n' "$*"; }
  q() { printf '  FAIL: %s\n' "$*"; n=$((n + 1)); }
  jna=$(sed -n 's/^jna *= *"\([^"]*\)".*/\1/p' "$CATALOG")
  vge "${jna:-0}" 5.17.0 && p "JNA $jna (>= 5.17.0: 16 KB-aligned libjnidispatch.so)" || q "JNA '$jna' < 5.17.0"
  for f in bindings/android/build.gradle.kts bindings/kmp/build.gradle.kts; do
    grep -q 'libs.versions.jna.get()}@aar' "$f" && p "$f: JNA's @aar on Android" || q "$f: JNA is not the @aar artifact"
  done
  agp=$(sed -n 's/^agp *= *"\([^"]*\)".*/\1/p' "$CATALOG")
  vge "${agp:-0}" 8.5.1 && p "AGP $agp (>= 8.5.1: 16 KB-aligned .so packaging)" || q "AGP '$agp' < 8.5.1"
  for wrapper in bindings/android bindings/kmp examples/android; do
    f=$wrapper/gradle/wrapper/gradle-wrapper.properties
    [ -f "$f" ] || { q "$f is missing"; continue; }
    url=$(sed -n 's/^distributionUrl=//p' "$f")
    sum=$(sed -n 's/^distributionSha256Sum=//p' "$f")
    gradle_v=$(printf '%s' "$url" | sed -n 's/.*gradle-\([0-9.]*\)-bin\.zip$/\1/p')
    [ -n "$gradle_v" ] && vge "$gradle_v" 8.9 && p "$f: Gradle $gradle_v (>= 8.9 for AGP 8.7)" ||
      q "$f: distributionUrl '$url' is not a Gradle >= 8.9 -bin.zip"
    printf '%s' "$sum" | grep -Eq '^[0-9a-f]{64}$' && p "$f: distributionSha256Sum pinned" ||
      q "$f: no distributionSha256Sum"
    [ -z "$first" ] && first="$url $sum"
    [ "$url $sum" = "$first" ] || q "$f: a different Gradle than bindings/android's"
  done
  for f in $(find bindings examples -name '*.gradle.kts' -not -path '*/build/*'); do
    grep -qE '^[[:space:]]*jvmToolchain\(' "$f" && q "$f: jvmToolchain() fails where no JDK 17 is installed (use jvmTarget)"
  done
  for f in bindings/android/build.gradle.kts bindings/kmp/build.gradle.kts examples/android/app/build.gradle.kts; do
    grep -q 'JvmTarget.JVM_17' "$f" && p "$f: jvmTarget 17 (any JDK >= 17 builds it)" || q "$f: no jvmTarget 17"
  done
  # Bash 3.2 (macOS): no associative arrays, mapfile, case conversion or namerefs.
  for f in scripts/build-android.sh tests/android/check-aar-layout.sh tests/android/lib.sh; do
    grep -vE '^[[:space:]]*#' "$f" |
      grep -nE 'declare'' -A|local'' -A|map''file|read''array|\$\{[A-Za-z_]+(,,|\^\^)|declare'' -n|local'' -n' >"$work/bash4.txt" &&
      q "$f uses bash 4 features: $(head -n1 "$work/bash4.txt")" || p "$f: no bash 4 features"
  done
  return "$n"
}

if [ "$HOST_CHECK" -eq 1 ]; then
  host_check
  exit $?
fi

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

Without an NDK, `scripts/build-android.sh --host-check` runs every step that does not need it
(see docs/android.md).
MSG
  exit 1
fi
NDK_BIN=$(ndk_bin "$NDK")
[ -n "$NDK_BIN" ] ||
  die "ANDROID_NDK_HOME=$NDK does not look like an NDK (no toolchains/llvm/prebuilt/*/bin/llvm-strip, llvm-readelf)"
export ANDROID_NDK_HOME=$NDK
cargo ndk --version >/dev/null 2>&1 ||
  die "cargo-ndk is not installed: run \`cargo install cargo-ndk --locked\`"

ndk_args=()
for abi in "${abis[@]}"; do
  triple=$(abi_triple "$abi")
  rustup target list --installed | grep -qx "$triple" || rustup target add "$triple"
  ndk_args+=(-t "$abi")
  rustflags_for "$triple"
done

# ---------------------------------------------------------------- 1. native libraries (unstripped)
UNSTRIPPED=bindings/android/build/unstripped
JNI_OUT=bindings/android/build/rustJniLibs
rm -rf "$UNSTRIPPED" "$JNI_OUT"
echo "==> cargo ndk (${abis[*]}), profile release-android, minSdk $MIN_SDK"
cargo ndk "${ndk_args[@]}" --platform "$MIN_SDK" \
  build --locked -p florence2-sdk --lib --profile release-android
# Copied here rather than with cargo-ndk's -o, whose handling of custom profiles varies by version.
for abi in "${abis[@]}"; do
  built=$TARGET_DIR/$(abi_triple "$abi")/release-android/$SO
  [ -f "$built" ] || die "cargo ndk did not produce $built"
  mkdir -p "$UNSTRIPPED/$abi"
  cp "$built" "$UNSTRIPPED/$abi/"
done

# ---------------------------------------------------------------- 2. Kotlin bindings
GEN_OUT=bindings/android/build/generated/uniffi
echo "==> uniffi-bindgen (Kotlin, from the unstripped ${abis[0]} library)"
generate_kotlin "$UNSTRIPPED/${abis[0]}/$SO" "$GEN_OUT"
if ! diff -r "$GEN_OUT" bindings/kotlin/generated >/dev/null 2>&1; then
  echo "    note: differs from the committed bindings/kotlin/generated (uncommitted Rust API changes?);" \
    "the AAR uses the freshly generated code"
fi

# ---------------------------------------------------------------- 3. strip
echo "==> llvm-strip (NDK) into $JNI_OUT"
for abi in "${abis[@]}"; do
  strip_to "$NDK_BIN/llvm-strip" "$UNSTRIPPED/$abi/$SO" "$JNI_OUT/$abi/$SO"
  printf '    %s: %s (unstripped %s)\n' "$abi" "$(du -h "$JNI_OUT/$abi/$SO" | cut -f1)" \
    "$(du -h "$UNSTRIPPED/$abi/$SO" | cut -f1)"
done

if [ "$AAR" -eq 0 ]; then
  echo "build-android.sh: native libraries in $JNI_OUT, Kotlin in $GEN_OUT (--no-aar: Gradle skipped)"
  exit 0
fi

# ---------------------------------------------------------------- 4. AAR
# The project's wrapper first (pinned Gradle; docs/android.md says how to create its jar).
if [ -z "${GRADLE:-}" ]; then
  if [ -x bindings/android/gradlew ] && [ -f bindings/android/gradle/wrapper/gradle-wrapper.jar ]; then
    GRADLE=$ROOT/bindings/android/gradlew
  else
    GRADLE=$(command -v gradle || true)
  fi
fi
[ -n "$GRADLE" ] || die "Gradle not found: run \`gradle wrapper\` once in bindings/android (docs/android.md), install Gradle >= 8.9, or set GRADLE=/path/to/gradle (or use --no-aar)"
gradle_version=$("$GRADLE" -p bindings/android --version 2>/dev/null | sed -n 's/^Gradle \([0-9][0-9.]*\).*/\1/p')
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
echo "==> gradle ${tasks[*]} (bindings/android, Gradle $gradle_version)"
"$GRADLE" -p bindings/android --no-daemon "-Pflorence2.generatedKotlinDir=$ROOT/$GEN_OUT" \
  "-Pflorence2.jniLibsDir=$ROOT/$JNI_OUT" "${tasks[@]}"
OUT=bindings/android/build/outputs/aar/florence2-android-release.aar
[ -f "$OUT" ] || die "Gradle finished but $OUT is missing"
READELF=$NDK_BIN/llvm-readelf tests/android/check-aar-layout.sh --abis "$ABIS" "$OUT"
echo "build-android.sh: $OUT ($(du -h "$OUT" | cut -f1))"
