#!/usr/bin/env python3
"""Write reduced-precision variants of an exported Florence-2 folder, named as the public files are.

    .venv/bin/python models/quantize.py --model models/out/base-random --precision int8 fp16 q4

Precisions (ONNX Runtime's own tooling, so files load anywhere ONNX Runtime with contrib ops runs):
- `int8` (`_int8`), `uint8` (`_uint8`), `q8` (`_quantized`: uint8 weights where the graph has Conv, else int8):
  dynamic quantisation (MatMulInteger / ConvInteger + DynamicQuantizeLinear), per-channel weights;
- `fp16` (`_fp16`): float16 weights, float32 inputs and outputs kept (`keep_io_types`), so fp16 files
  mix with any other precision;
- `q4` (`_q4`): 4-bit `MatMulNBits` (block 32, symmetric); other ops stay float32;
- `static_int8` (`_static_int8`): static INT8 in QDQ form, per-channel int8 weights, activations
  calibrated on a folder of images (`--calib-images`) preprocessed by `florence2 preprocess` (the SDK's
  own preprocessing); text encoder and decoder calibrated on activations recorded while the FP32
  pipeline runs over those images (one reader per component). `--calib-method minmax|entropy|percentile`,
  `--keep-float` op types (and `residual-add`) left in float. The merged decoder is split into its
  two halves, each calibrated on the steps it runs, quantised, and merged again.
Every written file is loaded once with ONNX Runtime before the tool reports success.

    .venv/bin/python models/quantize.py --model DIR --precision static_int8 --calib-images my_photos/ --calib-count 200
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import onnx

sys.path.insert(0, str(Path(__file__).resolve().parent))

COMPONENTS = ("vision_encoder", "embed_tokens", "encoder_model", "decoder_model_merged")
SUFFIX = {"int8": "_int8", "uint8": "_uint8", "q8": "_quantized", "fp16": "_fp16", "q4": "_q4", "static_int8": "_static_int8"}
_ROOT = Path(__file__).resolve().parents[1]


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
    if precision in ("int8", "uint8", "q8") and component == "embed_tokens":
        # ONNX Runtime's dynamic quantiser leaves Gather in float32 (158 MB for base): store the
        # table as per-row int8 instead (39.6 MB; see florence2_tools/embed_quant.py).
        from florence2_tools.embed_quant import quantize_embedding_file

        quantize_embedding_file(src, dst)
    elif precision in ("int8", "uint8", "q8"):
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


def write_static_variants(folder: Path, components, opts, images: list[Path], tasks: list[str], max_new_tokens: int, cli: Path | None, threads: int = 0) -> dict:
    """Static INT8 (`_static_int8`) of `components`, calibrated on `images` through the FP32 pipeline."""
    import json

    import onnxruntime as ort

    from florence2_tools import calib, quant_graph, quant_static
    from florence2_tools.merge import merge_decoders

    folder = Path(folder)
    onnx_dir = folder / "onnx"
    cli = calib.find_cli(cli)
    t0 = time.perf_counter()
    cache = Path(tempfile.mkdtemp(prefix="f2calib."))
    try:
        return _static(folder, components, opts, images, tasks, max_new_tokens, cli, threads, cache, t0)
    finally:
        import shutil

        shutil.rmtree(cache, ignore_errors=True)


def _static(folder, components, opts, images, tasks, max_new_tokens, cli, threads, cache, t0) -> dict:
    import json

    import onnxruntime as ort

    from florence2_tools import calib, quant_graph, quant_static
    from florence2_tools.merge import merge_decoders

    onnx_dir = folder / "onnx"
    pixel_values = calib.preprocess_images(cli, folder, images, cache)
    samples = calib.make_samples(images, pixel_values, tasks)
    recorder = calib.Fp32Recorder(folder, samples, max_new_tokens=max_new_tokens, threads=threads)
    steps = sum(len(s.generated) - 1 for s in samples)
    print(f"calibration: {len(samples)} images preprocessed by {cli.name}, FP32 pipeline recorded ({steps} decoder steps) in {time.perf_counter() - t0:.1f} s", flush=True)
    done = {}
    for component in components:
        t1 = time.perf_counter()
        src = onnx_dir / f"{component}.onnx"
        dst = onnx_dir / f"{component}{SUFFIX['static_int8']}.onnx"
        if component == "decoder_model_merged":
            first, cached = quant_graph.split_merged_decoder(onnx.load(str(src)))
            with tempfile.TemporaryDirectory(prefix="f2dec.", dir=onnx_dir) as tmp:
                halves = {}
                stats = {}
                for name, model in (("decoder_model", first), ("decoder_with_past_model", cached)):
                    reader = calib.FeedReader(getattr(recorder, name), [i.name for i in model.graph.input])
                    out = Path(tmp) / f"{name}.onnx"
                    stats[name] = quant_static.quantize_model(model, out, reader, opts, work_dir=Path(tmp))
                    halves[name] = onnx.load(str(out))
                config = json.loads((folder / "config.json").read_text())
                merged = merge_decoders(halves["decoder_model"], halves["decoder_with_past_model"], *quant_graph.decoder_shape(config))
                onnx.save(merged, str(dst))
        else:
            model = onnx.load(str(src))
            reader = calib.FeedReader(getattr(recorder, component), [i.name for i in model.graph.input])
            stats = quant_static.quantize_model(model, dst, reader, opts, work_dir=onnx_dir)
        ort.InferenceSession(str(dst), providers=["CPUExecutionProvider"])  # refuse to report an unloadable file
        counts = quant_graph.qdq_summary(onnx.load(str(dst), load_external_data=False))
        done[component] = {"file": dst.name, "bytes": dst.stat().st_size, "qdq": counts, "stats": stats}
        print(f"{dst.name}: {dst.stat().st_size / 1e6:.1f} MB (fp32 {src.stat().st_size / 1e6:.1f} MB), {counts['DequantizeLinear']} DequantizeLinear, in {time.perf_counter() - t1:.1f} s", flush=True)
    settings = {"images": [str(p) for p in images], "tasks": tasks, "calib_max_new_tokens": max_new_tokens, **done}
    quant_static.write_settings(onnx_dir / f"static_int8_settings.json", opts, settings)
    return done


def main(argv=None) -> int:
    from florence2_tools import calib, quant_static

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, required=True, help="exported fp32 model folder")
    ap.add_argument("--precision", nargs="+", required=True, choices=sorted(SUFFIX))
    ap.add_argument("--components", nargs="+", default=list(COMPONENTS), choices=COMPONENTS)
    st = ap.add_argument_group("static_int8 (calibration)")
    st.add_argument("--calib-images", type=Path, default=_ROOT / "tests/fixtures/images", help="folder of PNG/JPEG images from your domain (default: the fixture photos)")
    st.add_argument("--calib-count", type=int, default=16, help="use the first N images of the folder (0 = all; 200-500 for a real model)")
    st.add_argument("--calib-tasks", nargs="+", default=list(calib.DEFAULT_TASKS), help="tasks cycled over the images")
    st.add_argument("--calib-max-new-tokens", type=int, default=32, help="decoder steps recorded per image")
    st.add_argument("--calib-method", choices=quant_static.METHODS, default="minmax")
    st.add_argument("--calib-chunks", type=int, default=1, help="entropy/percentile: record the tensors in this many passes (less memory)")
    st.add_argument("--percentile", type=float, default=99.999)
    st.add_argument("--keep-float", nargs="*", default=list(quant_static.DEFAULT_KEEP_FLOAT), help="op types left in float (residual-add = Add of two activations); give none to quantise everything")
    st.add_argument("--quantize-ops", nargs="+", help="op types to quantise (default: every op type ONNX Runtime's QDQ quantiser handles, minus --keep-float)")
    st.add_argument("--exclude-nodes", help="regular expression over node names also left in float")
    st.add_argument("--activation-type", choices=("uint8", "int8"), default="uint8")
    st.add_argument("--per-tensor", action="store_true", help="per-tensor instead of per-channel weights")
    st.add_argument("--reduce-range", action="store_true", help="7-bit weights (x86 CPUs without VNNI)")
    st.add_argument("--cli", type=Path, help="the florence2 binary (default: target/release or target/debug)")
    st.add_argument("--threads", type=int, default=0, help="onnxruntime threads of the FP32 recording pipeline")
    args = ap.parse_args(argv)
    for precision in args.precision:
        if precision == "static_int8":
            opts = quant_static.StaticOptions(
                method=args.calib_method,
                per_channel=not args.per_tensor,
                activation_type=args.activation_type,
                reduce_range=args.reduce_range,
                keep_float=list(args.keep_float),
                exclude_nodes=args.exclude_nodes,
                percentile=args.percentile,
                chunks=args.calib_chunks,
                op_types=args.quantize_ops,
            )
            images = calib.list_images(args.calib_images, args.calib_count or None)
            write_static_variants(args.model, args.components, opts, images, args.calib_tasks, args.calib_max_new_tokens, args.cli, args.threads)
            continue
        for component in args.components:
            t0 = time.perf_counter()
            dst = write_variant(args.model, component, precision)
            src_mb = (args.model / "onnx" / f"{component}.onnx").stat().st_size / 1e6
            print(f"{dst.name}: {dst.stat().st_size / 1e6:.1f} MB (fp32 {src_mb:.1f} MB) in {time.perf_counter() - t0:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
