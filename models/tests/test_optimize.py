"""models/optimize.py on the tiny fixture: fidelity of the optimised vision graphs, determinism, the
output folder, and clear errors for bad input (no torch needed).

The stock fixture graph was written by our exporter and checked against PyTorch; the optimised graph
is checked against it here, image by image. Core's token-exact parity on the optimised folder is
crates/core/tests/reference_parity.rs (`optimised_folder_reproduces_every_reference_sequence`).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import numpy_helper

import optimize
from florence2_tools import preprocess
from florence2_tools.optimize import folder as opt_folder
from florence2_tools.optimize.errors import OptimizeError
from florence2_tools.optimize.opset import allowed_ops, op_set
from florence2_tools.optimize.vision_weights import VisionArch, collect

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "tests" / "fixtures"
MODEL = FIX / "tiny-random"
IMAGES = sorted((FIX / "images").glob("*.png"))


def _session(path: Path) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def _features(path: Path, pixels: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    s = _session(path)
    return {name: s.run(["image_features"], {"pixel_values": x})[0] for name, x in pixels.items()}


def _pixels(model: Path) -> dict[str, np.ndarray]:
    pre = preprocess.read_preprocessor(model)
    return {p.name: preprocess.pixel_values(preprocess.load_rgb(p), pre) for p in IMAGES}


@pytest.fixture(scope="module")
def optimised(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("opt") / "tiny-random-optimized"
    optimize.optimize(MODEL, out, ["fp32", "int8"], [], threads=1, force=False)
    return out


def test_fp32_image_features_within_1e4_on_every_fixture_image(optimised):
    pixels = _pixels(MODEL)
    stock = _features(MODEL / "onnx/vision_encoder.onnx", pixels)
    ours = _features(optimised / "onnx/vision_encoder.onnx", pixels)
    assert len(pixels) == 7
    for name in pixels:
        diff = float(np.abs(stock[name] - ours[name]).max())
        assert diff <= 1e-4, f"{name}: max |Δ| {diff}"
        assert float(np.abs(stock[name]).max()) > 0.1  # a real output, not two zero tensors


def test_int8_close_to_fp32_and_really_quantised(optimised):
    pixels = _pixels(MODEL)
    stock = _features(MODEL / "onnx/vision_encoder.onnx", pixels)
    ours = _features(optimised / "onnx/vision_encoder_int8.onnx", pixels)
    for name in pixels:
        a, b = stock[name].ravel().astype(np.float64), ours[name].ravel().astype(np.float64)
        cos = a @ b / np.linalg.norm(a) / np.linalg.norm(b)
        assert cos > 0.995, f"{name}: cosine {cos}"
        assert np.abs(a - b).max() > 1e-5  # int8 weights do change the output
    model = onnx.load(str(optimised / "onnx/vision_encoder_int8.onnx"))
    ops = {op for _, op in op_set(model)}
    assert {"DynamicQuantizeMatMul", "MatMulIntegerToFloat", "DynamicQuantizeLinear", "FusedMatMul"} <= ops
    assert "MatMul" not in ops or all(
        n.input[1] not in {i.name for i in model.graph.initializer if i.data_type == onnx.TensorProto.FLOAT and len(i.dims) == 2 and i.dims[0] * i.dims[1] > 4096}
        for n in model.graph.node if n.op_type == "MatMul" and n.input[0].startswith("s3")
    )


def test_same_io_as_the_stock_graph_and_only_allowed_operators(optimised):
    stock = onnx.load(str(MODEL / "onnx/vision_encoder.onnx"), load_external_data=False)
    for suffix in ("", "_int8"):
        ours = onnx.load(str(optimised / f"onnx/vision_encoder{suffix}.onnx"))
        for a, b in ((stock.graph.input, ours.graph.input), (stock.graph.output, ours.graph.output)):
            assert [(v.name, v.type.tensor_type.elem_type, len(v.type.tensor_type.shape.dim)) for v in a] == [
                (v.name, v.type.tensor_type.elem_type, len(v.type.tensor_type.shape.dim)) for v in b
            ]
        assert op_set(ours) <= allowed_ops()
        # no shape arithmetic, unfused GELU or decomposed ops of the traced stock graph
        assert len(ours.graph.node) < len(stock.graph.node) / 4
        assert not any(n.op_type in ("Shape", "Erf", "Gather") for n in ours.graph.node)


def test_folder_is_complete_and_reported(optimised):
    for f in opt_folder.REQUIRED_FILES + ("tokenizer_config.json", "special_tokens_map.json"):
        assert (optimised / f).read_bytes() == (MODEL / f).read_bytes()
    for precision in ("fp32", "int8"):
        for c in opt_folder.COMPONENTS:
            assert opt_folder.graph_path(optimised, c, precision).is_file(), (c, precision)
    report = json.loads((optimised / "optimize_report.json").read_text())
    v = report["graphs"]["onnx/vision_encoder.onnx"]
    assert v["max_abs_diff"] <= 1e-4 and v["sha256"] and len(v["probes"]) == 2
    assert report["graphs"]["onnx/decoder_model_merged.onnx"]["source"].startswith("copied from the input folder")
    assert report["graphs"]["onnx/encoder_model.onnx_data"]["source"] == "weights of onnx/encoder_model.onnx"
    assert not list(optimised.parent.glob(".*partial*"))


def test_deterministic(optimised, tmp_path):
    again = tmp_path / "again"
    optimize.optimize(MODEL, again, ["fp32", "int8"], [], threads=1, force=False)
    for name in ("vision_encoder.onnx", "vision_encoder_int8.onnx", "encoder_model.onnx", "encoder_model.onnx_data"):
        assert (again / "onnx" / name).read_bytes() == (optimised / "onnx" / name).read_bytes(), name


def _aligned_external(model: onnx.ModelProto) -> list[tuple[str, int]]:
    """(location, offset) of every external initializer; asserts each is 64 KiB aligned."""
    out = []
    for t in model.graph.initializer:
        if t.data_location == onnx.TensorProto.EXTERNAL:
            e = {x.key: x.value for x in t.external_data}
            assert int(e["offset"]) % 65536 == 0, (t.name, e)
            out.append((e["location"], int(e["offset"])))
    return out


@pytest.mark.parametrize("name", ["encoder_model.onnx", "encoder_model_int8.onnx", "decoder_model_merged.onnx"])
def test_copied_graphs_keep_every_node_and_value_with_their_weights_mapped(optimised, name):
    """The graphs optimize.py copies are the input's, byte for byte in every node and value; only
    their large weights move to an aligned data file that ONNX Runtime maps."""
    src = MODEL / "onnx" / name
    if not src.exists():  # the int8 text encoder is made by quantize.py when the input has none
        src = None
    ours = onnx.load(str(optimised / "onnx" / name))
    ours_ext = _aligned_external(onnx.load(str(optimised / "onnx" / name), load_external_data=False))
    if src is None:
        assert ours_ext and all(loc == name + "_data" for loc, _ in ours_ext)
        return
    stock = onnx.load(str(src))
    assert [n.SerializeToString() for n in ours.graph.node] == [n.SerializeToString() for n in stock.graph.node]
    assert [i.SerializeToString() for i in ours.graph.input] == [i.SerializeToString() for i in stock.graph.input]
    theirs = {t.name: numpy_helper.to_array(t) for t in stock.graph.initializer}
    mine = {t.name: numpy_helper.to_array(t) for t in ours.graph.initializer}
    assert theirs.keys() == mine.keys()
    for k, v in theirs.items():
        assert v.dtype == mine[k].dtype and np.array_equal(v, mine[k]), k
    big = [t.name for t in stock.graph.initializer if t.HasField("raw_data") and len(t.raw_data) >= 65536]
    assert len(ours_ext) == len(big) and all(loc == name + "_data" for loc, _ in ours_ext)


def test_vision_weights_in_an_aligned_data_file_give_the_same_features(tmp_path):
    """externalize() on the optimised vision graph's builder output: the same features to the bit,
    every moved tensor 64 KiB aligned, and no data file when nothing is large enough."""
    from florence2_tools.optimize.external_data import data_path, externalize

    model = onnx.load(str(MODEL / "onnx/vision_encoder.onnx"))
    inline = tmp_path / "inline.onnx"
    onnx.save(model, str(inline))
    mapped = tmp_path / "mapped.onnx"
    assert externalize(model, data_path(mapped), threshold=1024) > 3
    onnx.save(model, str(mapped))
    assert len(_aligned_external(onnx.load(str(mapped), load_external_data=False))) > 3
    pixels = _pixels(MODEL)
    for a, b in zip(_features(inline, pixels).values(), _features(mapped, pixels).values()):
        assert np.array_equal(a, b)
    none = tmp_path / "none.onnx"
    assert externalize(onnx.load(str(MODEL / "onnx/vision_encoder.onnx")), data_path(none), threshold=1 << 30) == 0
    assert not data_path(none).exists()


def _copy_model(tmp_path: Path) -> Path:
    dst = tmp_path / "in"
    shutil.copytree(MODEL, dst)
    return dst


def test_general_weights_biases_and_padding(tmp_path):
    """Non-zero biases everywhere (the Gram channel attention's bias terms) and an input size whose
    feature maps are not multiples of the window (pad / unpad), against the stock graph."""
    src = _copy_model(tmp_path)
    model = onnx.load(str(src / "onnx/vision_encoder.onnx"))
    rng = np.random.default_rng(1)
    for init in model.graph.initializer:
        a = numpy_helper.to_array(init)
        if a.ndim == 1 and a.dtype == np.float32:
            init.CopyFrom(numpy_helper.from_array((a + rng.normal(0, 0.2, a.shape)).astype(np.float32), init.name))
    onnx.save(model, str(src / "onnx/vision_encoder.onnx"))
    pre = json.loads((src / "preprocessor_config.json").read_text())
    pre["size"] = {"height": 192, "width": 224}
    pre["crop_size"] = dict(pre["size"])
    (src / "preprocessor_config.json").write_text(json.dumps(pre))
    out = tmp_path / "out"
    optimize.optimize(src, out, ["fp32"], IMAGES[:3], threads=1, force=False)
    ours = _session(out / "onnx/vision_encoder.onnx")
    assert ours.get_inputs()[0].shape[2:] == [192, 224]
    pixels = _pixels(src)
    stock = _features(src / "onnx/vision_encoder.onnx", pixels)
    got = {k: ours.run(None, {"pixel_values": x})[0] for k, x in pixels.items()}
    for k in pixels:
        assert np.abs(stock[k] - got[k]).max() <= 1e-4, k
    assert any(n.op_type == "Pad" for n in onnx.load(str(out / "onnx/vision_encoder.onnx")).graph.node)


def _fails(tmp_path: Path, src: Path, match: str, **kw) -> None:
    out = tmp_path / "out"
    with pytest.raises(OptimizeError, match=match):
        optimize.optimize(src, out, kw.get("precisions", ["fp32"]), [], threads=1, force=kw.get("force", False))
    assert not out.exists() or kw.get("out_existed")
    assert not list(tmp_path.glob(".out.partial-*"))


def test_missing_graph(tmp_path):
    src = _copy_model(tmp_path)
    (src / "onnx/vision_encoder.onnx").unlink()
    _fails(tmp_path, src, r"missing onnx/vision_encoder\.onnx")


def test_graph_of_another_architecture(tmp_path):
    src = _copy_model(tmp_path)
    shutil.copy(src / "onnx/encoder_model.onnx", src / "onnx/vision_encoder.onnx")
    _fails(tmp_path, src, r"not a Florence-2 vision encoder")


def test_vision_graph_that_does_not_fit_the_config(tmp_path):
    src = _copy_model(tmp_path)
    config = json.loads((src / "config.json").read_text())
    config["vision_config"]["depths"] = [1, 1, 3, 1]
    (src / "config.json").write_text(json.dumps(config))
    _fails(tmp_path, src, r"expected \d+ weighted conv operations \(depths \[1, 1, 3, 1\]\)")


def test_another_model_type_and_a_checkpoint(tmp_path):
    src = _copy_model(tmp_path)
    config = json.loads((src / "config.json").read_text())
    config["model_type"] = "llava"
    (src / "config.json").write_text(json.dumps(config))
    _fails(tmp_path, src, r"model_type 'llava'")
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    (ckpt / "model.safetensors").write_bytes(b"\0")
    _fails(tmp_path, ckpt, r"PyTorch checkpoint.*export\.py")


def test_existing_output_needs_force_and_is_replaced_atomically(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("old")
    _fails(tmp_path, MODEL, r"already exists", out_existed=True)
    assert (out / "keep.txt").read_text() == "old"
    optimize.optimize(MODEL, out, ["fp32"], [], threads=1, force=True)
    assert not (out / "keep.txt").exists() and (out / "optimize_report.json").is_file()
    assert not list(tmp_path.glob(".out.*"))


def test_a_failure_leaves_no_folder_that_looks_complete(tmp_path, monkeypatch):
    from florence2_tools.optimize import layouts

    def broken(self, ctx, precision, out_folder):
        raise OptimizeError("simulated failure after the graphs were written")

    monkeypatch.setattr(layouts.VisionLayout, "check", broken)
    _fails(tmp_path, MODEL, "simulated failure")
    # a staging folder left by a dead process is removed by the next run
    stale = tmp_path / ".out.partial-999999999"
    (stale / "onnx").mkdir(parents=True)
    monkeypatch.undo()
    optimize.optimize(MODEL, tmp_path / "out", ["fp32"], [], threads=1, force=False)
    assert not stale.exists()


def test_cli_reports_errors_without_a_traceback(tmp_path, capsys):
    assert optimize.main(["--model", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_weights_are_found_by_structure_not_by_name():
    model = onnx.load(str(MODEL / "onnx/vision_encoder.onnx"))
    arch = VisionArch.from_config(json.loads((MODEL / "config.json").read_text()))
    found = collect(model)
    assert len(found["conv"]) == sum(1 + 4 * d for d in arch.depths)
    # rename every initializer: extraction must not care
    renamed = onnx.ModelProto()
    renamed.CopyFrom(model)
    mapping = {i.name: f"w{k}" for k, i in enumerate(renamed.graph.initializer)}
    for i in renamed.graph.initializer:
        i.name = mapping[i.name]
    for n in renamed.graph.node:
        for j, name in enumerate(n.input):
            if name in mapping:
                n.input[j] = mapping[name]
    again = collect(renamed)
    for kind in ("conv", "linear", "norm"):
        assert len(again[kind]) == len(found[kind])
        for a, b in zip(found[kind], again[kind]):
            wa = a.w if hasattr(a, "w") else a.gamma
            wb = b.w if hasattr(b, "w") else b.gamma
            assert np.array_equal(wa, wb)


def test_operator_outside_the_android_list_is_refused():
    from onnx import TensorProto, helper

    from florence2_tools.optimize.opset import check_allowed

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    node = helper.make_node("QuickGelu", ["x"], ["y"], domain="com.microsoft")
    model = helper.make_model(helper.make_graph([node], "g", [x], [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])]))
    with pytest.raises(OptimizeError, match="com.microsoft:QuickGelu"):
        check_allowed(model, "planted.onnx")


def test_manifest_of_an_optimised_folder_names_the_optimised_files(optimised):
    import manifest

    m = manifest.build_manifest(optimised, "https://models.example.com/tiny-opt/")
    pins = {f["path"]: f["sha256"] for f in m["files"]}
    report = json.loads((optimised / "optimize_report.json").read_text())
    assert pins["onnx/vision_encoder_int8.onnx"] == report["graphs"]["onnx/vision_encoder_int8.onnx"]["sha256"]
    assert pins["onnx/vision_encoder.onnx"] != manifest.sha256_of(MODEL / "onnx/vision_encoder.onnx")
    assert "onnx/vision_encoder_int8.onnx" in m["note"] and "optimised layout" in m["note"]
    int8 = next(p for p in m["presets"] if p["name"] == "mobile-int8")
    assert "onnx/vision_encoder_int8.onnx" in int8["files"] and "Optimised layout" in int8["description"]
    stock = manifest.build_manifest(MODEL, "https://models.example.com/tiny/")
    assert "note" not in stock
