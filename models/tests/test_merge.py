"""merge_decoders on hand-built graphs (no torch): both branches run, weights are stored once,
branch-local values do not leak, and the cache branch returns empty cross-attention placeholders."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from florence2_tools.merge import merge_decoders

H, D, HID = 2, 3, 6


def _no_past(weight):
    # logits = inputs_embeds @ W; present.0.decoder.* = a projection of the input; encoder.* from hidden states
    nodes = [
        helper.make_node("MatMul", ["inputs_embeds", "W"], ["logits"]),
        helper.make_node("Reshape", ["inputs_embeds", "shape4"], ["present.0.decoder.key"]),
        helper.make_node("Identity", ["present.0.decoder.key"], ["present.0.decoder.value"]),
        helper.make_node("Reshape", ["encoder_hidden_states", "shape4"], ["present.0.encoder.key"]),
        helper.make_node("Identity", ["present.0.encoder.key"], ["present.0.encoder.value"]),
        helper.make_node("Cast", ["encoder_attention_mask"], ["unused"], to=TensorProto.FLOAT),
    ]
    ins = [
        helper.make_tensor_value_info("encoder_attention_mask", TensorProto.INT64, ["b", "s"]),
        helper.make_tensor_value_info("encoder_hidden_states", TensorProto.FLOAT, ["b", "s", HID]),
        helper.make_tensor_value_info("inputs_embeds", TensorProto.FLOAT, ["b", "t", HID]),
    ]
    outs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["b", "t", 4])]
    outs += [helper.make_tensor_value_info(f"present.0.{k}.{v}", TensorProto.FLOAT, None) for k in ("decoder", "encoder") for v in ("key", "value")]
    inits = [numpy_helper.from_array(weight, "W"), numpy_helper.from_array(np.array([1, H, -1, D], np.int64), "shape4")]
    g = helper.make_graph(nodes, "np", ins, outs, inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def _with_past(weight):
    nodes = [
        helper.make_node("MatMul", ["inputs_embeds", "W_again"], ["mm"]),
        helper.make_node("Add", ["mm", "one"], ["logits"]),
        helper.make_node("Reshape", ["inputs_embeds", "shape4"], ["new_k"]),
        helper.make_node("Concat", ["past_key_values.0.decoder.key", "new_k"], ["present.0.decoder.key"], axis=2),
        helper.make_node("Concat", ["past_key_values.0.decoder.value", "new_k"], ["present.0.decoder.value"], axis=2),
    ]
    ins = [
        helper.make_tensor_value_info("encoder_attention_mask", TensorProto.INT64, ["b", "s"]),
        helper.make_tensor_value_info("inputs_embeds", TensorProto.FLOAT, ["b", "t", HID]),
    ]
    for kind in ("decoder", "encoder"):
        for kv in ("key", "value"):
            ins.append(helper.make_tensor_value_info(f"past_key_values.0.{kind}.{kv}", TensorProto.FLOAT, ["b", H, "p", D]))
    outs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["b", "t", 4])]
    outs += [helper.make_tensor_value_info(f"present.0.decoder.{v}", TensorProto.FLOAT, None) for v in ("key", "value")]
    inits = [
        numpy_helper.from_array(weight, "W_again"),
        numpy_helper.from_array(np.array(1.0, np.float32), "one"),
        numpy_helper.from_array(np.array([1, H, -1, D], np.int64), "shape4"),
    ]
    g = helper.make_graph(nodes, "wp", ins, outs, inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def test_merged_decoder_runs_both_branches_and_shares_weights():
    w = np.arange(HID * 4, dtype=np.float32).reshape(HID, 4) / 10
    merged = merge_decoders(_no_past(w), _with_past(w), n_layers=1, n_heads=H, head_dim=D)
    # the weight matrix appears once although the two exports named it differently
    assert sum(1 for t in merged.graph.initializer if tuple(t.dims) == (HID, 4)) == 1
    names = [i.name for i in merged.graph.input]
    assert names[:3] == ["encoder_attention_mask", "encoder_hidden_states", "inputs_embeds"]
    assert names[-1] == "use_cache_branch"
    sess = ort.InferenceSession(merged.SerializeToString(), providers=["CPUExecutionProvider"])
    out_names = [o.name for o in sess.get_outputs()]
    x = np.random.default_rng(0).normal(size=(1, 1, HID)).astype(np.float32)
    hidden = np.ones((1, 5, HID), np.float32)
    feeds = {
        "encoder_attention_mask": np.ones((1, 5), np.int64),
        "encoder_hidden_states": hidden,
        "inputs_embeds": x,
        "use_cache_branch": np.array([False]),
    }
    for kind in ("decoder", "encoder"):
        for kv in ("key", "value"):
            feeds[f"past_key_values.0.{kind}.{kv}"] = np.zeros((1, H, 0, D), np.float32)
    first = dict(zip(out_names, sess.run(None, feeds)))
    np.testing.assert_allclose(first["logits"], x @ w, rtol=1e-6)
    assert first["present.0.encoder.key"].shape == (1, H, 5, D)
    feeds["use_cache_branch"] = np.array([True])
    feeds["past_key_values.0.decoder.key"] = first["present.0.decoder.key"]
    feeds["past_key_values.0.decoder.value"] = first["present.0.decoder.value"]
    second = dict(zip(out_names, sess.run(None, feeds)))
    np.testing.assert_allclose(second["logits"], x @ w + 1.0, rtol=1e-6)
    assert second["present.0.decoder.key"].shape[2] == 2
    assert second["present.0.encoder.key"].shape == (0, H, 1, D)


def test_branch_values_are_prefixed():
    w = np.ones((HID, 4), np.float32)
    merged = merge_decoders(_no_past(w), _with_past(w), n_layers=1, n_heads=H, head_dim=D)
    if_node = merged.graph.node[0]
    outer = {i.name for i in merged.graph.input} | {t.name for t in merged.graph.initializer}
    for attr in if_node.attribute:
        for node in attr.g.node:
            for out in node.output:
                assert out.startswith(("first_step/", "with_past/")) and out not in outer
    onnx.checker.check_model(merged, full_check=True)
