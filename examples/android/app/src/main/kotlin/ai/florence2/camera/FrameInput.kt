package ai.florence2.camera

import ai.florence2.ImageInput
import android.graphics.ImageFormat
import androidx.camera.core.ImageProxy
import java.nio.ByteBuffer

/**
 * The frame's YUV_420_888 planes as the SDK's [ImageInput.Yuv420], with no Bitmap and no colour
 * conversion on the Kotlin side: the Rust side converts (BT.601 limited range, the camera's
 * convention) and rotates by [rotationDegrees] in one pass.
 *
 * Each plane is copied as it is, strides and padding included (the copies are what outlive the
 * frame, which the caller closes right after this returns). U and V share their row and pixel
 * strides in YUV_420_888, so U's describe both; pixel stride 2 is the usual semi-planar (NV21/NV12)
 * layout, 1 is planar (I420).
 */
fun ImageProxy.toYuv420Input(rotationDegrees: Int = imageInfo.rotationDegrees): ImageInput.Yuv420 {
    require(format == ImageFormat.YUV_420_888) { "expected YUV_420_888 frames, got format $format" }
    val (y, u, v) = planes
    return ImageInput.Yuv420(
        y = y.buffer.copyAll(),
        u = u.buffer.copyAll(),
        v = v.buffer.copyAll(),
        width = width.toUInt(),
        height = height.toUInt(),
        yRowStride = y.rowStride.toUInt(),
        uvRowStride = u.rowStride.toUInt(),
        uvPixelStride = u.pixelStride.toUInt(),
        rotationDegrees = rotationDegrees.toUInt(),
    )
}

/** Width and height of the image the SDK's coordinates refer to (after the rotation). */
fun ImageProxy.rotatedSize(rotationDegrees: Int = imageInfo.rotationDegrees): Pair<Int, Int> =
    if (rotationDegrees % 180 == 0) width to height else height to width

/** All bytes from the buffer's start to its limit, without moving the caller's position. */
private fun ByteBuffer.copyAll(): ByteArray {
    val view = duplicate()
    view.rewind()
    return ByteArray(view.remaining()).also { view.get(it) }
}
