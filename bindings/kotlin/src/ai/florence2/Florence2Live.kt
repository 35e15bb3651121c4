// Live mode for Kotlin: a Flow of results over the generated LiveSession. The frame policy
// (newest frame wins, at most two held, ordering, nothing after close) lives in Rust.
package ai.florence2

import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.receiveAsFlow
import kotlinx.coroutines.flow.takeWhile
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.selects.select

/**
 * A live session started by [Florence2.live].
 *
 * ```kotlin
 * val live = model.live(Task.OBJECT_DETECTION, options = RunOptions(resizeMode = ResizeMode.FAST))
 * scope.launch { live.results.collect { r -> overlay.show(r.timestampNanos, r.outcome) } }
 * imageAnalysis.setAnalyzer(executor) { proxy ->
 *     proxy.use { live.submit(it.toImageInput(), it.imageInfo.timestamp) }   // returns at once
 * }
 * // …
 * live.close()
 * ```
 *
 * At most two frames are held (the one being processed and the newest one waiting); a frame
 * submitted while another waits replaces it, and the older one is counted in [stats] as dropped.
 * Results come in submission order. A slow collector holds the worker, so frames keep being
 * dropped instead of queued. Once [close] returns, [results] emits nothing more and completes.
 */
class Florence2Live private constructor() : AutoCloseable {
    private val channel = Channel<LiveResult>(capacity = 1)
    private val closing = CompletableDeferred<Unit>()
    private lateinit var session: LiveSession

    internal companion object {
        fun start(engine: Florence2Engine, request: TaskRequest): Florence2Live {
            val live = Florence2Live()
            val listener = object : LiveListener {
                // On the session's worker thread: waits while the collector is behind (so newer
                // frames replace older ones upstream), and stops waiting when close() begins.
                // Never throws: an exception here would reach Rust as a failed callback.
                override fun onResult(result: LiveResult) {
                    try {
                        runBlocking {
                            select<Unit> {
                                live.closing.onAwait {}
                                live.channel.onSend(result) {}
                            }
                        }
                    } catch (_: Throwable) {
                        // The channel closed while sending: the session is closing.
                    }
                }
            }
            live.session = engine.live(request, listener)
            return live
        }
    }

    /** Each processed (or failed) frame's result with its timestamp, in order; one collector. */
    val results: Flow<LiveResult> = channel.receiveAsFlow().takeWhile { !closing.isCompleted }

    /**
     * Hands [frame] over and returns at once. [timestampNanos] must increase from frame to frame
     * (e.g. `ImageProxy.imageInfo.timestamp`).
     *
     * @throws Florence2Exception.InvalidInput for a bad frame description or timestamp,
     *   [Florence2Exception.Closed] after [close].
     */
    fun submit(frame: ImageInput, timestampNanos: Long) = session.submit(frame, timestampNanos)

    /** Frames submitted, processed, failed and dropped, the most held at once, and latency. */
    fun stats(): LiveStats = session.stats()

    /**
     * Stops the session: the waiting frame is dropped, the running one cancelled, and [results]
     * completes with nothing more. Idempotent.
     */
    override fun close() {
        // Release a worker waiting to deliver, stop the session (it waits for a delivery in
        // progress), then end the flow.
        closing.complete(Unit)
        session.stop()
        channel.close()
    }
}
