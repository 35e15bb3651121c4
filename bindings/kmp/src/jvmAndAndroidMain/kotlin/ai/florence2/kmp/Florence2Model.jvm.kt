// The Android and desktop-JVM actual of the common API: maps its plain types onto the Kotlin
// façade (ai.florence2.Florence2) over the UniFFI bindings. Shapes only: every check and all
// logic live in Rust.
package ai.florence2.kmp

import ai.florence2.BoundingBox
import ai.florence2.Florence2
import ai.florence2.Florence2Exception
import ai.florence2.Florence2Options
import ai.florence2.ImageInput
import ai.florence2.Precision
import ai.florence2.PrecisionPlan
import ai.florence2.ResizeMode
import ai.florence2.RunOptions
import ai.florence2.Task
import ai.florence2.TaskOutput
import ai.florence2.TaskResult

/** The JVM/Android Florence-2 model: see the common declaration. */
actual class Florence2Model private constructor(
    private val model: Florence2,
) : AutoCloseable {
    /** Loading. */
    actual companion object {
        /** Loads [modelDir]: see the common declaration. */
        actual suspend fun load(modelDir: String, settings: LoadSettings): Florence2Model {
            val int8 = if (settings.int8) Precision.INT8 else null
            val options = Florence2Options(
                precision = PrecisionPlan(int8, int8, int8, int8),
                threads = settings.threads,
                maxNewTokens = settings.maxNewTokens,
                numBeams = settings.numBeams,
            )
            return Florence2Model(translated { Florence2.create(modelDir, options) })
        }
    }

    /** Runs [task] on [picture]: see the common declaration. */
    actual suspend fun run(
        picture: Picture,
        task: VisionTask,
        text: String?,
        region: Box?,
        settings: CallSettings?,
    ): VisionResult {
        val options = settings?.let {
            RunOptions(
                maxNewTokens = it.maxNewTokens,
                numBeams = it.numBeams,
                resizeMode = it.fastResize?.let { fast -> if (fast) ResizeMode.FAST else ResizeMode.REFERENCE },
            )
        }
        val bounds = region?.let { BoundingBox(it.x1, it.y1, it.x2, it.y2) }
        val result = translated { model.run(picture.toImageInput(), Task.valueOf(task.name), text, bounds, options) }
        return result.toVisionResult(task)
    }

    /** Releases the model: see the common declaration. */
    actual override fun close() = model.close()
}

private fun Picture.toImageInput(): ImageInput = when (this) {
    is Picture.EncodedBytes -> ImageInput.EncodedBytes(bytes)
    is Picture.FilePath -> ImageInput.FilePath(path)
    is Picture.Rgba -> ImageInput.Rgba(bytes, width, height, rowStride)
}

private fun ai.florence2.Point.common() = Point(x, y)

private fun ai.florence2.LabeledBox.common() = Detection(label, Box(bounds.x1, bounds.y1, bounds.x2, bounds.y2))

private fun ai.florence2.LabeledMask.common() = Mask(label, mask.polygons.map { polygon -> polygon.points.map { it.common() } })

private fun TaskResult.toVisionResult(task: VisionTask): VisionResult {
    val out = output
    return VisionResult(
        task = task,
        text = (out as? TaskOutput.Text)?.text,
        detections = when (out) {
            is TaskOutput.Boxes -> out.objects.map { it.common() }
            is TaskOutput.Mixed -> out.objects.map { it.common() }
            else -> emptyList()
        },
        textRegions = (out as? TaskOutput.Quads)?.lines.orEmpty().map { line ->
            TextRegion(line.text, line.quad.points.map { it.common() })
        },
        masks = when (out) {
            is TaskOutput.Polygons -> out.masks.map { it.common() }
            is TaskOutput.Mixed -> out.masks.map { it.common() }
            else -> emptyList()
        },
        rawText = text,
        generatedIds = generatedIds,
    )
}

/** The one mapping point from the SDK's exceptions to the common [Florence2Error]. */
private inline fun <T> translated(call: () -> T): T = try {
    call()
} catch (e: Florence2Exception) {
    val kind = when (e) {
        is Florence2Exception.InvalidInput -> ErrorKind.INVALID_INPUT
        is Florence2Exception.ModelLoad, is Florence2Exception.ModelFault -> ErrorKind.MODEL_LOAD
        is Florence2Exception.RuntimeUnavailable,
        is Florence2Exception.ExecutionProviderUnavailable -> ErrorKind.RUNTIME_UNAVAILABLE
        is Florence2Exception.Inference, is Florence2Exception.ListenerFailed -> ErrorKind.INFERENCE
        is Florence2Exception.Cancelled -> ErrorKind.CANCELLED
        is Florence2Exception.Closed -> ErrorKind.CLOSED
        else -> ErrorKind.INTERNAL
    }
    throw Florence2Error(kind, e.message ?: e.toString(), e)
}
