package ai.florence2.camera

import ai.florence2.ExecutionProvider
import ai.florence2.Florence2
import ai.florence2.Florence2Exception
import ai.florence2.Florence2Options
import ai.florence2.Precision
import ai.florence2.PrecisionPlan
import ai.florence2.ResizeMode
import ai.florence2.toImageInput
import ai.florence2.uprightSize
import android.Manifest
import android.content.pm.PackageManager
import android.graphics.Color
import android.os.Bundle
import android.util.Log
import android.view.Gravity
import android.view.ViewGroup.LayoutParams.MATCH_PARENT
import android.view.ViewGroup.LayoutParams.WRAP_CONTENT
import android.widget.FrameLayout
import android.widget.TextView
import androidx.activity.ComponentActivity
import androidx.activity.result.contract.ActivityResultContracts
import androidx.camera.core.CameraSelector
import androidx.camera.core.ImageAnalysis
import androidx.camera.core.ImageProxy
import androidx.camera.core.Preview
import androidx.camera.core.resolutionselector.AspectRatioStrategy
import androidx.camera.core.resolutionselector.ResolutionSelector
import androidx.camera.lifecycle.ProcessCameraProvider
import androidx.camera.view.PreviewView
import androidx.core.content.ContextCompat
import androidx.lifecycle.lifecycleScope
import java.io.File
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors
import kotlinx.coroutines.launch

/**
 * Live object detection: CameraX preview, an `ImageAnalysis` stream feeding YUV frames to the
 * SDK's live mode running Florence-2's `<OD>` task ([LiveDetection]: the FAST resize, the newest
 * frame processed, stale ones dropped), and the boxes drawn over the preview.
 *
 * The model folder (onnx-community layout: config.json, tokenizer.json, onnx/…) is read from the
 * app's external files directory, e.g.
 * `adb push florence2-base /sdcard/Android/data/ai.florence2.camera/files/florence2`, or the
 * repository's trained demo model, which finds coloured circles, squares and triangles (point the
 * camera at shapes printed or drawn on light paper):
 * `adb push models/demo-shapes /sdcard/Android/data/ai.florence2.camera/files/florence2`.
 * Options come from the launch intent:
 * `adb shell am start -n ai.florence2.camera/.MainActivity --es provider xnnpack --es precision int8`
 * (provider: cpu | xnnpack | nnapi; precision of all graphs but the vision encoder: fp32 | int8 | q4 …).
 */
class MainActivity : ComponentActivity() {
    private lateinit var previewView: PreviewView
    private lateinit var overlay: DetectionOverlay
    private lateinit var status: TextView

    /** CameraX calls the analyzer here, one frame at a time. */
    private lateinit var analysisExecutor: ExecutorService

    @Volatile private var model: Florence2? = null

    /** The live session, once the model is loaded. */
    @Volatile private var detection: LiveDetection? = null

    private val requestCamera =
        registerForActivityResult(ActivityResultContracts.RequestPermission()) { granted ->
            if (granted) startCamera() else status.text = "Camera permission denied"
        }

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        analysisExecutor = Executors.newSingleThreadExecutor()
        previewView = PreviewView(this).apply {
            scaleType = PreviewView.ScaleType.FILL_CENTER
            // TextureView-based, so the overlay view draws above it reliably.
            implementationMode = PreviewView.ImplementationMode.COMPATIBLE
        }
        overlay = DetectionOverlay(this)
        status = TextView(this).apply {
            setTextColor(Color.WHITE)
            setBackgroundColor(Color.argb(160, 0, 0, 0))
            setPadding(24, 16, 24, 16)
            text = "Loading the model…"
        }
        setContentView(
            FrameLayout(this).apply {
                addView(previewView, FrameLayout.LayoutParams(MATCH_PARENT, MATCH_PARENT))
                addView(overlay, FrameLayout.LayoutParams(MATCH_PARENT, MATCH_PARENT))
                addView(status, FrameLayout.LayoutParams(MATCH_PARENT, WRAP_CONTENT, Gravity.BOTTOM))
            },
        )

        lifecycleScope.launch { loadModel() }
        if (ContextCompat.checkSelfPermission(this, Manifest.permission.CAMERA) == PackageManager.PERMISSION_GRANTED) {
            startCamera()
        } else {
            requestCamera.launch(Manifest.permission.CAMERA)
        }
    }

    override fun onDestroy() {
        super.onDestroy()
        analysisExecutor.shutdown()
        // Stop the live session (nothing is delivered afterwards), then free the native model.
        detection?.close()
        detection = null
        model?.close()
        model = null
    }

    private fun options(): Florence2Options {
        val provider = when (intent.getStringExtra("provider")?.lowercase()) {
            "xnnpack" -> ExecutionProvider.XNNPACK
            "nnapi" -> ExecutionProvider.NNAPI
            else -> ExecutionProvider.CPU
        }
        val precision = intent.getStringExtra("precision")?.uppercase()?.let { name ->
            Precision.entries.firstOrNull { it.name == name }
        }
        return Florence2Options(
            // The vision encoder stays float32 (int8 convolutions lose accuracy); the text graphs
            // take the requested precision.
            precision = PrecisionPlan(embedTokens = precision, textEncoder = precision, decoder = precision),
            executionProvider = provider,
            // A demo should run anyway: graphs the provider cannot take run on CPU, and the status
            // line says so.
            cpuFallback = true,
            numBeams = 1, // greedy: fastest, fine for live detection
            maxNewTokens = 256,
            resizeMode = ResizeMode.FAST, // camera frames: the fast resize path
        )
    }

    private suspend fun loadModel() {
        val dir = File(getExternalFilesDir(null), "florence2")
        if (!File(dir, "config.json").isFile) {
            status.text = "No model: push a Florence-2 folder to ${dir.path}"
            return
        }
        try {
            val loaded = Florence2.create(dir.path, options())
            model = loaded
            detection = LiveDetection(loaded, lifecycleScope) { d ->
                overlay.show(d.objects, d.width, d.height)
                status.text = d.failure?.let { "Frame failed: $it" } ?: "%d objects · %.0f ms · %d dropped of %d".format(
                    d.objects.size, d.latencyMs, d.stats.dropped, d.stats.submitted,
                )
            }
            status.text = loaded.executionProviders().joinToString(prefix = "Ready. ") { p ->
                "${p.graph.name.lowercase()}: ${p.active}" + if (p.fallbackReason != null) " (fallback)" else ""
            }
            loaded.executionProviders().forEach { p ->
                p.fallbackReason?.let { Log.w(TAG, "${p.graph}: ${p.requested} unavailable, on CPU: $it") }
            }
        } catch (e: Florence2Exception) {
            status.text = "Could not load the model: ${e.message}"
        }
    }

    private fun startCamera() {
        val providerFuture = ProcessCameraProvider.getInstance(this)
        providerFuture.addListener({
            val cameraProvider = providerFuture.get()
            // Same aspect ratio for preview and analysis, so the overlay's mapping holds.
            val resolution = ResolutionSelector.Builder()
                .setAspectRatioStrategy(AspectRatioStrategy.RATIO_4_3_FALLBACK_AUTO_STRATEGY)
                .build()
            val preview = Preview.Builder().setResolutionSelector(resolution).build()
            preview.setSurfaceProvider(previewView.surfaceProvider)
            val analysis = ImageAnalysis.Builder()
                .setResolutionSelector(resolution)
                // Never queue frames: inference takes far longer than a frame interval.
                .setBackpressureStrategy(ImageAnalysis.STRATEGY_KEEP_ONLY_LATEST)
                .setOutputImageFormat(ImageAnalysis.OUTPUT_IMAGE_FORMAT_YUV_420_888)
                .build()
            analysis.setAnalyzer(analysisExecutor, ::analyze)
            cameraProvider.unbindAll()
            cameraProvider.bindToLifecycle(this, CameraSelector.DEFAULT_BACK_CAMERA, preview, analysis)
        }, ContextCompat.getMainExecutor(this))
    }

    /**
     * Runs on [analysisExecutor] for every frame: copies it into an SDK input (no conversion on
     * the Kotlin side), hands it to the live session (which returns at once) and closes it, so
     * CameraX keeps delivering frames. The session keeps only the newest waiting frame.
     */
    private fun analyze(frame: ImageProxy) {
        frame.use {
            val live = detection ?: return
            try {
                val (width, height) = it.uprightSize()
                live.submit(it.toImageInput(), it.imageInfo.timestamp, width, height)
            } catch (e: Exception) {
                // A frame CameraX could not give us, or Florence2Exception (e.g. Closed while
                // the activity stops): skip it.
                Log.w(TAG, "frame skipped", e)
            }
        }
    }

    private companion object {
        const val TAG = "Florence2Camera"
    }
}
