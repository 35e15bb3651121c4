"""Our layout of the Florence-2 text decoder: a cross-attention K/V graph, a step graph over a
pre-allocated self-attention cache, and one token table shared by the embedding lookup and the LM head.

Files (`{sfx}` is the precision suffix: "" for fp32, "_int8"), the contract in docs/decoder-layout.md:

- `decoder_cross_kv{sfx}.onnx`: `encoder_hidden_states` [batch, S, D] → per layer `cross.{i}.key_t`
  [batch, H, hd, S] (keys transposed and scaled by 1/√hd) and `cross.{i}.value` [batch, H, S, hd].
  Run once per image and prompt (right after the text encoder); the step graph reads its outputs for
  every step, with batch 1 even when the step runs several beams (the MatMuls broadcast).
- `decoder_step{sfx}.onnx`: one token per row. Inputs `inputs_embeds` [batch, 1, D] (the token's
  embedding row), `past_sequence_length` int32 [1] (tokens already in the cache = this token's
  position), `past.{i}.key` / `past.{i}.value` [batch, H, max_length, hd] (the pre-allocated cache)
  and the cross K/V; outputs `logits` [batch, vocab] and `present.{i}.key` / `present.{i}.value`,
  the same shapes as the past: the engine binds the same buffer to `past.{i}.*` and `present.{i}.*`,
  and the graph writes the new row at `past_sequence_length` in place:
  - `self_attention="gqa"` (default): `com.microsoft.GroupQueryAttention` with q, k and v packed in
    one GEMM; ONNX Runtime's CPU kernel sees that past and present are one buffer and only appends;
  - `self_attention="scatter"`: `ScatterND` of the new k, v row into the bound buffer (the kernel
    skips its copy when input and output are the same memory), then attention over a `Slice` of the
    filled prefix (measured against GQA; docs/benchmarks.md).
- `token_table{sfx}.onnx_data`: the [vocab, D] table, stored once: float32, or (int8) 8-bit blocks
  of 128 (q + 128, one float scale per block: `MatMulNBits`' layout; per-row int8 when D has no
  such block). `embed_tokens{sfx}.onnx` is a lookup over it (rows read from the file), and the step
  graph's LM head reads the same bytes: `Gemm(transB=1)` (fp32) or `com.microsoft.MatMulNBits`
  (8 bits, int8 compute; ONNX Runtime keeps one prepacked copy, where `QGemm` kept two).
- `decoder_step{sfx}.onnx_data`, `decoder_cross_kv{sfx}.onnx_data`: the graphs' other weights, each
  at a 64 KiB-aligned offset, so ONNX Runtime maps them from the file instead of parsing them into
  its heap.

Everything else is fused by construction: no `If`, no shape arithmetic besides the batch size of
`seqlens_k`, q/k/v of the self-attention in one GEMM (int8: one dynamic quantisation), BiasGelu
(fp32) / Gelu (int8) in the MLP.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto

from .decoder_weights import DecoderWeights
from .graph_builder import F32, MS, GraphBuilder
from .vision_graph import quantize_columns
from .vision_weights import Linear, Norm
from .external_data import pad

I32 = TensorProto.INT32
I64 = TensorProto.INT64
INT8 = TensorProto.INT8
#: The producer name of our graphs; the step graph carries `florence2.layout` metadata too.
PRODUCER = "florence2-mobile models/optimize.py"
LAYOUT_TAG = "decoder-step/1"


@dataclass
class DecoderOptions:
    """Choices of the layout (defaults: the measured best; docs/benchmarks.md)."""

    quant: str = "none"  # "none" (fp32) or "dynamic" (int8 weights, dynamic u8 activations)
    self_attention: str = "gqa"  # "gqa" or "scatter"
    #: "gemv": keys [S, hd] and transposed values [hd, S] are the streamed operand, the beams the
    #: narrow one (cross K/V read once per step whatever the beams); "matmul": q [1, hd] against
    #: transposed keys (broadcast over beams); "mha": MultiHeadAttention (batch = beams)
    cross_attention: str = "gemv"
    #: int8 GEMMs: "dynamic" (DynamicQuantizeMatMul, per-column int8 weights) or "nbits" (MatMulNBits
    #: with 8-bit blocks of `block` and int8 compute)
    int8_kernel: str = "dynamic"
    block: int = 128

    def describe(self) -> dict:
        d = {"quant": self.quant, "self_attention": self.self_attention, "cross_attention": self.cross_attention}
        if self.quant == "dynamic":
            d["int8_kernel"] = self.int8_kernel if self.int8_kernel == "dynamic" else f"nbits8 block {self.block}"
        return d


@dataclass
class TableFile:
    """Where the shared token table lives: `location` (relative to the graphs), offsets and shapes.

    `kind`: "f32" (float32 [rows, dim]); "rows_int8" (int8 [rows, dim] and one float scale per row);
    "blocks_uint8" (uint8 [rows, dim / block, block] holding q + 128, and one float scale per block,
    [rows, dim / block]: the 8-bit layout of `MatMulNBits`)."""

    location: str
    rows: int
    dim: int
    kind: str
    table_offset: int
    table_bytes: int
    scale_offset: int = 0
    scale_bytes: int = 0
    block: int = 0


def table_block(dim: int, largest: int = 128) -> int:
    """The 8-bit block of an int8 token table: the largest power of two ≤ `largest` (and ≥ 16, as
    MatMulNBits needs) dividing `dim`; 0 if there is none (then rows of int8 with one scale each)."""
    b = largest
    while b >= 16:
        if dim % b == 0:
            return b
        b //= 2
    return 0


def quantize_blocks(table: np.ndarray, block: int) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 per block of `block` columns, stored + 128: (uint8 [rows, dim/block, block],
    float32 scales [rows, dim/block])."""
    rows, dim = table.shape
    blocks = np.asarray(table, np.float32).reshape(rows, dim // block, block)
    peak = np.abs(blocks).max(axis=2)
    scale = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
    q = (np.clip(np.rint(blocks / scale[..., None]), -127, 127) + 128).astype(np.uint8)
    return q, scale


def write_token_table(path: Path, table: np.ndarray, quantized: bool) -> TableFile:
    """Writes the table (int8: with its scales, 64 KiB-aligned) to `path`; returns its layout."""
    from ..embed_quant import quantize_rows

    rows, dim = table.shape
    if not quantized:
        t = np.ascontiguousarray(table, dtype="<f4")
        with open(path, "wb") as f:
            f.write(t.tobytes())
        return TableFile(path.name, rows, dim, "f32", 0, t.nbytes)
    block = table_block(dim)
    if block:
        q, scales = quantize_blocks(table, block)
        kind = "blocks_uint8"
    else:
        q, scales = quantize_rows(table)
        kind = "rows_int8"
    tb, sb = q.tobytes(), scales.astype("<f4").tobytes()
    with open(path, "wb") as f:
        f.write(tb)
        f.write(b"\0" * pad(len(tb)))
        f.write(sb)
    return TableFile(path.name, rows, dim, kind, 0, len(tb), len(tb) + pad(len(tb)), len(sb), block)


def external(name: str, data_type: int, dims: list[int], location: str, offset: int, length: int) -> onnx.TensorProto:
    """An initializer whose bytes are in `location` at `offset` (ONNX external data)."""
    t = onnx.TensorProto()
    t.name = name
    t.data_type = data_type
    t.dims.extend(dims)
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", str(offset)), ("length", str(length))):
        e = t.external_data.add()
        e.key, e.value = k, v
    return t


def build_embed_lookup(info: TableFile, ops: list[tuple[str, float]]) -> onnx.ModelProto:
    """`embed_tokens{sfx}.onnx` over the shared table, then the stock graph's scalar scales (`ops`,
    none for Florence-2) in their order. The lookup, by table kind:

    - f32: `Gather(table, input_ids)`;
    - rows_int8: `Gather(q) → Cast → Mul(Gather(row_scale [rows, 1]))` (as models/quantize.py writes);
    - blocks_uint8: `Gather(q [rows, nb, block]) → Cast → Sub(128) → Mul(Gather(scale [rows, nb, 1]))
      → Reshape([0, 0, dim])`, i.e. `(q − 128) · scale[row, j / block]`, the values MatMulNBits
      (8 bits, default zero point 128) multiplies by.
    """
    g = GraphBuilder("florence2_embed_tokens")
    g.input("input_ids", I64, ["batch_size", "sequence_length"])
    V, D = info.rows, info.dim
    if info.kind == "rows_int8":
        g.initializers.append(external("token_table.int8", INT8, [V, D], info.location, info.table_offset, info.table_bytes))
        g.initializers.append(external("token_table.row_scale", TensorProto.FLOAT, [V, 1], info.location, info.scale_offset, info.scale_bytes))
        rows = g.node("Gather", ["token_table.int8", "input_ids"], "gather_rows", axis=0)
        rows_f = g.node("Cast", [rows], "cast", to=TensorProto.FLOAT)
        s = g.node("Gather", ["token_table.row_scale", "input_ids"], "gather_scale", axis=0)
        out = g.node("Mul", [rows_f, s], "dequantize")
    elif info.kind == "blocks_uint8":
        nb = D // info.block
        g.initializers.append(external("token_table.q8", TensorProto.UINT8, [V, nb, info.block], info.location, info.table_offset, info.table_bytes))
        g.initializers.append(external("token_table.block_scale", TensorProto.FLOAT, [V, nb, 1], info.location, info.scale_offset, info.scale_bytes))
        rows = g.node("Gather", ["token_table.q8", "input_ids"], "gather_rows", axis=0)
        rows_f = g.node("Cast", [rows], "cast", to=TensorProto.FLOAT)
        centred = g.node("Sub", [rows_f, g.init("zero_point", np.array(128.0, np.float32))], "centre")
        s = g.node("Gather", ["token_table.block_scale", "input_ids"], "gather_scale", axis=0)
        out = g.node("Reshape", [g.node("Mul", [centred, s], "dequantize"), g.const_i64([0, 0, D])], "rows")
    else:
        g.initializers.append(external("token_table", TensorProto.FLOAT, [V, D], info.location, info.table_offset, info.table_bytes))
        out = g.node("Gather", ["token_table", "input_ids"], "gather_rows", axis=0)
    for op, value in ops:
        out = g.node(op, [out, g.init("embed_scale", np.array(value, np.float32))], "embed_scale")
    g.output(out, "inputs_embeds", F32, ["batch_size", "sequence_length", D])
    return g.model(PRODUCER, "Token embeddings: rows of the token table shared with the decoder's LM head (docs/decoder-layout.md).")


class _Builder:
    def __init__(self, w: DecoderWeights, opts: DecoderOptions, name: str):
        self.w = w
        self.o = opts
        self.g = GraphBuilder(name)
        a = w.arch
        self.D, self.H, self.hd, self.L = a.d_model, a.heads, a.head_dim, a.layers

    # ---- primitives -----------------------------------------------------------------------------
    def linear(self, x: str, lin: Linear, name: str, bias: bool = True, quantized_input: tuple | None = None) -> str:
        g = self.g
        b = lin.b if bias else None
        if self.o.quant == "dynamic" and self.o.int8_kernel == "nbits" and quantized_input is None and lin.w.shape[0] % self.o.block == 0:
            return self.nbits(x, lin.w, b, name)
        if self.o.quant == "dynamic":
            q, scale = quantize_columns(lin.w)
            wq, ws = g.init(f"{name}.w_int8", q), g.init(f"{name}.w_scale", scale)
            wz = g.init(f"{name}.w_zero", np.zeros_like(q[0]))
            bias_in = [g.init(f"{name}.b", b)] if b is not None else []
            if quantized_input is not None:
                xq, xs, xz = quantized_input
                return g.node("MatMulIntegerToFloat", [xq, wq, xs, ws, xz, wz] + bias_in, name, domain=MS)
            return g.node("DynamicQuantizeMatMul", [x, wq, ws, wz] + bias_in, name, domain=MS)
        y = g.node("MatMul", [x, g.init(f"{name}.w", lin.w)], name)
        if b is not None:
            y = g.node("Add", [y, g.init(f"{name}.b", b)], name + ".bias")
        return y

    def nbits(self, x: str, w: np.ndarray, b: np.ndarray | None, name: str) -> str:
        """`com.microsoft.MatMulNBits`, 8 bits: symmetric int8 blocks of `block` along K, stored +128
        (the default zero point), one float scale per block; int8 compute (accuracy_level 4)."""
        g, bs = self.g, self.o.block
        K, N = w.shape
        blocks = w.T.reshape(N, K // bs, bs)
        peak = np.abs(blocks).max(axis=2)
        scale = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
        q = (np.clip(np.rint(blocks / scale[..., None]), -127, 127) + 128).astype(np.uint8)
        y = g.node("MatMulNBits", [x, g.init(f"{name}.w_q8", q), g.init(f"{name}.w_scale", scale.reshape(-1))], name, domain=MS,
                   K=K, N=N, bits=8, block_size=bs, accuracy_level=4)
        if b is not None:
            y = g.node("Add", [y, g.init(f"{name}.b", b)], name + ".bias")
        return y

    def norm(self, x: str, n: Norm, name: str) -> str:
        g = self.g
        return g.node("LayerNormalization", [x, g.init(f"{name}.g", n.gamma), g.init(f"{name}.b", n.beta)], name, axis=-1, epsilon=n.eps)

    def reshape(self, x: str, shape: list[int], name: str) -> str:
        return self.g.node("Reshape", [x, self.g.const_i64(shape)], name)


class CrossKvBuilder(_Builder):
    """`decoder_cross_kv`: every layer's cross-attention K and V from the encoder output."""

    def build(self) -> onnx.ModelProto:
        g, D, H, hd, L = self.g, self.D, self.H, self.hd, self.L
        x = g.input("encoder_hidden_states", F32, ["batch_size", "encoder_sequence_length", D])
        shared = tuple(g.node("DynamicQuantizeLinear", [x], "quant", n_out=3)) if self.o.quant == "dynamic" else None
        mode = self.o.cross_attention
        # one layer and one of K, V at a time, each written by its last node straight into the bound
        # output: the intermediates ONNX Runtime keeps in its arena are one layer's, not all of them
        key_scale = g.init("key_scale", np.array(self.hd ** -0.5, np.float32)) if mode != "mha" else None
        for i, layer in enumerate(self.w.layers):
            for kind in ("key", "value"):
                y = self.linear(x, getattr(layer, f"cross_{kind[0]}"), f"l{i}.cross_{kind}", quantized_input=shared)  # [B, S, D]
                if kind == "key" and mode != "mha":
                    y = g.node("Mul", [y, key_scale], f"l{i}.key_scale")
                y = self.reshape(y, [0, 0, H, hd], f"l{i}.{kind}_heads")
                transposed = (kind == "key" and mode == "matmul") or (kind == "value" and mode == "gemv")
                y = g.node("Transpose", [y], f"l{i}.{kind}_t", perm=[0, 2, 3, 1] if transposed else [0, 2, 1, 3])
                shape = ["batch_size", H, hd, "encoder_sequence_length"] if transposed else ["batch_size", H, "encoder_sequence_length", hd]
                g.output(y, f"cross.{i}.{kind}_t" if transposed else f"cross.{i}.{kind}", F32, shape)
        m = g.model(PRODUCER, "Florence-2 decoder cross-attention K/V, once per image and prompt (docs/decoder-layout.md).")
        _meta(m, {"florence2.layout": LAYOUT_TAG, "florence2.role": "decoder_cross_kv", "florence2.cross_attention": self.o.cross_attention})
        return m


class StepBuilder(_Builder):
    """`decoder_step`: one token per row over the pre-allocated self-attention cache."""

    def __init__(self, w: DecoderWeights, opts: DecoderOptions, table: TableFile | None, name: str = "florence2_decoder_step"):
        super().__init__(w, opts, name)
        self.table = table

    def self_attention(self, x: str, i: int, layer, ctx: dict) -> str:
        g, D, H, hd = self.g, self.D, self.H, self.hd
        wqkv = np.concatenate([layer.self_q.w, layer.self_k.w, layer.self_v.w], axis=1)
        bqkv = np.concatenate([layer.self_q.b, layer.self_k.b, layer.self_v.b])
        qkv = self.linear(x, Linear(wqkv, bqkv), f"l{i}.qkv")  # [B, 1, 3D]
        past_k, past_v = ctx["past"][i]
        if self.o.self_attention == "gqa":
            a, pk, pv = g.node("GroupQueryAttention", [qkv, "", "", past_k, past_v, ctx["seqlens_k"], ctx["total"]], f"l{i}.gqa",
                               n_out=3, domain=MS, num_heads=H, kv_num_heads=H, scale=float(hd ** -0.5))
        else:
            q, k, v = g.node("Split", [qkv], f"l{i}.qkv_split", n_out=3, axis=-1)
            rows = []
            for tensor, past, kv in ((k, past_k, "k"), (v, past_v, "v")):
                upd = self.reshape(tensor, [0, H, 1, hd], f"l{i}.{kv}_row")  # [B,1,D] has the memory order of [B,H,1,hd]
                rows.append(g.node("ScatterND", [past, ctx["scatter_idx"], upd], f"l{i}.{kv}_write"))
            pk, pv = rows
            ks = g.node("Slice", [pk, g.const_i64([0]), ctx["total64"], g.const_i64([2])], f"l{i}.k_filled")
            vs = g.node("Slice", [pv, g.const_i64([0]), ctx["total64"], g.const_i64([2])], f"l{i}.v_filled")
            qh = self.reshape(q, [0, H, 1, hd], f"l{i}.q_heads")
            s = g.node("FusedMatMul", [qh, ks], f"l{i}.scores", domain=MS, transB=1, alpha=float(hd ** -0.5))
            p = g.node("Softmax", [s], f"l{i}.softmax", axis=-1)
            a = self.reshape(g.node("MatMul", [p, vs], f"l{i}.pv"), [0, 1, D], f"l{i}.a")
        ctx["present"].append((pk, pv))
        return self.linear(a, layer.self_o, f"l{i}.self_out")

    def cross_attention(self, x: str, i: int, layer, ctx: dict) -> str:
        g, D, H, hd = self.g, self.D, self.H, self.hd
        q = self.linear(x, layer.cross_q, f"l{i}.cross_q")  # [B, 1, D]
        k, v = ctx["cross"][i]
        if self.o.cross_attention == "mha":
            a = g.node("MultiHeadAttention", [q, k, v], f"l{i}.cross_mha", domain=MS, num_heads=H)
        elif self.o.cross_attention == "gemv":
            # keys [H, S, hd] × queries [H, hd, B] → [H, S, B]: the keys stream once for all rows
            qt = g.node("Transpose", [self.reshape(q, [-1, H, hd], f"l{i}.cross_q_heads")], f"l{i}.cross_q_t", perm=[1, 2, 0])
            s_ = g.node("MatMul", [self.reshape(k, [H, -1, hd], f"l{i}.cross_k3"), qt], f"l{i}.cross_scores")
            p = g.node("Softmax", [s_], f"l{i}.cross_softmax", axis=1)
            o = g.node("MatMul", [self.reshape(v, [H, hd, -1], f"l{i}.cross_vt3"), p], f"l{i}.cross_pv")  # [H, hd, B]
            a = self.reshape(g.node("Transpose", [o], f"l{i}.cross_o_t", perm=[2, 0, 1]), [-1, 1, D], f"l{i}.cross_a")
        else:
            qh = self.reshape(q, [0, H, 1, hd], f"l{i}.cross_q_heads")  # [B, H, 1, hd]
            s_ = g.node("MatMul", [qh, k], f"l{i}.cross_scores")  # × [1|B, H, hd, S] (scaled keys)
            p = g.node("Softmax", [s_], f"l{i}.cross_softmax", axis=-1)
            a = self.reshape(g.node("MatMul", [p, v], f"l{i}.cross_pv"), [0, 1, D], f"l{i}.cross_a")
        return self.linear(a, layer.cross_o, f"l{i}.cross_out")

    def mlp(self, x: str, i: int, layer) -> str:
        g = self.g
        if self.o.quant == "dynamic":
            f = g.node("Gelu", [self.linear(x, layer.fc1, f"l{i}.fc1")], f"l{i}.gelu", domain=MS)
        else:
            f = self.linear(x, layer.fc1, f"l{i}.fc1", bias=False)
            f = g.node("BiasGelu", [f, g.init(f"l{i}.fc1.b", layer.fc1.b)], f"l{i}.gelu", domain=MS)
        return self.linear(f, layer.fc2, f"l{i}.fc2")

    def lm_head(self, x: str) -> str:
        """Logits [B, vocab] from the table stored once (`token_table`): fp32 `Gemm(transB=1)`;
        int8 `MatMulNBits` (8-bit blocks, int8 compute) or, for a width with no 8-bit block,
        `DynamicQuantizeLinear → QGemm(transB=1)` over per-row int8."""
        g, D = self.g, self.D
        h = self.reshape(x, [-1, D], "lm_rows")  # [B, D]
        lm = self.w.lm_head
        V = lm.w.shape[1]
        t = self.table
        if t is None:  # the LM head is not the embedding table: its own copy, same layouts
            kind = "f32" if self.o.quant != "dynamic" else ("blocks_uint8" if table_block(D) else "rows_int8")
        else:
            kind = t.kind
        if kind == "blocks_uint8":
            bs = t.block if t is not None else table_block(D)
            if t is not None:
                g.initializers.append(external("token_table.q8", TensorProto.UINT8, [V, D // bs, bs], t.location, t.table_offset, t.table_bytes))
                g.initializers.append(external("token_table.block_scale", TensorProto.FLOAT, [V * (D // bs)], t.location, t.scale_offset, t.scale_bytes))
                wq, ws = "token_table.q8", "token_table.block_scale"
            else:
                q, s = quantize_blocks(lm.w.T, bs)
                wq, ws = g.init("lm_head.q8", q), g.init("lm_head.block_scale", s.reshape(-1))
            y = g.node("MatMulNBits", [h, wq, ws], "lm_head", domain=MS, K=D, N=V, bits=8, block_size=bs, accuracy_level=4)
        elif kind == "rows_int8":
            if t is not None:
                g.initializers.append(external("token_table.int8", INT8, [V, D], t.location, t.table_offset, t.table_bytes))
                g.initializers.append(external("token_table.scale", TensorProto.FLOAT, [V], t.location, t.scale_offset, t.scale_bytes))
                wq, ws = "token_table.int8", "token_table.scale"
            else:
                from ..embed_quant import quantize_rows

                q, s = quantize_rows(lm.w.T)
                wq, ws = g.init("lm_head.int8", q), g.init("lm_head.scale", s.reshape(-1))
            hq, hs, hz = g.node("DynamicQuantizeLinear", [h], "lm_quant", n_out=3)
            y = g.node("QGemm", [hq, hs, hz, wq, ws, g.init("lm_head.zero", np.zeros(V, np.int8))], "lm_head", domain=MS, transB=1)
        else:
            if t is not None:
                g.initializers.append(external("token_table", TensorProto.FLOAT, [V, D], t.location, t.table_offset, t.table_bytes))
                w = "token_table"
            else:
                w = g.init("lm_head.w_t", np.ascontiguousarray(lm.w.T))
            ins = [h, w] + ([g.init("final_logits_bias", lm.b)] if lm.b is not None else [])
            return g.node("Gemm", ins, "lm_head", transB=1)
        if lm.b is not None:
            y = g.node("Add", [y, g.init("final_logits_bias", lm.b)], "lm_bias")
        return y

    def build(self, max_length: int | str = "max_length") -> onnx.ModelProto:
        g, D, H, hd, L = self.g, self.D, self.H, self.hd, self.L
        w = self.w
        emb = g.input("inputs_embeds", F32, ["batch_size", 1, D])
        past_len = g.input("past_sequence_length", I32, [1])
        ctx: dict = {"past": [], "cross": [], "present": []}
        for i in range(L):
            ctx["past"].append((g.input(f"past.{i}.key", F32, ["batch_size", H, max_length, hd]),
                                g.input(f"past.{i}.value", F32, ["batch_size", H, max_length, hd])))
        mode = self.o.cross_attention
        cb = "batch_size" if mode == "mha" else 1
        for i in range(L):
            if mode == "mha":
                names = (f"cross.{i}.key", [cb, H, "encoder_sequence_length", hd]), (f"cross.{i}.value", [cb, H, "encoder_sequence_length", hd])
            elif mode == "gemv":
                names = (f"cross.{i}.key", [cb, H, "encoder_sequence_length", hd]), (f"cross.{i}.value_t", [cb, H, hd, "encoder_sequence_length"])
            else:
                names = (f"cross.{i}.key_t", [cb, H, hd, "encoder_sequence_length"]), (f"cross.{i}.value", [cb, H, "encoder_sequence_length", hd])
            ctx["cross"].append(tuple(g.input(n, F32, shape) for n, shape in names))
        # position row and the cache bookkeeping (a few scalar ops per step, shared by the layers)
        pos = g.node("Gather", [g.init("positions", w.positions), past_len], "position")  # [1, D]
        x = self.norm(g.node("Add", [emb, pos], "embed_pos"), w.embed_norm, "layernorm_embedding")
        total = g.node("Add", [past_len, g.init("one_i32", np.array([1], np.int32))], "total_sequence_length")
        batch = g.node("Shape", [emb], "batch", start=0, end=1)
        if self.o.self_attention == "gqa":
            ctx["seqlens_k"] = g.node("Expand", [past_len, batch], "seqlens_k")
            ctx["total"] = total
        else:
            # ScatterND indices [B, H, 1, 3] = (row, head, position)
            p64 = g.node("Cast", [past_len], "position_i64", to=I64)
            ctx["total64"] = g.node("Cast", [total], "total_i64", to=I64)
            bsz = g.node("Squeeze", [batch, g.const_i64([0])], "batch_scalar")
            rows = g.node("Range", [g.init("zero_i64", np.array(0, np.int64)), bsz, g.init("one_i64", np.array(1, np.int64))], "rows")
            grid_shape = g.node("Concat", [batch, g.const_i64([H, 1, 1])], "grid_shape", axis=0)
            r = g.node("Expand", [self.reshape(rows, [-1, 1, 1, 1], "rows4"), grid_shape], "row_grid")
            h = g.node("Expand", [g.init("heads4", np.arange(H, dtype=np.int64).reshape(1, H, 1, 1)), grid_shape], "head_grid")
            p = g.node("Expand", [self.reshape(p64, [1, 1, 1, 1], "pos4"), grid_shape], "pos_grid")
            ctx["scatter_idx"] = g.node("Concat", [r, h, p], "scatter_idx", axis=-1)
        for i, layer in enumerate(w.layers):
            x = self.norm(g.node("Add", [x, self.self_attention(x, i, layer, ctx)], f"l{i}.res1"), layer.self_norm, f"l{i}.self_norm")
            x = self.norm(g.node("Add", [x, self.cross_attention(x, i, layer, ctx)], f"l{i}.res2"), layer.cross_norm, f"l{i}.cross_norm")
            x = self.norm(g.node("Add", [x, self.mlp(x, i, layer)], f"l{i}.res3"), layer.final_norm, f"l{i}.final_norm")
        if w.last_norm is not None:
            x = self.norm(x, w.last_norm, "layer_norm")
        logits = self.lm_head(x)
        g.output(logits, "logits", F32, ["batch_size", w.lm_head.w.shape[1]])
        for i, (pk, pv) in enumerate(ctx["present"]):
            g.output(pk, f"present.{i}.key", F32, ["batch_size", H, max_length, hd])
            g.output(pv, f"present.{i}.value", F32, ["batch_size", H, max_length, hd])
        m = g.model(PRODUCER, "Florence-2 decoder step over a pre-allocated self-attention cache: bind past.{i}.* and present.{i}.* to the same buffers (docs/decoder-layout.md).")
        _meta(m, {
            "florence2.layout": LAYOUT_TAG,
            "florence2.role": "decoder_step",
            "florence2.max_positions": str(w.arch.max_positions),
            "florence2.self_attention": self.o.self_attention,
            "florence2.cross_attention": self.o.cross_attention,
            "florence2.token_table": self.table.location if self.table is not None else "",
        })
        return m


def _meta(model: onnx.ModelProto, props: dict[str, str]) -> None:
    for k, v in props.items():
        e = model.metadata_props.add()
        e.key, e.value = k, v


def build_cross_kv(w: DecoderWeights, opts: DecoderOptions) -> onnx.ModelProto:
    return CrossKvBuilder(w, opts, "florence2_decoder_cross_kv").build()


def build_step(w: DecoderWeights, opts: DecoderOptions, table: TableFile | None) -> onnx.ModelProto:
    return StepBuilder(w, opts, table).build()
