// Hand-written Kotlin façade over the generated download API (ModelDownloader, ModelManifest):
// a Flow of progress, status/verify/delete, and a Florence2 factory for a downloaded model.
// Logic (resume, verification, joining, typed errors) lives in Rust (the florence2-download crate).
package ai.florence2

import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.channels.trySendBlocking
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.callbackFlow

/**
 * Delivers Florence-2 models to the device: check [status], [download] with progress, [open] the
 * ready model, [delete] it.
 *
 * ```kotlin
 * val downloads = Florence2Downloads()
 * val manifest = ModelManifest.builtin("onnx-community/Florence-2-base-ft")
 * val dir = File(context.filesDir, "florence2-base-ft").path
 * if (downloads.status(manifest, "mobile-int8", dir) != ModelStatus.Ready) {
 *     downloads.download(manifest, "mobile-int8", dir).collect { p ->
 *         progressBar.progress = p.fraction?.let { (it * 100).toInt() } ?: 0
 *     }
 * }
 * val model = downloads.open(manifest, "mobile-int8", dir, Florence2Options(numBeams = 1))
 * ```
 *
 * Downloads resume after dropped connections and app restarts, are verified (SHA-256) before a
 * file gets its final name, refuse to start without the free space
 * ([DownloadException.InsufficientSpace]), and are shared: collecting two flows for the same
 * folder makes one download. Failures are [DownloadException] subclasses (`Offline`,
 * `NetworkDropped`, `NotFound`, `ChecksumMismatch`, `DiskFull`, …), each with its typed fields.
 */
class Florence2Downloads(options: DownloadOptions = DownloadOptions()) : AutoCloseable {
    private val downloader = ModelDownloader(options)

    /**
     * Downloads [preset] of [manifest] into [modelDir] and emits its progress (per file and
     * overall); the flow completes when every file is verified in place (the last emission has
     * `complete = true`) and fails with the download's [DownloadException].
     *
     * Cancelling the collector cancels this caller's download; the partial files stay, and the
     * next `download` resumes them. Emissions are snapshots, so `.conflate()` is safe.
     */
    fun download(manifest: ModelManifest, preset: String, modelDir: String): Flow<DownloadProgress> = callbackFlow {
        val listener = object : DownloadListener {
            // Called on a Rust worker thread: blocking here only slows the progress reports.
            override fun onProgress(progress: DownloadProgress) {
                trySendBlocking(progress)
            }
        }
        downloader.download(manifest, preset, modelDir, listener)
        channel.close()
        awaitClose()
    }

    /** Like [download], suspending until done and returning what the download did. */
    suspend fun downloadNow(manifest: ModelManifest, preset: String, modelDir: String): DownloadReport =
        downloader.download(manifest, preset, modelDir, null)

    /** What is on disk for [preset] in [modelDir]: absent, partial (bytes), ready or corrupt (fast: sizes only). */
    suspend fun status(manifest: ModelManifest, preset: String, modelDir: String): ModelStatus =
        downloader.status(manifest, preset, modelDir)

    /** Like [status], also checking every finished file's SHA-256 (reads the whole model). */
    suspend fun verify(manifest: ModelManifest, preset: String, modelDir: String): ModelStatus =
        downloader.verify(manifest, preset, modelDir)

    /** Deletes the model's files and download state from [modelDir] (other files stay). */
    suspend fun delete(manifest: ModelManifest, modelDir: String) = downloader.delete(manifest, modelDir)

    /**
     * Creates a [Florence2] from the downloaded [preset] in [modelDir], with the preset's
     * precision; fails with [Florence2Exception.ModelLoad] (naming the status) unless it is `Ready`.
     */
    suspend fun open(
        manifest: ModelManifest,
        preset: String,
        modelDir: String,
        options: Florence2Options = Florence2Options(),
    ): Florence2 = Florence2.wrap(downloader.open(manifest, preset, modelDir, options))

    override fun close() = downloader.close()
}

/** Share of the bytes on disk, 0.0–1.0; `null` while the total size is unknown. */
val DownloadProgress.fraction: Double?
    get() = totalBytes?.let { total -> if (total == 0L) 1.0 else bytesDone.toDouble() / total.toDouble() }
