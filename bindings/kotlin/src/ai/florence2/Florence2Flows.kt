// Hand-written Kotlin façade over the generated bindings (bindings/kotlin/generated): coroutine
// and Flow conveniences that UniFFI cannot generate. Keep it small; logic belongs in Rust.
package ai.florence2

import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.channels.trySendBlocking
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.callbackFlow

/**
 * Runs [task] on [image] and emits the generated text so far (special tokens kept) after every
 * token; the flow completes when generation ends and fails with the call's [Florence2Exception].
 *
 * Cancelling the collector (or an operator such as `take(n)`) cancels the call within one decoder
 * step. Emissions are not dropped: a slow collector slows generation down. Each emission is the
 * whole text so far, so `.conflate()` is safe when only the latest text matters.
 */
fun Florence2.stream(image: ImageInput, task: Task, text: String? = null): Flow<String> = callbackFlow {
    val listener = object : TokenListener {
        // Called on a Rust worker thread, so blocking here is fine; false cancels the call
        // when the collector has gone away.
        override fun onToken(textSoFar: String, tokenId: UInt): Boolean =
            trySendBlocking(textSoFar).isSuccess
    }
    runStreaming(image, task, text, listener)
    channel.close()
    awaitClose()
}

/**
 * Like [stream] on an image encoded once with [Florence2.encode].
 */
fun Florence2.stream(image: EncodedImage, task: Task, text: String? = null): Flow<String> = callbackFlow {
    val listener = object : TokenListener {
        override fun onToken(textSoFar: String, tokenId: UInt): Boolean =
            trySendBlocking(textSoFar).isSuccess
    }
    runEncodedStreaming(image, task, text, listener)
    channel.close()
    awaitClose()
}

/** The text of a text result (captions, OCR, region category/description/OCR), else `null`. */
val TaskResult.outputText: String?
    get() = (output as? TaskOutput.Text)?.text
