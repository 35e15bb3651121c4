"""Graph surgery for static quantisation: splitting a merged decoder into its two halves, naming nodes,
and choosing which nodes stay in float.

ONNX Runtime's static (QDQ) quantiser and its calibrators work on the top-level graph only: they cannot
record tensors inside the `If` branches of `decoder_model_merged`. So the merged decoder is split back
into `decoder_model` (the first step, else-branch) and `decoder_with_past_model` (the cache branch),
each half is calibrated on the steps it runs and quantised, and the halves are merged again with
`merge.merge_decoders` (which stores weights that are identical in both halves once).
"""

from __future__ import annotations

import re

import onnx
from onnx import helper

# Op types ONNX Runtime's QDQ quantiser handles (its QDQ and QLinear registries). Anything listed in
# `keep_float` is removed from this set; `residual-add` is a pseudo op type (see `float_nodes`).
RESIDUAL_ADD = "residual-add"
# Ops that only move data: a quantised input gives an output with the same scale.
_PASS_THROUGH = {"Gather", "GatherElements", "Reshape", "Transpose", "Squeeze", "Unsqueeze", "Flatten", "Slice", "Split"}


def name_nodes(graph: onnx.GraphProto, prefix: str = "") -> None:
    """Gives every unnamed node a unique name (node exclusions and the quantiser's bookkeeping use names)."""
    used = {n.name for n in graph.node if n.name}
    for i, node in enumerate(graph.node):
        if not node.name:
            name = f"{prefix}{node.op_type}_{i}"
            while name in used:
                name += "_"
            node.name = name
            used.add(name)


def _producers(graph: onnx.GraphProto) -> dict[str, onnx.NodeProto]:
    return {o: n for n in graph.node for o in n.output if o}


def residual_adds(graph: onnx.GraphProto) -> list[str]:
    """Names of `Add` nodes whose two inputs are both computed activations (a residual/skip connection or a
    position-embedding sum), as opposed to a bias `Add` with a constant operand."""
    constants = {t.name for t in graph.initializer}
    producers = _producers(graph)
    for name, node in producers.items():
        if node.op_type == "Constant":
            constants.add(name)
    inputs = {i.name for i in graph.input}
    found = []
    for node in graph.node:
        if node.op_type != "Add" or len(node.input) != 2:
            continue
        if all(x not in constants and (x in producers or x in inputs) for x in node.input):
            found.append(node.name)
    return found


def float_nodes(graph: onnx.GraphProto, keep_float: list[str], exclude_pattern: str | None = None) -> list[str]:
    """Names of nodes to leave in float: every node whose op type is in `keep_float`, the residual adds
    when `residual-add` is listed, and nodes whose name matches the regular expression `exclude_pattern`."""
    ops = {k for k in keep_float if k != RESIDUAL_ADD}
    names = [n.name for n in graph.node if n.op_type in ops]
    if RESIDUAL_ADD in keep_float:
        names += residual_adds(graph)
    if exclude_pattern:
        rx = re.compile(exclude_pattern)
        names += [n.name for n in graph.node if rx.search(n.name)]
    return sorted(set(names))


def _used_names(nodes) -> set[str]:
    used = set()
    for n in nodes:
        used.update(x for x in n.input if x)
        for attr in n.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                used |= _used_names(attr.g.node)
            elif attr.type == onnx.AttributeProto.GRAPHS:
                for g in attr.graphs:
                    used |= _used_names(g.node)
    return used


def _half(merged: onnx.ModelProto, if_node: onnx.NodeProto, branch: onnx.GraphProto, keep_output, name: str) -> onnx.ModelProto:
    outer = merged.graph
    outer_inputs = {i.name: i for i in outer.input}
    outer_inits = {t.name: t for t in outer.initializer}
    outer_outputs = {o.name: o for o in outer.output}

    nodes = []
    for n in branch.node:
        c = onnx.NodeProto()
        c.CopyFrom(n)
        nodes.append(c)
    produced = {o for n in nodes for o in n.output if o}

    # Branch output i is the If node's output i; give the kept ones their public names.
    rename: dict[str, str] = {}
    outputs = []
    for branch_out, public in zip(branch.output, if_node.output):
        if not keep_output(public):
            continue
        src = branch_out.name
        if src in produced and src not in rename:
            rename[src] = public
        else:  # a graph input/initializer passed straight through, or one value feeding two outputs
            nodes.append(helper.make_node("Identity", [rename.get(src, src)], [public], name=f"{name}/out/{public}"))
        outputs.append(onnx.ValueInfoProto())
        outputs[-1].CopyFrom(outer_outputs[public])
    for n in nodes:
        for i, x in enumerate(n.input):
            n.input[i] = rename.get(x, x)
        for i, x in enumerate(n.output):
            n.output[i] = rename.get(x, x)
    # Prune nodes that no kept output depends on (the cache branch's empty cross-attention placeholders).
    needed = {o.name for o in outputs}
    kept = []
    for n in reversed(nodes):
        if any(o in needed for o in n.output):
            kept.append(n)
            needed.update(x for x in n.input if x)
            needed |= _used_names([n])
    nodes = list(reversed(kept))

    used = _used_names(nodes)
    graph_inputs = [outer_inputs[i.name] for i in outer.input if i.name in used]
    inits = [outer_inits[t] for t in outer_inits if t in used]
    value_info = []
    for vi in branch.value_info:
        c = onnx.ValueInfoProto()
        c.CopyFrom(vi)
        c.name = rename.get(c.name, c.name)
        value_info.append(c)
    graph = helper.make_graph(nodes, name, graph_inputs, outputs, inits, value_info=value_info)
    model = helper.make_model(graph, opset_imports=list(merged.opset_import), producer_name=merged.producer_name)
    model.ir_version = merged.ir_version
    name_nodes(model.graph, prefix=f"{name}/")
    return model


def split_merged_decoder(merged: onnx.ModelProto) -> tuple[onnx.ModelProto, onnx.ModelProto]:
    """`decoder_model_merged` → (`decoder_model`, `decoder_with_past_model`).

    Works on any merged decoder whose top-level graph is one `If` on `use_cache_branch` (ours and the
    optimum / onnx-community files). The first-step half keeps every output; the cache half keeps
    `logits` and `present.*.decoder.*` (its `present.*.encoder.*` are placeholders by contract).
    """
    ifs = [n for n in merged.graph.node if n.op_type == "If"]
    if len(ifs) != 1 or len(merged.graph.node) != 1 or ifs[0].input[0] != "use_cache_branch":
        ops = [n.op_type for n in merged.graph.node][:8]
        raise ValueError(f"expected a merged decoder whose graph is one If on use_cache_branch, found nodes {ops}")
    node = ifs[0]
    branches = {a.name: a.g for a in node.attribute}
    first = _half(merged, node, branches["else_branch"], lambda _name: True, "decoder_model")
    cached = _half(
        merged,
        node,
        branches["then_branch"],
        lambda name: name == "logits" or (name.startswith("present.") and ".decoder." in name),
        "decoder_with_past_model",
    )
    return first, cached


def decoder_shape(config: dict) -> tuple[int, int, int]:
    """(decoder layers, heads, head dim) from config.json (top-level or `text_config`)."""
    text = config.get("text_config", config)
    layers = text.get("decoder_layers", text.get("num_hidden_layers"))
    heads = text.get("decoder_attention_heads", text.get("num_attention_heads"))
    d_model = text.get("d_model", text.get("hidden_size"))
    if not (layers and heads and d_model):
        raise ValueError("config.json lacks decoder_layers / decoder_attention_heads / d_model")
    return int(layers), int(heads), int(d_model) // int(heads)


def qdq_summary(model: onnx.ModelProto) -> dict[str, int]:
    """Counts of QuantizeLinear / DequantizeLinear nodes, in the graph and in every subgraph."""
    counts = {"QuantizeLinear": 0, "DequantizeLinear": 0}

    def walk(graph):
        for n in graph.node:
            if n.op_type in counts:
                counts[n.op_type] += 1
            for attr in n.attribute:
                if attr.type == onnx.AttributeProto.GRAPH:
                    walk(attr.g)

    walk(model.graph)
    return counts


def float_graph_outputs(model: onnx.ModelProto) -> int:
    """Makes every graph output that the quantiser routed through QuantizeLinear → DequantizeLinear the
    float tensor again (in place; returns how many). Quantising outputs helps nothing and hurts: the
    logits would keep 256 levels (near-ties flip the argmax) and the vision features would carry the
    rounding into the next graph. Outputs of pure data moves (`_PASS_THROUGH`) keep their pair."""
    graph = model.graph
    producers = _producers(graph)
    consumers: dict[str, int] = {}
    for n in graph.node:
        for x in n.input:
            consumers[x] = consumers.get(x, 0) + 1
    outputs = {o.name for o in graph.output}
    changed = 0
    drop = set()
    for name in outputs:
        dq = producers.get(name)
        if dq is None or dq.op_type != "DequantizeLinear":
            continue
        q = producers.get(dq.input[0])
        if q is None or q.op_type != "QuantizeLinear":
            continue
        source = q.input[0]
        if getattr(producers.get(source), "op_type", None) in _PASS_THROUGH:
            # Gather/Reshape/... of a quantised tensor: the output pair is lossless (same scale) and lets
            # ONNX Runtime run the op on 8-bit data (the embedding table is never dequantised whole).
            continue
        identity = helper.make_node("Identity", [source], [name], name=f"{dq.name}/float_output")
        graph.node.insert(list(graph.node).index(dq), identity)
        drop.add(id(dq))
        if consumers.get(q.output[0], 0) == 1:
            drop.add(id(q))
        changed += 1
    kept = [n for n in graph.node if id(n) not in drop]
    del graph.node[:]
    graph.node.extend(kept)
    used = _used_names(graph.node)
    inits = [t for t in graph.initializer if t.name in used]
    del graph.initializer[:]
    graph.initializer.extend(inits)
    return changed


def restore_float_inputs(model: onnx.ModelProto, node_names: list[str]) -> int:
    """Feeds the named (float) nodes their unquantised inputs again; returns how many inputs changed.

    When a tensor is quantised for one consumer, ONNX Runtime's QDQ quantiser routes *every* consumer
    through the QuantizeLinear → DequantizeLinear pair, so a LayerNorm or residual Add left "in float"
    would still read a rounded tensor. This rewires those consumers to the original tensor and drops
    QuantizeLinear / DequantizeLinear nodes nobody reads any more."""
    graph = model.graph
    names = set(node_names)
    producers = _producers(graph)
    changed = 0
    for node in graph.node:
        if node.name not in names:
            continue
        for i, x in enumerate(node.input):
            dq = producers.get(x)
            if dq is None or dq.op_type != "DequantizeLinear":
                continue
            q = producers.get(dq.input[0])
            if q is None or q.op_type != "QuantizeLinear":
                continue
            node.input[i] = q.input[0]
            changed += 1
    _drop_dead_qdq(graph)
    return changed


def _drop_dead_qdq(graph: onnx.GraphProto) -> None:
    outputs = {o.name for o in graph.output}
    while True:
        used = _used_names(graph.node) | outputs
        dead = [n for n in graph.node if n.op_type in ("QuantizeLinear", "DequantizeLinear") and not any(o in used for o in n.output)]
        if not dead:
            break
        ids = {id(n) for n in dead}
        kept = [n for n in graph.node if id(n) not in ids]
        del graph.node[:]
        graph.node.extend(kept)
    used = _used_names(graph.node)
    inits = [t for t in graph.initializer if t.name in used]
    del graph.initializer[:]
    graph.initializer.extend(inits)
