"""Our layout of the Florence-2 vision encoder: channels-last DaViT with fused attention.

Same input and output as the stock graph (`pixel_values` [batch, 3, H, W] float32 →
`image_features` [batch, 1 + (H/32)·(W/32), projection_dim] float32); H and W are fixed to the
preprocessor's size, so every reshape is static and no shape arithmetic runs.

Layout, per DaViT sub-block (the residual stream stays [B, H, W, C], channels last):

- depthwise 3×3 conv with the residual folded into its weights (centre tap + 1): one
  Transpose → Conv → Transpose, which ONNX Runtime on x86 turns into NCHWc reorders;
- LayerNormalization on the channels-last tensor (no transposes);
- window attention: the normalised map is partitioned into windows once (one Transpose), q, k and v
  come from that one partition (int8: one dynamic quantisation shared by the three GEMMs; the scale
  folded into Wq), then q·kᵀ (`com.microsoft.FusedMatMul`), Softmax and ·v run batched over
  windows × heads; large stages do this in window chunks, so the score tensors are short-lived and
  small (about 21 MB per chunk at 768², instead of 85 MB for stage 1 at once). The output projection
  runs in window layout, then the windows are merged (one Transpose) into the residual.
  (`attention="mha"`, ONNX Runtime's flash attention in `com.microsoft.MultiHeadAttention`, and
  `"fused"`, `Attention`/`QAttention`, were measured slower on this CPU: docs/benchmarks.md);
- channel attention: on maps with many more tokens than channels (stages 1-2 of base) through the
  Gram matrix (`channel_attention_gram`: no q, k, v tensors at all); elsewhere q, k, v with
  `com.microsoft.FusedMatMul` on transposed operands, scale folded into Wq;
- MLP: MatMul + `BiasGelu` (fp32) or `DynamicQuantizeMatMul` + `Gelu` (int8), then the residual.

int8 (`quant="dynamic"`): every Linear is a per-output-channel symmetric int8 weight used by
`DynamicQuantizeMatMul` / `MatMulIntegerToFloat` (u8 activations × s8 weights: VNNI / AMX on x86,
SDOT/I8MM on arm64); convolutions, norms, the Gram path and attention stay float32.
Stages with large maps run their MLP in row slabs and their window attention in chunks (`slabs`),
which bounds the live activations (docs/benchmarks.md: 72 MB instead of 172 MB at 768², int8).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import onnx

from .graph_builder import F32, MS, GraphBuilder
from .vision_weights import ConvW, Linear, Norm, SubBlock, VisionWeights


@dataclass
class VisionOptions:
    """Choices of the layout (the defaults are the measured best; see docs/benchmarks.md)."""

    quant: str = "none"  # "none" (fp32) or "dynamic" (int8 weights, dynamic u8 activations)
    #: "matmul" (FusedMatMul + Softmax + MatMul per window batch: measured fastest), "mha"
    #: (com.microsoft.MultiHeadAttention, flash attention) or "fused" (Attention / QAttention)
    attention: str = "matmul"
    #: int8: the strided patch-embedding convs of stages 2-4 as one int8 GEMM over u8 im2col taps
    int8_patch_conv: bool = True
    #: channel attention through the Gram matrix when tokens >= gram_ratio x channels
    gram_ratio: float = 16.0
    #: stage index -> number of row slabs of the MLP and window chunks of the attention (memory bound)
    slabs: dict[int, int] = field(default_factory=lambda: {0: 4, 1: 2})

    def describe(self) -> dict:
        return {"quant": self.quant, "attention": self.attention, "int8_patch_conv": self.int8_patch_conv, "gram_ratio": self.gram_ratio, "slabs": {str(k): v for k, v in sorted(self.slabs.items())}}


def quantize_columns(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric per-output-column int8 of a [in, out] weight: (int8 weight, float32 scales [out])."""
    peak = np.abs(w).max(axis=0)
    scale = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
    q = np.clip(np.rint(w / scale), -127, 127).astype(np.int8)
    return q, scale


class _Builder:
    def __init__(self, weights: VisionWeights, height: int, width: int, opts: VisionOptions):
        self.w = weights
        self.H, self.W = height, width
        self.o = opts
        self.g = GraphBuilder("florence2_vision_encoder")

    # ---- primitives -------------------------------------------------------------------------
    def linear(self, x: str, lin: Linear, name: str, bias: bool = True, quantized_input: tuple | None = None) -> str:
        g = self.g
        b = lin.b if bias else None
        if self.o.quant == "dynamic":
            q, scale = quantize_columns(lin.w)
            wq = g.init(f"{name}.w_int8", q)
            ws = g.init(f"{name}.w_scale", scale)
            wz = g.init(f"{name}.w_zero", np.zeros_like(q[0]))
            if quantized_input is not None:
                xq, xs, xz = quantized_input
                ins = [xq, wq, xs, ws, xz, wz] + ([g.init(f"{name}.b", b)] if b is not None else [])
                return g.node("MatMulIntegerToFloat", ins, name, domain=MS)
            ins = [x, wq, ws, wz] + ([g.init(f"{name}.b", b)] if b is not None else [])
            return g.node("DynamicQuantizeMatMul", ins, name, domain=MS)
        y = g.node("MatMul", [x, g.init(f"{name}.w", lin.w)], name)
        if b is not None:
            y = g.node("Add", [y, g.init(f"{name}.b", b)], name + ".bias")
        return y

    def dyn_quant(self, x: str, name: str) -> tuple:
        return tuple(self.g.node("DynamicQuantizeLinear", [x], name, n_out=3))

    def norm(self, x: str, n: Norm, name: str) -> str:
        g = self.g
        return g.node("LayerNormalization", [x, g.init(f"{name}.g", n.gamma), g.init(f"{name}.b", n.beta)], name, axis=-1, epsilon=n.eps)

    def conv_nhwc(self, x: str, c: ConvW, name: str, residual: bool = False) -> str:
        """Conv on a channels-last tensor: Transpose → Conv → Transpose (residual folded into the weight)."""
        g = self.g
        w = c.w.copy()
        if residual:
            k = w.shape[2] // 2
            w[:, 0, k, k] += 1.0  # conv(x) + x == conv'(x) for a depthwise conv with 'same' padding
        t = g.node("Transpose", [x], name + ".to_nchw", perm=[0, 3, 1, 2])
        y = g.node("Conv", [t, g.init(f"{name}.w", w), g.init(f"{name}.b", c.b)], name, group=c.group,
                   kernel_shape=list(w.shape[2:]), pads=[c.pad] * 4, strides=[c.stride] * 2)
        return g.node("Transpose", [y], name + ".to_nhwc", perm=[0, 2, 3, 1])

    def conv_int8_im2col(self, x: str, c: ConvW, Ho: int, Wo: int, name: str) -> str:
        """A strided patch-embedding conv on a channels-last map as one int8 GEMM.

        The input is quantised once (u8), zero-padded with its zero point (so padding is an exact
        0.0), and its k×k taps are gathered with strided Slices into [B, Ho, Wo, k·k·Cin] u8 (a quarter
        of the float im2col's bytes); `MatMulIntegerToFloat` with the per-output-channel int8 weight
        and the bias writes the channels-last output directly: no transposes, no float conv.
        """
        g = self.g
        k, st, p = c.w.shape[2], c.stride, c.pad
        xq, xs, xz = self.dyn_quant(x, name + ".quant")
        xq = g.node("Pad", [xq, g.const_i64([0, p, p, 0, 0, p, p, 0]), xz], name + ".pad", mode="constant")
        taps = []
        for ky in range(k):
            for kx in range(k):
                taps.append(g.node("Slice", [xq, g.const_i64([ky, kx]), g.const_i64([ky + st * (Ho - 1) + 1, kx + st * (Wo - 1) + 1]), g.const_i64([1, 2]), g.const_i64([st, st])], f"{name}.tap{ky}{kx}"))
        cols = g.node("Concat", taps, name + ".im2col", axis=-1)
        w = c.w.transpose(2, 3, 1, 0).reshape(k * k * c.w.shape[1], c.w.shape[0])  # rows in (ky, kx, cin) order
        q, scale = quantize_columns(w)
        ins = [cols, g.init(f"{name}.w_int8", q), xs, g.init(f"{name}.w_scale", scale), xz, g.init(f"{name}.w_zero", np.zeros_like(q[0])), g.init(f"{name}.b", c.b)]
        return g.node("MatMulIntegerToFloat", ins, name, domain=MS)

    def reshape(self, x: str, shape: list[int], name: str) -> str:
        return self.g.node("Reshape", [x, self.g.const_i64(shape)], name)

    # ---- blocks -------------------------------------------------------------------------------
    def mlp(self, x: str, sb: SubBlock, name: str) -> str:
        g = self.g
        h = self.norm(x, sb.norm2, name + ".norm2")
        if self.o.quant == "dynamic":
            f = self.linear(h, sb.fc1, name + ".fc1")
            f = g.node("Gelu", [f], name + ".gelu", domain=MS)
        else:
            f = self.linear(h, sb.fc1, name + ".fc1", bias=False)
            f = g.node("BiasGelu", [f, g.init(f"{name}.fc1.b", sb.fc1.b)], name + ".gelu", domain=MS)
        f = self.linear(f, sb.fc2, name + ".fc2")
        return g.node("Add", [x, f], name + ".residual2")

    def qkv(self, x: str, lin: Linear, dim: int, name: str, scale_q: float = 1.0, bias: bool = True) -> list[str]:
        """Three projections of one input (sharing one dynamic quantisation in int8)."""
        shared = self.dyn_quant(x, name + ".quant") if self.o.quant == "dynamic" else None
        outs = []
        for i, part in enumerate("qkv"):
            w = lin.w[:, i * dim:(i + 1) * dim]
            b = None if (lin.b is None or not bias) else lin.b[i * dim:(i + 1) * dim]
            if part == "q" and scale_q != 1.0:
                w = w * scale_q
                b = None if b is None else b * scale_q
            outs.append(self.linear(x, Linear(w.astype(np.float32), None if b is None else b.astype(np.float32)), f"{name}.{part}", quantized_input=shared))
        return outs

    def window_attention(self, h: str, sb: SubBlock, dim: int, heads: int, H: int, W: int, name: str, stage_index: int = 0) -> str:
        """LN output h [B, H, W, C] → attention + proj output, back in [B, H, W, C]."""
        g = self.g
        ws = self.w.window
        Hp, Wp = -(-H // ws) * ws, -(-W // ws) * ws
        if (Hp, Wp) != (H, W):
            pads = g.const_i64([0, 0, 0, 0, 0, Hp - H, Wp - W, 0])
            h = g.node("Pad", [h, pads], name + ".pad", mode="constant")
        nh, nw = Hp // ws, Wp // ws
        t = self.reshape(h, [-1, nh, ws, nw, ws, dim], name + ".win_view")
        t = g.node("Transpose", [t], name + ".partition", perm=[0, 1, 3, 2, 4, 5])
        n = min(self.o.slabs.get(stage_index, 1), nh * nw)
        if n > 1:
            # Windows in n chunks: q, k, v and ONNX Runtime's per-head copies exist for one chunk at a time.
            t = self.reshape(t, [-1, nh * nw, ws * ws, dim], name + ".windows4")
            sizes = [nh * nw // n + (1 if i < nh * nw % n else 0) for i in range(n)]
            parts = g.node("Split", [t, g.const_i64(sizes)], name + ".chunks", n_out=n, axis=1)
            outs = []
            for i, part in enumerate(parts):
                part = self.reshape(part, [-1, ws * ws, dim], f"{name}.chunk{i}")
                o = self.attend(part, sb, dim, heads, ws, f"{name}.c{i}")
                outs.append(self.reshape(o, [-1, sizes[i], ws * ws, dim], f"{name}.chunk{i}_out"))
            o = g.node("Concat", outs, name + ".unchunk", axis=1)
        else:
            t = self.reshape(t, [-1, ws * ws, dim], name + ".windows")
            o = self.attend(t, sb, dim, heads, ws, name)
        o = self.reshape(o, [-1, nh, nw, ws, ws, dim], name + ".win_out")
        o = g.node("Transpose", [o], name + ".merge", perm=[0, 1, 3, 2, 4, 5])
        o = self.reshape(o, [-1, Hp, Wp, dim], name + ".merged")
        if (Hp, Wp) != (H, W):
            o = g.node("Slice", [o, g.const_i64([0, 0]), g.const_i64([H, W]), g.const_i64([1, 2])], name + ".unpad")
        return o

    def attend(self, t: str, sb: SubBlock, dim: int, heads: int, ws: int, name: str) -> str:
        """Windows t [windows, S, C] → attention and output projection, same shape."""
        g = self.g
        if self.o.attention == "fused":
            # com.microsoft.Attention / QAttention: the q, k, v GEMMs write per-head blocks directly.
            bias = g.init(f"{name}.qkv.b", sb.qkv.b if sb.qkv.b is not None else np.zeros(3 * dim, np.float32))
            if self.o.quant == "dynamic":
                tq, ts, tz = self.dyn_quant(t, name + ".quant")
                wq, wscale = quantize_columns(sb.qkv.w)
                a = g.node("QAttention", [tq, g.init(f"{name}.qkv.w_int8", wq), bias, ts, g.init(f"{name}.qkv.w_scale", wscale), "", tz], name + ".attention", domain=MS, num_heads=heads)
            else:
                a = g.node("Attention", [t, g.init(f"{name}.qkv.w", sb.qkv.w), bias], name + ".attention", domain=MS, num_heads=heads)
        elif self.o.attention == "mha":
            q, k, v = self.qkv(t, sb.qkv, dim, name + ".qkv", bias=False)
            bias = g.init(f"{name}.qkv.b", sb.qkv.b if sb.qkv.b is not None else np.zeros(3 * dim, np.float32))
            a = g.node("MultiHeadAttention", [q, k, v, bias], name + ".mha", domain=MS, num_heads=heads)
        else:
            hd = dim // heads
            q, k, v = self.qkv(t, sb.qkv, dim, name + ".qkv", scale_q=hd ** -0.5)
            q = g.node("Transpose", [self.reshape(q, [-1, ws * ws, heads, hd], name + ".q4")], name + ".qT", perm=[0, 2, 1, 3])
            k = g.node("Transpose", [self.reshape(k, [-1, ws * ws, heads, hd], name + ".k4")], name + ".kT", perm=[0, 2, 1, 3])
            v = g.node("Transpose", [self.reshape(v, [-1, ws * ws, heads, hd], name + ".v4")], name + ".vT", perm=[0, 2, 1, 3])
            s = g.node("FusedMatMul", [q, k], name + ".scores", domain=MS, transB=1)
            p = g.node("Softmax", [s], name + ".softmax", axis=-1)
            a = g.node("MatMul", [p, v], name + ".pv")
            a = g.node("Transpose", [a], name + ".aT", perm=[0, 2, 1, 3])
            a = self.reshape(a, [-1, ws * ws, dim], name + ".a3")
        return self.linear(a, sb.proj, name + ".proj")

    def channel_attention(self, h: str, sb: SubBlock, dim: int, groups: int, N: int, name: str) -> str:
        """LN output h [B, H, W, C] → channel-group attention + proj, [B, N, C] with N = H·W."""
        if N >= self.o.gram_ratio * dim:
            return self.channel_attention_gram(h, sb, dim, groups, N, name)
        g = self.g
        d = dim // groups
        x = self.reshape(h, [-1, N, dim], name + ".tokens")
        q, k, v = self.qkv(x, sb.qkv, dim, name + ".qkv", scale_q=N ** -0.5)
        qt = g.node("Transpose", [self.reshape(q, [-1, N, groups, d], name + ".q4")], name + ".qT", perm=[0, 2, 1, 3])
        kt = g.node("Transpose", [self.reshape(k, [-1, N, groups, d], name + ".k4")], name + ".kT", perm=[0, 2, 1, 3])
        vt = g.node("Transpose", [self.reshape(v, [-1, N, groups, d], name + ".v4")], name + ".vT", perm=[0, 2, 1, 3])
        s = g.node("FusedMatMul", [qt, kt], name + ".scores", domain=MS, transA=1)  # [B, g, d, d] = q^T k
        p = g.node("Softmax", [s], name + ".softmax", axis=-1)
        o = g.node("FusedMatMul", [vt, p], name + ".pv", domain=MS, transB=1)  # [B, g, N, d] = v p^T
        o = g.node("Transpose", [o], name + ".oT", perm=[0, 2, 1, 3])
        o = self.reshape(o, [-1, N, dim], name + ".o3")
        return self.linear(o, sb.proj, name + ".proj")

    def channel_attention_gram(self, h: str, sb: SubBlock, dim: int, groups: int, N: int, name: str) -> str:
        """Channel attention through the Gram matrix, for maps with many more tokens than channels.

        With q = hWq + bq, k = hWk + bk (Wq, bq scaled by N^-1/2), the scores of all groups are the
        diagonal blocks of q^T k = Wq^T G Wk + (Wq^T s) bk^T + bq (s^T Wk) + N bq bk^T, where
        G = h^T h [C, C] and s = h^T 1. Off-block entries are masked before the softmax, so P is
        block-diagonal, and out = (v P^T) Wp + bp = h (Wv P^T Wp) + (bv P^T Wp + bp). One pass over
        h for G and one GEMM h @ M replace the q, k, v projections, their transposes and the output
        projection; no [N, C] intermediate besides the output.
        """
        g = self.g
        d = dim // groups
        sc = N ** -0.5
        w, b = sb.qkv.w, sb.qkv.b if sb.qkv.b is not None else np.zeros(3 * dim, np.float32)
        wq, wk, wv = (w[:, i * dim:(i + 1) * dim].astype(np.float64) for i in range(3))
        bq, bk, bv = (b[i * dim:(i + 1) * dim].astype(np.float64) for i in range(3))
        wq, bq = wq * sc, bq * sc
        x = self.reshape(h, [-1, N, dim], name + ".tokens")
        gram = g.node("FusedMatMul", [x, x], name + ".gram", domain=MS, transA=1)  # [B, C, C]
        s = g.node("MatMul", [g.init(f"{name}.wqT", wq.T.astype(np.float32)), gram], name + ".wqT_g")
        wk_name = g.init(f"{name}.wk", wk.astype(np.float32))
        s = g.node("MatMul", [s, wk_name], name + ".scores_full")
        mask = np.full((dim, dim), -np.inf, np.float32)
        for i in range(groups):
            mask[i * d:(i + 1) * d, i * d:(i + 1) * d] = 0.0
        if np.any(bq) or np.any(bk):
            colsum = g.node("ReduceSum", [x, g.const_i64([1])], name + ".colsum", keepdims=1)  # [B, 1, C]
            u = g.node("MatMul", [colsum, g.init(f"{name}.wq", wq.astype(np.float32))], name + ".s_wq")  # [B, 1, C] = (Wq^T s)^T
            t1 = g.node("Mul", [g.node("Transpose", [u], name + ".s_wqT", perm=[0, 2, 1]), g.init(f"{name}.bk", bk[None].astype(np.float32))], name + ".t1")
            v2 = g.node("MatMul", [colsum, wk_name], name + ".s_wk")  # [B, 1, C]
            t2 = g.node("Mul", [g.init(f"{name}.bq", bq[:, None].astype(np.float32)), v2], name + ".t2")
            s = g.node("Add", [s, g.node("Add", [t1, t2], name + ".t12")], name + ".scores_bias")
            mask = mask + (N * np.outer(bq, bk)).astype(np.float32)
        s = g.node("Add", [s, g.init(f"{name}.mask", mask)], name + ".scores")
        p = g.node("Softmax", [s], name + ".softmax", axis=-1)  # [B, C, C], block-diagonal
        wp = g.init(f"{name}.wp", sb.proj.w.astype(np.float32))
        m = g.node("FusedMatMul", [g.init(f"{name}.wv", wv.astype(np.float32)), p], name + ".wv_pT", domain=MS, transB=1)
        m = g.node("MatMul", [m, wp], name + ".mixer")  # [B, C, C] = Wv P^T Wp
        c = g.node("FusedMatMul", [g.init(f"{name}.bv", bv[None].astype(np.float32)), p], name + ".bv_pT", domain=MS, transB=1)  # [B, 1, C]
        c = g.node("MatMul", [c, wp], name + ".bv_pT_wp")
        c = g.node("Add", [c, g.init(f"{name}.bp", sb.proj.b)], name + ".out_bias")
        o = g.node("MatMul", [x, m], name + ".mix")
        return g.node("Add", [o, c], name + ".out")

    def sub_block(self, x: str, sb: SubBlock, kind: str, stage, H: int, W: int, name: str) -> str:
        g = self.g
        x = self.conv_nhwc(x, sb.conv1, name + ".conv1", residual=True)
        ws = self.w.window
        slabs = min(self.o.slabs.get(stage.index, 1), H // ws)
        if kind == "spatial" and slabs > 1 and H % ws == 0 and W % ws == 0:
            x = self.slabbed_window_attention(x, sb, stage, slabs, H, W, name)
        else:
            h = self.norm(x, sb.norm1, name + ".norm1")
            if kind == "spatial":
                a = self.window_attention(h, sb, stage.dim, stage.heads, H, W, name + ".attn", stage.index)
            else:
                a = self.channel_attention(h, sb, stage.dim, stage.groups, H * W, name + ".attn")
                a = self.reshape(a, [-1, H, W, stage.dim], name + ".attn_map")
            x = g.node("Add", [x, a], name + ".residual1")
        x = self.conv_nhwc(x, sb.conv2, name + ".conv2", residual=True)
        return self.slabbed_mlp(x, sb, stage, H, name)

    def slabbed_window_attention(self, x: str, sb: SubBlock, stage, n: int, H: int, W: int, name: str) -> str:
        """LN, window attention and residual of x [B, H, W, C] in n row slabs of whole window rows.

        The same windows, in the same groups, as n chunks of the partitioned tensor (so the int8
        graph's per-chunk quantisation is unchanged), but neither the full LN output nor the full
        partitioned copy of stage 1 ever exists: one slab's are live at a time, which lowers the
        vision encoder's activation peak (docs/memory.md).
        """
        g = self.g
        ws = self.w.window
        nh = H // ws
        rows = [(nh // n + (1 if i < nh % n else 0)) * ws for i in range(n)]
        parts = g.node("Split", [x, g.const_i64(rows)], name + ".attn_slabs", n_out=n, axis=1)
        outs = []
        for i, part in enumerate(parts):
            h = self.norm(part, sb.norm1, f"{name}.s{i}.norm1")
            a = self.window_attention(h, sb, stage.dim, stage.heads, rows[i], W, f"{name}.s{i}.attn", stage_index=-1)
            outs.append(g.node("Add", [part, a], f"{name}.s{i}.residual1"))
        return g.node("Concat", outs, name + ".attn_unslab", axis=1)

    def slabbed_mlp(self, x: str, sb: SubBlock, stage, H: int, name: str) -> str:
        n = self.o.slabs.get(stage.index, 1)
        if n <= 1:
            return self.mlp(x, sb, name + ".mlp")
        g = self.g
        rows = [H // n + (1 if i < H % n else 0) for i in range(n)]
        parts = g.node("Split", [x, g.const_i64(rows)], name + ".slabs", n_out=n, axis=1)
        outs = [self.mlp(p, sb, f"{name}.mlp{i}") for i, p in enumerate(parts)]
        return g.node("Concat", outs, name + ".unslab", axis=1)

    # ---- whole graph ----------------------------------------------------------------------------
    def build(self) -> onnx.ModelProto:
        g = self.g
        x = g.input("pixel_values", F32, ["batch_size", 3, self.H, self.W])
        H, W = self.H, self.W
        for s, stage in enumerate(self.w.stages):
            stage.index = s
            c = stage.embed_conv
            H = (H + 2 * c.pad - c.w.shape[2]) // c.stride + 1
            W = (W + 2 * c.pad - c.w.shape[3]) // c.stride + 1
            name = f"s{s}.embed"
            if s == 0:
                y = g.node("Conv", [x, g.init(f"{name}.w", c.w), g.init(f"{name}.b", c.b)], name, kernel_shape=list(c.w.shape[2:]),
                           pads=[c.pad] * 4, strides=[c.stride] * 2)
                x = g.node("Transpose", [y], name + ".to_nhwc", perm=[0, 2, 3, 1])
                if stage.pre_norm:
                    raise ValueError("a pre-norm first stage is not a Florence-2 layout")
                x = self.norm(x, stage.embed_norm, name + ".norm")
            else:
                if stage.pre_norm:
                    x = self.norm(x, stage.embed_norm, name + ".norm")
                    if self.o.quant == "dynamic" and self.o.int8_patch_conv:
                        x = self.conv_int8_im2col(x, c, H, W, name)
                    else:
                        x = self.conv_nhwc(x, c, name)
                else:
                    x = self.conv_nhwc(x, c, name)
                    x = self.norm(x, stage.embed_norm, name + ".norm")
            for b, (spatial, channel) in enumerate(stage.blocks):
                x = self.sub_block(x, spatial, "spatial", stage, H, W, f"s{s}.b{b}.spatial")
                x = self.sub_block(x, channel, "channel", stage, H, W, f"s{s}.b{b}.channel")
        # projector: + (2-D position table + temporal row 0), [mean ; tokens] @ P, LayerNorm
        C = self.w.stages[-1].dim
        col, row = self.w.pos_col, self.w.pos_row
        if H > row.shape[0] or W > col.shape[0]:
            raise ValueError(f"feature map {H}x{W} is larger than the position tables ({row.shape[0]} rows)")
        pos = np.concatenate([np.broadcast_to(col[None, :W], (H, W, col.shape[1])), np.broadcast_to(row[:H, None], (H, W, row.shape[1]))], axis=-1)
        pos = (pos + self.w.temporal0[None, None]).reshape(H * W, C).astype(np.float32)
        t = self.reshape(x, [-1, H * W, C], "proj.tokens")
        t = g.node("Add", [t, g.init("proj.pos", pos)], "proj.pos_add")
        m = g.node("ReduceMean", [t], "proj.spatial_mean", axes=[1], keepdims=1)
        t = g.node("Concat", [m, t], "proj.concat", axis=1)
        t = g.node("MatMul", [t, g.init("proj.w", self.w.projection.w)], "proj.projection")
        t = self.norm(t, self.w.proj_norm, "proj.norm")
        g.output(t, "image_features", F32, ["batch_size", 1 + H * W, self.w.projection.w.shape[1]])
        return g.model("florence2-mobile optimize.py", doc=f"florence2-mobile vision layout {self.o.describe()}")


def build_vision(weights: VisionWeights, height: int, width: int, opts: VisionOptions) -> onnx.ModelProto:
    """The optimised vision graph for a `height` × `width` input."""
    return _Builder(weights, height, width, opts).build()
