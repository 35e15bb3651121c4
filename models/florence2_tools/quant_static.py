"""Static INT8 quantisation (QDQ, per-channel weights) of one component with ONNX Runtime's toolkit.

Calibration is run here rather than inside `quantize_static`, one sample at a time, so that
histogram methods (Entropy, Percentile) never hold more than one sample's activations; with
`chunks > 1` the calibrated tensors are also split into groups, each recorded in its own pass (a
base-size vision encoder at 768² has gigabytes of activations per image). The ranges go to a
calibration cache that `quantize_static` then reads, so the quantiser itself is ONNX Runtime's, unchanged.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import onnx

from .quant_graph import float_graph_outputs, float_nodes, name_nodes, restore_float_inputs

METHODS = ("minmax", "entropy", "percentile")
DEFAULT_KEEP_FLOAT = ("LayerNormalization", "Softmax", "residual-add")


@dataclass
class StaticOptions:
    """Knobs of a static quantisation run (all recorded next to the written files)."""

    method: str = "minmax"
    per_channel: bool = True
    activation_type: str = "uint8"  # uint8 (asymmetric, x86 u8s8 kernels) or int8 (symmetric, ARM)
    weight_type: str = "int8"
    reduce_range: bool = False  # 7-bit weights: for x86 CPUs without VNNI (avoids u8s8 saturation)
    keep_float: list[str] = field(default_factory=lambda: list(DEFAULT_KEEP_FLOAT))
    exclude_nodes: str | None = None  # regex over node names, also kept in float
    percentile: float = 99.999
    chunks: int = 1  # histogram methods: calibrate the tensors in this many passes
    op_types: list[str] | None = None  # op types to quantise (None: all ONNX Runtime handles)

    def describe(self) -> str:
        keep = ",".join(self.keep_float) or "none"
        ops = ",".join(self.op_types) if self.op_types else "all supported"
        return f"{self.method}, {'per-channel' if self.per_channel else 'per-tensor'} {self.weight_type} weights, {self.activation_type} activations, ops: {ops}, float: {keep}"


def default_op_types() -> list[str]:
    """The op types ONNX Runtime's QDQ quantiser handles by default (its QDQ + QLinear registries)."""
    from onnxruntime.quantization.registry import QDQRegistry, QLinearOpsRegistry

    return sorted(set(QDQRegistry) | set(QLinearOpsRegistry))


def _quant_type(name: str):
    from onnxruntime.quantization import QuantType

    return {"int8": QuantType.QInt8, "uint8": QuantType.QUInt8}[name]


def _method(name: str):
    from onnxruntime.quantization import CalibrationMethod

    return {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy, "percentile": CalibrationMethod.Percentile}[name]


@contextlib.contextmanager
def _cwd(path: Path):
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


class _OneItem:
    """A reader that yields one feed dict (so calibrators collect sample by sample)."""

    def __init__(self, item):
        self.item = item

    def get_next(self):
        item, self.item = self.item, None
        return item


def calibrate(model_path: Path, reader, opts: StaticOptions, op_types: list[str], work: Path):
    """Tensor ranges (ORT `TensorsData`) of `model_path` over every feed of `reader`."""
    import onnxruntime
    from onnxruntime.quantization import calibrate as cal

    method = opts.method
    if method not in METHODS:
        raise ValueError(f"unknown calibration method {method!r}; known: {METHODS}")
    chunks = max(1, opts.chunks) if method != "minmax" else 1
    merged = {}
    for k in range(chunks):
        base = {"minmax": cal.MinMaxCalibrater, "entropy": cal.EntropyCalibrater, "percentile": cal.PercentileCalibrater}[method]

        class Chunk(base):  # calibrates every chunks-th tensor (sorted by name), starting at k
            def select_tensors_to_calibrate(self, model, _k=k):
                tensors, infos = super().select_tensors_to_calibrate(model)
                return set(sorted(tensors)[_k::chunks]), infos

            def create_inference_session(self):
                # Priority-based order runs each added ReduceMin/ReduceMax right after its tensor is
                # made; the default order keeps every activation alive to the end of the graph
                # (measured: the base vision encoder's MinMax calibration peaked at 22 GB RSS).
                so = onnxruntime.SessionOptions()
                so.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
                so.execution_order = onnxruntime.ExecutionOrder.PRIORITY_BASED
                self.infer_session = onnxruntime.InferenceSession(self.augmented_model_path, sess_options=so, providers=self.execution_providers)

        kwargs = {"augmented_model_path": str(work / f"augmented_{k}.onnx")}
        if method == "minmax":
            kwargs.update(symmetric=False, max_intermediate_outputs=16)
        elif method == "entropy":
            kwargs.update(symmetric=False, num_bins=128, num_quantized_bins=128)
        else:
            kwargs.update(symmetric=True, num_bins=2048, percentile=opts.percentile)
        calibrator = Chunk(str(model_path), op_types, **kwargs)
        calibrator.augment_graph()
        calibrator.create_inference_session()
        reader.rewind()
        seen = 0
        while (item := reader.get_next()) is not None:
            calibrator.collect_data(_OneItem(item))
            seen += 1
        if seen == 0:
            raise ValueError(f"no calibration data for {model_path.name}")
        merged.update(calibrator.compute_data().data)
        del calibrator
    return cal.TensorsData(_method(method), merged), seen


def quantize_model(model: onnx.ModelProto, dst: Path, reader, opts: StaticOptions, work_dir: Path | None = None) -> dict:
    """Calibrates `model` on `reader` and writes the QDQ model to `dst`. Returns what was done."""
    from onnxruntime.quantization import QuantFormat, quantize_static
    from onnxruntime.quantization.calibrate import save_tensors_data

    from onnxruntime.quantization.shape_inference import quant_pre_process

    t0 = time.perf_counter()
    keep_ops = {k for k in opts.keep_float if k != "residual-add"}
    op_types = [op for op in (opts.op_types or default_op_types()) if op not in keep_ops]
    with tempfile.TemporaryDirectory(prefix="f2quant.", dir=work_dir) as tmp:
        work = Path(tmp).resolve()
        raw, pre, src = work / "raw.onnx", work / "pre.onnx", work / "model.onnx"
        onnx.save(model, str(raw))
        del model
        # ONNX Runtime's recommended pre-pass: constant folding (weights reached through Identity become
        # initializers the quantiser sees as weights) and symbolic shape inference.
        # (ONNX's shape inference only: the symbolic pass is slow on the vision encoder and gives up on
        # decoder graphs, and the element types it would add are already known.)
        with _cwd(work):  # the pre-pass may leave temporary files in the working directory
            quant_pre_process(str(raw), str(pre), skip_symbolic_shape=True)
        model = onnx.load(str(pre))
        name_nodes(model.graph)
        excluded = float_nodes(model.graph, opts.keep_float, opts.exclude_nodes)
        onnx.save(model, str(src))
        del model
        ranges, samples = calibrate(src, reader, opts, op_types, work)
        t_cal = time.perf_counter() - t0
        cache = work / "calibration.json"
        save_tensors_data(ranges, cache)
        quantize_static(
            str(src),
            str(dst),
            calibration_data_reader=None,
            quant_format=QuantFormat.QDQ,
            op_types_to_quantize=op_types,
            per_channel=opts.per_channel,
            reduce_range=opts.reduce_range,
            activation_type=_quant_type(opts.activation_type),
            weight_type=_quant_type(opts.weight_type),
            nodes_to_exclude=excluded,
            calibrate_method=_method(opts.method),
            calibration_cache_path=str(cache),
            extra_options={"WeightSymmetric": True, "ActivationSymmetric": opts.activation_type == "int8"},
        )
    quantized = onnx.load(str(dst))
    restored = float_graph_outputs(quantized)
    unrounded = restore_float_inputs(quantized, excluded)
    onnx.save(quantized, str(dst))
    return {
        "samples": samples,
        "float_outputs": restored,
        "float_inputs_restored": unrounded,
        "float_nodes": excluded,
        "calibration_s": round(t_cal, 1),
        "total_s": round(time.perf_counter() - t0, 1),
    }


def write_settings(path: Path, opts: StaticOptions, per_component: dict) -> None:
    """Records how a static variant was made (options, images, per-component counts) as JSON."""
    path.write_text(json.dumps({"options": asdict(opts), "run": per_component}, indent=2, default=str) + "\n")
