// Reliability through the Kotlin API (issue 9), called from main in Florence2Tests.kt, which
// owns the harness (`test`, `assertThrowsSuspend`, MODEL, GREEDY, image()):
//
// - a subset of the bad-input matrix (crates/sdk/tests/bad_input_matrix.rs has all of it) as the
//   typed Kotlin exceptions, each followed by a good call on the same model;
// - a TokenListener that throws stops generation cleanly: the call fails with
//   Florence2Exception.ListenerFailed carrying the exception's text (no panic path), and the JVM and
//   the model live on with unchanged results (crates/sdk/tests/no_panic.rs forces a real Rust panic
//   and checks it arrives as Florence2Exception.Internal);
// - concurrency: 8 coroutines x 50 mixed tasks on one model object, with cancellations and a
//   close() in the middle: no crash, no deadlock (the harness times out at 120 s), every call
//   succeeds with the sequential result or fails with a typed error.
import ai.florence2.*
import java.io.File
import java.nio.file.Files
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.atomic.AtomicInteger
import kotlin.test.*
import kotlinx.coroutines.*

/** A copy of the fixture folder (graphs symlinked) with `edit` applied. */
private fun brokenFolder(edit: (File) -> Unit): File {
    val src = File(MODEL)
    val dir = Files.createTempDirectory("florence2-broken").toFile()
    src.listFiles()!!.filter { it.isFile }.forEach { it.copyTo(File(dir, it.name)) }
    File(dir, "onnx").mkdir()
    File(src, "onnx").listFiles()!!.forEach { Files.createSymbolicLink(File(dir, "onnx/${it.name}").toPath(), it.toPath()) }
    edit(dir)
    return dir
}

/** A mid-grey YUV_420_888 frame with planar chroma unless `pixelStride` is 2. */
private fun yuvFrame(w: Int, h: Int, yStride: Int = w, uvStride: Int = (w + 1) / 2, pixelStride: Int = 1, rotation: Int = 0): ImageInput {
    val cw = (w + 1) / 2; val ch = (h + 1) / 2
    val uvLen = uvStride * (ch - 1) + (cw - 1) * pixelStride + 1
    return ImageInput.Yuv420(ByteArray(yStride * (h - 1) + w) { 0x80.toByte() }, ByteArray(uvLen) { 0x80.toByte() },
        ByteArray(uvLen) { 0x80.toByte() }, w, h, yStride, uvStride, pixelStride, rotation)
}

private fun rgba(w: Int, h: Int) = ImageInput.Rgba(ByteArray(w * h * 4) { 0x60 }, w, h, 4 * w)

fun reliabilityTests() {
    val options = GREEDY.copy(maxNewTokens = 12)
    val tiny = ImageInput.FilePath(image("coffee_tiny_23x17.png"))
    val model = runBlocking { Florence2.create(MODEL, options) }
    val good = runBlocking { model.caption(tiny).generatedIds }

    /** One case: `block` throws `type` with a message naming every needle; then a good call. */
    suspend fun <T : Throwable> case(name: String, type: Class<T>, vararg needles: String, block: suspend () -> Unit) {
        val e = assertThrowsSuspend(type) { block() }
        for (n in needles) assertTrue(e.message!!.contains(n, ignoreCase = true), "$name: ${e.message} does not name $n")
        assertEquals(good, model.caption(tiny).generatedIds, "$name: the model changed after the error")
    }
    val loadError = Florence2Exception.ModelLoad::class.java
    val invalid = Florence2Exception.InvalidInput::class.java

    test("bad-input matrix (Kotlin subset): typed exceptions naming the problem, model usable after each") {
        val empty = Files.createTempDirectory("florence2-empty").toFile()
        case("empty folder", loadError, empty.path) { Florence2.create(empty.path, options) }
        val noDecoder = brokenFolder { File(it, "onnx/decoder_model_merged.onnx").delete() }
        case("graph missing", loadError, "decoder_model_merged.onnx") { Florence2.create(noDecoder.path, options) }
        val notOnnx = brokenFolder { val f = File(it, "onnx/vision_encoder.onnx"); f.delete(); f.writeText("<html>") }
        case("not ONNX", loadError, "vision_encoder.onnx") { Florence2.create(notOnnx.path, options) }
        val badJson = brokenFolder { File(it, "config.json").writeText("{\"text_config\": ") }
        case("config.json invalid", loadError, "config.json", "invalid JSON") { Florence2.create(badJson.path, options) }
        val noTokenizer = brokenFolder { File(it, "tokenizer.json").delete() }
        case("tokenizer missing", loadError, "tokenizer.json") { Florence2.create(noTokenizer.path, options) }
        case("20000x20000 RGBA", invalid, "20000x20000", "limit") {
            model.caption(ImageInput.Rgba(ByteArray(64), 20000, 20000, 80000))
        }
        Florence2.create(MODEL, options.copy(maxImagePixels = 400L)).use { small ->
            assertThrowsSuspend(invalid) { small.caption(ImageInput.FilePath(image("chelsea_451x300.png"))) }
            assertEquals(good, small.caption(tiny).generatedIds) // 23x17 = 391 pixels fit
        }
        val png = File(image("chelsea_451x300.png")).readBytes()
        case("truncated PNG", invalid, "PNG") { model.caption(ImageInput.EncodedBytes(png.copyOf(png.size / 2))) }
        case("unsupported format", invalid, "format") { model.caption(ImageInput.EncodedBytes("GIF89a....".toByteArray())) }
        case("RGBA buffer too short", invalid, "399") { model.caption(ImageInput.Rgba(ByteArray(399), 10, 10, 40)) }
        case("YUV pixel stride 3", invalid, "pixel stride 3") { model.caption(yuvFrame(16, 8, uvStride = 24, pixelStride = 3)) }
        case("YUV stride below width", invalid, "Y plane", "stride 15") { model.caption(yuvFrame(16, 8, yStride = 15)) }
        case("YUV rotation 45", invalid, "45 degrees") { model.caption(yuvFrame(16, 8, rotation = 45)) }
        case("unknown task", invalid, "<DETECT>") { taskFromToken("<DETECT>") }
        case("missing text", invalid, "needs a text input") { model.run(tiny, Task.CAPTION_TO_PHRASE_GROUNDING, null) }
        case("text over the encoder limit", invalid, "prompt too long") {
            model.groundPhrases(tiny, "cat ".repeat(1500))
        }
        case("invalid <loc_N>", invalid, "<loc_1000>") { model.run(tiny, Task.REGION_TO_CATEGORY, "<loc_1><loc_2><loc_3><loc_1000>") }
        case("threads 1000000", invalid, "threads") { Florence2.create(MODEL, options.copy(threads = 1_000_000)) }
        case("maxNewTokens 0", invalid, "max_new_tokens") { Florence2.create(MODEL, options.copy(maxNewTokens = 0)) }
        case("maxNewTokens 5000", invalid, "1024 positions") { Florence2.create(MODEL, options.copy(maxNewTokens = 5000)) }
        case("numBeams 0", invalid, "num_beams") { Florence2.create(MODEL, options.copy(numBeams = 0)) }
        for (dir in listOf(empty, noDecoder, notOnnx, badJson, noTokenizer)) dir.deleteRecursively()
    }

    test("a listener that throws: ListenerFailed with its message, generation stopped, the JVM and model live on") {
        for (at in listOf(1, 3)) {
            val seen = AtomicInteger()
            val throwing = object : TokenListener {
                override fun onToken(textSoFar: String, tokenId: Int): Boolean {
                    if (seen.incrementAndGet() == at) throw IllegalStateException("listener bug on purpose at $at")
                    return true
                }
            }
            val e = assertThrowsSuspend(Florence2Exception.ListenerFailed::class.java) {
                model.runStreaming(tiny, Task.CAPTION, null, throwing)
            }
            println("      listener threw at token $at -> ${e::class.simpleName}: ${e.message}")
            assertTrue(e.message!!.contains("IllegalStateException"), e.message)
            assertTrue(e.message!!.contains("listener bug on purpose at $at"), e.message)
            assertFalse(e.message!!.contains("panic"), e.message)
            // Generation stopped at the failing token: the listener was not called again.
            assertEquals(at, seen.get())
            assertEquals(good, model.caption(tiny).generatedIds)
            val encoded = model.encode(tiny)
            assertEquals(good, model.run(encoded, Task.CAPTION).generatedIds)
        }
    }

    test("concurrency: 8 coroutines x 50 mixed tasks, cancellations and close() mid-way") {
        val chelsea = ImageInput.FilePath(image("chelsea_451x300.png"))
        val region = BoundingBox(2.0, 2.0, 15.0, 12.0)
        // Each kind: a call returning the generated ids (run on `m`).
        val kinds: List<suspend (Florence2) -> List<Int>> = listOf(
            { m -> m.caption(tiny).generatedIds },
            { m -> m.detectObjects(chelsea).generatedIds },
            { m -> m.ocrWithRegions(rgba(40, 30)).generatedIds },
            { m -> m.groundPhrases(tiny, "a cup").generatedIds },
            { m -> m.classifyRegion(tiny, region).generatedIds },
            { m -> m.segment(yuvFrame(32, 24, pixelStride = 1, rotation = 90), "the cat").generatedIds },
            { m -> m.run(m.encode(tiny), Task.DENSE_REGION_CAPTION).generatedIds },
            { m -> m.runStreaming(tiny, Task.OCR, null, Recorder()).generatedIds },
            { m -> m.runBatch(listOf(tiny, rgba(8, 8)), Task.REGION_PROPOSAL, null).flatMap { it.generatedIds } },
        )
        val expected = Florence2.create(MODEL, options).use { seq -> kinds.map { it(seq) } }
        val m = Florence2.create(MODEL, options)
        val outcomes = ConcurrentHashMap<String, AtomicInteger>()
        fun count(what: String) = outcomes.computeIfAbsent(what) { AtomicInteger() }.incrementAndGet()
        val done = AtomicInteger()
        val closed = CompletableDeferred<Unit>()
        val closer = launch(Dispatchers.Default) {
            while (done.get() < 200) delay(2)
            m.close()
            closed.complete(Unit)
        }
        val t0 = System.nanoTime()
        (0 until 8).map { c ->
            launch(Dispatchers.Default) {
                for (i in 0 until 50) {
                    val k = (c * 50 + i) % kinds.size
                    try {
                        val ids = if (i % 7 == 3) {
                            // Cancelled mid-way (or finished in time: then it must be right).
                            withTimeoutOrNull(3L + c) { kinds[k](m) }
                        } else kinds[k](m)
                        if (ids == null) count("cancelled by timeout") else {
                            assertEquals(expected[k], ids, "coroutine $c task $i (kind $k)")
                            count("ok")
                        }
                    } catch (e: Florence2Exception.Closed) {
                        // Only once close() has begun: it runs after 200 calls ended.
                        assertTrue(done.get() >= 200, "Closed before close(): $e")
                        count("Closed")
                    } catch (e: Florence2Exception.Cancelled) { count("Cancelled")
                    } finally { done.incrementAndGet() }
                }
            }
        }.joinAll()
        closer.join()
        println("      400 calls in %.0f ms: %s".format((System.nanoTime() - t0) / 1e6, outcomes.toSortedMap()))
        assertEquals(400, done.get())
        // close() comes after 200 calls ended; some of those were cancelled on purpose.
        assertTrue((outcomes["ok"]?.get() ?: 0) >= 150, "$outcomes")
        // Every call after close() is Florence2Exception.Closed (never IllegalStateException).
        assertTrue((outcomes["Closed"]?.get() ?: 0) > 0, "$outcomes")
        // The process is healthy: a new model works and gives the same results.
        Florence2.create(MODEL, options).use { fresh -> assertEquals(expected[0], kinds[0](fresh)) }
    }

    model.close()
}
