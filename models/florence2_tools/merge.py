"""Merging `decoder_model` and `decoder_with_past_model` into `decoder_model_merged` (an `If` graph).

Same contract as the public onnx-community files: one graph whose inputs are the union of both decoders'
inputs plus `use_cache_branch` (bool [1]); the then-branch is the with-past decoder, the else-branch the
first-step decoder. Weights shared by the two branches are stored once, in the outer graph (deduplicated
by content, since the exporter names them differently in the two files). In the cache branch the
`present.*.encoder.*` outputs are empty tensors of shape [0, H, 1, head_dim], as in the public files:
runtimes keep the step-0 cross-attention K/V.

Every value produced inside a branch is renamed with a branch prefix, so the merged graph is in SSA form
across scopes (the public q4f16 merged decoder breaks newer ONNX Runtime releases on exactly this).
"""

from __future__ import annotations

import hashlib

import onnx
from onnx import TensorProto, helper, numpy_helper


def _tensor_key(t: onnx.TensorProto) -> tuple:
    arr = numpy_helper.to_array(t)
    return (t.data_type, tuple(t.dims), hashlib.sha256(arr.tobytes()).hexdigest())


def _branch(graph: onnx.GraphProto, prefix: str, outer_names: set[str], init_rename: dict[str, str]):
    """Turns a standalone graph into an If branch: no inputs, no initializers, branch-local names."""
    local: dict[str, str] = {}

    def ref(name: str) -> str:
        if name == "":
            return name
        if name in init_rename:
            return init_rename[name]
        if name in local:
            return local[name]
        if name in outer_names:
            return name
        raise ValueError(f"value {name!r} used before it is produced in the {prefix} branch")

    nodes = []
    for node in graph.node:
        n = onnx.NodeProto()
        n.CopyFrom(node)
        for i, name in enumerate(n.input):
            n.input[i] = ref(name)
        for i, name in enumerate(n.output):
            if name:
                local[name] = prefix + name
                n.output[i] = prefix + name
        if n.name:
            n.name = prefix + n.name
        for attr in n.attribute:
            if attr.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS):
                raise ValueError("nested subgraphs in a decoder export are not supported")
        nodes.append(n)
    outputs = []
    for o in graph.output:
        vi = onnx.ValueInfoProto()
        vi.CopyFrom(o)
        src = ref(o.name)
        if src == o.name:  # an output that is directly a graph input: route it through Identity
            vi.name = prefix + "out_" + o.name
            nodes.append(helper.make_node("Identity", [src], [vi.name]))
        else:
            vi.name = src
        outputs.append(vi)
    return nodes, outputs


def merge_decoders(no_past: onnx.ModelProto, with_past: onnx.ModelProto, n_layers: int, n_heads: int, head_dim: int):
    """Returns the merged model. Input/output names follow the public layout (see the spec, 1.2)."""
    # 1. One outer initializer per distinct tensor.
    outer_inits: list[onnx.TensorProto] = []
    by_key: dict[tuple, str] = {}
    renames = []
    for tag, model in (("np", no_past), ("wp", with_past)):
        ren: dict[str, str] = {}
        for t in model.graph.initializer:
            key = _tensor_key(t)
            if key not in by_key:
                new = onnx.TensorProto()
                new.CopyFrom(t)
                new.name = f"w{len(outer_inits)}_{t.name}".replace("onnx::", "")
                by_key[key] = new.name
                outer_inits.append(new)
            ren[t.name] = by_key[key]
        renames.append(ren)

    # 2. Outer inputs: first-step decoder inputs, then the cache inputs, then the branch selector.
    np_inputs = {i.name: i for i in no_past.graph.input}
    wp_inputs = {i.name: i for i in with_past.graph.input}
    ordered = ["encoder_attention_mask", "encoder_hidden_states", "inputs_embeds"]
    ordered += [n for n in wp_inputs if n.startswith("past_key_values.")]
    outer_inputs = []
    for name in ordered:
        src = np_inputs.get(name) or wp_inputs.get(name)
        if src is None:
            raise ValueError(f"input {name!r} is in neither decoder export")
        vi = onnx.ValueInfoProto()
        vi.CopyFrom(src)
        outer_inputs.append(vi)
    outer_inputs.append(helper.make_tensor_value_info("use_cache_branch", TensorProto.BOOL, [1]))
    outer_names = {i.name for i in outer_inputs}

    else_nodes, else_outputs = _branch(no_past.graph, "first_step/", outer_names, renames[0])
    then_nodes, then_outputs = _branch(with_past.graph, "with_past/", outer_names, renames[1])

    # 3. The cache branch has no new cross-attention K/V: emit empty placeholders in their slots.
    then_by_name = {o.name.split("/", 1)[1]: o for o in then_outputs}
    np_output_names = [o.name for o in no_past.graph.output]
    empty = helper.make_tensor("empty_cross_kv", TensorProto.FLOAT, [0, n_heads, 1, head_dim], vals=[])
    then_nodes.append(helper.make_node("Constant", [], ["with_past/empty_cross_kv"], value=empty))
    then_final = []
    for name in np_output_names:
        if name in then_by_name:
            then_final.append(then_by_name[name])
        else:
            out = f"with_past/{name}"
            then_nodes.append(helper.make_node("Identity", ["with_past/empty_cross_kv"], [out]))
            then_final.append(helper.make_tensor_value_info(out, TensorProto.FLOAT, None))

    then_graph = helper.make_graph(then_nodes, "decoder_with_past", [], then_final)
    else_graph = helper.make_graph(else_nodes, "decoder_first_step", [], else_outputs)
    if_node = helper.make_node(
        "If", ["use_cache_branch"], np_output_names, name="optimum::if", then_branch=then_graph, else_branch=else_graph
    )

    # 4. Outer outputs: element type and rank, symbolic dims.
    outer_outputs = []
    for name in np_output_names:
        if name == "logits":
            dims = ["batch_size", "decoder_sequence_length", None]
            src = next(o for o in no_past.graph.output if o.name == name)
            dims[2] = src.type.tensor_type.shape.dim[2].dim_value or "vocab_size"
        elif ".decoder." in name:
            dims = ["batch_size", n_heads, "past_decoder_sequence_length + decoder_sequence_length", head_dim]
        else:
            dims = ["batch_size", n_heads, "encoder_sequence_length_out", head_dim]
        outer_outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, dims))

    graph = helper.make_graph([if_node], "decoder_model_merged", outer_inputs, outer_outputs, outer_inits)
    opsets = {}
    for m in (no_past, with_past):
        for o in m.opset_import:
            opsets[o.domain] = max(opsets.get(o.domain, 0), o.version)
    merged = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid(d, v) for d, v in sorted(opsets.items())],
        producer_name="florence2-mobile models/export.py",
    )
    merged.ir_version = no_past.ir_version
    onnx.checker.check_model(merged)
    return merged
