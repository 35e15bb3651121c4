#!/usr/bin/env bash
# OPTIONAL, LINK-ONLY check (not part of scripts/test.sh): proves the florence2-sdk cdylib links for
# aarch64-linux-android and x86_64-linux-android and imports only symbols Android provides, WITHOUT
# an Android NDK. Nothing here runs on a device or emulator: a successful link is not a successful
# run (the real build uses the NDK through scripts/build-android.sh).
#
#   tests/android/link-check.sh [--profile dev|release-android] [--keep]
#
# How: rust-lld (shipped with rustup) links against generated stub libc.so/libm.so/libdl.so/
# liblog.so (right SONAMEs; symbols = exactly what our library imports), LLVM's libunwind.a from
# rustup's *-unknown-linux-musl target, and two assembly shims (__errno_location -> bionic's
# __errno, __assert_fail -> abort) that the musl-built libunwind needs. The stubs are generated in
# two passes: link once, list the undefined symbols, regenerate the stubs with them, relink.
#
# Checks on each linked library:
#  - NEEDED only libc.so, libm.so, libdl.so, liblog.so (ONNX Runtime is dlopen'ed, not linked);
#  - every imported symbol is one the official ONNX Runtime Android library (built with the real
#    NDK) also imports, or in the short reviewed list BIONIC_EXTRA below;
#  - then a layout-only AAR (stripped .so files + classes.jar compiled by kotlinc from the
#    generated bindings and façade) passes tests/android/check-aar-layout.sh.
# Needs: rustup targets aarch64/x86_64-linux-android and aarch64/x86_64-unknown-linux-musl (this
# script adds them), clang + llvm-ar (ring's C), llvm-mc, readelf, kotlinc (.cache/kotlin), JNA jar, and the ONNX Runtime AAR
# from scripts/setup.sh. Takes a few minutes (two cross builds).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
. tests/android/lib.sh

PROFILE=dev
KEEP=0
while [ $# -gt 0 ]; do
  case $1 in
    --profile) PROFILE=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h | --help) sed -n '2,25p' "$0"; exit 0 ;;
    *) echo "link-check: unknown argument $1" >&2; exit 2 ;;
  esac
done
PROFILE_DIR=$([ "$PROFILE" = dev ] && echo debug || echo "$PROFILE")

# Bionic functions our library may import that the ONNX Runtime library happens not to: POSIX
# calls in Android's libc since API 21 or earlier (below our minSdk 24), or weak: getrandom (API 28)
# is only used when present. The socket/DNS/file calls come from model downloads (ureq, fs4).
# Review a name before adding it here.
BIONIC_EXTRA=" __errno abort getrandom gettid __cxa_thread_atexit_impl __system_property_get
  syscall sigaltstack sysconf pthread_getattr_np pthread_attr_getstack signal sigaction mmap munmap
  mprotect posix_memalign memrchr strerror_r __xpg_strerror_r getauxval dl_iterate_phdr
  __android_log_write __android_log_print realpath getcwd readlink open64 fstat64 lseek64 pread64
  dirfd poll writev pthread_attr_destroy sched_getaffinity
  socket connect send recv shutdown setsockopt getsockopt getpeername getaddrinfo freeaddrinfo
  gai_strerror clock_nanosleep fdopendir openat unlinkat rename ftruncate64 statvfs64 "

ORT_AAR=$ROOT/.cache/onnxruntime-android/onnxruntime-android-1.29.0.aar
[ -f "$ORT_AAR" ] || { echo "link-check: $ORT_AAR missing (run scripts/setup.sh)" >&2; exit 2; }
command -v llvm-mc >/dev/null || { echo "link-check: llvm-mc is needed (apt: llvm)" >&2; exit 2; }
KOTLINC=${KOTLIN_HOME:-$ROOT/.cache/kotlin/kotlinc}/bin/kotlinc-jvm
KT_LIB=$(dirname "$(dirname "$KOTLINC")")/lib
JNA=${JNA_JAR:-/usr/share/java/jna.jar}

SYSROOT=$(rustc --print sysroot)
LLD=$SYSROOT/lib/rustlib/x86_64-unknown-linux-gnu/bin/rust-lld
rustup target add aarch64-linux-android x86_64-linux-android aarch64-unknown-linux-musl \
  x86_64-unknown-linux-musl >/dev/null 2>&1 || true

TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
WORK=$TARGET_DIR/android-link-check
mkdir -p "$WORK"

# mkstubs <target> <dir> <symbol list file>
mkstubs() {
  local target=$1 out=$2 syms=$3 musl emu l s
  case $target in
    aarch64-linux-android) musl=aarch64-unknown-linux-musl emu=aarch64linux ;;
    x86_64-linux-android) musl=x86_64-unknown-linux-musl emu=elf_x86_64 ;;
  esac
  mkdir -p "$out/src"
  nm -D --defined-only /lib/x86_64-linux-gnu/libm.so.6 | awk '{print $3}' | sed 's/@.*//' | sort -u >"$out/src/libm.names"
  local data=" stderr stdout stdin environ __sF __stack_chk_guard __progname optarg optind opterr optopt "
  for l in c m dl log; do : >"$out/src/$l.s"; done
  { grep -vE '^(_Unwind_|__unw_|__libunwind_)' "$syms" || true; } | sort -u | while read -r s; do
    [ -z "$s" ] && continue
    if grep -qx "$s" "$out/src/libm.names" && [ "$s" != stderr ]; then l=m
    elif [[ $s =~ ^(dlopen|dlclose|dlsym|dlvsym|dlerror|dladdr|android_dlopen_ext)$ ]]; then l=dl
    elif [[ $s == __android_log* ]]; then l=log
    else l=c; fi
    if [[ $data == *" $s "* ]]; then
      printf '.data\n.globl %s\n.type %s,@object\n.size %s,8\n%s: .quad 0\n' "$s" "$s" "$s" "$s" >>"$out/src/$l.s"
    else
      printf '.text\n.globl %s\n.type %s,@function\n%s: ret\n' "$s" "$s" "$s" >>"$out/src/$l.s"
    fi
  done
  for l in c m dl log; do
    llvm-mc -triple="$target" -filetype=obj -o "$out/src/$l.o" "$out/src/$l.s"
    "$LLD" -flavor gnu -m "$emu" -shared -soname "lib$l.so" -o "$out/lib$l.so" "$out/src/$l.o"
  done
  cp "$SYSROOT/lib/rustlib/$musl/lib/self-contained/libunwind.a" "$out/"
}

# shims <target> <object>: what the musl-built libunwind.a calls by glibc/musl names.
shims() {
  local target=$1 obj=$2 src=$2.s
  case $target in
    aarch64-linux-android)
      printf '.text\n.globl __errno_location\n.type __errno_location,@function\n__errno_location: b __errno\n.globl __assert_fail\n.type __assert_fail,@function\n__assert_fail: b abort\n' >"$src" ;;
    x86_64-linux-android)
      printf '.text\n.globl __errno_location\n.type __errno_location,@function\n__errno_location: jmp __errno@PLT\n.globl __assert_fail\n.type __assert_fail,@function\n__assert_fail: jmp abort@PLT\n' >"$src" ;;
  esac
  llvm-mc -triple="$target" -filetype=obj -o "$obj" "$src"
}

link() { # link <target> <stub dir> <shim object>
  local target=$1 upper
  upper=$(tr 'a-z-' 'A-Z_' <<<"$target")
  # ring (HTTPS model downloads) compiles C/assembly for the target: Debian's clang in ring's
  # no-sysroot mode, as in scripts/test.sh (the NDK's clang does it in real builds).
  env "CC_${target//-/_}=clang" "AR_${target//-/_}=llvm-ar" \
    "CFLAGS_${target//-/_}=-nostdlibinc -DRING_CORE_NOSTDLIBINC=1 -D__MM_MALLOC_H" \
    "CARGO_TARGET_${upper}_LINKER=$LLD" \
    "CARGO_TARGET_${upper}_RUSTFLAGS=-C linker-flavor=ld.lld -L native=$2 -C link-arg=$3 -C link-arg=-zmax-page-size=16384 -C link-arg=--soname=libflorence2_sdk.so" \
    cargo build --locked -q -p florence2-sdk --lib --profile "$PROFILE" --target "$target" --target-dir "$TARGET_DIR"
}

undefined_symbols() {
  "$READELF" --dyn-syms -W "$1" | awk '$7 == "UND" && NF >= 8 { n = $8; sub(/@.*/, "", n); print n }' | sort -u
}

declare -A ABI=([aarch64-linux-android]=arm64-v8a [x86_64-linux-android]=x86_64)
mkdir -p "$WORK/aar/jni"
for target in aarch64-linux-android x86_64-linux-android; do
  abi=${ABI[$target]}
  echo "==> $target ($abi), profile $PROFILE"
  stubs=$WORK/$target/stubs
  mkdir -p "$stubs"
  : >"$WORK/$target/syms"
  shims "$target" "$WORK/$target/shims.o"
  mkstubs "$target" "$stubs" "$WORK/$target/syms"
  so=$TARGET_DIR/$target/$PROFILE_DIR/libflorence2_sdk.so
  link "$target" "$stubs" "$WORK/$target/shims.o"
  undefined_symbols "$so" >"$WORK/$target/syms"
  mkstubs "$target" "$stubs" "$WORK/$target/syms"
  # Relink against the complete stubs: cargo does not track the stub files, but a missing output
  # makes it rerun rustc for florence2-sdk alone.
  rm -f "$so" "$TARGET_DIR/$target/$PROFILE_DIR/deps/libflorence2_sdk.so"
  link "$target" "$stubs" "$WORK/$target/shims.o"
  undefined_symbols "$so" >"$WORK/$target/syms.final"
  cat "$stubs"/src/*.s | sed -n 's/^\.globl //p' | sort -u >"$WORK/$target/stubbed"
  unresolved=$(comm -23 "$WORK/$target/syms.final" <(sort -u "$WORK/$target/stubbed" <(grep -E '^(_Unwind_|__unw_)' "$WORK/$target/syms.final" || true)))
  [ -z "$unresolved" ] && pass "$abi: every import resolved by the stubs" || fail "$abi: imports not stubbed: $unresolved"

  needed=$("$READELF" -dW "$so" | sed -n 's/.*(NEEDED).*\[\(.*\)\].*/\1/p' | tr '\n' ' ')
  bad=""
  for lib in $needed; do [[ " libc.so libm.so libdl.so liblog.so " == *" $lib "* ]] || bad+=" $lib"; done
  [ -z "$bad" ] && pass "$abi: NEEDED $needed" || fail "$abi: NEEDED has$bad"

  unzip -p "$ORT_AAR" "jni/$abi/libonnxruntime.so" >"$WORK/$target/libonnxruntime.so"
  undefined_symbols "$WORK/$target/libonnxruntime.so" >"$WORK/$target/ort-imports"
  foreign=""
  while read -r s; do
    grep -qx "$s" "$WORK/$target/ort-imports" && continue
    [[ $BIONIC_EXTRA == *" $s "* || $BIONIC_EXTRA == *" $s"$'\n'* ]] && continue
    [[ $s == _Unwind_* ]] && continue
    foreign+=" $s"
  done <"$WORK/$target/syms.final"
  count=$(wc -l <"$WORK/$target/syms.final")
  [ -z "$foreign" ] && pass "$abi: all $count imports are bionic symbols (imported by ONNX Runtime's NDK build or reviewed)" ||
    fail "$abi: imports not known to be in bionic:$foreign"

  mkdir -p "$WORK/aar/jni/$abi"
  llvm-strip-14 -o "$WORK/aar/jni/$abi/libflorence2_sdk.so" "$so" 2>/dev/null ||
    llvm-strip -o "$WORK/aar/jni/$abi/libflorence2_sdk.so" "$so"
  printf '  size: %s unstripped, %s stripped\n' "$(du -h "$so" | cut -f1)" "$(du -h "$WORK/aar/jni/$abi/libflorence2_sdk.so" | cut -f1)"
done

echo "==> layout-only AAR (classes.jar from kotlinc; not built by Gradle)"
"$KOTLINC" -nowarn -cp "$JNA:$KT_LIB/kotlinx-coroutines-core-jvm.jar" -d "$WORK/classes.jar" \
  bindings/kotlin/generated/ai/florence2/*.kt bindings/kotlin/src/ai/florence2/*.kt
cp "$WORK/classes.jar" "$WORK/aar/classes.jar"
cp bindings/android/src/main/AndroidManifest.xml "$WORK/aar/AndroidManifest.xml"
cp bindings/android/consumer-rules.pro "$WORK/aar/proguard.txt"
rm -f "$WORK/florence2-android-layout.aar"
(cd "$WORK/aar" && zip -qr "$WORK/florence2-android-layout.aar" AndroidManifest.xml classes.jar proguard.txt jni)
if tests/android/check-aar-layout.sh --abis arm64-v8a,x86_64 "$WORK/florence2-android-layout.aar"; then
  pass "layout-only AAR: $WORK/florence2-android-layout.aar"
else
  fail "layout-only AAR failed check-aar-layout.sh"
fi
[ "$KEEP" -eq 1 ] || rm -rf "$WORK/aar" "$WORK/classes.jar"

if [ "$FAILURES" -ne 0 ]; then
  echo "link-check: $FAILURES check(s) failed (link-only; nothing was run on Android)"
  exit 1
fi
echo "link-check: linked and checked for arm64-v8a and x86_64 (link-only; nothing was run on Android)"
