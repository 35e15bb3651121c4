"""Static INT8 (QDQ) quantisation of the fixture: the files the SDK loads by precision name, QDQ nodes in
every graph, op exclusions honoured, float graph outputs, and outputs close to FP32. Also the decoder
split/merge round trip that static quantisation of the merged decoder relies on.

Needs the `florence2` CLI (calibration images go through `florence2 preprocess`); scripts/test.sh
builds it in the cargo test step before running pytest.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import quantize
from florence2_tools import calib, quant_eval, quant_graph
from florence2_tools.merge import merge_decoders

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests/fixtures/tiny-random"
STEMS = ("vision_encoder", "embed_tokens", "encoder_model", "decoder_model_merged")


def _copy_fixture(dst: Path) -> Path:
    shutil.copytree(FIXTURE, dst)
    return dst


@pytest.fixture(scope="module")
def static_model(tmp_path_factory):
    folder = _copy_fixture(tmp_path_factory.mktemp("static") / "model")
    quantize.main(["--model", str(folder), "--precision", "static_int8", "--calib-count", "3", "--calib-max-new-tokens", "6"])
    return folder


def _all_nodes(graph):
    for n in graph.node:
        yield n
        for a in n.attribute:
            if a.type == onnx.AttributeProto.GRAPH:
                yield from _all_nodes(a.g)


def _graphs(graph):
    yield graph
    for n in graph.node:
        for a in n.attribute:
            if a.type == onnx.AttributeProto.GRAPH:
                yield from _graphs(a.g)


def test_files_named_for_the_sdk_and_loadable(static_model):
    for stem in STEMS:
        path = static_model / "onnx" / f"{stem}_static_int8.onnx"
        assert path.is_file(), path
        ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    settings = json.loads((static_model / "onnx/static_int8_settings.json").read_text())
    assert settings["options"]["method"] == "minmax"
    assert len(settings["run"]["images"]) == 3
    # the fixture itself is untouched
    assert not list((FIXTURE / "onnx").glob("*_static_int8.onnx"))


def test_qdq_nodes_and_int8_weights(static_model):
    for stem in STEMS:
        model = onnx.load(str(static_model / "onnx" / f"{stem}_static_int8.onnx"))
        counts = quant_graph.qdq_summary(model)
        assert counts["DequantizeLinear"] > 0, stem
        if stem != "embed_tokens":  # (the table is quantised with the activation type: uint8)
            int8 = [t for g in _graphs(model.graph) for t in g.initializer if t.data_type == TensorProto.INT8 and len(t.dims) == 2]
            assert int8, f"{stem}: no int8 weight matrices"
    # per-channel weights: a MatMul weight's scale has one value per output column
    dec = onnx.load(str(static_model / "onnx/decoder_model_merged_static_int8.onnx"))
    dqs = [n for n in _all_nodes(dec.graph) if n.op_type == "DequantizeLinear"]
    inits = {t.name: t for t in dec.graph.initializer}
    per_channel = [n for n in dqs if n.input[0] in inits and inits[n.input[0]].data_type == TensorProto.INT8 and len(inits[n.input[1]].dims) == 1 and inits[n.input[1]].dims[0] > 1]
    assert per_channel


def _rounded(producers, x):
    """Is `x` a quantised activation, DequantizeLinear(QuantizeLinear(...))? (Weights are DQ(initializer).)"""
    dq = producers.get(x)
    return dq is not None and dq.op_type == "DequantizeLinear" and getattr(producers.get(dq.input[0]), "op_type", None) == "QuantizeLinear"


def _fed_by_dq(graph, op_type):
    producers = {o: n for n in graph.node for o in n.output}
    return [n.name for n in graph.node if n.op_type == op_type and any(_rounded(producers, x) for x in n.input)]


def test_default_exclusions_keep_layernorm_softmax_and_residual_add_float(static_model, tmp_path):
    run = json.loads((static_model / "onnx/static_int8_settings.json").read_text())["run"]
    for stem in ("vision_encoder", "encoder_model"):
        graph = onnx.load(str(static_model / "onnx" / f"{stem}_static_int8.onnx")).graph
        assert not _fed_by_dq(graph, "LayerNormalization"), stem
        assert not _fed_by_dq(graph, "Softmax"), stem
        kept = set(run[stem]["stats"]["float_nodes"])
        ops = {n.name: n.op_type for n in graph.node}
        assert {ops.get(k) for k in kept} >= {"LayerNormalization", "Softmax", "Add"}, stem
        producers = {o: n for n in graph.node for o in n.output}
        for n in graph.node:
            if n.name in kept:
                assert not any(_rounded(producers, x) for x in n.input), n.name
    # and the exclusions are what keeps them float: with none, LayerNorm and Softmax get quantised inputs
    folder = _copy_fixture(tmp_path / "model")
    quantize.main(["--model", str(folder), "--precision", "static_int8", "--components", "encoder_model", "--calib-count", "2", "--calib-max-new-tokens", "2", "--keep-float"])
    graph = onnx.load(str(folder / "onnx/encoder_model_static_int8.onnx")).graph
    assert _fed_by_dq(graph, "LayerNormalization")
    assert _fed_by_dq(graph, "Softmax")


def test_graph_outputs_stay_float(static_model):
    # (the embedding keeps its output pair: Gather runs on the 8-bit table, lossless, checked below)
    for stem in ("vision_encoder", "encoder_model", "decoder_model_merged"):
        model = onnx.load(str(static_model / "onnx" / f"{stem}_static_int8.onnx"))
        for g in _graphs(model.graph):
            producers = {o: n for n in g.node for o in n.output}
            outs = [o.name for o in g.output]
            # An output pair stays only behind a pure data move (Reshape/Transpose/Gather) of an already
            # quantised tensor: lossless, the values the graph itself computed with (e.g. cached K/V).
            dq_outs = [
                o
                for o in outs
                if o in producers
                and producers[o].op_type == "DequantizeLinear"
                and getattr(producers.get(producers[producers[o].input[0]].input[0]), "op_type", None) not in quant_graph._PASS_THROUGH
            ]
            assert not dq_outs, f"{stem}: {dq_outs[:3]}"
            logits = [o for o in outs if o.endswith("logits")]
            assert all(producers[o].op_type != "DequantizeLinear" for o in logits), stem
    embed = onnx.load(str(static_model / "onnx/embed_tokens_static_int8.onnx")).graph
    producers = {o: n for n in embed.node for o in n.output}
    gather = next(n for n in embed.node if n.op_type == "Gather")
    table = producers[gather.input[0]]
    assert table.op_type == "DequantizeLinear" and table.input[0] in {t.name for t in embed.initializer}


def _cos(a, b):
    a, b = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_outputs_close_to_fp32(static_model):
    fp32 = quant_eval.PlanPipeline(static_model, "")
    q = quant_eval.PlanPipeline(static_model, "_static_int8")
    cli = calib.find_cli()
    image = ROOT / "tests/fixtures/images/astronaut_512x512.png"  # not among the 3 calibration images
    pv = np.load(calib.preprocess_images(cli, static_model, [image], static_model / "pv")[0])
    f_img = fp32.vision.run(None, {"pixel_values": pv})[0]
    q_img = q.vision.run(None, {"pixel_values": pv})[0]
    assert _cos(f_img, q_img) > 0.98
    from tokenizers import Tokenizer

    from florence2_tools.tasks import construct_prompt

    tok = Tokenizer.from_file(str(static_model / "tokenizer.json"))
    prompt = np.array([tok.encode(construct_prompt("<CAPTION>")).ids], dtype=np.int64)
    ids = fp32.greedy(pv, prompt, 12).ids
    ref = quant_eval.teacher_forced_logits(fp32, pv, prompt, ids)
    got = quant_eval.teacher_forced_logits(q, pv, prompt, ids)
    cos = quant_eval.cosine_per_step(ref, got)
    assert cos.shape == (len(ids) - 1,)
    assert cos.min() > 0.98, cos


def _feeds(session, seed=0, past=0):
    rng = np.random.default_rng(seed)
    feeds = {}
    for i in session.get_inputs():
        shape = []
        for d in i.shape:
            if isinstance(d, int):
                shape.append(d)
            elif d == "batch_size":
                shape.append(1)
            elif "past" in str(d):
                shape.append(past)
            elif "decoder" in str(d):
                shape.append(1)
            else:
                shape.append(5)
        if i.type == "tensor(int64)":
            feeds[i.name] = np.ones(shape, dtype=np.int64)
        elif i.type == "tensor(bool)":
            feeds[i.name] = np.array([past > 0])
        else:
            feeds[i.name] = rng.standard_normal(shape).astype(np.float32)
    return feeds


def test_split_and_merge_round_trip():
    merged = onnx.load(str(FIXTURE / "onnx/decoder_model_merged.onnx"))
    first, cached = quant_graph.split_merged_decoder(merged)
    assert "use_cache_branch" not in [i.name for i in first.graph.input]
    assert not [i for i in first.graph.input if i.name.startswith("past_key_values.")]
    assert [o.name for o in cached.graph.output][0] == "logits"
    assert not [o for o in cached.graph.output if ".encoder." in o.name]
    config = json.loads((FIXTURE / "config.json").read_text())
    again = merge_decoders(first, cached, *quant_graph.decoder_shape(config))
    a = ort.InferenceSession(merged.SerializeToString(), providers=["CPUExecutionProvider"])
    b = ort.InferenceSession(again.SerializeToString(), providers=["CPUExecutionProvider"])
    half = ort.InferenceSession(first.SerializeToString(), providers=["CPUExecutionProvider"])
    for past in (0, 3):
        feeds = _feeds(a, seed=past, past=past)
        ra, rb = a.run(None, feeds), b.run(None, feeds)
        np.testing.assert_array_equal(ra[0], rb[0])
        if past == 0:
            rh = half.run(None, {i.name: feeds[i.name] for i in half.get_inputs()})
            np.testing.assert_array_equal(ra[0], rh[0])


def test_residual_adds_are_the_adds_of_two_activations():
    w = numpy_helper.from_array(np.ones((2, 2), np.float32), "w")
    bias = numpy_helper.from_array(np.ones((2,), np.float32), "bias")
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["h"], name="mm"),
        helper.make_node("Add", ["h", "bias"], ["hb"], name="bias_add"),
        helper.make_node("Add", ["hb", "x"], ["y"], name="residual"),
        helper.make_node("Constant", [], ["c"], name="const", value=numpy_helper.from_array(np.ones((2,), np.float32))),
        helper.make_node("Add", ["y", "c"], ["z"], name="const_add"),
    ]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])], [helper.make_tensor_value_info("z", TensorProto.FLOAT, [1, 2])], [w, bias])
    assert quant_graph.residual_adds(graph) == ["residual"]
    assert quant_graph.float_nodes(graph, ["MatMul", "residual-add"]) == ["mm", "residual"]
    assert quant_graph.float_nodes(graph, [], exclude_pattern="^const") == ["const", "const_add"]
