// A small Kotlin/JVM program over the Florence-2 SDK: runs one task on an image file and prints
// the result as one JSON object (the same keys as `florence2 run --json`).
//
//   examples/kotlin/run.sh MODEL_DIR TASK IMAGE [TEXT] [--beams N] [--max-new-tokens N]
//   examples/kotlin/run.sh tests/fixtures/tiny-random '<OD>' tests/fixtures/images/chelsea_451x300.png --beams 1
package ai.florence2.example

import ai.florence2.*
import kotlin.system.exitProcess
import kotlinx.coroutines.runBlocking

fun main(args: Array<String>) {
    val positional = mutableListOf<String>()
    var beams: Int? = null
    var maxNewTokens: Int? = null
    var i = 0
    while (i < args.size) {
        when (args[i]) {
            "--beams" -> beams = args.getOrNull(++i)?.toIntOrNull() ?: usage()
            "--max-new-tokens" -> maxNewTokens = args.getOrNull(++i)?.toIntOrNull() ?: usage()
            else -> positional += args[i]
        }
        i++
    }
    if (positional.size !in 3..4) usage()
    val (modelDir, token, imagePath) = positional
    val text = positional.getOrNull(3)
    try {
        val task = taskFromToken(token)
        val result = runBlocking {
            Florence2.create(modelDir, Florence2Options(numBeams = beams, maxNewTokens = maxNewTokens)).use { model ->
                model.run(ImageInput.FilePath(imagePath), task, text)
            }
        }
        println(toJson(linkedMapOf(
            "image" to imagePath,
            "task" to token,
            "generated_ids" to result.generatedIds,
            "text" to result.text,
            "result" to mapOf(token to output(result.output)),
            "finish_reason" to if (result.finishReason == FinishReason.EOS) "eos" else "max_tokens",
            "timings_ms" to with(result.timings) {
                linkedMapOf("preprocess" to preprocessMs, "vision" to visionMs, "encoder" to encoderMs,
                    "decoder" to decoderMs, "total" to totalMs)
            },
        )))
    } catch (e: Florence2Exception) {
        System.err.println("error (${e::class.simpleName}): ${e.message}")
        exitProcess(1)
    }
}

fun usage(): Nothing {
    System.err.println("usage: run.sh MODEL_DIR TASK IMAGE [TEXT] [--beams N] [--max-new-tokens N]   (TASK e.g. '<OD>')")
    exitProcess(2)
}

fun flat(points: List<Point>) = points.flatMap { listOf(it.x, it.y) }
fun boxes(objects: List<LabeledBox>) = objects.map { o -> o.bounds.let { listOf(it.x1, it.y1, it.x2, it.y2) } }
fun masks(masks: List<LabeledMask>) = masks.map { m -> m.mask.polygons.map { flat(it.points) } }

/** The result in the Python `post_process_generation` shape. */
fun output(o: TaskOutput): Any = when (o) {
    is TaskOutput.Text -> o.text
    is TaskOutput.Boxes -> linkedMapOf("bboxes" to boxes(o.objects), "labels" to o.objects.map { it.label })
    is TaskOutput.Quads -> linkedMapOf("quad_boxes" to o.lines.map { flat(it.quad.points) }, "labels" to o.lines.map { it.text })
    is TaskOutput.Polygons -> linkedMapOf("polygons" to masks(o.masks), "labels" to o.masks.map { it.label })
    is TaskOutput.Mixed -> linkedMapOf("bboxes" to boxes(o.objects), "bboxes_labels" to o.objects.map { it.label },
        "polygons" to masks(o.masks), "polygons_labels" to o.masks.map { it.label })
}

fun toJson(v: Any?): String = when (v) {
    null -> "null"
    is String -> buildString {
        append('"')
        for (c in v) when {
            c == '"' -> append("\\\"")
            c == '\\' -> append("\\\\")
            c < ' ' -> append("\\u%04x".format(c.code))
            else -> append(c)
        }
        append('"')
    }
    is Double -> if (v.isFinite()) v.toString() else "null"
    is Number, is Boolean -> v.toString()
    is Map<*, *> -> v.entries.joinToString(",", "{", "}") { toJson(it.key.toString()) + ":" + toJson(it.value) }
    is Iterable<*> -> v.joinToString(",", "[", "]") { toJson(it) }
    else -> toJson(v.toString())
}
