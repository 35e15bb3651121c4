// One timed greedy run through the Kotlin SDK on the JVM: the "our SDK from Kotlin" contender of
// scripts/bench.sh. Prints one JSON line with the keys of the other contenders
// (load_ms, preprocess_ms, vision_ms, encoder_ms, decode_ms, steps, ms_per_token, e2e_ms, ids).
//
//   java ... Florence2BenchKt MODEL_DIR IMAGE TASK MAX_NEW_TOKENS THREADS PRECISION [MEMORY_MODE]
// MEMORY_MODE: standard (default) or low (Florence2Options.memoryMode, docs/memory.md).
package ai.florence2.bench

import ai.florence2.*
import kotlin.system.exitProcess
import kotlinx.coroutines.runBlocking

fun main(args: Array<String>) {
    if (args.size != 6 && args.size != 7) {
        System.err.println("usage: Florence2BenchKt MODEL_DIR IMAGE TASK MAX_NEW_TOKENS THREADS PRECISION [MEMORY_MODE]")
        exitProcess(2)
    }
    val (modelDir, image, token) = args
    val tokens = args[3].toInt()
    val threads = args[4].toInt()
    val precision = Precision.valueOf(args[5].uppercase())
    val memoryMode = MemoryMode.valueOf(args.getOrElse(6) { "standard" }.uppercase())
    val plan = PrecisionPlan(precision, precision, precision, precision)
    val options = Florence2Options(
        precision = plan, threads = threads, maxNewTokens = tokens, numBeams = 1, memoryMode = memoryMode,
    )
    runBlocking {
        val t0 = System.nanoTime()
        val model = Florence2.create(modelDir, options)
        val loadMs = (System.nanoTime() - t0) / 1e6
        model.use { m ->
            val t1 = System.nanoTime()
            val result = m.run(ImageInput.FilePath(image), taskFromToken(token), null)
            val e2eMs = (System.nanoTime() - t1) / 1e6
            val t = result.timings
            val steps = result.generatedIds.size - 1
            println(
                "{\"load_ms\":$loadMs,\"preprocess_ms\":${t.preprocessMs},\"vision_ms\":${t.visionMs}," +
                    "\"encoder_ms\":${t.encoderMs},\"decode_ms\":${t.decoderMs},\"steps\":$steps," +
                    "\"ms_per_token\":${t.decoderMs / maxOf(1, steps)},\"e2e_ms\":$e2eMs," +
                    "\"ids\":${result.generatedIds.joinToString(",", "[", "]")}}",
            )
        }
    }
}
