"""Per-row int8 embedding table: bounds of the error, graph contract kept, refusals."""

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from florence2_tools.embed_quant import EmbedQuantError, quantize_embedding_model, quantize_rows

FIXTURE = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "tiny-random" / "onnx" / "embed_tokens.onnx"


def gather_model(table: np.ndarray) -> onnx.ModelProto:
    ids = helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch_size", "sequence_length"])
    out = helper.make_tensor_value_info("inputs_embeds", TensorProto.FLOAT, ["batch_size", "sequence_length", table.shape[1]])
    node = helper.make_node("Gather", ["weight", "input_ids"], ["inputs_embeds"])
    graph = helper.make_graph([node], "embed", [ids], [out], [numpy_helper.from_array(table, "weight")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def run(model: onnx.ModelProto, ids: np.ndarray) -> np.ndarray:
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(["inputs_embeds"], {"input_ids": ids})[0]


def test_rows_of_very_different_scale_each_keep_half_a_step():
    rng = np.random.default_rng(3)
    table = rng.normal(size=(50, 16)).astype(np.float32)
    table[7] *= 1e-3  # a tiny row next to
    table[9] *= 40.0  # a huge one: per-tensor scaling would flatten row 7 to zeros
    table[11] = 0.0
    q, scales = quantize_rows(table)
    assert q.dtype == np.int8 and scales.shape == (50, 1)
    err = np.abs(q.astype(np.float32) * scales - table)
    assert np.all(err <= scales * 0.5 + 1e-12)
    assert np.count_nonzero(q[7]) > 8  # the small row still has resolution
    assert np.all(q[11] == 0)


def test_graph_gives_the_dequantised_rows_for_any_ids():
    rng = np.random.default_rng(0)
    table = rng.normal(size=(300, 24)).astype(np.float32)
    model = quantize_embedding_model(gather_model(table))
    ids = np.array([[0, 5, 299, 5], [17, 3, 1, 250]], dtype=np.int64)
    got = run(model, ids)
    q, s = quantize_rows(table)
    np.testing.assert_array_equal(got, (q.astype(np.float32) * s)[ids])
    ref = run(gather_model(table), ids)
    assert got.shape == ref.shape == (2, 4, 24)
    assert np.abs(got - ref).max() <= np.abs(table).max() / 254 + 1e-6
    # the table is stored as int8: about a quarter of the float32 size
    assert sum(i.data_type == TensorProto.INT8 for i in model.graph.initializer) == 1
    assert model.ByteSize() < gather_model(table).ByteSize() / 3


def test_fixture_embed_tokens_keeps_its_contract():
    model = onnx.load(str(FIXTURE))
    out = quantize_embedding_model(model)
    assert [i.name for i in out.graph.input] == ["input_ids"]
    assert [o.name for o in out.graph.output] == ["inputs_embeds"]
    ids = np.arange(0, 200, 7, dtype=np.int64)[None, :]
    ref, got = run(model, ids), run(out, ids)
    cos = (ref * got).sum(-1) / (np.linalg.norm(ref, axis=-1) * np.linalg.norm(got, axis=-1))
    assert cos.min() > 0.999


def test_refuses_a_graph_without_a_table_lookup():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y])
    with pytest.raises(EmbedQuantError, match="no Gather"):
        quantize_embedding_model(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]))


def test_quantize_py_writes_the_per_row_table_for_int8_embeddings(tmp_path):
    """`models/quantize.py --precision int8` stores embed_tokens as per-row int8, not as ONNX Runtime's
    dynamic quantiser would (which keeps the float32 table), and the result stays close to fp32."""
    import shutil

    import quantize

    (tmp_path / "onnx").mkdir()
    shutil.copy(FIXTURE, tmp_path / "onnx" / "embed_tokens.onnx")
    dst = quantize.write_variant(tmp_path, "embed_tokens", "int8")
    graph = onnx.load(str(dst)).graph
    kinds = {(i.data_type, len(i.dims)) for i in graph.initializer}
    assert (TensorProto.INT8, 2) in kinds and (TensorProto.FLOAT, 2) in kinds  # int8 table + [V, 1] scales
    assert not any(i.data_type == TensorProto.FLOAT and len(i.dims) == 2 and i.dims[1] > 1 for i in graph.initializer)
    ids = np.array([[0, 2, 5, 100, 7]], dtype=np.int64)
    ref = run(onnx.load(str(FIXTURE)), ids)
    got = run(onnx.load(str(dst)), ids)
    assert np.abs(got - ref).max() <= np.abs(ref).max() / 254 + 1e-6
