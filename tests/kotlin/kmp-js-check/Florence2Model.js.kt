// Test harness only (never shipped): a non-JVM `actual` of the KMP common API, so that
// tests/kotlin/run.sh can compile bindings/kmp/src/commonMain with the Kotlin/JS compiler, which has
// no java.* classes. It proves that commonMain uses no JVM API, as a real iOS or JS target would need.
package ai.florence2.kmp

actual class Florence2Model private constructor() : AutoCloseable {
    actual companion object {
        actual suspend fun load(modelDir: String, settings: LoadSettings): Florence2Model =
            throw Florence2Error(ErrorKind.RUNTIME_UNAVAILABLE, "no Florence-2 runtime on this platform")
    }

    actual suspend fun run(
        picture: Picture,
        task: VisionTask,
        text: String?,
        region: Box?,
        settings: CallSettings?,
    ): VisionResult = throw Florence2Error(ErrorKind.CLOSED, "unreachable: load always fails here")

    actual override fun close() {}
}
