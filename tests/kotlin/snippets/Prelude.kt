// The free names the docs' Kotlin snippets use, so that scripts/kotlin-snippets.sh's output
// compiles (never run: every value is a placeholder of the right type).
@file:Suppress("unused")
package snippets

import ai.florence2.ImageInput
import java.io.File

val pixels = ByteArray(0)
val width = 0
val height = 0
val rowStride = 0
val jpegBytes = ByteArray(0)
val image: ImageInput = ImageInput.FilePath("photo.jpg")
val img1: ImageInput = image
val img2: ImageInput = image
val img3: ImageInput = image
val frame: ImageInput = image
val timestampNanos = 0L
val dir = "/data/florence2"
val modelDir = File(dir)
val photo = File("photo.jpg")
/** Stands for an Android `Context` (only `filesDir` is used). */
class AppContext(val filesDir: File)
val context = AppContext(File("/data"))
fun show(done: Long, total: Long?) {}
fun showProgress(done: Long, total: Long?) {}
