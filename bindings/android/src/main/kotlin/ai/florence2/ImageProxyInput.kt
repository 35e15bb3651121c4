// Android only (the AAR's own source set): CameraX frames as SDK inputs. Compiled in CI against
// stubs of the few CameraX/Android classes it uses (tests/android/stubs, scripts/check-kotlin-snippets.sh).
package ai.florence2

import android.graphics.ImageFormat
import android.graphics.PixelFormat
import androidx.camera.core.ImageProxy
import java.nio.ByteBuffer

/**
 * This CameraX frame as an [ImageInput], ready for [Florence2.run] or [Florence2Live.submit],
 * with no Bitmap and no colour conversion on the Kotlin side.
 *
 * - `YUV_420_888` (ImageAnalysis' default) becomes [ImageInput.Yuv420]: the three planes copied
 *   as they are (strides and padding included), converted in Rust with BT.601 limited range.
 * - `RGBA_8888` (`OUTPUT_IMAGE_FORMAT_RGBA_8888`) becomes [ImageInput.Pixels] in [PixelLayout.RGBA].
 *
 * [crop] defaults to the frame's `cropRect` (the whole frame unless the camera set one; its
 * offsets are rounded down to even pixels for YUV), and [rotationDegrees] to
 * `imageInfo.rotationDegrees`: the result's coordinates refer to the cropped, upright image (see
 * [uprightSize]). The copies outlive the frame, so close the frame right after this returns.
 *
 * @throws IllegalArgumentException for another image format.
 */
fun ImageProxy.toImageInput(
    rotationDegrees: Int = imageInfo.rotationDegrees,
    crop: CropRect? = cropRectOrNull(),
): ImageInput = when (format) {
    ImageFormat.YUV_420_888 -> {
        val (y, u, v) = planes
        ImageInput.Yuv420(
            y = y.buffer.copyAll(),
            u = u.buffer.copyAll(),
            v = v.buffer.copyAll(),
            width = width,
            height = height,
            yRowStride = y.rowStride,
            // U and V share their strides in YUV_420_888.
            uvRowStride = u.rowStride,
            uvPixelStride = u.pixelStride,
            rotationDegrees = rotationDegrees,
            crop = crop?.let { CropRect(it.x and 1.inv(), it.y and 1.inv(), it.width + (it.x and 1), it.height + (it.y and 1)) },
        )
    }
    PixelFormat.RGBA_8888 -> {
        val plane = planes[0]
        ImageInput.Pixels(
            bytes = plane.buffer.copyAll(),
            width = width,
            height = height,
            rowStride = plane.rowStride,
            layout = PixelLayout.RGBA,
            rotationDegrees = rotationDegrees,
            crop = crop,
        )
    }
    else -> throw IllegalArgumentException("florence2: expected YUV_420_888 or RGBA_8888 frames, got format $format")
}

/** Width and height of the image the results' coordinates refer to: the crop, turned upright. */
fun ImageProxy.uprightSize(
    rotationDegrees: Int = imageInfo.rotationDegrees,
    crop: CropRect? = cropRectOrNull(),
): Pair<Int, Int> {
    val w = crop?.width ?: width
    val h = crop?.height ?: height
    return if (rotationDegrees % 180 == 0) w to h else h to w
}

/** The frame's `cropRect` as a [CropRect], or `null` when it covers the whole frame. */
fun ImageProxy.cropRectOrNull(): CropRect? {
    val r = cropRect
    if (r.left == 0 && r.top == 0 && r.width() == width && r.height() == height) return null
    return CropRect(r.left, r.top, r.width(), r.height())
}

/** All bytes from the buffer's start to its limit, without moving the caller's position. */
private fun ByteBuffer.copyAll(): ByteArray {
    val view = duplicate()
    view.rewind()
    return ByteArray(view.remaining()).also { view.get(it) }
}
