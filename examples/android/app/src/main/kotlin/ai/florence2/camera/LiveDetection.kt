package ai.florence2.camera

import ai.florence2.Florence2
import ai.florence2.Florence2Live
import ai.florence2.ImageInput
import ai.florence2.LabeledBox
import ai.florence2.LiveOutcome
import ai.florence2.LiveStats
import ai.florence2.ResizeMode
import ai.florence2.RunOptions
import ai.florence2.Task
import ai.florence2.TaskOutput
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job
import kotlinx.coroutines.launch

/** What the overlay draws for one frame. */
data class FrameDetections(
    /** The frame's camera timestamp (nanoseconds). */
    val timestampNanos: Long,
    /** The objects, in pixels of the upright frame. */
    val objects: List<LabeledBox>,
    /** The upright frame's size, which the boxes' coordinates refer to. */
    val width: Int,
    val height: Int,
    /** Milliseconds from the frame's submission to its result, or the failure. */
    val latencyMs: Double,
    val failure: String?,
    /** The session's counters so far (submitted, processed, dropped, …). */
    val stats: LiveStats,
)

/**
 * Live `<OD>` over camera frames, with no Android type (compiled in CI against the JVM bindings):
 * frames go to the SDK's live mode with the FAST resize (camera frames), greedy decoding; the
 * newest frame is processed while stale ones are dropped by the SDK, and each result comes back
 * with its frame's timestamp on [scope].
 */
class LiveDetection(
    model: Florence2,
    scope: CoroutineScope,
    private val onResult: (FrameDetections) -> Unit,
) : AutoCloseable {
    private val live: Florence2Live = model.live(
        Task.OBJECT_DETECTION,
        options = RunOptions(numBeams = 1, maxNewTokens = 256, resizeMode = ResizeMode.FAST),
    )

    @Volatile private var frameSize = 0 to 0

    private val collector: Job = scope.launch {
        live.results.collect { r ->
            val (w, h) = frameSize
            val objects = when (val outcome = r.outcome) {
                is LiveOutcome.Done -> (outcome.result.output as? TaskOutput.Boxes)?.objects ?: emptyList()
                is LiveOutcome.Failed -> emptyList()
            }
            val failure = (r.outcome as? LiveOutcome.Failed)?.detail
            onResult(FrameDetections(r.timestampNanos, objects, w, h, r.latencyMs, failure, live.stats()))
        }
    }

    /**
     * Hands a frame over (returns at once). [uprightWidth] × [uprightHeight] is the size the
     * results refer to (after crop and rotation).
     */
    fun submit(frame: ImageInput, timestampNanos: Long, uprightWidth: Int, uprightHeight: Int) {
        frameSize = uprightWidth to uprightHeight
        live.submit(frame, timestampNanos)
    }

    /** Stops the session; no result is delivered afterwards. */
    override fun close() {
        live.close()
        collector.cancel()
    }
}
