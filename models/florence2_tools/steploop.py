"""A plain Python onnxruntime loop over the optimised decoder layout (docs/decoder-layout.md), the way
the engine is meant to drive it: every buffer allocated once and bound once with IoBinding.

- `TokenRows`: embedding rows read straight from the `embed_tokens` file (the lookup graphs core
  reads without a session, plus a constant scalar scale after the lookup), so the decoder's LM head
  and the embedding share one table;
- `OptimisedDecoder`: `decoder_cross_kv` once per image and prompt (its outputs bound into buffers
  the step graph reads), then `decoder_step` per token with `inputs_embeds`, `past_sequence_length`,
  the cache (`past.{i}.*` and `present.{i}.*` bound to the same buffers) and `logits` bound once;
  beam search reorders the cache rows in place (`reorder`);
- `greedy` / `beam_search`: transformers' `generate` semantics (the processors of ortloop.py; beam
  search ported from crates/core/src/generate/beam.rs, float32 like torch).

Used by the tests (token-exact against transformers' references), optimize.py's self-check, and
models/bench_decoder.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

from .ortloop import apply_processors

NEG = np.float32(-1.0e9)


class LayoutError(Exception):
    """The folder does not hold the optimised decoder layout, or a graph is not what it should be."""


# ---- token rows from the file ---------------------------------------------------------------------
def _external(init: onnx.TensorProto, folder: Path) -> tuple[Path, int, int | None] | None:
    if init.data_location != onnx.TensorProto.EXTERNAL:
        return None
    kv = {e.key: e.value for e in init.external_data}
    return folder / kv["location"], int(kv.get("offset", 0)), int(kv["length"]) if "length" in kv else None


def _initializer_bytes(init: onnx.TensorProto, folder: Path, nbytes: int) -> tuple[Path | None, int, bytes | None]:
    """(file, offset, None) of an external or raw initializer in its file, or (None, 0, bytes) if inline."""
    ext = _external(init, folder)
    if ext is not None:
        path, offset, length = ext
        if length is not None and length != nbytes:
            raise LayoutError(f"{init.name}: {length} bytes stored, {nbytes} needed")
        return path, offset, None
    return None, 0, numpy_helper.to_array(init).tobytes()


@dataclass
class TokenRows:
    """Rows of a `[rows, dim]` table read with positioned reads (no session, nothing resident).

    Recognised graphs (`input_ids` → `inputs_embeds`): a lookup core, either `Gather` (axis 0) over a
    float32 table, or a quantised lookup `Gather(q) → Cast(float) → [Sub(zero point scalar)] →
    Mul(Gather(scales))` over int8/uint8 rows `q [rows, dim]` with scales `[rows]` / `[rows, 1]`, or
    over blocks `q [rows, nb, block]` with scales `[rows, nb, 1]` followed by `Reshape([0, 0, dim])`;
    then a tail of single-consumer nodes: `Identity`, `Cast` to float, and `Mul` / `Div` by
    a constant scalar (an initializer or a `Constant` node, any operand order for Mul), applied in
    order in float32 exactly as ONNX Runtime computes them. Nothing else may be in the graph.
    """

    path: Path | None
    offset: int
    rows: int
    dim: int
    dtype: np.dtype
    scales: np.ndarray | None
    #: ("Mul" | "Div", float32 value) after the lookup, in order
    ops: list
    inline: bytes | None = None
    #: quantised tables: scales [rows, dim / block], and the zero point subtracted before scaling
    block: int = 0
    zero: np.float32 = np.float32(0.0)

    @staticmethod
    def from_graph(path: Path) -> "TokenRows":
        path = Path(path)
        m = onnx.load(str(path), load_external_data=False)
        g = m.graph
        inits = {i.name: i for i in g.initializer}
        consts = {}
        for n in g.node:
            if n.op_type == "Constant":
                for a in n.attribute:
                    if a.name == "value":
                        consts[n.output[0]] = numpy_helper.to_array(a.t)
        nodes = [n for n in g.node if n.op_type != "Constant"]
        ins = [i.name for i in g.input if i.name not in inits]
        if ins != ["input_ids"] or [o.name for o in g.output] != ["inputs_embeds"]:
            raise LayoutError(f"{path.name}: not an input_ids → inputs_embeds graph")

        def const(name):
            if name in consts:
                return consts[name]
            if name in inits and inits[name].data_location != onnx.TensorProto.EXTERNAL:
                return numpy_helper.to_array(inits[name])
            return None

        # the lookup core, then a tail of single-consumer nodes up to inputs_embeds
        consumers: dict[str, list] = {}
        for n in nodes:
            for i in n.input:
                consumers.setdefault(i, []).append(n)
        ops = [n.op_type for n in nodes]
        gathers = [n for n in nodes if n.op_type == "Gather" and n.input[1] == "input_ids"]
        if any(a.name == "axis" and a.i != 0 for n in gathers for a in n.attribute):
            raise LayoutError(f"{path.name}: a Gather on an axis other than 0 is not a row lookup")
        core: list = []
        rows_g = next((n for n in gathers if n.input[0] in inits and inits[n.input[0]].data_type == onnx.TensorProto.FLOAT and len(inits[n.input[0]].dims) == 2), None)
        if rows_g is not None and len(gathers) == 1:
            core, end = [rows_g], rows_g.output[0]
            t = inits[rows_g.input[0]]
            rows, dim = int(t.dims[0]), int(t.dims[1])
            file, offset, inline = _initializer_bytes(t, path.parent, rows * dim * 4)
            found = TokenRows(file, offset, rows, dim, np.dtype("<f4"), None, [], inline)
        elif len(gathers) == 2:
            # quantised: Gather(q) → Cast(float) → [Sub(zero point)] → Mul(Gather(scales)) → [Reshape]
            q_g = next((n for n in gathers if n.input[0] in inits and inits[n.input[0]].data_type in (onnx.TensorProto.INT8, onnx.TensorProto.UINT8)), None)
            s_g = next((n for n in gathers if n is not q_g), None)
            if q_g is None or s_g is None or s_g.input[0] not in inits:
                raise LayoutError(f"{path.name}: nodes {ops} are not a row lookup")
            core = [q_g, s_g]

            def only_user(t, op):
                users = consumers.get(t, [])
                return users[0] if len(users) == 1 and users[0].op_type == op else None

            cast = only_user(q_g.output[0], "Cast")
            if cast is None or not any(a.name == "to" and a.i == onnx.TensorProto.FLOAT for a in cast.attribute):
                raise LayoutError(f"{path.name}: nodes {ops} are not a row lookup")
            core.append(cast)
            x, zero = cast.output[0], np.float32(0.0)
            sub = only_user(x, "Sub")
            if sub is not None:
                z = const(sub.input[1]) if sub.input[0] == x else None
                if z is None or z.size != 1:
                    raise LayoutError(f"{path.name}: the zero point is not a constant scalar")
                zero, x = np.float32(z.reshape(-1)[0]), sub.output[0]
                core.append(sub)
            mul = only_user(x, "Mul")
            if mul is None or set(mul.input) != {x, s_g.output[0]}:
                raise LayoutError(f"{path.name}: the dequantising Mul does not combine the rows with their scales")
            core.append(mul)
            end = mul.output[0]
            t, sc = inits[q_g.input[0]], inits[s_g.input[0]]
            dims = [int(d) for d in t.dims]
            rows = dims[0]
            if len(dims) == 2:
                dim, block = dims[1], dims[1]
                want = [[rows], [rows, 1]]
            elif len(dims) == 3:
                dim, block = dims[1] * dims[2], dims[2]
                want = [[rows, dims[1], 1]]
                reshape = only_user(end, "Reshape")
                shape = const(reshape.input[1]) if reshape is not None else None
                if shape is None or [int(v) for v in shape.reshape(-1)] != [0, 0, dim]:
                    raise LayoutError(f"{path.name}: blocks of a row are not merged by Reshape([0, 0, {dim}])")
                core.append(reshape)
                end = reshape.output[0]
            else:
                raise LayoutError(f"{path.name}: quantised table of rank {len(dims)}")
            if [int(d) for d in sc.dims] not in want or sc.data_type != onnx.TensorProto.FLOAT:
                raise LayoutError(f"{path.name}: quantised table {dims} with scales {list(sc.dims)}")
            nscales = rows * (dim // block)
            file, offset, inline = _initializer_bytes(t, path.parent, rows * dim)
            sfile, soffset, sinline = _initializer_bytes(sc, path.parent, nscales * 4)
            scales = np.frombuffer(sinline, "<f4") if sinline is not None else np.fromfile(sfile, "<f4", count=nscales, offset=soffset)
            dtype = np.dtype(np.int8 if t.data_type == onnx.TensorProto.INT8 else np.uint8)
            found = TokenRows(file, offset, rows, dim, dtype, scales.astype(np.float32).reshape(rows, dim // block).copy(), [], inline, block, zero)
        else:
            raise LayoutError(f"{path.name}: nodes {ops} are not a row lookup")
        tail = 0
        while end != "inputs_embeds":
            users = consumers.get(end, [])
            if len(users) != 1:
                raise LayoutError(f"{path.name}: {end} feeds {len(users)} nodes; not a row lookup")
            n = users[0]
            if n.op_type == "Identity" or (n.op_type == "Cast" and any(a.name == "to" and a.i == onnx.TensorProto.FLOAT for a in n.attribute)):
                pass
            elif n.op_type in ("Mul", "Div"):
                other = [i for i in n.input if i != end]
                c = const(other[0]) if len(other) == 1 else None
                if c is None or c.size != 1 or c.dtype != np.float32 or (n.op_type == "Div" and n.input[0] != end):
                    raise LayoutError(f"{path.name}: {n.op_type} by a non-constant or non-scalar value; not a row lookup")
                found.ops.append((n.op_type, np.float32(c.reshape(-1)[0])))
            else:
                raise LayoutError(f"{path.name}: {n.op_type} after the lookup; not a row lookup")
            tail += 1
            end = n.output[0]
        if len(core) + tail != len(nodes):
            raise LayoutError(f"{path.name}: nodes {ops} hold more than a row lookup")
        return found

    def __post_init__(self):
        self._file = open(self.path, "rb") if self.path is not None else None
        self._row_bytes = self.dim * self.dtype.itemsize

    def lookup(self, ids, out: np.ndarray) -> None:
        """Writes the embedding of each id into consecutive rows of `out` ([len(ids), dim] view)."""
        out = out.reshape(len(ids), self.dim)
        for r, i in enumerate(ids):
            i = int(i)
            if not 0 <= i < self.rows:
                raise LayoutError(f"token id {i} is outside the table's {self.rows} rows")
            at = i * self._row_bytes
            if self._file is not None:
                self._file.seek(self.offset + at)
                raw = self._file.read(self._row_bytes)
            else:
                raw = self.inline[at: at + self._row_bytes]
            row = np.frombuffer(raw, self.dtype)
            if self.scales is not None:
                v = row.astype(np.float32)
                if self.zero != 0.0:
                    v = v - self.zero
                v = (v.reshape(-1, self.block) * self.scales[i][:, None]).reshape(-1)
            else:
                v = row.astype(np.float32)
            for op, c in self.ops:
                v = v * c if op == "Mul" else v / c
            out[r] = v

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


# ---- the decoder ------------------------------------------------------------------------------
def _options(threads: int) -> ort.SessionOptions:
    so = ort.SessionOptions()
    if threads:
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
    return so


def _bind(io: ort.IOBinding, name: str, arr: np.ndarray, output: bool = False) -> None:
    (io.bind_output if output else io.bind_input)(name, "cpu", 0, arr.dtype, list(arr.shape), arr.ctypes.data)


def layout_files(folder: Path, suffix: str = "") -> dict[str, Path]:
    """The optimised decoder's files in `folder` (raises LayoutError if they are not there)."""
    onnx_dir = Path(folder) / "onnx"
    files = {"step": onnx_dir / f"decoder_step{suffix}.onnx", "cross_kv": onnx_dir / f"decoder_cross_kv{suffix}.onnx", "embed": onnx_dir / f"embed_tokens{suffix}.onnx"}
    missing = [p.name for p in files.values() if not p.is_file()]
    if missing:
        raise LayoutError(f"{folder} has no optimised decoder layout: missing {', '.join(missing)}")
    return files


class OptimisedDecoder:
    """`decoder_cross_kv` + `decoder_step` over bound, pre-allocated buffers."""

    def __init__(self, folder: Path, suffix: str = "", threads: int = 0, rows_from_file: bool = True):
        folder = Path(folder)
        files = layout_files(folder, suffix)
        so = _options(threads)
        self.step_session = ort.InferenceSession(str(files["step"]), so, providers=["CPUExecutionProvider"])
        self.cross_session = ort.InferenceSession(str(files["cross_kv"]), so, providers=["CPUExecutionProvider"])
        meta = self.step_session.get_modelmeta().custom_metadata_map
        if not meta.get("florence2.layout", "").startswith("decoder-step/"):
            raise LayoutError(f"{files['step'].name} has no florence2.layout metadata")
        self.max_positions = int(meta["florence2.max_positions"])
        self.cross_mode = meta.get("florence2.cross_attention", "matmul")
        ins = {i.name: i for i in self.step_session.get_inputs()}
        self.layers = sum(1 for n in ins if n.startswith("past.") and n.endswith(".key"))
        k0 = ins["past.0.key"].shape
        self.heads, self.head_dim = int(k0[1]), int(k0[3])
        self.d_model = int(ins["inputs_embeds"].shape[2])
        self.vocab = int(self.step_session.get_outputs()[0].shape[1])
        self.rows_from_file = rows_from_file
        if rows_from_file:
            self.table = TokenRows.from_graph(files["embed"])
        else:
            self.embed_session = ort.InferenceSession(str(files["embed"]), so, providers=["CPUExecutionProvider"])
        self.steps = 0

    # -- per image and prompt
    def start(self, encoder_hidden: np.ndarray, rows: int, capacity: int) -> None:
        """Cross K/V of `encoder_hidden` [1, S, D] into fresh buffers; a cache of `capacity` positions
        for `rows` rows; every buffer bound once. `capacity` ≤ the graph's positions."""
        if not 1 <= capacity <= self.max_positions:
            raise LayoutError(f"cache capacity {capacity} is outside 1..{self.max_positions} positions")
        H, hd, L, D = self.heads, self.head_dim, self.layers, self.d_model
        S = encoder_hidden.shape[1]
        cross_rows = rows if self.cross_mode == "mha" else 1
        hidden = np.ascontiguousarray(np.repeat(encoder_hidden, cross_rows, axis=0), dtype=np.float32)
        self.cross = []
        io = self.cross_session.io_binding()
        _bind(io, "encoder_hidden_states", hidden)
        for o in self.cross_session.get_outputs():
            shape = [cross_rows, H, hd, S] if o.name.endswith("_t") else [cross_rows, H, S, hd]
            buf = np.empty(shape, np.float32)
            _bind(io, o.name, buf, output=True)
            self.cross.append((o.name, buf))
        self.cross_session.run_with_iobinding(io)
        # the step: everything bound once
        self.rows, self.capacity = rows, capacity
        self.embeds = np.zeros((rows, 1, D), np.float32)
        self.past_len = np.zeros((1,), np.int32)
        self.logits = np.zeros((rows, self.vocab), np.float32)
        # calloc'd: pages become resident as positions fill
        self.cache = [(np.zeros((rows, H, capacity, hd), np.float32), np.zeros((rows, H, capacity, hd), np.float32)) for _ in range(L)]
        self.scratch = np.zeros((H, capacity, hd), np.float32)  # one row, for reordering beams in place
        io = self.step_session.io_binding()
        _bind(io, "inputs_embeds", self.embeds)
        _bind(io, "past_sequence_length", self.past_len)
        for name, buf in self.cross:
            _bind(io, name, buf)
        for i, (k, v) in enumerate(self.cache):
            _bind(io, f"past.{i}.key", k)
            _bind(io, f"past.{i}.value", v)
            _bind(io, f"present.{i}.key", k, output=True)
            _bind(io, f"present.{i}.value", v, output=True)
        _bind(io, "logits", self.logits, output=True)
        #: output names in binding order (the order of `io.get_outputs()`)
        self.bound_outputs = [n for i in range(L) for n in (f"present.{i}.key", f"present.{i}.value")] + ["logits"]
        self.io = io
        self.filled = 0
        if not self.rows_from_file:
            self.ids = np.zeros((rows, 1), np.int64)
            self.embed_io = self.embed_session.io_binding()
            _bind(self.embed_io, "input_ids", self.ids)
            _bind(self.embed_io, "inputs_embeds", self.embeds, output=True)

    # -- per token
    def step(self, last_tokens, reorder=None) -> np.ndarray:
        """Logits [rows, vocab] for the last token of each row (after reordering the rows' caches)."""
        if self.filled >= self.capacity:
            raise LayoutError(f"the cache holds {self.capacity} positions; position {self.filled} does not exist")
        if reorder is not None:
            self.reorder(reorder)
        if self.rows_from_file:
            self.table.lookup(last_tokens, self.embeds)
        else:
            self.ids[:, 0] = last_tokens
            self.embed_session.run_with_iobinding(self.embed_io)
        self.past_len[0] = self.filled
        self.step_session.run_with_iobinding(self.io)
        self.filled += 1
        self.steps += 1
        return self.logits

    def reorder(self, order) -> None:
        """Cache rows gathered by `order` (row b takes row order[b]) in place: only the filled prefix
        is copied, only rows that change, in an order that reads every source before it is
        overwritten; a cycle is broken through the one-row scratch buffer."""
        order = [int(o) for o in order]
        pending = [b for b, s in enumerate(order) if s != b]
        if not pending:
            return
        n = self.filled
        for k, v in self.cache:
            for buf in (k, v):
                _gather_rows_in_place(buf, order, pending, n, self.scratch)


def _gather_rows_in_place(buf: np.ndarray, order: list[int], pending: list[int], n: int, scratch: np.ndarray) -> None:
    readers = {}
    for d in pending:
        readers[order[d]] = readers.get(order[d], 0) + 1
    todo = list(pending)
    saved = None  # the row whose old prefix is in scratch
    while todo:
        ready = [d for d in todo if readers.get(d, 0) == 0]
        if not ready:
            # a cycle: keep row todo[0]'s old prefix in scratch; its readers read it from there
            saved = todo[0]
            scratch[:, :n] = buf[saved, :, :n]
            readers[saved] = 0
            continue
        d = ready[0]
        s = order[d]
        buf[d, :, :n] = scratch[:, :n] if s == saved else buf[s, :, :n]
        readers[s] -= 1
        todo.remove(d)


# ---- generation -------------------------------------------------------------------------------
@dataclass
class Generation:
    """transformers' generation_config values that matter here."""

    decoder_start: int = 2
    eos: int = 2
    forced_bos: int | None = None
    forced_eos: int | None = None
    ngram: int = 0
    length_penalty: float = 1.0
    early_stopping: bool = True

    @staticmethod
    def from_json(gen: dict) -> "Generation":
        return Generation(
            decoder_start=gen.get("decoder_start_token_id", 2),
            eos=gen.get("eos_token_id", 2),
            forced_bos=gen.get("forced_bos_token_id"),
            forced_eos=gen.get("forced_eos_token_id"),
            ngram=gen.get("no_repeat_ngram_size", 0) or 0,
            length_penalty=float(gen.get("length_penalty", 1.0)),
            early_stopping=bool(gen.get("early_stopping", True)),
        )


@dataclass
class Result:
    ids: list[int]
    steps: int
    min_top2_margin: float = float("inf")
    step_ms: list[float] = field(default_factory=list)


def greedy(dec: OptimisedDecoder, hidden: np.ndarray, max_new_tokens: int, gen: Generation) -> Result:
    """Greedy search, batch of one."""
    max_length = 1 + max_new_tokens
    dec.start(hidden, rows=1, capacity=min(max_new_tokens, dec.max_positions))
    ids = [gen.decoder_start]
    res = Result(ids=ids, steps=0)
    while len(ids) < max_length:
        logits = dec.step([ids[-1]])[0].copy()
        res.steps += 1
        apply_processors(logits, ids, gen.ngram, gen.forced_bos, gen.forced_eos, max_length)
        top2 = np.partition(logits, -2)[-2:]
        if np.isfinite(top2).all():
            res.min_top2_margin = min(res.min_top2_margin, float(top2[1] - top2[0]))
        nxt = int(np.argmax(logits))
        ids.append(nxt)
        if nxt == gen.eos:
            break
    return res


def _log_softmax(row: np.ndarray) -> None:
    m = row.max()
    if not np.isfinite(m):
        return
    s = np.exp(row - m, dtype=np.float32).sum(dtype=np.float32)
    row -= m + np.log(s, dtype=np.float32)


def _top_stable(scores: np.ndarray, n: int) -> np.ndarray:
    """Indices of the n largest scores, descending, ties in index order (first come first)."""
    if scores.size <= n:
        return np.argsort(-scores, kind="stable")
    kth = np.partition(scores, scores.size - n)[scores.size - n]
    cand = np.nonzero(scores >= kth)[0]
    return cand[np.argsort(-scores[cand], kind="stable")][:n]


def beam_search(dec: OptimisedDecoder, hidden: np.ndarray, max_new_tokens: int, num_beams: int, gen: Generation) -> Result:
    """transformers' vectorised beam search (batch of one), as crates/core/src/generate/beam.rs."""
    k = max(1, num_beams)
    keep = 2 * k
    max_length = max_new_tokens + 1
    dec.start(hidden, rows=k, capacity=min(max_new_tokens, dec.max_positions))
    vocab = dec.vocab
    lp = np.float32(gen.length_penalty)
    running = [[gen.decoder_start] for _ in range(k)]
    running_scores = np.array([0.0] + [NEG] * (k - 1), np.float32)
    finished = [([gen.decoder_start], NEG, False) for _ in range(k)]
    improvable = True
    cur_len = 1
    reorder = None
    steps = 0
    while True:
        logits = dec.step([s[-1] for s in running], reorder)
        steps += 1
        scores = np.empty((k, vocab), np.float32)
        for b in range(k):
            row = logits[b].copy()
            _log_softmax(row)
            apply_processors(row, running[b], gen.ngram, gen.forced_bos, gen.forced_eos, max_length)
            scores[b] = row + running_scores[b]
        flat = scores.reshape(-1)
        top = _top_stable(flat, keep)
        cands = [(flat[j], int(j // vocab), int(j % vocab)) for j in top]
        hits = [tok == gen.eos or cur_len + 1 >= max_length for _, _, tok in cands]
        masked = [np.float32(c[0] + (NEG if h else np.float32(0.0))) for c, h in zip(cands, hits)]
        order = sorted(range(len(cands)), key=lambda j: (-masked[j], j))
        nxt = order[:k]
        all_finished = all(f[2] for f in finished)
        penalty = np.float32(cur_len + 1 - 1) ** lp
        merged = list(finished)
        for j, (score, b, tok) in enumerate(cands):
            just = hits[j] and j < k
            s = np.float32(score / penalty)
            if all_finished and gen.early_stopping:
                s = np.float32(s + NEG)
            if not improvable:
                s = np.float32(s + NEG)
            if not just:
                s = np.float32(s + NEG)
            merged.append((running[b] + [tok], s, just))
        idx = sorted(range(len(merged)), key=lambda i: (-merged[i][1], i))
        finished = [merged[i] for i in idx[:k]]
        sources = [cands[j][1] for j in nxt]
        running = [running[cands[j][1]] + [cands[j][2]] for j in nxt]
        running_scores = np.array([masked[j] for j in nxt], np.float32)
        reorder = sources
        cur_len += 1
        best_possible = np.float32(running_scores[0] / (np.float32(cur_len - 1) ** lp))
        worst = min((f[1] for f in finished), default=np.float32(np.inf))
        any_better = any(best_possible > (worst if f[2] else NEG) for f in finished)
        improvable = improvable and any_better
        open_beam = not (all(f[2] for f in finished) and gen.early_stopping)
        can_continue = not all(hits)
        if not (improvable and open_beam and can_continue):
            break
    return Result(ids=list(finished[0][0]), steps=steps)


# ---- the front half (stock graphs) --------------------------------------------------------------
class Encoder:
    """vision_encoder, embed_tokens (prompt) and encoder_model sessions of a folder."""

    def __init__(self, folder: Path, suffix: str = "", threads: int = 0):
        folder = Path(folder)
        so = _options(threads)

        def load(stem):
            return ort.InferenceSession(str(folder / "onnx" / f"{stem}{suffix}.onnx"), so, providers=["CPUExecutionProvider"])

        self.vision, self.embed, self.encoder = load("vision_encoder"), load("embed_tokens"), load("encoder_model")
        self.generation = Generation.from_json(json.loads((folder / "generation_config.json").read_text()))

    def encode(self, pixel_values: np.ndarray, input_ids: np.ndarray) -> np.ndarray:
        img = self.vision.run(None, {"pixel_values": pixel_values})[0]
        txt = self.embed.run(None, {"input_ids": input_ids})[0]
        embeds = np.concatenate([img, txt], axis=1)
        mask = np.ones(embeds.shape[:2], dtype=np.int64)
        return self.encoder.run(None, {"inputs_embeds": embeds, "attention_mask": mask})[0]
