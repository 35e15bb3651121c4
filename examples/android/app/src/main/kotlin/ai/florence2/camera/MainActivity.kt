package ai.florence2.camera

import ai.florence2.ExecutionProvider
import ai.florence2.Florence2
import ai.florence2.Florence2Exception
import ai.florence2.Florence2Options
import ai.florence2.ImageInput
import ai.florence2.Precision
import ai.florence2.PrecisionPlan
import ai.florence2.TaskOutput
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
import java.util.concurrent.atomic.AtomicBoolean
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.launch

/**
 * Live object detection: CameraX preview, an `ImageAnalysis` stream feeding YUV frames to
 * Florence-2's `<OD>` task, and the boxes drawn over the preview.
 *
 * The model folder (onnx-community layout: config.json, tokenizer.json, onnx/…) is read from the
 * app's external files directory, e.g.
 * `adb push florence2-base /sdcard/Android/data/ai.florence2.camera/files/florence2`.
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

    /** True while a detection runs: frames arriving meanwhile are closed unprocessed. */
    private val busy = AtomicBoolean(false)

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
        // Calls in flight were cancelled with lifecycleScope; close() frees the native model.
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
            numBeams = 1u, // greedy: fastest, fine for live detection
            maxNewTokens = 256u,
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
     * Runs on [analysisExecutor] for every frame. Every frame is closed before this returns (the
     * `finally`), whether it is used, dropped because a detection is running, or fails to copy:
     * CameraX delivers no further frames until the current one is closed.
     */
    private fun analyze(frame: ImageProxy) {
        try {
            val current = model ?: return
            if (!busy.compareAndSet(false, true)) return
            val (input, size) = try {
                // The rotation CameraX reports for this frame (sensor vs display orientation).
                val rotation = frame.imageInfo.rotationDegrees
                frame.toYuv420Input(rotation) to frame.rotatedSize(rotation)
            } catch (e: RuntimeException) {
                busy.set(false)
                Log.w(TAG, "could not read the frame", e)
                return
            }
            detect(current, input, size)
        } finally {
            frame.close()
        }
    }

    private fun detect(current: Florence2, input: ImageInput, size: Pair<Int, Int>) {
        lifecycleScope.launch {
            try {
                val result = current.detectObjects(input)
                val output = result.output
                if (output is TaskOutput.Boxes) {
                    overlay.show(output.boxes, output.labels, size.first, size.second)
                }
                status.text = "%d objects · %.0f ms (vision %.0f, decoder %.0f)".format(
                    (output as? TaskOutput.Boxes)?.boxes?.size ?: 0,
                    result.timings.totalMs,
                    result.timings.visionMs,
                    result.timings.decoderMs,
                )
            } catch (e: CancellationException) {
                throw e
            } catch (e: Florence2Exception) {
                status.text = "Detection failed: ${e.message}"
            } finally {
                busy.set(false)
            }
        }
    }

    private companion object {
        const val TAG = "Florence2Camera"
    }
}
