"""Per-row int8 quantisation of the token-embedding table in `embed_tokens.onnx`.

ONNX Runtime's dynamic quantiser leaves `Gather` in float, so `embed_tokens_int8.onnx` used to carry
the whole float32 table: 51289 x 768 x 4 B = 158 MB, the largest single item of the base INT8
pipeline (the int8 decoder is 100 MB). Here each row gets its own symmetric int8 scale
(`max |row| / 127`), and the table lookup becomes standard ops that every ONNX runtime has:

    q = Gather(table_int8 [V, D], input_ids)          int8  [B, S, D]
    s = Gather(row_scales [V, 1], input_ids)          float [B, S, 1]
    inputs_embeds = Mul(Cast<float>(q), s)            float [B, S, D]

1 byte per weight plus one float per row (39.6 MB for base). Per-row scales keep rows of very
different norms (the `<loc_N>` rows, EOS) as precise as the others: the error of every element is at
most half a step of its own row, `max |row| / 254`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper


class EmbedQuantError(Exception):
    """The graph has no Gather over a constant [vocab, d_model] table to quantise."""


def quantize_rows(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric per-row int8: returns (int8 table, float32 scales of shape [rows, 1])."""
    table = np.asarray(table, dtype=np.float32)
    peak = np.abs(table).max(axis=1, keepdims=True)
    scales = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
    q = np.clip(np.rint(table / scales), -127, 127).astype(np.int8)
    return q, scales


def quantize_embedding_model(model: onnx.ModelProto) -> onnx.ModelProto:
    """Returns a copy of `model` whose Gather over a 2-D float initializer reads a per-row int8 table."""
    model_out = onnx.ModelProto()
    model_out.CopyFrom(model)
    graph = model_out.graph
    inits = {i.name: i for i in graph.initializer}
    target = None
    for node in graph.node:
        if node.op_type != "Gather" or node.input[0] not in inits:
            continue
        init = inits[node.input[0]]
        axis = next((a.i for a in node.attribute if a.name == "axis"), 0)
        if len(init.dims) == 2 and init.data_type == onnx.TensorProto.FLOAT and axis == 0:
            target = node
            break
    if target is None:
        raise EmbedQuantError("no Gather over a float32 [vocab, d_model] initializer (axis 0) in this graph")
    table_name, ids_name, out_name = target.input[0], target.input[1], target.output[0]
    users = sum(table_name in n.input for n in graph.node)
    if users != 1:
        raise EmbedQuantError(f"the table `{table_name}` feeds {users} nodes; only a table used by one Gather is rewritten")
    q, scales = quantize_rows(numpy_helper.to_array(inits[table_name]))
    qname, sname = f"{table_name}_int8", f"{table_name}_row_scale"
    graph.initializer.remove(inits[table_name])
    graph.initializer.extend([numpy_helper.from_array(q, qname), numpy_helper.from_array(scales, sname)])
    p = f"{out_name}_q"
    new_nodes = [
        helper.make_node("Gather", [qname, ids_name], [f"{p}_rows"], name=f"{p}_gather_rows", axis=0),
        helper.make_node("Cast", [f"{p}_rows"], [f"{p}_rows_f"], name=f"{p}_cast", to=onnx.TensorProto.FLOAT),
        helper.make_node("Gather", [sname, ids_name], [f"{p}_scale"], name=f"{p}_gather_scale", axis=0),
        helper.make_node("Mul", [f"{p}_rows_f", f"{p}_scale"], [out_name], name=f"{p}_mul"),
    ]
    index = list(graph.node).index(target)
    graph.node.remove(target)
    for k, n in enumerate(new_nodes):
        graph.node.insert(index + k, n)
    onnx.checker.check_model(model_out)
    return model_out


def quantize_embedding_file(src: Path, dst: Path) -> dict:
    """Writes the per-row int8 `embed_tokens` graph; returns sizes and the worst element error."""
    model = onnx.load(str(src))
    out = quantize_embedding_model(model)
    onnx.save(out, str(dst))
    table = next(numpy_helper.to_array(i) for i in model.graph.initializer if len(i.dims) == 2)
    q, scales = quantize_rows(table)
    err = np.abs(q.astype(np.float32) * scales - table)
    return {
        "fp32_mb": Path(src).stat().st_size / 1e6,
        "int8_mb": Path(dst).stat().st_size / 1e6,
        "max_abs_error": float(err.max()),
        "max_error_in_row_steps": float((err / scales).max()),
    }
