#!/usr/bin/env python3
"""Write reduced-precision variants of an exported Florence-2 folder, named as the public files are.

    .venv/bin/python models/quantize.py --model models/out/base-random --precision int8 fp16 q4

Precisions (ONNX Runtime's own tooling, so files load anywhere ONNX Runtime with contrib ops runs):
- `int8` (`_int8`), `uint8` (`_uint8`), `q8` (`_quantized`: uint8 weights where the graph has Conv, else int8):
  dynamic quantisation (MatMulInteger / ConvInteger + DynamicQuantizeLinear), per-channel weights;
- `fp16` (`_fp16`): float16 weights, float32 inputs and outputs kept (`keep_io_types`), so fp16 files
  mix with any other precision;
- `q4` (`_q4`): 4-bit `MatMulNBits` (block 32, symmetric); other ops stay float32.
Every written file is loaded once with ONNX Runtime before the tool reports success.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import onnx

COMPONENTS = ("vision_encoder", "embed_tokens", "encoder_model", "decoder_model_merged")
SUFFIX = {"int8": "_int8", "uint8": "_uint8", "q8": "_quantized", "fp16": "_fp16", "q4": "_q4"}


def _has_conv(model: onnx.ModelProto) -> bool:
    return any(n.op_type == "Conv" for n in model.graph.node)


def quantize_dynamic_file(src: Path, dst: Path, precision: str) -> None:
    """Dynamic 8-bit quantisation of MatMul/Gemm (and Conv) weights."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model = onnx.load(str(src), load_external_data=False)
    if precision == "q8":
        weight_type = QuantType.QUInt8 if _has_conv(model) else QuantType.QInt8
    else:
        weight_type = QuantType.QInt8 if precision == "int8" else QuantType.QUInt8
    # ConvInteger has no int8-weight CPU kernel: keep Conv in float unless weights are uint8.
    ops = ["MatMul", "Gemm", "Attention"] + (["Conv"] if weight_type == QuantType.QUInt8 else [])
    quantize_dynamic(
        str(src),
        str(dst),
        weight_type=weight_type,
        per_channel=True,
        op_types_to_quantize=ops,
        extra_options={"EnableSubgraph": True, "MatMulConstBOnly": True},
    )


def convert_fp16_file(src: Path, dst: Path) -> None:
    """Float16 weights with float32 graph inputs/outputs."""
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = onnx.load(str(src))
    converted = convert_float_to_float16(model, keep_io_types=True, disable_shape_infer=True)
    onnx.save(converted, str(dst))


def quantize_q4_file(src: Path, dst: Path, block_size: int = 32) -> None:
    """4-bit weight-only quantisation of MatMul weights (MatMulNBits)."""
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    model = onnx.load(str(src))
    quantizer = MatMulNBitsQuantizer(model, block_size=block_size, is_symmetric=True)
    quantizer.process()
    onnx.save(quantizer.model.model, str(dst))


def write_variant(folder: Path, component: str, precision: str) -> Path:
    src = folder / "onnx" / f"{component}.onnx"
    dst = folder / "onnx" / f"{component}{SUFFIX[precision]}.onnx"
    if precision in ("int8", "uint8", "q8"):
        quantize_dynamic_file(src, dst, precision)
    elif precision == "fp16":
        convert_fp16_file(src, dst)
    elif precision == "q4":
        quantize_q4_file(src, dst)
    else:
        raise ValueError(f"unknown precision {precision!r}; known: {sorted(SUFFIX)}")
    import onnxruntime as ort

    ort.InferenceSession(str(dst), providers=["CPUExecutionProvider"])  # refuse to report an unloadable file
    return dst


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, required=True, help="exported fp32 model folder")
    ap.add_argument("--precision", nargs="+", required=True, choices=sorted(SUFFIX))
    ap.add_argument("--components", nargs="+", default=list(COMPONENTS), choices=COMPONENTS)
    args = ap.parse_args(argv)
    for precision in args.precision:
        for component in args.components:
            t0 = time.perf_counter()
            dst = write_variant(args.model, component, precision)
            src_mb = (args.model / "onnx" / f"{component}.onnx").stat().st_size / 1e6
            print(f"{dst.name}: {dst.stat().st_size / 1e6:.1f} MB (fp32 {src_mb:.1f} MB) in {time.perf_counter() - t0:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
