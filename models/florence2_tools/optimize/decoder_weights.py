"""Reads the Florence-2 (BART) text decoder's weights out of a stock `decoder_model_merged.onnx`, by
structure, and the token table out of `embed_tokens.onnx`.

The stock merged decoder (our exporter's, optimum's, the onnx-community files) is an `If` over two
traced decoders whose initializer names are not stable. The first-step branch (the one that computes
the cross-attention K/V) holds every weight, so it is read, with the outer initializers, as one graph:

- the graph's `present.{i}.{decoder,encoder}.{key,value}` outputs name the self- and
  cross-attention K and V projections of layer i: each is traced back (through Transpose, Reshape,
  Identity) to a MatMul with a constant 2-D weight and its bias `Add`;
- the self-attention Q projection is the other Linear that reads the same tensor as that layer's K;
- the remaining Linears, in graph (= execution) order, are per layer: self-attention output,
  cross-attention Q, cross-attention output, fc1, fc2; then the LM head ([d_model, vocab]);
- layer norms in graph order: `layernorm_embedding`, then per layer self-attention, cross-attention
  and final norms (an extra last norm, mBART's `layer_norm`, is accepted);
- the learned positions: the one `Gather` over a constant 2-D float table.

Every shape is checked against config.json's `text_config`; a wrong guess that still fits every shape
fails the optimiser's numerical self-check against the stock decoder.

`read_token_table` recognises `embed_tokens.onnx` graphs that are a row lookup: `Gather(table,
input_ids)` over a float32 table followed by a chain of Identity, Cast-to-float, and Mul or Div by a
constant scalar (transformers' own Florence-2 export has `Gather → Mul(1.0)`, the embedding scale);
anything else is not a plain lookup. Scales of exactly 1 are dropped (x·1 = x/1 = x in IEEE
arithmetic); the others are kept, in order, after the lookup we write.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import numpy_helper

from .errors import OptimizeError
from .vision_weights import Linear, Norm, _attr, _decomposed_norm, _Graph, _other

#: BART's learned positions start at table row 2 (transformers' `BartLearnedPositionalEmbedding`).
POSITION_OFFSET = 2


@dataclass
class TextArch:
    """The decoder numbers of `text_config` (config.json)."""

    d_model: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    activation: str

    @property
    def head_dim(self) -> int:
        return self.d_model // self.heads

    @staticmethod
    def from_config(config: dict) -> "TextArch":
        if config.get("model_type") != "florence2":
            raise OptimizeError(f"config.json has model_type {config.get('model_type')!r}, not 'florence2': this tool only knows Florence-2")
        t = config.get("text_config") or {}

        def pick(*names, default=None):
            for n in names:
                if n in t:
                    return t[n]
            if default is not None:
                return default
            raise OptimizeError(f"config.json text_config has none of {names}")

        arch = TextArch(
            d_model=int(pick("d_model", "hidden_size")),
            layers=int(pick("decoder_layers")),
            heads=int(pick("decoder_attention_heads")),
            ffn=int(pick("decoder_ffn_dim")),
            vocab=int(pick("vocab_size", default=config.get("vocab_size", 0))),
            max_positions=int(pick("max_position_embeddings")),
            activation=str(pick("activation_function", default="gelu")),
        )
        if arch.d_model % arch.heads:
            raise OptimizeError(f"text_config: d_model {arch.d_model} is not divisible by decoder_attention_heads {arch.heads}")
        if arch.activation != "gelu":
            raise OptimizeError(f"text_config: activation_function {arch.activation!r}; the decoder layout implements Florence-2's exact 'gelu' only")
        return arch


@dataclass
class DecoderLayer:
    """One post-LN BART decoder layer."""

    self_q: Linear
    self_k: Linear
    self_v: Linear
    self_o: Linear
    self_norm: Norm
    cross_q: Linear
    cross_k: Linear
    cross_v: Linear
    cross_o: Linear
    cross_norm: Norm
    fc1: Linear
    fc2: Linear
    final_norm: Norm


@dataclass
class DecoderWeights:
    """All weights of the text decoder and its LM head."""

    arch: TextArch
    #: learned positions, rows for positions 0..max_positions-1 (the offset rows dropped)
    positions: np.ndarray
    embed_norm: Norm
    layers: list[DecoderLayer]
    #: [d_model, vocab] weight and optional [vocab] bias (`final_logits_bias`)
    lm_head: Linear
    #: mBART-style norm before the LM head (Florence-2 has none)
    last_norm: Norm | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class TokenTable:
    """`embed_tokens.onnx` as a row lookup: `inputs_embeds = table[ids]`, then `ops` in order."""

    table: np.ndarray
    #: ("Mul" | "Div", float32 scalar) applied after the lookup, in order (scales of 1 dropped)
    ops: list[tuple[str, float]]
    #: the chain after the Gather, for the report ("Gather", "Gather → Mul(1)", ...)
    pattern: str


def _branch_view(model: onnx.ModelProto) -> tuple[onnx.GraphProto, list[str]]:
    """The first-step decoder as one graph (outer initializers + the branch's nodes), and the public
    output names of its outputs, in order."""
    g = model.graph
    if_nodes = [n for n in g.node if n.op_type == "If"]
    if not if_nodes:
        # A plain first-step decoder (decoder_model.onnx-like): use it as it is.
        return g, [o.name for o in g.output]
    if len(if_nodes) != 1:
        raise OptimizeError(f"expected one If node (the merged decoder), found {len(if_nodes)}")
    node = if_nodes[0]
    names = list(node.output)
    branches = {a.name: a.g for a in node.attribute if a.type == onnx.AttributeProto.GRAPH}
    chosen = None
    for key in ("else_branch", "then_branch"):
        br = branches.get(key)
        if br is None:
            continue
        produced = {o for n in br.node for o in n.output}
        # the branch that computes the cross-attention K/V has MatMuls reading encoder_hidden_states
        if any(n.op_type == "MatMul" and "encoder_hidden_states" in n.input for n in br.node) and produced:
            chosen = br
            break
    if chosen is None:
        raise OptimizeError("no branch of the merged decoder computes the cross-attention K/V from encoder_hidden_states")
    view = onnx.GraphProto()
    view.name = "first_step_view"
    view.initializer.extend(g.initializer)
    view.initializer.extend(chosen.initializer)
    view.node.extend([n for n in g.node if n.op_type != "If"])
    view.node.extend(chosen.node)
    view.output.extend(chosen.output)
    return view, names


def _linear_at(g: _Graph, node: onnx.NodeProto) -> Linear | None:
    """The Linear of a MatMul / Gemm node with a constant weight (and its constant bias Add)."""
    if node.op_type == "MatMul":
        w = g.const(node.input[1])
        if w is None or w.ndim != 2:
            return None
        b = None
        add = g.only_consumer(node.output[0], "Add")
        if add is not None:
            cand = g.const(_other(add, node.output[0]))
            if cand is not None and cand.size == w.shape[1]:
                b = cand
        return Linear(w.astype(np.float32), None if b is None else b.astype(np.float32).reshape(-1))
    if node.op_type == "Gemm" and not _attr(node, "transA", 0):
        w = g.const(node.input[1])
        if w is None or w.ndim != 2:
            return None
        if _attr(node, "transB", 0):
            w = w.T
        w = w * float(_attr(node, "alpha", 1.0))
        b = g.const(node.input[2]) if len(node.input) > 2 and node.input[2] else None
        if b is not None:
            b = b * float(_attr(node, "beta", 1.0))
        return Linear(w.astype(np.float32), None if b is None else b.astype(np.float32).reshape(-1))
    return None


def _trace_to_linear(g: _Graph, tensor: str) -> onnx.NodeProto | None:
    """Walks producers back from `tensor` through layout ops and a bias Add to a weighted MatMul."""
    seen = 0
    while seen < 32:
        seen += 1
        node = g.producer.get(tensor)
        if node is None:
            return None
        if node.op_type in ("MatMul", "Gemm") and _linear_at(g, node) is not None:
            return node
        if node.op_type in ("Transpose", "Reshape", "Identity", "Squeeze", "Unsqueeze"):
            tensor = node.input[0]  # the data input (shapes and axes may be computed)
        elif node.op_type == "Concat":
            # a present that is [past, new]: follow the one input that is not a graph input
            data = [i for i in node.input if i and g.producer.get(i) is not None and g.const(i) is None]
            if len(data) != 1:
                return None
            tensor = data[0]
        elif node.op_type == "Add":
            data = [i for i in node.input if g.const(i) is None]
            if len(data) != 1:
                return None
            tensor = data[0]
        else:
            return None
    return None


def extract_decoder(model: onnx.ModelProto, arch: TextArch) -> DecoderWeights:
    """Deals the stock decoder's weights out to the BART skeleton of `arch`; raises OptimizeError."""
    graph, out_names = _branch_view(model)
    g = _Graph(graph)
    by_out = dict(zip(out_names, [o.name for o in graph.output]))
    D, F, L = arch.d_model, arch.ffn, arch.layers

    def where(msg: str) -> OptimizeError:
        return OptimizeError(f"not a Florence-2 text decoder for this config.json: {msg}")

    kv_nodes: dict[tuple[int, str, str], onnx.NodeProto] = {}
    for i in range(L):
        for kind in ("decoder", "encoder"):
            for kv in ("key", "value"):
                name = f"present.{i}.{kind}.{kv}"
                if name not in by_out:
                    raise where(f"the graph has no output {name} (decoder_layers is {L})")
                node = _trace_to_linear(g, by_out[name])
                if node is None:
                    raise where(f"{name} does not come from a projection with a constant weight")
                kv_nodes[(i, kind, kv)] = node
    if f"present.{L}.decoder.key" in by_out:
        raise where(f"the graph has more than decoder_layers={L} layers")
    for (i, kind, _), node in kv_nodes.items():
        if kind == "encoder" and node.input[0] != "encoder_hidden_states":
            raise where(f"the cross-attention K/V of layer {i} do not read encoder_hidden_states")
    used = {n.name or id(n) for n in kv_nodes.values()}

    linears: list[tuple[onnx.NodeProto, Linear]] = []
    norms: list[Norm] = []
    tables: list[np.ndarray] = []
    skip: set[str] = set()
    for node in graph.node:
        if node.name and node.name in skip:
            continue
        if node.op_type in ("MatMul", "Gemm"):
            lin = _linear_at(g, node)
            if lin is not None:
                linears.append((node, lin))
        elif node.op_type == "LayerNormalization":
            gamma = g.const(node.input[1])
            beta = g.const(node.input[2]) if len(node.input) > 2 and node.input[2] else None
            if gamma is None:
                raise where(f"LayerNormalization {node.name} has a non-constant scale")
            beta = np.zeros_like(gamma) if beta is None else beta
            norms.append(Norm(gamma.astype(np.float32).reshape(-1), beta.astype(np.float32).reshape(-1), float(_attr(node, "epsilon", 1e-5))))
        elif node.op_type == "ReduceMean":
            found = _decomposed_norm(g, node)
            if found is not None:
                norm, inner = found
                skip |= inner
                norms.append(norm)
        elif node.op_type == "Gather":
            t = g.const(node.input[0])
            if t is not None and t.ndim == 2 and t.dtype.kind == "f" and g.const(node.input[1]) is None:
                tables.append(t.astype(np.float32))
    if any(n.op_type == "Tanh" for n in graph.node):
        raise where("the MLP uses a tanh GELU approximation; Florence-2's decoder uses the exact (Erf) GELU")

    def key(node):
        return node.name or id(node)

    rest = [(n, lin) for n, lin in linears if key(n) not in used]
    layers = []
    for i in range(L):
        k_node = kv_nodes[(i, "decoder", "key")]
        q_cands = [(n, lin) for n, lin in rest if n.input[0] == k_node.input[0]]
        if len(q_cands) != 1:
            raise where(f"layer {i}: expected one self-attention query projection beside its key, found {len(q_cands)}")
        q_node, q_lin = q_cands[0]
        rest = [(n, lin) for n, lin in rest if key(n) != key(q_node)]
        layers.append({"self_q": q_lin})
    expected = 5 * L + 1
    if len(rest) != expected:
        raise where(f"expected {expected} other weighted MatMuls (5 per layer + the LM head), found {len(rest)}")
    if len(norms) not in (1 + 3 * L, 2 + 3 * L):
        raise where(f"expected {1 + 3 * L} layer norms (decoder_layers {L}), found {len(norms)}")
    if len(tables) != 1:
        raise where(f"expected one learned position table (a Gather over a constant [positions, d_model]), found {len(tables)}")

    def lin_of(node: onnx.NodeProto) -> Linear:
        return _linear_at(g, node)

    def check_lin(lin: Linear, shape: tuple[int, int], what: str, bias: bool = True) -> Linear:
        if tuple(lin.w.shape) != shape:
            raise where(f"{what}: weight {tuple(lin.w.shape)}, expected {shape}")
        if bias and lin.b is None:
            lin = Linear(lin.w, np.zeros(shape[1], np.float32))
        return lin

    def check_norm(n: Norm, what: str) -> Norm:
        if n.gamma.shape != (D,) or n.beta.shape != (D,):
            raise where(f"{what}: LayerNorm over {n.gamma.shape}, expected ({D},)")
        return n

    out_layers = []
    norm_iter = iter(norms)
    embed_norm = check_norm(next(norm_iter), "layernorm_embedding")
    for i in range(L):
        r = [lin for _, lin in rest[5 * i: 5 * i + 5]]
        w = f"layer {i}"
        out_layers.append(DecoderLayer(
            self_q=check_lin(layers[i]["self_q"], (D, D), f"{w} self-attention q"),
            self_k=check_lin(lin_of(kv_nodes[(i, "decoder", "key")]), (D, D), f"{w} self-attention k"),
            self_v=check_lin(lin_of(kv_nodes[(i, "decoder", "value")]), (D, D), f"{w} self-attention v"),
            self_o=check_lin(r[0], (D, D), f"{w} self-attention out"),
            self_norm=check_norm(next(norm_iter), f"{w} self_attn_layer_norm"),
            cross_q=check_lin(r[1], (D, D), f"{w} cross-attention q"),
            cross_k=check_lin(lin_of(kv_nodes[(i, "encoder", "key")]), (D, D), f"{w} cross-attention k"),
            cross_v=check_lin(lin_of(kv_nodes[(i, "encoder", "value")]), (D, D), f"{w} cross-attention v"),
            cross_o=check_lin(r[2], (D, D), f"{w} cross-attention out"),
            cross_norm=check_norm(next(norm_iter), f"{w} encoder_attn_layer_norm"),
            fc1=check_lin(r[3], (D, F), f"{w} fc1"),
            fc2=check_lin(r[4], (F, D), f"{w} fc2"),
            final_norm=check_norm(next(norm_iter), f"{w} final_layer_norm"),
        ))
    last_norm = next(norm_iter, None)
    lm = rest[-1][1]
    if lm.w.shape[0] != D or (arch.vocab and lm.w.shape[1] != arch.vocab):
        raise where(f"LM head weight {tuple(lm.w.shape)}, expected ({D}, {arch.vocab})")
    if lm.b is not None and not np.any(lm.b):
        lm = Linear(lm.w, None)
    table = tables[0]
    rows_needed = arch.max_positions + POSITION_OFFSET
    if table.shape != (rows_needed, D):
        raise where(f"position table {table.shape}, expected ({rows_needed}, {D}) (max_position_embeddings {arch.max_positions} + {POSITION_OFFSET})")
    return DecoderWeights(
        arch=arch,
        positions=np.ascontiguousarray(table[POSITION_OFFSET:]),
        embed_norm=embed_norm,
        layers=out_layers,
        lm_head=lm,
        last_norm=None if last_norm is None else check_norm(last_norm, "final decoder layer_norm"),
    )


def read_token_table(model: onnx.ModelProto) -> TokenTable:
    """`embed_tokens.onnx` as `table[ids] * scale`; raises OptimizeError if it is not a row lookup."""
    g = _Graph(model.graph)
    ins = [i.name for i in model.graph.input if i.name not in {t.name for t in model.graph.initializer}]
    outs = [o.name for o in model.graph.output]
    if ins != ["input_ids"] or outs != ["inputs_embeds"]:
        raise OptimizeError(f"embed_tokens maps {ins} to {outs}, expected input_ids to inputs_embeds")
    gathers = [n for n in model.graph.node if n.op_type == "Gather" and n.input[1] == "input_ids"]
    if len(gathers) != 1:
        raise OptimizeError(f"embed_tokens: expected one Gather of input_ids, found {len(gathers)}")
    gather = gathers[0]
    table = g.const(gather.input[0])
    if table is None or table.ndim != 2 or table.dtype != np.float32 or _attr(gather, "axis", 0) != 0:
        raise OptimizeError("embed_tokens: the Gather does not read a float32 [vocab, d_model] table on axis 0 (a quantised table is not a source this tool reads: give the fp32 folder)")
    ops: list[tuple[str, float]] = []
    pattern = ["Gather"]
    tensor = gather.output[0]
    steps = 0
    while tensor != "inputs_embeds":
        steps += 1
        users = g.consumers.get(tensor, [])
        if len(users) != 1 or steps > 16:
            raise OptimizeError(f"embed_tokens: {tensor} feeds {len(users)} nodes; not a row lookup")
        node = users[0]
        op = node.op_type
        if op == "Identity" or (op == "Cast" and _attr(node, "to") == onnx.TensorProto.FLOAT):
            pattern.append(op)
        elif op in ("Mul", "Div"):
            c = g.const(_other(node, tensor))
            if c is None or c.size != 1 or (op == "Div" and node.input[0] != tensor):
                raise OptimizeError(f"embed_tokens: {op} by a non-constant or non-scalar value; not a row lookup")
            value = float(np.float32(np.asarray(c).reshape(-1)[0]))
            pattern.append(f"{op}({value:g})")
            if value != 1.0:
                ops.append((op, value))
        else:
            raise OptimizeError(f"embed_tokens: {op} after the Gather; not a row lookup")
        tensor = node.output[0]
    return TokenTable(np.ascontiguousarray(table), ops, " → ".join(pattern))
