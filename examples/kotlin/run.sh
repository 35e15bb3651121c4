#!/usr/bin/env bash
# Builds the SDK and the Kotlin example, then runs it: run.sh MODEL_DIR TASK IMAGE [TEXT] [--beams N] [--max-new-tokens N]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
KOTLIN_HOME=${KOTLIN_HOME:-$ROOT/.cache/kotlin/kotlinc}
KT=$KOTLIN_HOME/lib
CP=${JNA_JAR:-/usr/share/java/jna.jar}:$KT/kotlinx-coroutines-core-jvm.jar
JAR=$ROOT/target/kotlin-example/example.jar
(cd "$ROOT" && cargo build --locked -q -p florence2-sdk)
if [ ! -f "$JAR" ] || [ -n "$(find "$ROOT/examples/kotlin" "$ROOT/bindings/kotlin" -name '*.kt' -newer "$JAR")" ]; then
  mkdir -p "$(dirname "$JAR")"
  "$KOTLIN_HOME/bin/kotlinc-jvm" -nowarn -cp "$CP" -d "$JAR" \
    "$ROOT"/bindings/kotlin/generated/ai/florence2/*.kt "$ROOT"/bindings/kotlin/src/ai/florence2/*.kt \
    "$ROOT"/examples/kotlin/*.kt
fi
# The SDK finds ONNX Runtime through ORT_DYLIB_PATH (on Android, the library packaged in the app).
export ORT_DYLIB_PATH=${ORT_DYLIB_PATH:-$ROOT/.cache/onnxruntime/libonnxruntime.so}
exec java -Djna.library.path="$ROOT/target/debug" -cp "$JAR:$KT/kotlin-stdlib.jar:$CP" ai.florence2.example.Florence2ExampleKt "$@"
