// Compile-only stand-ins (see ../../../README.md): the members of CameraX's ImageProxy the SDK uses.
package androidx.camera.core

import android.graphics.Rect
import java.nio.ByteBuffer

interface ImageInfo {
    val timestamp: Long
    val rotationDegrees: Int
}

interface ImageProxy : AutoCloseable {
    interface PlaneProxy {
        val rowStride: Int
        val pixelStride: Int
        val buffer: ByteBuffer
    }
    val format: Int
    val width: Int
    val height: Int
    val cropRect: Rect
    val planes: Array<PlaneProxy>
    val imageInfo: ImageInfo
}
