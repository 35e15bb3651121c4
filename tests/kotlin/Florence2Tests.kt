// Kotlin/JVM tests of the generated bindings + the hand-written façade, run by scripts/test.sh
// (step "kotlin tests") from the repository root:
//   java -Djna.library.path=target/debug -cp ... Florence2TestsKt
// Prints one line per test and the CI-recognised summary `N passed, N failed`; exits 1 on failure.
import ai.florence2.*
import java.io.File
import kotlin.system.exitProcess
import kotlin.test.*
import kotlinx.coroutines.*
import kotlinx.coroutines.flow.*

val ROOT: File = File(System.getProperty("florence2.root") ?: ".").absoluteFile
val MODEL = File(ROOT, "tests/fixtures/tiny-random").path
val CLI = File(ROOT, "target/debug/florence2").path
fun image(name: String) = File(ROOT, "tests/fixtures/images/$name").path

/** Greedy, 128 tokens: what the reference fixture and the CLI comparisons use. */
val GREEDY = Florence2Options(maxNewTokens = 128, numBeams = 1)

// ---------------------------------------------------------------------------------------------
// A minimal JSON reader (for the CLI's --json output); numbers as Double, objects as Map.
class Json(private val s: String) {
    private var i = 0
    fun parse(): Any? { val v = value(); ws(); check(i == s.length) { "trailing JSON at $i" }; return v }
    private fun ws() { while (i < s.length && s[i].isWhitespace()) i++ }
    private fun value(): Any? {
        ws()
        return when (s[i]) {
            '{' -> { i++; val m = LinkedHashMap<String, Any?>(); ws()
                if (s[i] == '}') { i++; return m }
                while (true) { ws(); val k = str(); ws(); check(s[i++] == ':'); m[k] = value(); ws()
                    if (s[i++] == '}') return m } ; @Suppress("UNREACHABLE_CODE") m }
            '[' -> { i++; val l = ArrayList<Any?>(); ws()
                if (s[i] == ']') { i++; return l }
                while (true) { l.add(value()); ws(); if (s[i++] == ']') return l } ; @Suppress("UNREACHABLE_CODE") l }
            '"' -> str()
            't' -> { i += 4; true }
            'f' -> { i += 5; false }
            'n' -> { i += 4; null }
            else -> { val st = i; while (i < s.length && (s[i].isDigit() || s[i] in "+-.eE")) i++; s.substring(st, i).toDouble() }
        }
    }
    private fun str(): String {
        check(s[i++] == '"'); val b = StringBuilder()
        while (true) {
            val c = s[i++]
            when (c) {
                '"' -> return b.toString()
                '\\' -> when (val e = s[i++]) {
                    'n' -> b.append('\n'); 't' -> b.append('\t'); 'r' -> b.append('\r'); 'b' -> b.append('\b')
                    'f' -> b.append('\u000c'); 'u' -> { b.append(s.substring(i, i + 4).toInt(16).toChar()); i += 4 }
                    else -> b.append(e)
                }
                else -> b.append(c)
            }
        }
    }
}

/** `florence2 run --json` for one image (by default greedy, 128 tokens, reference resize). */
fun cli(task: String, imagePath: String, text: String? = null, beams: Int = 1, maxNewTokens: Int = 128,
        resize: String = "reference"): Map<String, Any?> {
    val cmd = mutableListOf(CLI, "run", "--model", MODEL, "--task", task, "--json", "--num-beams", "$beams",
        "--max-new-tokens", "$maxNewTokens", "--resize", resize)
    if (text != null) { cmd += "--text"; cmd += text }
    cmd += imagePath
    val p = ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start()
    val out = p.inputStream.bufferedReader().readText()
    check(p.waitFor() == 0) { "CLI failed: $cmd" }
    @Suppress("UNCHECKED_CAST")
    return Json(out.trim().lines().first()).parse() as Map<String, Any?>
}

/** The SDK's output in the CLI's JSON shape (numbers as Double), for comparison. */
fun asCliResult(o: TaskOutput): Any? {
    fun box(b: LabeledBox) = b.bounds.let { listOf(it.x1, it.y1, it.x2, it.y2) }
    fun mask(m: LabeledMask) = m.mask.polygons.map { p -> p.points.flatMap { listOf(it.x, it.y) } }
    return when (o) {
        is TaskOutput.Text -> o.text
        is TaskOutput.Boxes -> mapOf("bboxes" to o.objects.map(::box), "labels" to o.objects.map { it.label })
        is TaskOutput.Quads -> mapOf("quad_boxes" to o.lines.map { l -> l.quad.points.flatMap { listOf(it.x, it.y) } },
            "labels" to o.lines.map { it.text })
        is TaskOutput.Polygons -> mapOf("polygons" to o.masks.map(::mask), "labels" to o.masks.map { it.label })
        is TaskOutput.Mixed -> mapOf(
            "bboxes" to o.objects.map(::box), "bboxes_labels" to o.objects.map { it.label },
            "polygons" to o.masks.map(::mask), "polygons_labels" to o.masks.map { it.label })
    }
}

/** `run` with a token listener, over the engine (as the façade's `stream` does). */
suspend fun Florence2.runStreaming(image: ImageInput, task: Task, text: String?, listener: TokenListener): TaskResult =
    engine.run(image, TaskRequest(task, text), listener)

// ---------------------------------------------------------------------------------------------
// The harness.
var passed = 0
var failed = 0
fun test(name: String, body: suspend CoroutineScope.() -> Unit) {
    val t0 = System.nanoTime()
    try {
        runBlocking { withTimeout(120_000) { body() } }
        passed++
        println("ok    $name (${(System.nanoTime() - t0) / 1_000_000} ms)")
    } catch (t: Throwable) {
        failed++
        println("FAIL  $name: $t")
        t.printStackTrace(System.out)
    }
}

suspend fun <T : Throwable> assertThrowsSuspend(type: Class<T>, block: suspend () -> Unit): T {
    try { block() } catch (t: Throwable) {
        if (type.isInstance(t)) return type.cast(t)
        throw AssertionError("expected ${type.simpleName}, got $t", t)
    }
    throw AssertionError("expected ${type.simpleName}, nothing was thrown")
}

/** A listener that records every callback's time; optional stop after N tokens. */
class Recorder(private val stopAfter: Int = Int.MAX_VALUE) : TokenListener {
    val times = java.util.concurrent.ConcurrentLinkedQueue<Long>()
    val texts = java.util.concurrent.ConcurrentLinkedQueue<String>()
    val threads = java.util.concurrent.ConcurrentHashMap.newKeySet<String>()
    override fun onToken(textSoFar: String, tokenId: Int): Boolean {
        times.add(System.nanoTime()); texts.add(textSoFar); threads.add(Thread.currentThread().name)
        return times.size < stopAfter
    }
}

fun main() {
    println("florence2 Kotlin tests (model: $MODEL)")
    val chelsea = ImageInput.FilePath(image("chelsea_451x300.png"))
    val astronaut = ImageInput.FilePath(image("astronaut_512x512.png"))

    // One greedy model for most tests; one with long generations (the random model never stops
    // early; its decoder has 1024 positions) for cancellation and close.
    val model = runBlocking { Florence2.create(MODEL, GREEDY) }
    val longOptions = Florence2Options(numBeams = 1, maxNewTokens = 1000)
    val long = runBlocking { Florence2.create(MODEL, longOptions) }

    test("the first call a user makes: Florence2Options() and no optional argument") {
        // A model shaped like the real ones: 1024 decoder positions, no max_length in
        // generation_config.json, so 1024 new tokens and 3 beams by default.
        Florence2.create(MODEL, Florence2Options()).use { m ->
            val od = m.detectObjects(ImageInput.FilePath(image("coffee_tiny_23x17.png")))
            assertIs<TaskOutput.Boxes>(od.output)
            assertEquals(listOf(2, 0), od.generatedIds.take(2))
            assertTrue(od.generatedIds.size <= 1025, "${od.generatedIds.size}")
        }
    }

    test("onnx runtime loads in the JVM") {
        val info = onnxRuntimeInfo(null)
        assertTrue(info.version?.startsWith("1.") ?: false, "$info")
    }

    for ((task, imageName, text) in listOf(
        Triple(Task.CAPTION, "chelsea_451x300.png", null),
        Triple(Task.OBJECT_DETECTION, "chelsea_451x300.png", null),
        Triple(Task.OCR, "astronaut_512x512.png", null),
        Triple(Task.OCR_WITH_REGION, "coffee_600x400.png", null),
        Triple(Task.CAPTION_TO_PHRASE_GROUNDING, "camera_gray_300x220.png", "A cat sitting next to a red cup."),
        Triple(Task.REFERRING_EXPRESSION_SEGMENTATION, "logo_rgba_250x250.png", "the cup on the left"),
    )) {
        val token = mapOf(Task.CAPTION to "<CAPTION>", Task.OBJECT_DETECTION to "<OD>", Task.OCR to "<OCR>",
            Task.OCR_WITH_REGION to "<OCR_WITH_REGION>", Task.CAPTION_TO_PHRASE_GROUNDING to "<CAPTION_TO_PHRASE_GROUNDING>",
            Task.REFERRING_EXPRESSION_SEGMENTATION to "<REFERRING_EXPRESSION_SEGMENTATION>")[task]!!
        test("$token on $imageName equals the Rust CLI") {
            val r = model.run(ImageInput.FilePath(image(imageName)), task, text)
            val expected = cli(token, image(imageName), text)
            assertEquals((expected["generated_ids"] as List<*>).map { (it as Double).toInt() }, r.generatedIds)
            assertEquals(expected["text"], r.text)
            assertEquals((expected["result"] as Map<*, *>)[token], asCliResult(r.output))
            assertEquals(if (expected["finish_reason"] == "eos") FinishReason.EOS else FinishReason.MAX_TOKENS, r.finishReason)
            assertEquals(task, r.task)
            assertTrue(r.timings.visionMs > 0 && r.timings.totalMs >= r.timings.decoderMs)
        }
    }

    test("conveniences, region tasks and pixel inputs") {
        val bytes = File(image("chelsea_451x300.png")).readBytes()
        val viaFile = model.caption(chelsea)
        assertEquals(viaFile.generatedIds, model.caption(ImageInput.EncodedBytes(bytes)).generatedIds)
        assertIs<TaskOutput.Text>(viaFile.output)
        assertNotNull(viaFile.outputText)
        assertIs<TaskOutput.Boxes>(model.detectObjects(chelsea).output)
        assertIs<TaskOutput.Quads>(model.ocrWithRegions(chelsea).output)
        assertIs<TaskOutput.Polygons>(model.segment(chelsea, "the cat").output)
        assertIs<TaskOutput.Boxes>(model.groundPhrases(chelsea, "a cat").output)
        model.detectOpenVocabulary(chelsea, "cat")
        val region = BoundingBox(45.1, 60.0, 270.6, 270.0)
        assertIs<TaskOutput.Polygons>(model.segmentRegion(chelsea, region).output)
        assertIs<TaskOutput.Text>(model.classifyRegion(chelsea, region).output)
        // The region API and hand-written <loc_> tokens give the same prompt.
        assertEquals(model.describeRegion(chelsea, region).generatedIds,
            model.run(chelsea, Task.REGION_TO_DESCRIPTION, text = "<loc_100><loc_200><loc_600><loc_900>").generatedIds)
        // RGBA with padded rows == the decoded file: build it from a 2x2 image by hand.
        val w = 2; val h = 2; val stride = 12
        val rgba = ByteArray(stride * h) { 0x7f }
        val bgra = rgba.copyOf()
        val a = model.caption(ImageInput.Rgba(rgba, w, h, stride))
        val b = model.caption(ImageInput.Bgra(bgra, w, h, stride))
        assertEquals(a.generatedIds, b.generatedIds) // grey: channel order does not matter
    }

    test("YUV_420_888 frames: white frame == white RGBA, rotation swaps the sides") {
        // 8x4 frame, semi-planar chroma (pixel stride 2, as most Android cameras), padded rows.
        val w = 8; val h = 4; val yStride = 12; val uvStride = 12
        val y = ByteArray(yStride * h) { 235.toByte() }           // BT.601 limited-range white
        val uv = ByteArray(uvStride * (h / 2)) { 128.toByte() }
        val frame = { rot: Int -> ImageInput.Yuv420(y, uv, uv.copyOfRange(1, uv.size), w, h, yStride, uvStride, 2, rot) }
        val white = ImageInput.Rgba(ByteArray(w * 4 * h) { -1 }, w, h, w * 4)
        assertEquals(model.caption(white).generatedIds, model.caption(frame(0)).generatedIds)
        val rotated = model.encode(frame(90))
        assertEquals(4, rotated.width()); assertEquals(8, rotated.height())
        // A crop (even offsets, in the unrotated frame) is the same as the cropped frame.
        val cropped = model.encode(ImageInput.Yuv420(y, uv, uv.copyOfRange(1, uv.size), w, h, yStride, uvStride, 2, 90,
            CropRect(2, 0, 4, 4)))
        assertEquals(4, cropped.width()); assertEquals(4, cropped.height())
    }

    test("typed exceptions: bad model folder, bad images, bad task input") {
        val e1 = assertThrowsSuspend(Florence2Exception.ModelLoad::class.java) {
            Florence2.create(File(ROOT, "tests/fixtures/images").path, Florence2Options())
        }
        assertTrue(e1.message!!.contains("tests/fixtures/images"), e1.message)
        assertThrowsSuspend(Florence2Exception.ModelLoad::class.java) { Florence2.create("/nonexistent/model", Florence2Options()) }
        val e2 = assertThrowsSuspend(Florence2Exception.InvalidInput::class.java) {
            model.caption(ImageInput.EncodedBytes(byteArrayOf(1, 2, 3, 4)))
        }
        println("      bad bytes -> ${e2::class.simpleName}: ${e2.message}")
        assertThrowsSuspend(Florence2Exception.InvalidInput::class.java) { model.caption(ImageInput.FilePath("/nonexistent.png")) }
        assertThrowsSuspend(Florence2Exception.InvalidInput::class.java) {
            model.caption(ImageInput.Rgba(ByteArray(10), 4, 4, 16))
        }
        val yuv = assertThrowsSuspend(Florence2Exception.InvalidInput::class.java) {
            model.caption(ImageInput.Yuv420(ByteArray(16), ByteArray(4), ByteArray(4), 4, 4, 4, 2, 1, 45))
        }
        println("      bad rotation -> ${yuv.message}")
        assertThrowsSuspend(Florence2Exception.InvalidInput::class.java) {
            model.caption(ImageInput.Yuv420(ByteArray(3), ByteArray(4), ByteArray(4), 4, 4, 4, 2, 1, 0))
        }
        assertThrowsSuspend(Florence2Exception.InvalidInput::class.java) { model.run(chelsea, Task.CAPTION, "unexpected") }
        assertThrowsSuspend(Florence2Exception.InvalidInput::class.java) { model.run(chelsea, Task.CAPTION_TO_PHRASE_GROUNDING, null) }
        assertThrowsSuspend(Florence2Exception.InvalidInput::class.java) {
            model.run(chelsea, Task.CAPTION, region = BoundingBox(0.0, 0.0, 1.0, 1.0))
        }
        // Kotlin Ints: a negative size or option is a typed error naming the field, not a crash.
        val negative = assertThrowsSuspend(Florence2Exception.InvalidInput::class.java) {
            model.caption(ImageInput.Rgba(ByteArray(64), -4, 4, 16))
        }
        assertTrue(negative.message!!.contains("Rgba.width") && negative.message!!.contains("-4"), negative.message)
        val beams = assertThrowsSuspend(Florence2Exception.InvalidInput::class.java) {
            model.caption(chelsea, RunOptions(numBeams = -1))
        }
        assertTrue(beams.message!!.contains("numBeams"), beams.message)
        // Sealed: exhaustive `when` compiles without an else branch (model delivery has its own
        // sealed DownloadException, DownloadTests.kt).
        val kind = when (e2 as Florence2Exception) {
            is Florence2Exception.ModelLoad, is Florence2Exception.ModelFault, is Florence2Exception.InvalidInput,
            is Florence2Exception.Inference, is Florence2Exception.Cancelled, is Florence2Exception.ListenerFailed,
            is Florence2Exception.Closed, is Florence2Exception.RuntimeUnavailable,
            is Florence2Exception.ExecutionProviderUnavailable, is Florence2Exception.Internal -> "typed"
        }
        assertEquals("typed", kind)
        // The fields survive the FFI, and toString() is the readable sentence.
        assertTrue(e1.file!!.startsWith(File(ROOT, "tests/fixtures/images").path), "${e1.file}")
        assertEquals(e1.detail, e1.toString()) // toString() is the readable sentence
        assertTrue(e1.message!!.contains("detail=") && e1.message!!.contains("file="), e1.message)
    }

    test("work runs off the caller's thread") {
        val rec = Recorder()
        model.runStreaming(chelsea, Task.CAPTION, null, rec)
        assertFalse(rec.threads.contains(Thread.currentThread().name), "${rec.threads}")
    }

    test("cancelling the coroutine: nothing is delivered after cancelAndJoin, generation stops") {
        val rec = Recorder()
        val job = launch(Dispatchers.Default) { long.runStreaming(astronaut, Task.CAPTION, null, rec) }
        withTimeout(60_000) { while (rec.times.size < 20) delay(1) }
        job.cancelAndJoin()
        val atJoin = rec.times.size
        assertTrue(job.isCancelled)
        // The next call on the decoder waits for the cancelled generation to let go of it, so once
        // it has returned the cancelled call is over. (It stops itself after one token.)
        assertThrowsSuspend(Florence2Exception.Cancelled::class.java) {
            long.runStreaming(astronaut, Task.CAPTION, null, Recorder(stopAfter = 1))
        }
        // Causality, not timing: the cancellation waits for a callback in flight, and Rust checks
        // the flag before every step and every delivery, on the delivering thread. So not one
        // callback arrived after cancelAndJoin returned, however loaded the machine is.
        assertEquals(atJoin, rec.times.size, "callbacks after cancelAndJoin returned")
        // And it stopped early: the call would have produced 1000 tokens.
        assertTrue(atJoin < 1000, "$atJoin")
        println("      cancelled after $atJoin tokens; none delivered after cancelAndJoin")
    }

    test("a listener returning false cancels with Cancelled") {
        val rec = Recorder(stopAfter = 3)
        assertThrowsSuspend(Florence2Exception.Cancelled::class.java) { long.runStreaming(chelsea, Task.CAPTION, null, rec) }
        assertEquals(3, rec.times.size)
    }

    test("withTimeout cancels a long call") {
        val rec = Recorder()
        val r = withTimeoutOrNull(50) { long.runStreaming(astronaut, Task.CAPTION, null, rec) }
        assertNull(r)
        val atTimeout = rec.times.size
        // The decoder is free again (a new call gets it and stops itself after one token), and
        // the timed-out call delivered nothing more once withTimeoutOrNull had returned.
        assertThrowsSuspend(Florence2Exception.Cancelled::class.java) {
            long.runStreaming(astronaut, Task.CAPTION, null, Recorder(stopAfter = 1))
        }
        assertEquals(atTimeout, rec.times.size)
        assertTrue(atTimeout < 1000, "$atTimeout")
    }

    test("8 concurrent coroutines get the sequential results") {
        val images = listOf("chelsea_451x300.png", "astronaut_512x512.png", "coffee_600x400.png", "logo_rgba_250x250.png")
            .map { ImageInput.FilePath(image(it)) }
        val sequential = images.map { model.caption(it).generatedIds }
        val t0 = System.nanoTime()
        val concurrent = (0 until 8).map { i -> async(Dispatchers.Default) { model.caption(images[i % 4]).generatedIds } }.awaitAll()
        println("      8 concurrent captions: %.0f ms".format((System.nanoTime() - t0) / 1e6))
        for (i in 0 until 8) assertEquals(sequential[i % 4], concurrent[i], "coroutine $i")
    }

    test("runBatch keeps input order and equals single runs") {
        val names = listOf("coffee_600x400.png", "chelsea_451x300.png", "astronaut_512x512.png", "logo_rgba_250x250.png")
        val images = names.map { ImageInput.FilePath(image(it)) }
        val t0 = System.nanoTime()
        val single = images.map { model.run(it, Task.OBJECT_DETECTION) }
        val t1 = System.nanoTime()
        val batch = model.runBatch(images, Task.OBJECT_DETECTION, null)
        val t2 = System.nanoTime()
        println("      4 images: sequential runs %.0f ms, runBatch %.0f ms".format((t1 - t0) / 1e6, (t2 - t1) / 1e6))
        assertEquals(single.map { it.generatedIds }, batch.map { it.generatedIds })
        assertEquals(single.map { it.output }, batch.map { it.output })
        val e = assertThrowsSuspend(Florence2Exception.InvalidInput::class.java) {
            model.runBatch(listOf(images[0], ImageInput.EncodedBytes(byteArrayOf(0))), Task.CAPTION, null)
        }
        assertTrue(e.message!!.contains("image 1 of the batch"), e.message)
        assertEquals(emptyList(), model.runBatch(emptyList(), Task.CAPTION, null))
    }

    test("encode once, run many") {
        val encoded = model.encode(chelsea)
        assertEquals(451, encoded.width()); assertEquals(300, encoded.height())
        assertTrue(encoded.tokens() > 0 && encoded.visionMs() > 0)
        for (task in listOf(Task.CAPTION, Task.OBJECT_DETECTION, Task.OCR)) {
            val fromEncoded = model.run(encoded, task)
            assertEquals(model.run(chelsea, task, null).generatedIds, fromEncoded.generatedIds, "$task")
            assertEquals(0.0, fromEncoded.timings.visionMs)
        }
        encoded.close()
    }

    test("Flow streaming: every token, then the structured result; cancellation by take()") {
        val full = model.caption(chelsea)
        val events = model.stream(chelsea, Task.CAPTION).toList()
        val texts = events.filterIsInstance<StreamEvent.Token>().map { it.textSoFar }
        assertEquals(full.generatedIds.size - 1, texts.size)
        assertEquals(full.text, texts.last())
        // The flow ends with the structured result, the same as run()'s.
        val done = assertIs<StreamEvent.Done>(events.last())
        assertEquals(full.generatedIds, done.result.generatedIds)
        assertEquals(full.output, done.result.output)
        assertEquals(full.generatedIds.drop(1), events.filterIsInstance<StreamEvent.Token>().map { it.tokenId })
        val encoded = model.encode(chelsea)
        assertEquals(events.dropLast(1), model.stream(encoded, Task.CAPTION).toList().dropLast(1))
        val rec = Recorder()
        val firstThree = long.stream(astronaut, Task.CAPTION).take(3).toList()
        assertEquals(3, firstThree.size)
        // Errors surface as the flow's exception.
        assertThrowsSuspend(Florence2Exception.InvalidInput::class.java) { model.stream(chelsea, Task.CAPTION, "x").collect {} }
        model.runStreaming(chelsea, Task.CAPTION, null, rec)
        assertEquals(full.generatedIds.size - 1, rec.times.size)
        long.encode(chelsea) // the model whose flow was cut short is free again
    }

    test("examples/kotlin prints the same JSON result as the CLI") {
        val args = arrayOf(MODEL, "<OD>", image("coffee_600x400.png"), "--beams", "1", "--max-new-tokens", "128")
        val buffer = java.io.ByteArrayOutputStream()
        val stdout = System.out
        System.setOut(java.io.PrintStream(buffer, true, "UTF-8"))
        try { withContext(Dispatchers.IO) { ai.florence2.example.main(args) } } finally { System.setOut(stdout) }
        val printed = Json(buffer.toString("UTF-8").trim()).parse() as Map<*, *>
        val expected = cli("<OD>", image("coffee_600x400.png"))
        for (key in listOf("generated_ids", "text", "result", "finish_reason", "task")) assertEquals(expected[key], printed[key], key)
    }

    test("close() during inference: the call finishes; every later call throws Florence2Exception.Closed") {
        val m = Florence2.create(MODEL, longOptions)
        val rec = Recorder()
        val call = async(Dispatchers.Default) { m.runStreaming(astronaut, Task.CAPTION, null, rec) }
        withTimeout(10_000) { while (rec.times.isEmpty()) delay(1) }
        m.close()
        assertTrue(m.isClosed)
        val result = call.await() // finished normally (EOS or the token limit), not cancelled
        assertTrue(result.generatedIds.size > 1 && result.generatedIds.last() == 2, "${result.generatedIds.size}")
        // A Florence2Exception (not IllegalStateException), so `catch (e: Florence2Exception)` sees it.
        assertThrowsSuspend(Florence2Exception.Closed::class.java) { m.caption(chelsea) }
        assertThrowsSuspend(Florence2Exception.Closed::class.java) { m.encode(chelsea) }
        assertThrowsSuspend(Florence2Exception.Closed::class.java) { m.runBatch(listOf(chelsea), Task.CAPTION) }
        assertThrowsSuspend(Florence2Exception.Closed::class.java) { m.stream(chelsea, Task.CAPTION).collect {} }
        assertThrowsSuspend(Florence2Exception.Closed::class.java) { m.live(Task.CAPTION).close() }
        assertThrowsSuspend(Florence2Exception.Closed::class.java) { m.executionProviders() }
        val future = m.runAsync(chelsea, Task.CAPTION)
        val viaJava = assertFailsWith<java.util.concurrent.ExecutionException> { future.get() }
        assertIs<Florence2Exception.Closed>(viaJava.cause)
        m.close() // idempotent
    }

    kotlinApiTests(model, long) // KotlinApiTests.kt
    kmpTests() // KmpTests.kt: the KMP common API through its JVM actual

    executionProviderTests() // ExecutionProviderTests.kt
    reliabilityTests() // ReliabilityTests.kt
    runDownloadTests(model) // DownloadTests.kt

    model.close()
    long.close()
    println("$passed passed, $failed failed")
    exitProcess(if (failed == 0) 0 else 1)
}
