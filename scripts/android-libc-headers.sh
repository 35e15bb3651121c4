#!/usr/bin/env bash
# Prints the C compiler flags that give the Android checks in scripts/test.sh a C library's headers
# and the app's minimum API level, for an Android Rust target given as $1 (aarch64-linux-android,
# armv7-linux-androideabi, x86_64-linux-android, i686-linux-android).
#
# Why: there is no Android NDK on the build machines, yet `cargo clippy --target <android>` and the
# staticlib step compile the C code of our dependencies for that target. ring needs no C library
# (its no-sysroot mode, -nostdlibinc); libjpeg-turbo (mozjpeg-sys, the JPEG decoder) includes
# <stdio.h>, <stdlib.h>, <string.h>, <setjmp.h>. These come from Debian's glibc cross headers
# (libc6-dev-{arm64,armel,i386,amd64}-cross, installed by scripts/setup.sh), placed after clang's
# own headers with -isystem. The clang target carries androidMinSdk (as the NDK's
# <triple><api>-clang that cargo-ndk uses does): clang's Android defaults depend on it; e.g. for
# armeabi-v7a, NEON is on from API 23, which libjpeg-turbo's NEON assembly needs.
#
# What this does and does not check: the C sources compile for the Android target triple and
# architecture (NEON or SSE/AVX2 code paths included) against *glibc's* declarations of the C
# library, which for these functions match Bionic's. The objects are never linked or run here.
# A real Android build (scripts/build-android.sh) uses the NDK's clang and Bionic headers instead
# (cargo-ndk sets CC_<target>), and none of this.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
api=$(sed -n 's/^androidMinSdk *= *"\([0-9]*\)".*/\1/p' "$ROOT/bindings/android/gradle/libs.versions.toml")
[ -n "$api" ] || { echo "android-libc-headers.sh: androidMinSdk missing from libs.versions.toml" >&2; exit 1; }
case ${1:-} in
  aarch64-linux-android) gnu=aarch64-linux-gnu clang_target=aarch64-linux-android ;;
  # Android armeabi-v7a uses the soft-float calling convention (softfp): glibc's armel headers.
  armv7-linux-androideabi) gnu=arm-linux-gnueabi clang_target=armv7a-linux-androideabi ;;
  x86_64-linux-android) gnu=x86_64-linux-gnu clang_target=x86_64-linux-android ;;
  i686-linux-android) gnu=i686-linux-gnu clang_target=i686-linux-android ;;
  *) echo "android-libc-headers.sh: unknown Android target '${1:-}'" >&2; exit 2 ;;
esac
dir=/usr/$gnu/include
if [ ! -f "$dir/stdlib.h" ]; then
  echo "android-libc-headers.sh: $dir/stdlib.h missing: run scripts/setup.sh (Debian's libc6-dev-*-cross)" >&2
  exit 1
fi
printf -- '--target=%s%s -isystem %s\n' "$clang_target" "$api" "$dir"
