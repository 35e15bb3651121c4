// The Kotlin API of florence2-mobile: a hand-written façade over the generated bindings
// (bindings/kotlin/generated, class Florence2Engine). It only adapts shapes: default arguments,
// suspend functions, Flows, Java futures. Every check and all logic live in Rust.
package ai.florence2

import java.util.concurrent.CompletableFuture
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.channels.trySendBlocking
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.callbackFlow
import kotlinx.coroutines.future.future

/**
 * A loaded Florence-2 model: one model, every task (captions, detection, OCR with regions,
 * grounding, segmentation).
 *
 * ```kotlin
 * val model = Florence2.create("/path/to/model")          // suspends while it loads
 * val caption = model.caption(ImageInput.FilePath("photo.jpg")).outputText
 * val objects = model.detectObjects(image).objects          // List<LabeledBox>: label, bounds
 * val beams = model.run(image, Task.CAPTION, options = RunOptions(numBeams = 3))
 * model.close()
 * ```
 *
 * Thread-safe: calls from several coroutines share the model (a call's vision encoder overlaps
 * another call's decoding). Cancelling a coroutine cancels its call within one decoder step.
 * Failures are [Florence2Exception] subclasses; after [close], every call throws
 * [Florence2Exception.Closed].
 *
 * Java: the `…Async` methods return a [CompletableFuture].
 */
class Florence2 private constructor(
    /** The generated engine this façade drives (the same calls, one request record). */
    val engine: Florence2Engine,
) : AutoCloseable {
    companion object {
        /**
         * Loads the model folder [modelDir] (`config.json`, `tokenizer.json`, `onnx/…`) off the
         * caller's thread. [options] set the precision, threads, execution provider and the
         * decoding defaults (each call can override them with [RunOptions]).
         *
         * @throws Florence2Exception.ModelLoad for a missing, incomplete or inconsistent folder,
         *   [Florence2Exception.RuntimeUnavailable] if ONNX Runtime cannot be loaded,
         *   [Florence2Exception.InvalidInput] for options the model cannot honour.
         */
        suspend fun create(modelDir: String, options: Florence2Options = Florence2Options()): Florence2 =
            Florence2(Florence2Engine.create(modelDir, options))

        /** [create] for Java: completes with the model or fails with its [Florence2Exception]. */
        @JvmStatic
        @JvmOverloads
        fun createAsync(modelDir: String, options: Florence2Options = Florence2Options()): CompletableFuture<Florence2> =
            javaScope.future { create(modelDir, options) }

        /** Wraps an engine made elsewhere (e.g. by [Florence2Downloads.open]). */
        @JvmStatic
        fun wrap(engine: Florence2Engine): Florence2 = Florence2(engine)

        /** Where Java futures run: Rust does the work on its own threads; this only awaits it. */
        private val javaScope = CoroutineScope(SupervisorJob() + Dispatchers.Default)
    }

    /**
     * Runs [task] on [image]. [text] is the task's text input (grounding phrase, referring
     * expression, …) and [region] its region (region tasks); [options] override the model's
     * decoding defaults for this call.
     *
     * Every check that needs no pixels (missing text, bad region, impossible options) fails
     * before the image is decoded or the vision encoder runs.
     *
     * @throws Florence2Exception.InvalidInput for a bad image, text or option,
     *   [Florence2Exception.Inference], [Florence2Exception.Cancelled],
     *   [Florence2Exception.Closed].
     */
    suspend fun run(
        image: ImageInput,
        task: Task,
        text: String? = null,
        region: BoundingBox? = null,
        options: RunOptions? = null,
    ): TaskResult = engine.run(image, TaskRequest(task, text, region, options), null)

    /** Like [run] on an image encoded once with [encode] (no preprocessing, no vision encoder). */
    suspend fun run(
        image: EncodedImage,
        task: Task,
        text: String? = null,
        region: BoundingBox? = null,
        options: RunOptions? = null,
    ): TaskResult = engine.runEncoded(image, TaskRequest(task, text, region, options), null)

    /**
     * Runs the vision encoder once, for several tasks on the same image ([run] with the result).
     * [options] only select the resize mode.
     */
    suspend fun encode(image: ImageInput, options: RunOptions? = null): EncodedImage = engine.encode(image, options)

    /**
     * Runs [task] on every image, results in input order; the next image is encoded while the
     * current one decodes. The request is checked before the first image is touched.
     *
     * @throws Florence2Exception for the first image that fails (its message names the index).
     */
    suspend fun runBatch(
        images: List<ImageInput>,
        task: Task,
        text: String? = null,
        region: BoundingBox? = null,
        options: RunOptions? = null,
    ): List<TaskResult> = engine.runBatch(images, TaskRequest(task, text, region, options))

    /**
     * Streams [task] on [image]: a [StreamEvent.Token] with the text so far after every token,
     * then one [StreamEvent.Done] with the structured result; the flow then completes (or fails
     * with the call's [Florence2Exception]).
     *
     * Cancelling the collector (or an operator such as `takeWhile`) cancels the call within one
     * decoder step. Emissions are not dropped: a slow collector slows generation down.
     */
    fun stream(
        image: ImageInput,
        task: Task,
        text: String? = null,
        region: BoundingBox? = null,
        options: RunOptions? = null,
    ): Flow<StreamEvent> = streaming { listener -> engine.run(image, TaskRequest(task, text, region, options), listener) }

    /** Like [stream] on an image encoded once with [encode]. */
    fun stream(
        image: EncodedImage,
        task: Task,
        text: String? = null,
        region: BoundingBox? = null,
        options: RunOptions? = null,
    ): Flow<StreamEvent> =
        streaming { listener -> engine.runEncoded(image, TaskRequest(task, text, region, options), listener) }

    /**
     * Starts a live session for camera frames (like MediaPipe's `LIVE_STREAM`): [Florence2Live.submit]
     * frames at camera rate; while the model is busy only the newest frame waits, older ones are
     * dropped and counted; [Florence2Live.results] emits each result with its frame's timestamp.
     * Use `RunOptions(resizeMode = ResizeMode.FAST)` for camera frames. Close the session when done.
     *
     * @throws Florence2Exception.InvalidInput for a bad request (checked here, once),
     *   [Florence2Exception.Closed].
     */
    fun live(
        task: Task,
        text: String? = null,
        region: BoundingBox? = null,
        options: RunOptions? = null,
    ): Florence2Live = Florence2Live.start(engine, TaskRequest(task, text, region, options))

    /** `<CAPTION>`: a one-sentence caption ([outputText]). */
    suspend fun caption(image: ImageInput, options: RunOptions? = null): TaskResult =
        run(image, Task.CAPTION, options = options)

    /** `<DETAILED_CAPTION>` ([outputText]). */
    suspend fun detailedCaption(image: ImageInput, options: RunOptions? = null): TaskResult =
        run(image, Task.DETAILED_CAPTION, options = options)

    /** `<MORE_DETAILED_CAPTION>` ([outputText]). */
    suspend fun moreDetailedCaption(image: ImageInput, options: RunOptions? = null): TaskResult =
        run(image, Task.MORE_DETAILED_CAPTION, options = options)

    /** `<OD>`: each object with its label and box ([objects]). */
    suspend fun detectObjects(image: ImageInput, options: RunOptions? = null): TaskResult =
        run(image, Task.OBJECT_DETECTION, options = options)

    /** `<DENSE_REGION_CAPTION>`: regions with a caption each ([objects]). */
    suspend fun denseRegionCaption(image: ImageInput, options: RunOptions? = null): TaskResult =
        run(image, Task.DENSE_REGION_CAPTION, options = options)

    /** `<REGION_PROPOSAL>`: unlabelled regions ([objects]). */
    suspend fun proposeRegions(image: ImageInput, options: RunOptions? = null): TaskResult =
        run(image, Task.REGION_PROPOSAL, options = options)

    /** `<OCR>`: the text in the image ([outputText]). */
    suspend fun ocr(image: ImageInput, options: RunOptions? = null): TaskResult =
        run(image, Task.OCR, options = options)

    /** `<OCR_WITH_REGION>`: each line of text with its quadrilateral ([lines]). */
    suspend fun ocrWithRegions(image: ImageInput, options: RunOptions? = null): TaskResult =
        run(image, Task.OCR_WITH_REGION, options = options)

    /** `<CAPTION_TO_PHRASE_GROUNDING>`: the boxes of the phrases of [caption] ([objects]). */
    suspend fun groundPhrases(image: ImageInput, caption: String, options: RunOptions? = null): TaskResult =
        run(image, Task.CAPTION_TO_PHRASE_GROUNDING, text = caption, options = options)

    /** `<REFERRING_EXPRESSION_SEGMENTATION>`: the mask of what [expression] describes ([masks]). */
    suspend fun segment(image: ImageInput, expression: String, options: RunOptions? = null): TaskResult =
        run(image, Task.REFERRING_EXPRESSION_SEGMENTATION, text = expression, options = options)

    /** `<OPEN_VOCABULARY_DETECTION>`: the boxes (or masks) of [phrase] ([objects], [masks]). */
    suspend fun detectOpenVocabulary(image: ImageInput, phrase: String, options: RunOptions? = null): TaskResult =
        run(image, Task.OPEN_VOCABULARY_DETECTION, text = phrase, options = options)

    /** `<REGION_TO_SEGMENTATION>`: the mask of the object in [region] ([masks]). */
    suspend fun segmentRegion(image: ImageInput, region: BoundingBox, options: RunOptions? = null): TaskResult =
        run(image, Task.REGION_TO_SEGMENTATION, region = region, options = options)

    /** `<REGION_TO_CATEGORY>`: the category of [region] ([outputText]). */
    suspend fun classifyRegion(image: ImageInput, region: BoundingBox, options: RunOptions? = null): TaskResult =
        run(image, Task.REGION_TO_CATEGORY, region = region, options = options)

    /** `<REGION_TO_DESCRIPTION>`: a description of [region] ([outputText]). */
    suspend fun describeRegion(image: ImageInput, region: BoundingBox, options: RunOptions? = null): TaskResult =
        run(image, Task.REGION_TO_DESCRIPTION, region = region, options = options)

    /** `<REGION_TO_OCR>`: the text in [region] ([outputText]). */
    suspend fun ocrRegion(image: ImageInput, region: BoundingBox, options: RunOptions? = null): TaskResult =
        run(image, Task.REGION_TO_OCR, region = region, options = options)

    /** [run] for Java. */
    @JvmOverloads
    fun runAsync(
        image: ImageInput,
        task: Task,
        text: String? = null,
        region: BoundingBox? = null,
        options: RunOptions? = null,
    ): CompletableFuture<TaskResult> = javaScope.future { run(image, task, text, region, options) }

    /** [runBatch] for Java. */
    @JvmOverloads
    fun runBatchAsync(
        images: List<ImageInput>,
        task: Task,
        text: String? = null,
        region: BoundingBox? = null,
        options: RunOptions? = null,
    ): CompletableFuture<List<TaskResult>> = javaScope.future { runBatch(images, task, text, region, options) }

    /** [encode] for Java. */
    @JvmOverloads
    fun encodeAsync(image: ImageInput, options: RunOptions? = null): CompletableFuture<EncodedImage> =
        javaScope.future { encode(image, options) }

    /**
     * The execution provider each graph runs on, in pipeline order (vision encoder, token
     * embeddings, text encoder, decoder), with the reason for any fallback to the CPU.
     */
    fun executionProviders(): List<SessionProvider> = engine.executionProviders()

    /** Whether [close] has been called. */
    val isClosed: Boolean
        get() = engine.isUnloaded()

    /**
     * Releases the model: calls in flight finish normally, its memory is freed when the last
     * one ends, and every later call throws [Florence2Exception.Closed]. Idempotent.
     */
    override fun close() = engine.unload()

    private fun streaming(call: suspend (TokenListener) -> TaskResult): Flow<StreamEvent> = callbackFlow {
        val listener = object : TokenListener {
            // Called on a Rust worker thread, so blocking here is fine; false cancels the call
            // once the collector has gone away.
            override fun onToken(textSoFar: String, tokenId: Int): Boolean =
                trySendBlocking(StreamEvent.Token(textSoFar, tokenId)).isSuccess
        }
        send(StreamEvent.Done(call(listener)))
        channel.close()
        awaitClose()
    }
}

/** What [Florence2.stream] emits. */
sealed interface StreamEvent {
    /** The generated text so far (special tokens kept) after token [tokenId]. */
    data class Token(val textSoFar: String, val tokenId: Int) : StreamEvent

    /** The end: the structured result, as [Florence2.run] returns it. */
    data class Done(val result: TaskResult) : StreamEvent
}

/** The text of a text result (captions, OCR, region category/description/OCR), else `null`. */
val TaskResult.outputText: String?
    get() = (output as? TaskOutput.Text)?.text

/** The labelled boxes of a box result (detection, grounding, dense regions, proposals), else empty. */
val TaskResult.objects: List<LabeledBox>
    get() = when (val o = output) {
        is TaskOutput.Boxes -> o.objects
        is TaskOutput.Mixed -> o.objects
        else -> emptyList()
    }

/** The text lines of an `<OCR_WITH_REGION>` result, else empty. */
val TaskResult.lines: List<TextLine>
    get() = (output as? TaskOutput.Quads)?.lines ?: emptyList()

/** The masks of a segmentation result, else empty. */
val TaskResult.masks: List<LabeledMask>
    get() = when (val o = output) {
        is TaskOutput.Polygons -> o.masks
        is TaskOutput.Mixed -> o.masks
        else -> emptyList()
    }

