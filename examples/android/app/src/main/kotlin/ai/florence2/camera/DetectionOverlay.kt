package ai.florence2.camera

import ai.florence2.LabeledBox
import android.content.Context
import android.graphics.Canvas
import android.graphics.Color
import android.graphics.Paint
import android.graphics.RectF
import android.util.TypedValue
import android.view.View
import kotlin.math.max

/**
 * Draws detection boxes over a `PreviewView` that uses `ScaleType.FILL_CENTER` (its default).
 *
 * Boxes come in pixels of the rotated analysis frame; the preview shows the same camera stream
 * scaled to fill the view and centred, so one scale and one offset map frame pixels to view pixels.
 * Preview and analysis use the same aspect ratio (see MainActivity), so the crop matches.
 */
class DetectionOverlay(context: Context) : View(context) {
    private var objects: List<LabeledBox> = emptyList()
    private var frameWidth = 0
    private var frameHeight = 0

    private val boxPaint = Paint().apply {
        style = Paint.Style.STROKE
        strokeWidth = 4f * resources.displayMetrics.density
        color = Color.rgb(0, 230, 118)
        isAntiAlias = true
    }
    private val textPaint = Paint().apply {
        color = Color.WHITE
        textSize = TypedValue.applyDimension(TypedValue.COMPLEX_UNIT_SP, 14f, resources.displayMetrics)
        isAntiAlias = true
    }
    private val labelBackground = Paint().apply { color = Color.argb(160, 0, 0, 0) }
    private val rect = RectF()

    /** Shows [objects] found in a frame of [width] x [height] pixels (after crop and rotation). */
    fun show(objects: List<LabeledBox>, width: Int, height: Int) {
        this.objects = objects
        frameWidth = width
        frameHeight = height
        invalidate()
    }

    /** Removes all boxes. */
    fun clear() = show(emptyList(), 0, 0)

    override fun onDraw(canvas: Canvas) {
        super.onDraw(canvas)
        if (frameWidth <= 0 || frameHeight <= 0) return
        val scale = max(width.toFloat() / frameWidth, height.toFloat() / frameHeight)
        val dx = (width - frameWidth * scale) / 2f
        val dy = (height - frameHeight * scale) / 2f
        for (obj in objects) {
            val box = obj.bounds
            rect.set(
                dx + box.x1.toFloat() * scale,
                dy + box.y1.toFloat() * scale,
                dx + box.x2.toFloat() * scale,
                dy + box.y2.toFloat() * scale,
            )
            canvas.drawRect(rect, boxPaint)
            val label = obj.label
            if (label.isNotEmpty()) {
                val textWidth = textPaint.measureText(label)
                val top = rect.top - textPaint.textSize - 8f
                canvas.drawRect(rect.left, top, rect.left + textWidth + 16f, rect.top, labelBackground)
                canvas.drawText(label, rect.left + 8f, rect.top - 8f, textPaint)
            }
        }
    }
}
