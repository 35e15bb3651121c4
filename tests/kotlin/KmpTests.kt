// Tests of the Kotlin Multiplatform common API (bindings/kmp/src/commonMain) through its JVM actual
// (src/jvmAndAndroidMain), compiled as KMP compiles them (-Xmulti-platform, common sources declared).
// Results are compared with the Rust CLI, an independent path (its own decode, its own JSON).
// Called from Florence2Tests.kt's main (same harness).
import ai.florence2.kmp.Box
import ai.florence2.kmp.CallSettings
import ai.florence2.kmp.ErrorKind
import ai.florence2.kmp.Florence2Error
import ai.florence2.kmp.Florence2Model
import ai.florence2.kmp.LoadSettings
import ai.florence2.kmp.Picture
import ai.florence2.kmp.VisionResult
import ai.florence2.kmp.VisionTask
import java.io.File
import kotlin.test.*

private suspend fun kmpError(block: suspend () -> Unit): Florence2Error =
    assertThrowsSuspend(Florence2Error::class.java, block)

private fun ids(cliResult: Map<String, Any?>) = (cliResult["generated_ids"] as List<*>).map { (it as Double).toInt() }

/** The CLI's numbers for one key of its task result (boxes or quads), flattened. */
private fun cliNumbers(cliResult: Map<String, Any?>, token: String, key: String): List<Double> =
    (((cliResult["result"] as Map<*, *>)[token] as Map<*, *>)[key] as List<*>).flatMap { (it as List<*>).map { v -> v as Double } }

private fun cliLabels(cliResult: Map<String, Any?>, token: String): List<String> =
    (((cliResult["result"] as Map<*, *>)[token] as Map<*, *>)["labels"] as List<*>).map { it as String }

private fun assertClose(expected: List<Double>, actual: List<Double>) {
    assertEquals(expected.size, actual.size, "$expected vs $actual")
    for ((e, a) in expected.zip(actual)) assertTrue(Math.abs(e - a) <= 1e-3, "$expected vs $actual")
}

fun kmpTests() {
    val chelsea = image("chelsea_451x300.png")
    val coffee = image("coffee_600x400.png")

    test("KMP common API: detection, OCR regions and captions equal the CLI") {
        Florence2Model.load(MODEL, LoadSettings(maxNewTokens = 128, numBeams = 1)).use { m ->
            val od: VisionResult = m.run(Picture.FilePath(chelsea), VisionTask.OBJECT_DETECTION)
            val cliOd = cli("<OD>", chelsea)
            assertEquals(ids(cliOd), od.generatedIds)
            assertEquals(cliOd["text"], od.rawText)
            assertEquals(cliLabels(cliOd, "<OD>"), od.detections.map { it.label })
            assertClose(cliNumbers(cliOd, "<OD>", "bboxes"), od.detections.flatMap { listOf(it.box.x1, it.box.y1, it.box.x2, it.box.y2) })
            assertNull(od.text)

            val ocr = m.run(Picture.EncodedBytes(File(coffee).readBytes()), VisionTask.OCR_WITH_REGION)
            val cliOcr = cli("<OCR_WITH_REGION>", coffee)
            assertEquals(ids(cliOcr), ocr.generatedIds)
            assertEquals(cliLabels(cliOcr, "<OCR_WITH_REGION>"), ocr.textRegions.map { it.text })
            assertClose(cliNumbers(cliOcr, "<OCR_WITH_REGION>", "quad_boxes"), ocr.textRegions.flatMap { r -> r.quad.flatMap { listOf(it.x, it.y) } })

            val caption = m.run(Picture.FilePath(chelsea), VisionTask.CAPTION)
            val cliCaption = cli("<CAPTION>", chelsea)
            assertEquals((cliCaption["result"] as Map<*, *>)["<CAPTION>"], caption.text)
            assertTrue(caption.detections.isEmpty() && caption.masks.isEmpty() && caption.textRegions.isEmpty())
        }
    }

    test("KMP common API: per-call settings (beams, tokens, fast resize) equal the CLI") {
        Florence2Model.load(MODEL, LoadSettings(maxNewTokens = 128, numBeams = 1)).use { m ->
            val beams = m.run(Picture.FilePath(chelsea), VisionTask.CAPTION, settings = CallSettings(numBeams = 3, maxNewTokens = 20))
            assertEquals(ids(cli("<CAPTION>", chelsea, beams = 3, maxNewTokens = 20)), beams.generatedIds)
            val fast = m.run(Picture.FilePath(chelsea), VisionTask.OBJECT_DETECTION, settings = CallSettings(fastResize = true))
            assertEquals(ids(cli("<OD>", chelsea, resize = "fast")), fast.generatedIds)
            val grounded = m.run(Picture.FilePath(chelsea), VisionTask.CAPTION_TO_PHRASE_GROUNDING, text = "a cat")
            assertEquals(ids(cli("<CAPTION_TO_PHRASE_GROUNDING>", chelsea, text = "a cat")), grounded.generatedIds)
        }
    }

    test("KMP common API: every failure is a Florence2Error of the right kind") {
        assertEquals(ErrorKind.MODEL_LOAD, kmpError { Florence2Model.load(File(ROOT, "tests/fixtures/no-such-model").path) }.kind)
        val m = Florence2Model.load(MODEL, LoadSettings(numBeams = 1, maxNewTokens = 8))
        // Checked before any model runs: a task without its text, a region task without a region,
        // pixels that do not fill their geometry, impossible settings.
        val missingText = kmpError { m.run(Picture.FilePath(chelsea), VisionTask.CAPTION_TO_PHRASE_GROUNDING) }
        assertEquals(ErrorKind.INVALID_INPUT, missingText.kind)
        assertTrue(missingText.message!!.contains("text"), missingText.message)
        assertEquals(ErrorKind.INVALID_INPUT, kmpError { m.run(Picture.FilePath(chelsea), VisionTask.REGION_TO_CATEGORY) }.kind)
        assertEquals(ErrorKind.INVALID_INPUT, kmpError { m.run(Picture.Rgba(ByteArray(10), 16, 12, 64), VisionTask.CAPTION) }.kind)
        assertEquals(ErrorKind.INVALID_INPUT,
            kmpError { m.run(Picture.FilePath(chelsea), VisionTask.CAPTION, settings = CallSettings(numBeams = -1)) }.kind)
        val region = m.run(Picture.FilePath(chelsea), VisionTask.REGION_TO_CATEGORY, region = Box(10.0, 10.0, 200.0, 150.0))
        assertNotNull(region.text)
        m.close()
        assertEquals(ErrorKind.CLOSED, kmpError { m.run(Picture.FilePath(chelsea), VisionTask.CAPTION) }.kind)
        m.close() // idempotent
    }
}
