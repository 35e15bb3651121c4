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
# The KMP module's common API and its JVM/Android actual, compiled as Kotlin Multiplatform does:
# commonMain declared as common sources (no JVM API may leak into it), expect/actual matched.
KMP_COMMON=$(find bindings/kmp/src/commonMain -name '*.kt' | sort)
KMP_ACTUAL=$(find bindings/kmp/src/jvmAndAndroidMain -name '*.kt' | sort)
# commonMain must use no JVM API (an iOS or JS actual could not compile against it): compile it with
# the Kotlin/JS compiler, which has no java.*, beside a test-only JS actual.
# shellcheck disable=SC2086
"$KOTLIN_HOME/bin/kotlinc-js" -Xmetadata-klib -nopack -ir-output-dir "$OUT/kmp-common-js" -ir-output-name kmp-common \
  -libraries "$KT/kotlin-stdlib-js.klib" -Xmulti-platform -Xexpect-actual-classes \
  -Xcommon-sources="$(echo $KMP_COMMON | tr ' ' ',')" $KMP_COMMON tests/kotlin/kmp-js-check/*.kt
# -nowarn: the generated code has unused-variable warnings we do not own.
# shellcheck disable=SC2086 # the KMP file lists are word-split on purpose (paths without spaces)
"$KOTLIN_HOME/bin/kotlinc-jvm" -nowarn -cp "$CP" -d "$OUT/tests.jar" \
  -Xmulti-platform -Xexpect-actual-classes -Xcommon-sources="$(echo $KMP_COMMON | tr ' ' ',')" $KMP_COMMON $KMP_ACTUAL \
  bindings/kotlin/generated/ai/florence2/*.kt bindings/kotlin/src/ai/florence2/*.kt examples/kotlin/*.kt tests/kotlin/*.kt \
  `# the AAR's Android helper and the CameraX sample's non-Android Kotlin, against Android stubs:` \
  bindings/android/src/main/kotlin/ai/florence2/*.kt examples/android/app/src/main/kotlin/ai/florence2/camera/LiveDetection.kt \
  $(find tests/kotlin/android-stubs -name '*.kt') tests/kotlin/snippets/Prelude.kt "$OUT/Snippets.kt"
echo "kotlinc: $(($(date +%s) - t0))s"
# The SDK finds ONNX Runtime through ORT_DYLIB_PATH (the libraries compile in no path of this machine).
ORT_DYLIB_PATH=${ORT_DYLIB_PATH:-$ROOT/.cache/onnxruntime/libonnxruntime.so} \
  java -Djna.library.path="$ROOT/target/debug" -Dflorence2.root="$ROOT" \
  -cp "$OUT/tests.jar:$KT/kotlin-stdlib.jar:$CP" Florence2TestsKt
