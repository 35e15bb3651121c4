// The platform-neutral Florence-2 API for Kotlin Multiplatform shared code (commonMain).
//
// Everything here is plain Kotlin: no JNA, no java.*, so a shared module's commonMain can use it.
// The platforms supply `Florence2Model` as an `actual` class: Android and the desktop JVM drive the
// Rust engine through the UniFFI bindings (src/jvmAndAndroidMain). There is no iOS/Kotlin-Native
// actual today: see bindings/kmp/README.md.
package ai.florence2.kmp

/** The Florence-2 tasks, with the prompt token each one sends to the model. */
enum class VisionTask(
    /** The task token, e.g. `<OD>`. */
    val token: String,
    /** Whether the task needs a text input (a phrase or an expression). */
    val needsText: Boolean = false,
    /** Whether the task needs a region of the image. */
    val needsRegion: Boolean = false,
) {
    /** A one-sentence caption. */
    CAPTION("<CAPTION>"),
    /** A longer caption. */
    DETAILED_CAPTION("<DETAILED_CAPTION>"),
    /** A paragraph-long caption. */
    MORE_DETAILED_CAPTION("<MORE_DETAILED_CAPTION>"),
    /** The text in the image. */
    OCR("<OCR>"),
    /** Each line of text with the quadrilateral around it. */
    OCR_WITH_REGION("<OCR_WITH_REGION>"),
    /** Objects with labels and boxes. */
    OBJECT_DETECTION("<OD>"),
    /** Regions with a caption each. */
    DENSE_REGION_CAPTION("<DENSE_REGION_CAPTION>"),
    /** Boxes of salient regions, unlabelled. */
    REGION_PROPOSAL("<REGION_PROPOSAL>"),
    /** The boxes of the phrases of a caption given as text. */
    CAPTION_TO_PHRASE_GROUNDING("<CAPTION_TO_PHRASE_GROUNDING>", needsText = true),
    /** The mask of the object an expression given as text refers to. */
    REFERRING_EXPRESSION_SEGMENTATION("<REFERRING_EXPRESSION_SEGMENTATION>", needsText = true),
    /** The mask of the object in a region. */
    REGION_TO_SEGMENTATION("<REGION_TO_SEGMENTATION>", needsRegion = true),
    /** The boxes of the objects a phrase given as text names. */
    OPEN_VOCABULARY_DETECTION("<OPEN_VOCABULARY_DETECTION>", needsText = true),
    /** The category of a region. */
    REGION_TO_CATEGORY("<REGION_TO_CATEGORY>", needsRegion = true),
    /** A description of a region. */
    REGION_TO_DESCRIPTION("<REGION_TO_DESCRIPTION>", needsRegion = true),
    /** The text in a region. */
    REGION_TO_OCR("<REGION_TO_OCR>", needsRegion = true),
}

/** An image to run a task on. */
sealed class Picture {
    /** A PNG or JPEG file's bytes (EXIF orientation applied). */
    class EncodedBytes(
        /** The file's bytes. */
        val bytes: ByteArray,
    ) : Picture()

    /** A PNG or JPEG file on disk. */
    data class FilePath(
        /** Its path. */
        val path: String,
    ) : Picture()

    /**
     * 8-bit R, G, B, A bytes per pixel (an Android `ARGB_8888` bitmap copied with
     * `copyPixelsToBuffer`), rows [rowStride] bytes apart.
     */
    class Rgba(
        /** The pixels. */
        val bytes: ByteArray,
        /** Width in pixels. */
        val width: Int,
        /** Height in pixels. */
        val height: Int,
        /** Bytes from one row to the next (at least `4 * width`). */
        val rowStride: Int,
    ) : Picture()
}

/** A point in pixels of the original image. */
data class Point(
    /** Horizontal coordinate. */
    val x: Double,
    /** Vertical coordinate. */
    val y: Double,
)

/** An axis-aligned box in pixels of the original image: ([x1], [y1]) top-left, ([x2], [y2]) bottom-right. */
data class Box(
    /** Left edge. */
    val x1: Double,
    /** Top edge. */
    val y1: Double,
    /** Right edge. */
    val x2: Double,
    /** Bottom edge. */
    val y2: Double,
)

/** One detected (or grounded) object. */
data class Detection(
    /** Its label (empty for region proposals). */
    val label: String,
    /** Its box. */
    val box: Box,
)

/** One line of text and the quadrilateral around it (four corners, clockwise from top-left). */
data class TextRegion(
    /** The text. */
    val text: String,
    /** The corners. */
    val quad: List<Point>,
)

/** The mask of one object: one or more closed polygons. */
data class Mask(
    /** Its label (the expression, or empty). */
    val label: String,
    /** The polygons. */
    val polygons: List<List<Point>>,
)

/** Everything one task call produced. Lists a task does not fill are empty. */
data class VisionResult(
    /** The task that ran. */
    val task: VisionTask,
    /** The text of a caption, OCR or region-text task; `null` for the other tasks. */
    val text: String?,
    /** Boxes with labels: detection, dense captions, proposals, grounding. */
    val detections: List<Detection>,
    /** Lines of text with their quadrilaterals (`OCR_WITH_REGION`). */
    val textRegions: List<TextRegion>,
    /** Masks (segmentation tasks). */
    val masks: List<Mask>,
    /** The generated text with special tokens kept. */
    val rawText: String,
    /** The generated token ids, starting with the decoder start token. */
    val generatedIds: List<Int>,
)

/** How to load a model. The defaults are sensible: CPU, one thread per core, the model's decoding settings. */
data class LoadSettings(
    /** Intra-op threads per graph; 0 lets ONNX Runtime choose. */
    val threads: Int = 0,
    /** Default token limit of every call (`null`: the model's). */
    val maxNewTokens: Int? = null,
    /** Default beam width of every call (`null`: the model's, 3 for Florence-2; 1 is greedy). */
    val numBeams: Int? = null,
    /** Load the int8 graphs (`*_int8.onnx`) instead of float32: about a quarter of the memory. */
    val int8: Boolean = false,
)

/** Settings of one call; `null` keeps the model's. */
data class CallSettings(
    /** Tokens to generate at most. */
    val maxNewTokens: Int? = null,
    /** Beam width (1: greedy, fastest). */
    val numBeams: Int? = null,
    /**
     * `true`: the camera fast resize (bilinear, not bit-exact with transformers); `false` or `null`:
     * the reference resize, exact with transformers.
     */
    val fastResize: Boolean? = null,
)

/** What went wrong, by what the app should do about it. */
enum class ErrorKind {
    /** The call's input (image, text, region, option) is bad: fix the input; retrying will not help. */
    INVALID_INPUT,
    /** The model folder is missing, incomplete or inconsistent: fix or re-download the model. */
    MODEL_LOAD,
    /** ONNX Runtime or the requested accelerator cannot be used on this device. */
    RUNTIME_UNAVAILABLE,
    /** The model failed while running (bad model output, runtime failure). */
    INFERENCE,
    /** The call was cancelled. */
    CANCELLED,
    /** The model was closed before the call. */
    CLOSED,
    /** Anything else (a bug: please report it with the message). */
    INTERNAL,
}

/** The one exception type of this API: [kind] says what to do, [message] names the problem. */
class Florence2Error(
    /** What the app should do about it. */
    val kind: ErrorKind,
    message: String,
    cause: Throwable? = null,
) : Exception(message, cause)

/**
 * A loaded Florence-2 model: one model, every task. Thread-safe; close it when done.
 *
 * ```kotlin
 * val model = Florence2Model.load("/path/to/model")
 * val objects = model.run(Picture.FilePath("photo.jpg"), VisionTask.OBJECT_DETECTION).detections
 * model.close()
 * ```
 *
 * Failures are [Florence2Error]s; cancelling the calling coroutine cancels the call within one
 * decoder step.
 */
expect class Florence2Model : AutoCloseable {
    /** Loading. */
    companion object {
        /**
         * Loads the model folder [modelDir] (`config.json`, `tokenizer.json`, `onnx/…`) off the
         * caller's thread.
         *
         * @throws Florence2Error with [ErrorKind.MODEL_LOAD] for a bad folder,
         *   [ErrorKind.RUNTIME_UNAVAILABLE] if ONNX Runtime cannot be loaded.
         */
        suspend fun load(modelDir: String, settings: LoadSettings = LoadSettings()): Florence2Model
    }

    /**
     * Runs [task] on [picture]; [text] and [region] are the task's inputs where it needs them
     * ([VisionTask.needsText], [VisionTask.needsRegion]). Inputs are checked before any model runs.
     *
     * @throws Florence2Error
     */
    suspend fun run(
        picture: Picture,
        task: VisionTask,
        text: String? = null,
        region: Box? = null,
        settings: CallSettings? = null,
    ): VisionResult

    /** Releases the model; later calls fail with [ErrorKind.CLOSED]. Idempotent. */
    override fun close()
}
