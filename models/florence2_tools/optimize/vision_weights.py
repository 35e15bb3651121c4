"""Reads the DaViT vision encoder's weights out of a stock `vision_encoder.onnx`, by structure.

The stock graphs (our exporter's, the onnx-community files) are traced PyTorch graphs whose
initializer names are not stable (`onnx::MatMul_2822`, deduplicated biases behind `Identity`). So
weights are found by role instead of by name: the graph's weighted operations are collected in
graph (= execution) order, one queue per kind:

- `Conv` with a constant weight,
- `MatMul` / `Gemm` with a constant 2-D right operand, plus the constant bias of the `Add` after it,
- layer norms: `LayerNormalization` nodes, or the decomposed form (ReduceMean, Sub, Pow,
  ReduceMean, Add eps, Sqrt, Div, Mul gamma, Add beta) of exports at opset < 17,
- `Gather` over a constant 2-D table (the learned 2-D position embeddings),

and the queues are then dealt out to the module skeleton that `config.json`'s `vision_config`
implies (stage by stage, block by block), checking every shape. A graph of another architecture
fails here with the first mismatch; a wrong guess that still fits every shape would fail the
optimiser's numerical self-check against the stock graph.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import numpy_helper

from .errors import OptimizeError


@dataclass
class Linear:
    """y = x @ w + b; `w` is [in, out]."""

    w: np.ndarray
    b: np.ndarray | None


@dataclass
class Norm:
    """LayerNorm over the last axis."""

    gamma: np.ndarray
    beta: np.ndarray
    eps: float


@dataclass
class ConvW:
    """A 2-D convolution's weight [out, in/group, kh, kw], bias, stride, padding, group."""

    w: np.ndarray
    b: np.ndarray
    stride: int
    pad: int
    group: int


@dataclass
class SubBlock:
    """Half of a DaViT block: dwconv + norm + attention, dwconv + norm + MLP."""

    conv1: ConvW
    norm1: Norm
    qkv: Linear
    proj: Linear
    conv2: ConvW
    norm2: Norm
    fc1: Linear
    fc2: Linear


@dataclass
class Stage:
    """Patch embedding and the stage's (spatial, channel) blocks."""

    dim: int
    heads: int
    groups: int
    embed_conv: ConvW
    embed_norm: Norm
    pre_norm: bool
    blocks: list[tuple[SubBlock, SubBlock]] = field(default_factory=list)


@dataclass
class VisionWeights:
    """All weights of the vision tower and the multimodal projector."""

    stages: list[Stage]
    window: int
    pos_col: np.ndarray
    pos_row: np.ndarray
    temporal0: np.ndarray
    projection: Linear
    proj_norm: Norm


@dataclass
class VisionArch:
    """The architecture numbers of `vision_config` (Microsoft's names, or transformers' native ones)."""

    dims: list[int]
    heads: list[int]
    groups: list[int]
    depths: list[int]
    patch_size: list[int]
    patch_stride: list[int]
    patch_padding: list[int]
    patch_prenorm: list[bool]
    window: int
    projection_dim: int
    in_channels: int = 3

    @staticmethod
    def from_config(config: dict) -> "VisionArch":
        if config.get("model_type") != "florence2":
            raise OptimizeError(f"config.json has model_type {config.get('model_type')!r}, not 'florence2': this tool only knows Florence-2")
        v = config.get("vision_config") or {}
        if v.get("model_type") not in ("davit", "florence_vision", None):
            raise OptimizeError(f"vision_config.model_type is {v.get('model_type')!r}; only the DaViT vision tower is supported")

        def pick(*names):
            for n in names:
                if n in v:
                    return v[n]
            raise OptimizeError(f"config.json vision_config has none of {names}")

        arch = VisionArch(
            dims=list(pick("dim_embed", "embed_dim")),
            heads=list(pick("num_heads")),
            groups=list(pick("num_groups")),
            depths=list(pick("depths")),
            patch_size=list(pick("patch_size")),
            patch_stride=list(pick("patch_stride")),
            patch_padding=list(pick("patch_padding")),
            patch_prenorm=[bool(x) for x in pick("patch_prenorm")],
            window=int(pick("window_size")),
            projection_dim=int(v.get("projection_dim") or config.get("projection_dim")),
            in_channels=int(v.get("in_chans", v.get("in_channels", 3))),
        )
        n = len(arch.dims)
        for name in ("heads", "groups", "depths", "patch_size", "patch_stride", "patch_padding", "patch_prenorm"):
            if len(getattr(arch, name)) != n:
                raise OptimizeError(f"vision_config: {name} has {len(getattr(arch, name))} stages, dim_embed has {n}")
        for d, h, g in zip(arch.dims, arch.heads, arch.groups):
            if d % h or d % g:
                raise OptimizeError(f"vision_config: dim {d} is not divisible by heads {h} / groups {g}")
        return arch


class _Graph:
    """Constant resolution and consumer lookup over one graph."""

    def __init__(self, graph: onnx.GraphProto):
        self.graph = graph
        self.consts: dict[str, np.ndarray] = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
        self.producer: dict[str, onnx.NodeProto] = {}
        self.consumers: dict[str, list[onnx.NodeProto]] = {}
        for node in graph.node:
            for o in node.output:
                self.producer[o] = node
            for i in node.input:
                self.consumers.setdefault(i, []).append(node)

    def const(self, name: str) -> np.ndarray | None:
        """The value of `name` if it is a constant (initializer, Constant, or Identity/Cast/Transpose of one)."""
        if not name:
            return None
        if name in self.consts:
            return self.consts[name]
        node = self.producer.get(name)
        if node is None:
            return None
        value = None
        if node.op_type == "Constant":
            for a in node.attribute:
                if a.name == "value":
                    value = numpy_helper.to_array(a.t)
                elif a.name == "value_float":
                    value = np.array(a.f, dtype=np.float32)
                elif a.name == "value_floats":
                    value = np.array(a.floats, dtype=np.float32)
        elif node.op_type in ("Identity", "Cast") and len(node.input) == 1:
            src = self.const(node.input[0])
            if src is not None:
                value = src.astype(np.float32) if node.op_type == "Cast" and src.dtype.kind == "f" else src
        elif node.op_type == "Transpose":
            src = self.const(node.input[0])
            if src is not None:
                perm = next((list(a.ints) for a in node.attribute if a.name == "perm"), None)
                value = np.transpose(src, perm)
        if value is not None:
            self.consts[name] = value
        return value

    def only_consumer(self, name: str, op: str) -> onnx.NodeProto | None:
        users = self.consumers.get(name, [])
        return users[0] if len(users) == 1 and users[0].op_type == op else None


def _attr(node: onnx.NodeProto, name: str, default=None):
    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def _other(node: onnx.NodeProto, name: str) -> str:
    return node.input[1] if node.input[0] == name else node.input[0]


def _decomposed_norm(g: _Graph, mean1: onnx.NodeProto) -> tuple[Norm, set[str]] | None:
    """Matches ReduceMean → Sub → Pow/Mul → ReduceMean → Add(eps) → Sqrt → Div → Mul(γ) → Add(β)."""
    x = mean1.input[0]
    subs = [n for n in g.consumers.get(mean1.output[0], []) if n.op_type == "Sub" and n.input[0] == x]
    if len(subs) != 1:
        return None
    sub = subs[0]
    d = sub.output[0]
    users = g.consumers.get(d, [])
    sq = next((n for n in users if n.op_type == "Pow" or (n.op_type == "Mul" and n.input[0] == n.input[1] == d)), None)
    div = next((n for n in users if n.op_type == "Div" and n.input[0] == d), None)
    if sq is None or div is None:
        return None
    mean2 = g.only_consumer(sq.output[0], "ReduceMean")
    add_eps = mean2 and g.only_consumer(mean2.output[0], "Add")
    sqrt = add_eps and g.only_consumer(add_eps.output[0], "Sqrt")
    if not sqrt or div.input[1] != sqrt.output[0]:
        return None
    eps = g.const(_other(add_eps, mean2.output[0]))
    mul = g.only_consumer(div.output[0], "Mul")
    add = mul and g.only_consumer(mul.output[0], "Add")
    if eps is None or not add:
        return None
    gamma = g.const(_other(mul, div.output[0]))
    beta = g.const(_other(add, mul.output[0]))
    if gamma is None or beta is None:
        return None
    inner = {n.name for n in (sub, sq, mean2, add_eps, sqrt, div, mul, add)}
    return Norm(gamma.astype(np.float32).reshape(-1), beta.astype(np.float32).reshape(-1), float(np.asarray(eps).reshape(-1)[0])), inner


def collect(model: onnx.ModelProto) -> dict[str, list]:
    """The graph's weighted operations in graph order: {'conv': [ConvW], 'linear': [Linear], 'norm': [Norm], 'table': [(node, array)]}."""
    g = _Graph(model.graph)
    out: dict[str, list] = {"conv": [], "linear": [], "norm": [], "table": [], "table_nodes": []}
    skip: set[str] = set()
    for node in model.graph.node:
        if node.name in skip:
            continue
        op = node.op_type
        if op == "Conv":
            w = g.const(node.input[1])
            if w is None:
                continue
            b = g.const(node.input[2]) if len(node.input) > 2 else None
            if b is None:
                b = np.zeros(w.shape[0], np.float32)
            strides = _attr(node, "strides", [1, 1])
            pads = _attr(node, "pads", [0, 0, 0, 0])
            if len(set(strides)) != 1 or len(set(pads)) != 1 or set(_attr(node, "dilations", [1, 1])) != {1}:
                raise OptimizeError(f"Conv {node.name}: only square strides/pads and no dilation are expected in DaViT")
            out["conv"].append(ConvW(w.astype(np.float32), b.astype(np.float32).reshape(-1), int(strides[0]), int(pads[0]), int(_attr(node, "group", 1))))
        elif op in ("MatMul", "Gemm"):
            w = g.const(node.input[1])
            if w is None or w.ndim != 2:
                continue
            if op == "Gemm":
                if _attr(node, "transA", 0):
                    continue
                if _attr(node, "transB", 0):
                    w = w.T
                w = w * float(_attr(node, "alpha", 1.0))
                b = g.const(node.input[2]) if len(node.input) > 2 else None
                if b is not None:
                    b = b * float(_attr(node, "beta", 1.0))
            else:
                b = None
                add = g.only_consumer(node.output[0], "Add")
                if add is not None:
                    cand = g.const(_other(add, node.output[0]))
                    if cand is not None and cand.size == w.shape[1]:
                        b = cand
                        skip.add(add.name)
            out["linear"].append(Linear(w.astype(np.float32), None if b is None else b.astype(np.float32).reshape(-1)))
        elif op == "LayerNormalization":
            gamma = g.const(node.input[1])
            beta = g.const(node.input[2]) if len(node.input) > 2 else None
            if gamma is None:
                raise OptimizeError(f"LayerNormalization {node.name} has a non-constant scale")
            if _attr(node, "axis", -1) not in (-1,):
                # axis must be the last one for the channels-last layers of DaViT
                pass
            beta = np.zeros_like(gamma) if beta is None else beta
            out["norm"].append(Norm(gamma.astype(np.float32).reshape(-1), beta.astype(np.float32).reshape(-1), float(_attr(node, "epsilon", 1e-5))))
        elif op == "ReduceMean":
            found = _decomposed_norm(g, node)
            if found is not None:
                norm, inner = found
                skip |= inner
                out["norm"].append(norm)
        elif op == "Gather":
            t = g.const(node.input[0])
            if t is not None and t.ndim == 2 and t.dtype.kind == "f" and g.const(node.input[1]) is None:
                out["table"].append(t.astype(np.float32))
                out["table_nodes"].append(node)
    out["_graph"] = g
    return out


def _first_concat_order(g: _Graph, nodes: list[onnx.NodeProto]) -> list[int] | None:
    """For two Gather nodes, the order in which their (transformed) outputs enter the first Concat they both reach."""
    reach: list[dict[str, int]] = []
    for n in nodes:
        seen = {n.output[0]: 0}
        frontier = [n.output[0]]
        for depth in range(1, 16):
            nxt = []
            for t in frontier:
                for c in g.consumers.get(t, []):
                    for o in c.output:
                        if o not in seen:
                            seen[o] = depth
                            nxt.append(o)
            frontier = nxt
        reach.append(seen)
    for node in g.graph.node:
        if node.op_type != "Concat":
            continue
        pos = []
        for r in reach:
            idx = [i for i, t in enumerate(node.input) if t in r]
            pos.append(idx[0] if len(idx) == 1 else None)
        if all(p is not None for p in pos) and len(set(pos)) == len(pos):
            return pos
    return None


def extract(model: onnx.ModelProto, arch: VisionArch) -> VisionWeights:
    """Deals the collected weights out to the DaViT skeleton of `arch`; raises OptimizeError on any mismatch."""
    found = collect(model)
    queues = {k: list(found[k]) for k in ("conv", "linear", "norm")}
    expected = {
        "conv": sum(1 + 4 * d for d in arch.depths),
        "linear": sum(8 * d for d in arch.depths) + 1,
        "norm": sum(1 + 4 * d for d in arch.depths) + 1,
    }
    for kind, n in expected.items():
        if len(queues[kind]) != n:
            raise OptimizeError(
                f"not a Florence-2 DaViT vision encoder for this config.json: expected {n} weighted {kind} operations "
                f"(depths {arch.depths}), the graph has {len(queues[kind])}"
            )

    def take(kind: str, what: str, check):
        item = queues[kind].pop(0)
        problem = check(item)
        if problem:
            raise OptimizeError(f"not a Florence-2 DaViT vision encoder for this config.json: {what}: {problem}")
        return item

    def conv_check(cout, cin, k, stride, pad, group):
        def check(c: ConvW):
            want = (cout, cin // group, k, k)
            if tuple(c.w.shape) != want or c.stride != stride or c.pad != pad or c.group != group:
                return f"Conv weight {tuple(c.w.shape)} stride {c.stride} pad {c.pad} group {c.group}, expected {want} stride {stride} pad {pad} group {group}"
            return None

        return check

    def lin_check(cin, cout, bias=True):
        def check(lin: Linear):
            if tuple(lin.w.shape) != (cin, cout):
                return f"MatMul weight {tuple(lin.w.shape)}, expected {(cin, cout)}"
            if bias and lin.b is None:
                return "a Linear without bias where one is expected"
            return None

        return check

    def norm_check(c):
        return lambda n: None if n.gamma.shape == (c,) and n.beta.shape == (c,) else f"LayerNorm over {n.gamma.shape}, expected ({c},)"

    stages = []
    cin = arch.in_channels
    for s, dim in enumerate(arch.dims):
        k, st, p, pre = arch.patch_size[s], arch.patch_stride[s], arch.patch_padding[s], arch.patch_prenorm[s]
        where = f"stage {s} patch embedding"
        if pre:
            norm = take("norm", where, norm_check(cin))
            conv = take("conv", where, conv_check(dim, cin, k, st, p, 1))
        else:
            conv = take("conv", where, conv_check(dim, cin, k, st, p, 1))
            norm = take("norm", where, norm_check(dim))
        stage = Stage(dim, arch.heads[s], arch.groups[s], conv, norm, pre)
        for b in range(arch.depths[s]):
            halves = []
            for kind in ("spatial", "channel"):
                where = f"stage {s} block {b} {kind} block"
                halves.append(
                    SubBlock(
                        conv1=take("conv", where, conv_check(dim, dim, 3, 1, 1, dim)),
                        norm1=take("norm", where, norm_check(dim)),
                        qkv=take("linear", where + " qkv", lin_check(dim, 3 * dim, bias=False)),
                        proj=take("linear", where + " proj", lin_check(dim, dim)),
                        conv2=take("conv", where, conv_check(dim, dim, 3, 1, 1, dim)),
                        norm2=take("norm", where, norm_check(dim)),
                        fc1=take("linear", where + " fc1", lambda lin, d=dim: lin_check(d, lin.w.shape[1])(lin) if lin.w.shape[0] == d else f"fc1 weight {lin.w.shape}"),
                        fc2=take("linear", where + " fc2", lambda lin, d=dim: None if lin.w.shape[1] == d else f"fc2 weight {lin.w.shape}"),
                    )
                )
            stage.blocks.append((halves[0], halves[1]))
        stages.append(stage)
        cin = dim
    c_last = arch.dims[-1]
    projection = take("linear", "image projection", lin_check(c_last, arch.projection_dim, bias=False))
    if projection.b is not None:
        raise OptimizeError("image projection: a bias where Florence-2 has none")
    proj_norm = take("norm", "image_proj_norm", norm_check(arch.projection_dim))

    tables = found["table"]
    half = c_last // 2
    if len(tables) != 2 or {t.shape[1] for t in tables} != {half, c_last - half}:
        raise OptimizeError(f"expected two learned 2-D position tables [*, {half}] and [*, {c_last - half}] (Gather), found {[t.shape for t in tables]}")
    order = _first_concat_order(found["_graph"], found["table_nodes"]) or [0, 1]
    col, row = (tables[0], tables[1]) if order[0] < order[1] else (tables[1], tables[0])
    temporal0 = np.zeros(c_last, np.float32)
    temporal0[1::2] = 1.0  # row 0 of the cosine table: sin(0) = 0 at even, cos(0) = 1 at odd channels
    return VisionWeights(stages, arch.window, col, row, temporal0, projection, proj_norm)
