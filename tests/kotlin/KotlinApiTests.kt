// Kotlin-shaped API tests (issue 20): per-call options, resize modes, pixel layouts in colour,
// Java futures, live mode. Called from Florence2Tests.kt's main (same harness and model).
import ai.florence2.*
import java.io.File
import java.util.concurrent.ConcurrentLinkedQueue
import java.util.concurrent.atomic.AtomicBoolean
import javax.imageio.ImageIO
import kotlin.test.*
import kotlinx.coroutines.*
import kotlinx.coroutines.flow.*

/** The RGB pixels of a fixture PNG (8-bit sRGB, no alpha): ImageIO's decoding, independent of ours. */
fun rgbPixels(name: String): Triple<Int, Int, IntArray> {
    val img = ImageIO.read(File(image(name)))
    val w = img.width; val h = img.height
    return Triple(w, h, img.getRGB(0, 0, w, h, null, 0, w))
}

/** [pixels] (0xAARRGGBB ints) as bytes in the order [order] names ("RGBA", "BGRA", "RGB"), rows padded by [pad]. */
fun packed(w: Int, h: Int, pixels: IntArray, order: String, pad: Int): Pair<ByteArray, Int> {
    val stride = w * order.length + pad
    val out = ByteArray(stride * h)
    for (y in 0 until h) for (x in 0 until w) {
        val p = pixels[y * w + x]
        for ((i, c) in order.withIndex()) {
            val v = when (c) { 'R' -> p shr 16; 'G' -> p shr 8; 'B' -> p; else -> 0xff } and 0xff
            out[y * stride + x * order.length + i] = v.toByte()
        }
    }
    return out to stride
}

fun kotlinApiTests(model: Florence2, long: Florence2) {
    val chelsea = ImageInput.FilePath(image("chelsea_451x300.png"))

    test("per-call options override the model's defaults (beams, tokens) and equal the CLI") {
        val r = model.run(chelsea, Task.CAPTION, options = RunOptions(numBeams = 3, maxNewTokens = 20))
        val expected = cli("<CAPTION>", image("chelsea_451x300.png"), beams = 3, maxNewTokens = 20)
        assertEquals((expected["generated_ids"] as List<*>).map { (it as Double).toInt() }, r.generatedIds)
        // The model's defaults are untouched by a call's options.
        val greedy = model.caption(chelsea)
        val cliGreedy = cli("<CAPTION>", image("chelsea_451x300.png"))
        assertEquals((cliGreedy["generated_ids"] as List<*>).map { (it as Double).toInt() }, greedy.generatedIds)
        assertTrue(r.generatedIds.size <= 21, "${r.generatedIds.size}")
    }

    test("resize mode per call: FAST equals the CLI's --resize fast, REFERENCE stays the default") {
        val fast = model.run(chelsea, Task.OBJECT_DETECTION, options = RunOptions(resizeMode = ResizeMode.FAST))
        val cliFast = cli("<OD>", image("chelsea_451x300.png"), resize = "fast")
        assertEquals((cliFast["generated_ids"] as List<*>).map { (it as Double).toInt() }, fast.generatedIds)
        val reference = model.run(chelsea, Task.OBJECT_DETECTION)
        val cliReference = cli("<OD>", image("chelsea_451x300.png"))
        assertEquals((cliReference["generated_ids"] as List<*>).map { (it as Double).toInt() }, reference.generatedIds)
        // Per model too: a model created with FAST resizes that way unless a call says otherwise.
        Florence2.create(MODEL, GREEDY.copy(resizeMode = ResizeMode.FAST)).use { m ->
            assertEquals(fast.generatedIds, m.run(chelsea, Task.OBJECT_DETECTION).generatedIds)
            assertEquals(reference.generatedIds,
                m.run(chelsea, Task.OBJECT_DETECTION, options = RunOptions(resizeMode = ResizeMode.REFERENCE)).generatedIds)
        }
    }

    test("a coloured image gives the same result in every pixel layout; swapped channels do not") {
        val (w, h, px) = rgbPixels("chelsea_451x300.png")
        val expected = model.caption(chelsea).generatedIds
        val (rgba, rgbaStride) = packed(w, h, px, "RGBA", 8)
        val (bgra, bgraStride) = packed(w, h, px, "BGRA", 0)
        val (rgb, rgbStride) = packed(w, h, px, "RGB", 3)
        val inputs = mapOf(
            "Rgba" to ImageInput.Rgba(rgba, w, h, rgbaStride),
            "Bgra" to ImageInput.Bgra(bgra, w, h, bgraStride),
            "Pixels(RGBA)" to ImageInput.Pixels(rgba, w, h, rgbaStride, PixelLayout.RGBA),
            "Pixels(BGRA)" to ImageInput.Pixels(bgra, w, h, bgraStride, PixelLayout.BGRA),
            "Pixels(RGB)" to ImageInput.Pixels(rgb, w, h, rgbStride, PixelLayout.RGB),
        )
        for ((name, input) in inputs) assertEquals(expected, model.caption(input).generatedIds, name)
        // The check that a grey image cannot make: RGBA bytes described as BGRA are another image.
        assertNotEquals(expected, model.caption(ImageInput.Bgra(rgba, w, h, rgbaStride)).generatedIds)
        // Grey: one byte per pixel equals the grey PNG.
        // (The raster's samples: getRGB would map Java's linear grey space through a gamma curve.)
        val greyImage = ImageIO.read(File(image("camera_gray_300x220.png")))
        val gw = greyImage.width; val gh = greyImage.height
        val grey = ByteArray(gw * gh) { greyImage.raster.getSample(it % gw, it / gw, 0).toByte() }
        assertEquals(model.caption(ImageInput.FilePath(image("camera_gray_300x220.png"))).generatedIds,
            model.caption(ImageInput.Pixels(grey, gw, gh, gw, PixelLayout.GRAY)).generatedIds)
        // Crop and rotation of packed pixels: the cropped region, turned, equals that region's own buffer turned.
        val (sub, subStride) = packed(100, 80, IntArray(100 * 80) { px[(40 + it / 100) * w + 60 + it % 100] }, "RGBA", 0)
        assertEquals(
            model.caption(ImageInput.Pixels(sub, 100, 80, subStride, PixelLayout.RGBA, 90)).generatedIds,
            model.caption(ImageInput.Pixels(rgba, w, h, rgbaStride, PixelLayout.RGBA, 90, CropRect(60, 40, 100, 80))).generatedIds)
    }

    test("Java: CompletableFuture forms of create, run, runBatch and encode") {
        val created = Florence2.createAsync(MODEL, GREEDY).get()
        created.use { m ->
            assertEquals(model.caption(chelsea).generatedIds, m.runAsync(chelsea, Task.CAPTION).get().generatedIds)
            assertEquals(1, m.runBatchAsync(listOf(chelsea), Task.CAPTION).get().size)
            assertEquals(451, m.encodeAsync(chelsea).get().width())
            val bad = assertFailsWith<java.util.concurrent.ExecutionException> {
                m.runAsync(chelsea, Task.CAPTION_TO_PHRASE_GROUNDING).get()
            }
            assertIs<Florence2Exception.InvalidInput>(bad.cause)
        }
    }

    test("live mode: 60 fps into a slow consumer drops stale frames, keeps order, holds at most 2, nothing after close") {
        // Frames of the fixture photo at 1/4 size (cheap to submit), each with its own timestamp.
        val (w, h, px) = rgbPixels("chelsea_451x300.png")
        val (rgba, stride) = packed(w, h, px, "RGBA", 0)
        val live = long.live(Task.CAPTION, options = RunOptions(maxNewTokens = 200, resizeMode = ResizeMode.FAST))
        val received = ConcurrentLinkedQueue<Long>()
        val afterClose = AtomicBoolean(false)
        val lateDeliveries = ConcurrentLinkedQueue<Long>()
        val holdFirst = CompletableDeferred<Unit>()
        val collector = launch(Dispatchers.Default) {
            live.results.collect { r ->
                if (afterClose.get()) lateDeliveries.add(r.timestampNanos)
                assertIs<LiveOutcome.Done>(r.outcome, "$r")
                received.add(r.timestampNanos)
                // A consumer slower than the camera: the first result is held until every frame
                // was submitted, so the session must drop instead of queueing.
                if (received.size == 1) holdFirst.await()
            }
        }
        val frames = 120
        val start = System.nanoTime()
        for (i in 0 until frames) {
            live.submit(ImageInput.Rgba(rgba, w, h, stride), start + i * 16_666_667L)
            delay(16) // ~60 fps
        }
        val submitted = live.stats()
        holdFirst.complete(Unit)
        // The newest frame is always processed eventually: wait for its result (causal, not timed).
        val last = start + (frames - 1) * 16_666_667L
        while (received.lastOrNull() != last) delay(5)
        live.close()
        afterClose.set(true)
        val stats = live.stats()
        collector.join() // the flow completes after close
        assertFailsWith<Florence2Exception.Closed> { live.submit(ImageInput.Rgba(rgba, w, h, stride), last + 1) }
        val got = received.toList()
        println("      live: ${stats.submitted} submitted, ${stats.processed} processed, ${stats.dropped} dropped, " +
            "max held ${stats.maxFramesHeld}, latency mean %.0f ms, last %.0f ms".format(stats.meanLatencyMs, stats.lastLatencyMs))
        assertEquals(frames.toLong(), stats.submitted)
        assertEquals(frames.toLong(), submitted.submitted)
        assertEquals(stats.submitted, stats.processed + stats.dropped + stats.failed, "$stats")
        assertEquals(got.size.toLong(), stats.processed, "every processed frame was delivered once")
        assertTrue(got.zipWithNext().all { (a, b) -> a < b }, "results in submission order: $got")
        assertTrue(stats.maxFramesHeld <= 2, "$stats")
        // The consumer held the worker from the first result on: at most the first three results
        // and the newest frame were processed; everything else was dropped.
        assertTrue(stats.processed <= 4, "$stats")
        assertTrue(stats.dropped >= frames - 4L, "$stats")
        assertTrue(lateDeliveries.isEmpty(), "delivered after close: $lateDeliveries")
    }
}
