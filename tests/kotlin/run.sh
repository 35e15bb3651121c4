#!/usr/bin/env bash
# The Kotlin/JVM tests: build the SDK cdylib (and the CLI the tests compare against), check the
# committed bindings are up to date, compile generated + façade + example + tests (+ the docs' snippets,
# the AAR's Android helper and the camera sample's non-Android code, against stubs) in ONE kotlinc call, run.
# Called by scripts/test.sh (step "kotlin tests"); needs scripts/setup.sh (kotlinc, JNA).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
KOTLIN_HOME=${KOTLIN_HOME:-$ROOT/.cache/kotlin/kotlinc}
KT=$KOTLIN_HOME/lib
JNA=${JNA_JAR:-/usr/share/java/jna.jar}
for f in "$KOTLIN_HOME/bin/kotlinc-jvm" "$JNA" "$KT/kotlinx-coroutines-core-jvm.jar"; do
  [ -e "$f" ] || { echo "missing $f: run scripts/setup.sh" >&2; exit 1; }
done

cargo build --locked -q -p florence2-sdk -p florence2-cli -p uniffi-bindgen
scripts/gen-bindings.sh --check

OUT=target/kotlin-tests
mkdir -p "$OUT"
# The docs' Kotlin snippets, compiled with everything else (they must build against this API).
scripts/kotlin-snippets.sh "$OUT/Snippets.kt"
CP=$JNA:$KT/kotlinx-coroutines-core-jvm.jar:$KT/kotlin-test.jar
t0=$(date +%s)
# -nowarn: the generated code has unused-variable warnings we do not own.
"$KOTLIN_HOME/bin/kotlinc-jvm" -nowarn -cp "$CP" -d "$OUT/tests.jar" \
  bindings/kotlin/generated/ai/florence2/*.kt bindings/kotlin/src/ai/florence2/*.kt examples/kotlin/*.kt tests/kotlin/*.kt \
  `# the AAR's Android helper and the CameraX sample's non-Android Kotlin, against Android stubs:` \
  bindings/android/src/main/kotlin/ai/florence2/*.kt examples/android/app/src/main/kotlin/ai/florence2/camera/LiveDetection.kt \
  $(find tests/kotlin/android-stubs -name '*.kt') tests/kotlin/snippets/Prelude.kt "$OUT/Snippets.kt"
echo "kotlinc: $(($(date +%s) - t0))s"
# The SDK finds ONNX Runtime through ORT_DYLIB_PATH (the libraries compile in no path of this machine).
ORT_DYLIB_PATH=${ORT_DYLIB_PATH:-$ROOT/.cache/onnxruntime/libonnxruntime.so} \
  java -Djna.library.path="$ROOT/target/debug" -Dflorence2.root="$ROOT" \
  -cp "$OUT/tests.jar:$KT/kotlin-stdlib.jar:$CP" Florence2TestsKt
