// Execution providers through the Kotlin API on the desktop JVM (called from main in
// Florence2Tests.kt, which owns the harness: `test`, MODEL, GREEDY, image()).
//
// The desktop ONNX Runtime (PyPI wheel) has neither XNNPACK nor NNAPI, and NNAPI is compiled in
// for Android only: requesting either must fail with the typed ExecutionProviderUnavailable under
// the default policy, and load on CPU with a reported reason under cpuFallback = true.
import ai.florence2.*
import kotlin.test.*

val ALL_GRAPHS = listOf(ModelGraph.VISION_ENCODER, ModelGraph.EMBED_TOKENS, ModelGraph.TEXT_ENCODER, ModelGraph.DECODER)

fun executionProviderTests() {
    val chelsea = ImageInput.FilePath(image("chelsea_451x300.png"))
    val short = GREEDY.copy(maxNewTokens = 8)

    test("keepVisionMemory changes memory only: the same tokens over three images") {
        val images = listOf(chelsea, ImageInput.FilePath(image("coffee_600x400.png")), chelsea)
        val released = Florence2.create(MODEL, short).use { m -> images.map { m.caption(it).generatedIds } }
        val kept = Florence2.create(MODEL, short.copy(keepVisionMemory = true)).use { m -> images.map { m.caption(it).generatedIds } }
        assertEquals(released, kept)
        assertEquals(released[0], released[2])
    }

    test("memoryMode LOW changes memory only: the same tokens over three images; LOW + keepVisionMemory is InvalidInput") {
        val images = listOf(chelsea, ImageInput.FilePath(image("coffee_600x400.png")), chelsea)
        val standard = Florence2.create(MODEL, short).use { m -> images.map { m.caption(it).generatedIds } }
        val low = Florence2.create(MODEL, short.copy(memoryMode = MemoryMode.LOW)).use { m -> images.map { m.caption(it).generatedIds } }
        assertEquals(standard, low)
        val e = assertThrowsSuspend(Florence2Exception.InvalidInput::class.java) {
            Florence2.create(MODEL, short.copy(memoryMode = MemoryMode.LOW, keepVisionMemory = true)).close()
        }
        assertTrue(e.message!!.contains("memory_mode"), e.message)
    }

    test("execution provider: CPU (default and explicit) is requested and active for every graph") {
        for (options in listOf(short, short.copy(executionProvider = ExecutionProvider.CPU))) {
            Florence2.create(MODEL, options).use { m ->
                val report = m.executionProviders()
                assertEquals(ALL_GRAPHS, report.map { it.graph })
                for (p in report) {
                    assertEquals(ExecutionProvider.CPU, p.requested, "$p")
                    assertEquals(ExecutionProvider.CPU, p.active, "$p")
                    assertNull(p.fallbackReason, "$p")
                }
                assertTrue(m.caption(chelsea).generatedIds.size > 1)
            }
        }
    }

    for ((provider, mentions) in listOf(
        ExecutionProvider.XNNPACK to listOf("XnnpackExecutionProvider"),
        ExecutionProvider.NNAPI to listOf("Android", "NnapiExecutionProvider"),
    )) {
        test("execution provider: $provider on the desktop is ExecutionProviderUnavailable by default") {
            val e = assertThrowsSuspend(Florence2Exception.ExecutionProviderUnavailable::class.java) {
                Florence2.create(MODEL, short.copy(executionProvider = provider)).close()
            }
            val message = e.message!!
            assertTrue(message.contains(if (provider == ExecutionProvider.NNAPI) "NNAPI" else "XNNPACK"), message)
            assertTrue(message.contains("decoder"), message) // the first graph loaded
            assertTrue(mentions.any { message.contains(it) }, message)
        }

        test("execution provider: $provider with cpuFallback loads on CPU and says why") {
            val expected = Florence2.create(MODEL, short).use { it.caption(chelsea).generatedIds }
            Florence2.create(MODEL, short.copy(executionProvider = provider, cpuFallback = true)).use { m ->
                val report = m.executionProviders()
                assertEquals(ALL_GRAPHS, report.map { it.graph })
                for (p in report) {
                    assertEquals(provider, p.requested, "$p")
                    assertEquals(ExecutionProvider.CPU, p.active, "$p")
                    val reason = assertNotNull(p.fallbackReason, "$p")
                    // Token embeddings are no session: rows are read from the model file.
                    val why = if (p.graph == ModelGraph.EMBED_TOKENS) "model file" else "unavailable"
                    assertTrue(reason.contains(why), reason)
                }
                // A fallback session is an ordinary CPU session: the same tokens.
                assertEquals(expected, m.caption(chelsea).generatedIds)
            }
        }
    }

    test("execution provider: contradictory NNAPI flags are InvalidInput, even with cpuFallback") {
        val flags = NnapiOptions(cpuOnly = true, cpuDisabled = true)
        assertThrowsSuspend(Florence2Exception.InvalidInput::class.java) {
            Florence2.create(MODEL, short.copy(executionProvider = ExecutionProvider.NNAPI, nnapi = flags, cpuFallback = true)).close()
        }
    }

    test("execution provider: the report is Closed after close()") {
        val m = Florence2.create(MODEL, short)
        m.close()
        assertFailsWith<Florence2Exception.Closed> { m.executionProviders() }
    }

    test("execution provider: option defaults are the seed's NNAPI flags and auto XNNPACK threads") {
        val o = Florence2Options()
        assertNull(o.executionProvider)
        assertFalse(o.cpuFallback)
        assertEquals(NnapiOptions(useFp16 = false, useNchw = false, cpuDisabled = true, cpuOnly = false), o.nnapi)
        assertEquals(0, o.xnnpack.threads)
    }
}
