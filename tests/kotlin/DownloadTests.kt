// Kotlin/JVM tests of model delivery (Florence2Downloads over the generated ModelDownloader),
// against a loopback HTTP server (com.sun.net.httpserver) serving the fixture model. The manifest
// is written by models/manifest.py, so the Python writer and the Rust reader are tested together.
// Entry point: runDownloadTests(reference), called from Florence2Tests.kt's main.
import ai.florence2.*
import com.sun.net.httpserver.HttpServer
import java.io.File
import java.net.InetSocketAddress
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.ConcurrentLinkedQueue
import java.util.concurrent.Executors
import java.util.concurrent.atomic.AtomicInteger
import kotlin.test.*
import kotlinx.coroutines.*
import kotlinx.coroutines.flow.*

/** Serves tests/fixtures/tiny-random under /m/ with `Range` support; records every GET. */
class FixtureServer : AutoCloseable {
    private val root = File(MODEL)
    private val server = HttpServer.create(InetSocketAddress("127.0.0.1", 0), 0)
    /** Path → GET count, and the `Range` headers seen. */
    val gets = ConcurrentHashMap<String, AtomicInteger>()
    val ranges = ConcurrentLinkedQueue<Pair<String, String>>()
    /** Sleep before answering each GET. */
    @Volatile var getDelayMs = 0L
    /** Paths served 4 KB every 20 ms. */
    val slow: MutableSet<String> = ConcurrentHashMap.newKeySet()

    init {
        server.executor = Executors.newCachedThreadPool { r -> Thread(r).apply { isDaemon = true } }
        server.createContext("/m/") { ex ->
            try {
                val rel = ex.requestURI.path.removePrefix("/m/")
                val file = File(root, rel)
                if (ex.requestMethod == "GET") {
                    gets.computeIfAbsent(rel) { AtomicInteger() }.incrementAndGet()
                    ex.requestHeaders.getFirst("Range")?.let { ranges.add(rel to it) }
                    Thread.sleep(getDelayMs)
                }
                if (rel.contains("..") || !file.isFile) {
                    ex.sendResponseHeaders(404, -1)
                    return@createContext
                }
                val bytes = file.readBytes()
                val from = ex.requestHeaders.getFirst("Range")?.removePrefix("bytes=")?.removeSuffix("-")?.toInt() ?: 0
                ex.responseHeaders.add("ETag", "\"v1\"")
                if (from > 0) {
                    ex.responseHeaders.add("Content-Range", "bytes $from-${bytes.size - 1}/${bytes.size}")
                    ex.sendResponseHeaders(206, (bytes.size - from).toLong())
                } else {
                    ex.sendResponseHeaders(200, bytes.size.toLong())
                }
                ex.responseBody.use { out ->
                    if (rel in slow) {
                        var i = from
                        while (i < bytes.size) {
                            val n = minOf(4096, bytes.size - i)
                            out.write(bytes, i, n); out.flush(); i += n
                            Thread.sleep(20)
                        }
                    } else {
                        out.write(bytes, from, bytes.size - from)
                    }
                }
            } catch (e: java.io.IOException) {
                // The client went away (cancelled): nothing to do.
            } finally {
                ex.close()
            }
        }
        server.start()
    }

    val baseUrl get() = "http://127.0.0.1:${server.address.port}/m/"

    fun getCount(rel: String) = gets[rel]?.get() ?: 0

    override fun close() = server.stop(0)
}

/** A manifest of the fixture served at [baseUrl], written by models/manifest.py. */
fun fixtureManifest(baseUrl: String): ModelManifest {
    val python = File(ROOT, ".venv/bin/python").path
    val p = ProcessBuilder(python, File(ROOT, "models/manifest.py").path, MODEL, "--base-url", baseUrl, "--id", "test/tiny")
        .redirectError(ProcessBuilder.Redirect.INHERIT).start()
    val json = p.inputStream.bufferedReader().readText()
    check(p.waitFor() == 0) { "models/manifest.py failed" }
    return ModelManifest.fromJson(json)
}

val FIXTURE_GRAPHS = listOf("onnx/vision_encoder.onnx", "onnx/embed_tokens.onnx", "onnx/encoder_model.onnx",
    "onnx/decoder_model_merged.onnx")

fun runDownloadTests(reference: Florence2) {
    val fast = DownloadOptions(maxRetries = 2, retryDelayMs = 10L, connectTimeoutMs = 2000L, readTimeoutMs = 5000L)
    val chelsea = ImageInput.FilePath(image("chelsea_451x300.png"))
    val fixtureBytes = (listOf("config.json", "generation_config.json", "preprocessor_config.json", "tokenizer.json") +
        FIXTURE_GRAPHS).sumOf { File(MODEL, it).length() }

    test("download: Flow progress to Ready, open the model, caption equals the fixture's, delete") {
        FixtureServer().use { server ->
            val manifest = fixtureManifest(server.baseUrl)
            val preset = manifest.presets().single()
            assertEquals("fp32", preset.name)
            assertEquals(fixtureBytes, preset.totalBytes)
            val dir = kotlin.io.path.createTempDirectory("f2dl").toFile().resolve("model").path
            Florence2Downloads(fast).use { downloads ->
                assertEquals(ModelStatus.Absent, downloads.status(manifest, "fp32", dir))
                val progress = downloads.download(manifest, "fp32", dir).toList()
                val last = progress.last()
                assertTrue(last.complete)
                assertEquals(fixtureBytes, last.bytesDone)
                assertEquals(fixtureBytes, last.totalBytes)
                assertEquals(1.0, last.fraction)
                assertTrue(progress.zipWithNext().all { (a, b) -> a.bytesDone <= b.bytesDone })
                assertTrue(last.files.all { it.state == DownloadFileState.DONE })
                assertEquals(ModelStatus.Ready, downloads.status(manifest, "fp32", dir))
                assertEquals(ModelStatus.Ready, downloads.verify(manifest, "fp32", dir))
                for (rel in FIXTURE_GRAPHS) assertContentEquals(File(MODEL, rel).readBytes(), File(dir, rel).readBytes())
                downloads.open(manifest, "fp32", dir, GREEDY).use { m ->
                    assertEquals(reference.caption(chelsea).text, m.caption(chelsea).text)
                }
                // Again: nothing left to fetch.
                val before = server.gets.values.sumOf { it.get() }
                val report = downloads.downloadNow(manifest, "fp32", dir)
                assertEquals(0L, report.bytesDownloaded)
                assertEquals(before, server.gets.values.sumOf { it.get() })
                downloads.delete(manifest, dir)
                assertEquals(ModelStatus.Absent, downloads.status(manifest, "fp32", dir))
                assertFalse(File(dir).exists())
            }
        }
    }

    test("download: two collectors of the same model share one download (one GET per file)") {
        FixtureServer().use { server ->
            server.getDelayMs = 100
            val manifest = fixtureManifest(server.baseUrl)
            val dir = kotlin.io.path.createTempDirectory("f2dl").toFile().path
            Florence2Downloads(fast).use { downloads ->
                val a = async(Dispatchers.Default) { downloads.download(manifest, "fp32", dir).toList() }
                val b = async(Dispatchers.Default) { Florence2Downloads(fast).use { it.download(manifest, "fp32", dir).toList() } }
                assertTrue(a.await().last().complete)
                assertTrue(b.await().last().complete)
                for (rel in FIXTURE_GRAPHS) assertEquals(1, server.getCount(rel), rel)
                assertEquals(ModelStatus.Ready, downloads.status(manifest, "fp32", dir))
            }
        }
    }

    test("download: cancelling the collector keeps the partial file; the next download resumes with Range") {
        FixtureServer().use { server ->
            val decoder = "onnx/decoder_model_merged.onnx"
            server.slow += decoder
            val manifest = fixtureManifest(server.baseUrl)
            val dir = kotlin.io.path.createTempDirectory("f2dl").toFile().path
            Florence2Downloads(fast).use { downloads ->
                // Stop as soon as the (slow) decoder has bytes on disk.
                val seen = downloads.download(manifest, "fp32", dir)
                    .first { p -> p.files.any { it.path == decoder && it.bytesDone > 0L } }
                assertFalse(seen.complete)
                // The collector is gone; the download stops at its next read and its partial file
                // stays. Wait for that state (no time budget: the harness alone bounds the wait).
                var status = downloads.status(manifest, "fp32", dir)
                while (!(status is ModelStatus.Partial && status.bytesPresent > 0L)) {
                    delay(10)
                    status = downloads.status(manifest, "fp32", dir)
                }
                server.slow.clear()
                downloads.downloadNow(manifest, "fp32", dir)
                val resumed = server.ranges.filter { it.first == decoder }.map { it.second }
                assertEquals(1, resumed.size, "$resumed")
                assertTrue(resumed.single().matches(Regex("bytes=[1-9][0-9]*-")), resumed.single())
                assertContentEquals(File(MODEL, decoder).readBytes(), File(dir, decoder).readBytes())
            }
        }
    }

    test("download errors are typed: DownloadException NotFound, Offline, InvalidManifest; open of a partial folder is ModelLoad") {
        FixtureServer().use { server ->
            Florence2Downloads(fast).use { downloads ->
                val dir = kotlin.io.path.createTempDirectory("f2dl").toFile().path
                val missing = fixtureManifest(server.baseUrl.replace("/m/", "/m/nothing-here/"))
                val notFound = assertThrowsSuspend(DownloadException.NotFound::class.java) {
                    downloads.download(missing, "fp32", dir).collect {}
                }
                assertTrue(notFound.toString().contains("404"), notFound.toString())
                assertTrue(notFound.url.contains("/m/nothing-here/"), notFound.url)
                val port = java.net.ServerSocket(0).use { it.localPort }
                val offline = fixtureManifest("http://127.0.0.1:$port/m/")
                val off = assertThrowsSuspend(DownloadException.Offline::class.java) { downloads.downloadNow(offline, "fp32", dir) }
                assertTrue(off.url.startsWith("http://127.0.0.1:$port/m/"), off.url)
                val notReady = assertThrowsSuspend(Florence2Exception.ModelLoad::class.java) {
                    downloads.open(offline, "fp32", dir)
                }
                assertTrue(notReady.detail.contains("not ready") && notReady.file == dir, "$notReady")
                val unknown = assertThrowsSuspend(DownloadException.InvalidManifest::class.java) {
                    downloads.status(offline, "fp64", dir)
                }
                assertTrue(unknown.detail.contains("fp64"), "$unknown")
                val builtin = ModelManifest.builtin("onnx-community/Florence-2-base-ft")
                assertEquals(listOf("mobile-int8", "fp16", "fp32"), builtin.presets().map { it.name })
                assertEquals(Precision.INT8, builtin.presets().first().precision.decoder)
                assertEquals(4, builtinModelIds().size)
            }
        }
    }
}
