// Compile-only stand-ins (see ../../README.md): values as in the Android SDK.
package android.graphics

object ImageFormat { const val YUV_420_888 = 35 }

object PixelFormat { const val RGBA_8888 = 1 }

open class Rect(@JvmField var left: Int, @JvmField var top: Int, @JvmField var right: Int, @JvmField var bottom: Int) {
    fun width(): Int = right - left
    fun height(): Int = bottom - top
}
