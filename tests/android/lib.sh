# Shared helpers of the tests/android checks (sourced). ELF inspection with $READELF if set (e.g.
# the NDK's llvm-readelf, as scripts/build-android.sh passes), else GNU readelf (any architecture)
# or llvm-readelf (macOS has no readelf).
READELF=${READELF:-$(command -v readelf || command -v llvm-readelf || true)}
[ -n "$READELF" ] || { echo "tests/android: readelf (binutils) or llvm-readelf is needed" >&2; exit 2; }

FAILURES=0
fail() { printf '  FAIL: %s\n' "$*"; FAILURES=$((FAILURES + 1)); }
pass() { printf '  ok:   %s\n' "$*"; }

# The ELF machine name readelf prints for an Android ABI.
abi_machine() {
  case $1 in
    arm64-v8a) echo AArch64 ;;
    armeabi-v7a) echo ARM ;;
    x86_64) echo "Advanced Micro Devices X86-64" ;;
    x86) echo "Intel 80386" ;;
    *) echo "unknown ABI $1" >&2; return 1 ;;
  esac
}

elf_machine() { "$READELF" -h "$1" | sed -n 's/^ *Machine: *//p'; }

# Smallest p_align of the PT_LOAD segments, in bytes.
min_load_align() {
  local min="" a
  for a in $("$READELF" -lW "$1" | awk '$1 == "LOAD" { print $NF }'); do
    a=$((a)) # hex (0x4000) to decimal
    if [ -z "$min" ] || [ "$a" -lt "$min" ]; then min=$a; fi
  done
  echo "${min:-0}"
}

# `name version` of every defined (exported) dynamic symbol; version empty when unversioned.
exported_symbols() {
  "$READELF" --dyn-syms -W "$1" | awk '$7 != "UND" && ($5 == "GLOBAL" || $5 == "WEAK") && NF >= 8 {
    n = $8; v = ""; i = index(n, "@"); if (i) { v = substr(n, i); sub(/^@+/, "", v); n = substr(n, 1, i - 1) }
    print n, v }'
}

# The C API level ort is built for: `api-NN` in the root Cargo.toml's ort features.
ort_api_level() {
  sed -n 's/^ort = .*"api-\([0-9][0-9]*\)".*/\1/p' "$ROOT/Cargo.toml" | head -n1
}

# A [versions] entry of bindings/android/gradle/libs.versions.toml.
catalog_version() {
  sed -n "s/^$1 *= *\"\([^\"]*\)\".*/\1/p" "$ROOT/bindings/android/gradle/libs.versions.toml" | head -n1
}
