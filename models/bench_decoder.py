#!/usr/bin/env python3
"""Decode speed and memory of the optimised decoder layout against the stock merged decoder, side by side.

    .venv/bin/python models/bench_decoder.py time   --stock models/out/base-random --opt models/out/base-random-opt2 \
        [--variants DIR ...] [--tokens 64] [--rounds 5] [--threads 2] [--bandwidth-gb 1]
    .venv/bin/python models/bench_decoder.py memory --stock ... --opt ... [--precision int8] [--tokens 64]
    .venv/bin/python models/bench_decoder.py profile --stock ... --opt ... [--precision int8]
    .venv/bin/python models/bench_decoder.py variants --stock models/out/base-random --out DIR

`time`: one process; every decoder loaded once; rounds alternate the contenders (stock fp32, ours fp32,
stock int8, ours int8, then any `--variants` folders), each decoding `--tokens` teacher-forced tokens
(seeded, no early EOS) over the same synthetic encoder output (the sequence length of a 768² image and
a short prompt). Both sides run the way the engine does: IoBinding, embedding rows read from the
embed_tokens file (`steploop.TokenRows`), the stock decoder with the merged-decoder protocol (its
cache tensors allocated by ONNX Runtime and passed on), ours with every buffer bound once. The same
run measures this machine's memory read bandwidth (a timed numpy sum over a `--bandwidth-gb` buffer,
one thread and `--threads` threads) and prints the weight-bandwidth bound of a step: the bytes a step
must read (weights, cross-attention K/V, the filled cache) over that bandwidth. Ratios are per round
(ours / stock of the same precision, adjacent in time), then the median; and a least-disturbed
"floor": every step position's fastest time over the rounds, averaged (a burst of other work on the
shared machine hits some steps of some rounds). Prints the CPU and the load at start and end.

`memory`: each decoder in a fresh process: RSS after loading and after decoding, minus the process
before loading (numpy + onnxruntime imported): the decoder side's weights, arena and cache.

`profile`: per-operator-type kernel time of one decode of each decoder (ONNX Runtime profiling).

`agreement`: teacher-forced top-1 agreement and logits cosine with the stock fp32 decoder, stock
int8 next to ours, on the fixture images (stock fp32 vision encoder and encoder; `--tokens` steps).

`variants`: writes the decoder layout's alternatives (self-attention by ScatterND instead of
GroupQueryAttention, cross-attention by MultiHeadAttention instead of broadcast MatMuls), fp32 and
int8, each in a folder of its own under `--out`, for `time --variants`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_gemm import cpu_name, load_average  # noqa: E402
from florence2_tools import steploop  # noqa: E402

_ORT_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16}
SUFFIX = {"fp32": "", "int8": "_int8"}


def _options(threads: int, profile: str | None = None) -> ort.SessionOptions:
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    if profile:
        so.enable_profiling = True
        so.profile_file_prefix = profile
    return so


class StockDecoder:
    """The merged decoder driven as core's `OrtStepModel` does: IoBinding, ORT-allocated cache tensors
    passed on from step to step, the step-0 cross-attention K/V kept, rows read from the table file."""

    def __init__(self, folder: Path, suffix: str, threads: int, profile: str | None = None):
        folder = Path(folder)
        self.session = ort.InferenceSession(str(folder / "onnx" / f"decoder_model_merged{suffix}.onnx"), _options(threads, profile), providers=["CPUExecutionProvider"])
        self.table = steploop.TokenRows.from_graph(folder / "onnx" / f"embed_tokens{suffix}.onnx")
        self.past = [i for i in self.session.get_inputs() if i.name.startswith("past_key_values.")]
        self.presents = [o.name for o in self.session.get_outputs() if o.name.startswith("present.")]
        self.vocab = int(self.session.get_outputs()[0].shape[2])

    def start(self, hidden: np.ndarray, rows: int) -> None:
        s = self.session
        self.hidden = np.ascontiguousarray(np.repeat(hidden, rows, axis=0))
        self.mask = np.ones(self.hidden.shape[:2], np.int64)
        self.embeds = np.zeros((rows, 1, self.hidden.shape[2]), np.float32)
        self.logits = np.zeros((rows, 1, self.vocab), np.float32)
        self.use_cache = np.zeros((1,), np.bool_)
        io = s.io_binding()
        for name, arr in (("encoder_hidden_states", self.hidden), ("encoder_attention_mask", self.mask), ("inputs_embeds", self.embeds), ("use_cache_branch", self.use_cache)):
            io.bind_input(name, "cpu", 0, arr.dtype, list(arr.shape), arr.ctypes.data)
        self.empty = {}
        for inp in self.past:
            e = np.zeros([rows, inp.shape[1], 0, inp.shape[3]], dtype=_ORT_TYPES[inp.type])
            self.empty[inp.name] = e
            io.bind_cpu_input(inp.name, e)
        io.bind_output("logits", "cpu", 0, np.float32, list(self.logits.shape), self.logits.ctypes.data)
        self.bound = list(self.presents)
        for name in self.bound:
            io.bind_output(name, "cpu")
        self.io = io
        self.t = 0

    def step(self, tokens) -> np.ndarray:
        self.table.lookup(tokens, self.embeds)
        self.session.run_with_iobinding(self.io)
        outs = self.io.get_outputs()[1:]
        io = self.io
        if self.t == 0:
            self.use_cache[0] = True
            self.keep = outs  # the step-0 cross-attention K/V stay bound from now on
            self.bound = [n for n in self.presents if ".decoder." in n]
        self.last = outs
        for name, value in zip(self.presents if self.t == 0 else self.bound, outs):
            if self.t == 0 or ".decoder." in name:
                io.bind_ortvalue_input(name.replace("present.", "past_key_values."), value)
        # the cache grows: new output tensors every step (ONNX Runtime allocates them)
        io.clear_binding_outputs()
        io.bind_output("logits", "cpu", 0, np.float32, list(self.logits.shape), self.logits.ctypes.data)
        for name in self.bound:
            io.bind_output(name, "cpu")
        self.t += 1
        return self.logits[:, 0]


def _decode(dec, hidden: np.ndarray, tokens: np.ndarray, optimised: bool, steps: list | None = None) -> float:
    """ms per token of a teacher-forced decode of `tokens` (batch of one), from the encoder output on:
    ours includes the cross-attention K/V graph and the buffers (`start`), the stock decoder computes
    the cross K/V in its first step. Each step's ms is appended to `steps` (the first with `start`)."""
    t0 = time.perf_counter()
    t1 = t0
    if optimised:
        dec.start(hidden, rows=1, capacity=len(tokens))
    else:
        dec.start(hidden, rows=1)
    for tok in tokens:
        dec.step([int(tok)])
        t2 = time.perf_counter()
        if steps is not None:
            steps.append((t2 - t1) * 1e3)
        t1 = t2
    return (time.perf_counter() - t0) * 1e3 / len(tokens)


def read_bandwidth(gb: float, threads: int, runs: int = 5) -> dict:
    """GB/s of a numpy sum over a `gb` GB float32 buffer (fastest of `runs`), 1 and `threads` threads.
    A buffer larger than the last-level cache measures DRAM; one of a step's size measures the rate a
    step's bytes can be read when they stay in cache between steps (this CPU's L3 is large)."""
    a = np.ones(int(gb * 1e9 / 4), np.float32)
    out = {}
    for n in sorted({1, threads}):
        parts = np.array_split(a, n)
        best = float("inf")
        for _ in range(runs):
            ts = [threading.Thread(target=np.sum, args=(p,)) for p in parts]
            t0 = time.perf_counter()
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            best = min(best, time.perf_counter() - t0)
        out[n] = a.nbytes / best / 1e9
    return out


def step_bytes(folder: Path, suffix: str, seq: int, tokens: int) -> dict:
    """Bytes a step of the optimised graph must read: its weights (the position table: one row),
    the cross-attention K/V, and the self-attention cache filled so far (averaged over `tokens`)."""
    m = onnx.load(str(folder / "onnx" / f"decoder_step{suffix}.onnx"), load_external_data=False)
    weights = 0
    for t in m.graph.initializer:
        n = int(np.prod(t.dims)) * onnx.helper.tensor_dtype_to_np_dtype(t.data_type).itemsize
        if t.name == "positions":
            n = n // t.dims[0]
        weights += n
    ins = {i.name: i for i in m.graph.input}
    L = sum(1 for n in ins if n.startswith("past.") and n.endswith(".key"))
    H, hd = ins["past.0.key"].type.tensor_type.shape.dim[1].dim_value, ins["past.0.key"].type.tensor_type.shape.dim[3].dim_value
    cross = L * 2 * H * seq * hd * 4
    cache = L * 2 * H * hd * 4 * (tokens + 1) / 2
    return {"weights": weights, "cross_kv": cross, "self_cache_avg": cache, "total": weights + cross + cache}


def cmd_time(args) -> None:
    print(f"CPU: {cpu_name()}; load average at start {load_average()}; onnxruntime {ort.__version__}; {args.threads} threads")
    rng = np.random.default_rng(0)
    d_model = json.loads((Path(args.stock) / "config.json").read_text())["text_config"]["d_model"]
    seq = args.seq
    hidden = rng.standard_normal((1, seq, d_model)).astype(np.float32)
    contenders = []
    for precision in args.precision:
        sfx = SUFFIX[precision]
        contenders.append((f"stock {precision}", precision, StockDecoder(Path(args.stock), sfx, args.threads), False))
        contenders.append((f"optimised {precision}", precision, steploop.OptimisedDecoder(Path(args.opt), sfx, args.threads), True))
        for v in args.variants:
            if (Path(v) / "onnx" / f"decoder_step{sfx}.onnx").is_file():
                contenders.append((f"{Path(v).name} {precision}", precision, steploop.OptimisedDecoder(Path(v), sfx, args.threads), True))
    vocab = contenders[0][2].vocab
    tokens = rng.integers(3, vocab, size=args.tokens)
    for _, _, dec, opt in contenders:  # warm-up: arenas, prepacking
        _decode(dec, hidden, tokens[:8], opt)
    times = {name: [] for name, *_ in contenders}
    per_step = {name: [] for name, *_ in contenders}  # [round][step] ms
    bw_runs = []
    for r in range(args.rounds):
        for name, _, dec, opt in contenders:
            steps: list = []
            times[name].append(_decode(dec, hidden, tokens, opt, steps))
            per_step[name].append(steps)
        if r == args.rounds // 2:
            bw_runs.append(read_bandwidth(args.bandwidth_gb, args.threads))
            ws = {p: step_bytes(Path(args.opt), SUFFIX[p], seq, args.tokens)["total"] for p in args.precision}
            bw_ws = {p: read_bandwidth(b / 1e9, args.threads)[args.threads] for p, b in ws.items()}
    bw = bw_runs[0]
    print(f"load average at end {load_average()}")
    print(f"\nmemory read bandwidth (numpy sum over {args.bandwidth_gb:g} GB, fastest of 5): " + ", ".join(f"{n} thread{'s' if n > 1 else ''} {v:.1f} GB/s" for n, v in bw.items()))
    print("read rate over a buffer of one step's bytes (cache-resident between sums), {} threads: ".format(args.threads) + ", ".join(f"{p} {ws[p] / 1e6:.0f} MB {v:.1f} GB/s" for p, v in bw_ws.items()))
    print(f"\ndecode, {args.tokens} teacher-forced tokens, encoder sequence {seq}, {args.rounds} alternating rounds (ms/token: median, fastest)\n")
    # least-disturbed estimate: each step position's fastest time over the rounds (the machine is
    # shared: a burst of other work lands on some steps of some rounds, not on all rounds of a step)
    floor = {name: float(np.mean(np.min(np.array(v), axis=0))) for name, v in per_step.items()}
    print("| decoder | ms/token, median | fastest round | ours / stock, median of per-round ratios | per-step floor ms/token | floor ratio | bytes read per step "
          f"| bound at {bw[args.threads]:.1f} GB/s (DRAM) | floor / bound | bound at the cache-resident rate | floor / that bound |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, precision, dec, opt in contenders:
        med, fast = statistics.median(times[name]), min(times[name])
        ratio = ""
        if name != f"stock {precision}":
            rs = [a / b for a, b in zip(times[name], times[f"stock {precision}"])]
            ratio = f"{statistics.median(rs):.2f}x"
        b = step_bytes(Path(args.opt), SUFFIX[precision], seq, args.tokens)
        bound_ms = b["total"] / (bw[args.threads] * 1e9) * 1e3
        ws_ms = b["total"] / (bw_ws[precision] * 1e9) * 1e3
        fl = floor[name]
        fl_ratio = "" if name == f"stock {precision}" else f"{fl / floor[f'stock {precision}']:.2f}x"
        print(f"| {name} | {med:.2f} | {fast:.2f} | {ratio} | {fl:.2f} | {fl_ratio} | {b['total'] / 1e6:.1f} MB (weights {b['weights'] / 1e6:.1f}, cross K/V {b['cross_kv'] / 1e6:.1f}, cache {b['self_cache_avg'] / 1e6:.1f}) | {bound_ms:.2f} ms | {fl / bound_ms:.2f}x | {ws_ms:.2f} ms | {fl / ws_ms:.2f}x |")
    print("\n(the bound is the same for stock and ours of a precision: the bytes the model must read per token; the stock graph reads the same weights plus its If/cache plumbing)")
    if args.json:
        print(json.dumps({"times": times, "bandwidth": bw}))


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def memory_child(kind: str, folder: str, precision: str, threads: int, tokens: int, seq: int) -> dict:
    base = _status_kb("VmRSS")
    sfx = SUFFIX[precision]
    dec = StockDecoder(Path(folder), sfx, threads) if kind == "stock" else steploop.OptimisedDecoder(Path(folder), sfx, threads)
    loaded = _status_kb("VmRSS")
    rng = np.random.default_rng(0)
    hidden = rng.standard_normal((1, seq, dec.table.dim)).astype(np.float32)
    toks = rng.integers(3, dec.vocab, size=tokens)
    _decode(dec, hidden, toks, kind != "stock")
    after = _status_kb("VmRSS")
    return {"decoder": f"{kind} {precision}", "loaded_mb": (loaded - base) / 1024, "after_decode_mb": (after - base) / 1024, "peak_mb": (_status_kb("VmHWM") - base) / 1024}


def cmd_memory(args) -> None:
    print(f"CPU: {cpu_name()}; load average {load_average()}; {args.tokens} tokens, encoder sequence {args.seq}")
    print("\n| decoder | RSS after loading MB | RSS after decoding MB | peak MB |\n|---|---|---|---|")
    for precision in args.precision:
        for kind, folder in (("stock", args.stock), ("optimised", args.opt)):
            r = subprocess.run([sys.executable, __file__, "_memory_child", kind, str(folder), precision, str(args.threads), str(args.tokens), str(args.seq)], capture_output=True, text=True, check=True)
            row = json.loads(r.stdout.strip().splitlines()[-1])
            print(f"| {row['decoder']} | {row['loaded_mb']:.0f} | {row['after_decode_mb']:.0f} | {row['peak_mb']:.0f} |")
    print("\n(RSS of the decoder side over the process with numpy and onnxruntime imported; embedding rows are read from the file in both)")


def cmd_profile(args) -> None:
    rng = np.random.default_rng(0)
    d_model = json.loads((Path(args.stock) / "config.json").read_text())["text_config"]["d_model"]
    hidden = rng.standard_normal((1, args.seq, d_model)).astype(np.float32)
    tmp = Path(args.tmp)
    tmp.mkdir(parents=True, exist_ok=True)
    rows = {}
    for kind in ("stock", "optimised"):
        for precision in args.precision:
            sfx = SUFFIX[precision]
            prefix = str(tmp / f"{kind}_{precision}")
            if kind == "stock":
                dec = StockDecoder(Path(args.stock), sfx, args.threads, profile=prefix)
                session = dec.session
            else:
                dec = steploop.OptimisedDecoder(Path(args.opt), sfx, args.threads)
                dec.step_session = ort.InferenceSession(str(Path(args.opt) / "onnx" / f"decoder_step{sfx}.onnx"), _options(args.threads, prefix), providers=["CPUExecutionProvider"])
                session = dec.step_session
            toks = rng.integers(3, 1000, size=args.tokens)
            _decode(dec, hidden, toks, kind == "optimised")
            path = session.end_profiling()
            events = json.loads(Path(path).read_text())
            per_op: dict[str, float] = {}
            for e in events:
                if e.get("cat") == "Node" and e.get("name", "").endswith("_kernel_time"):
                    op = e.get("args", {}).get("op_name", "?")
                    per_op[op] = per_op.get(op, 0.0) + e["dur"] / 1e3
            rows[f"{kind} {precision}"] = per_op
    for name, per_op in rows.items():
        total = sum(per_op.values())
        print(f"\n{name}: kernel time {total / args.tokens:.2f} ms/token over {args.tokens} tokens")
        for op, ms in sorted(per_op.items(), key=lambda kv: -kv[1])[:12]:
            print(f"  {op:28s} {ms / args.tokens:7.3f} ms/token  {100 * ms / total:5.1f} %")


def cmd_agreement(args) -> None:
    """Teacher-forced top-1 agreement and logits cosine with the stock fp32 decoder: stock int8 next to
    ours (int8 and fp32), on the fixture images through the stock fp32 vision encoder and encoder."""
    from tokenizers import Tokenizer

    from florence2_tools import preprocess
    from florence2_tools.tasks import construct_prompt

    images = sorted((Path(__file__).resolve().parents[1] / "tests/fixtures/images").glob("*.png"))[: args.count]
    enc = steploop.Encoder(Path(args.stock), threads=args.threads)
    tok = Tokenizer.from_file(str(Path(args.stock) / "tokenizer.json"))
    pre = preprocess.read_preprocessor(Path(args.stock))
    ref = StockDecoder(Path(args.stock), "", args.threads)
    cands = {
        "stock int8": (StockDecoder(Path(args.stock), "_int8", args.threads), False),
        "optimised int8": (steploop.OptimisedDecoder(Path(args.opt), "_int8", args.threads), True),
        "optimised fp32": (steploop.OptimisedDecoder(Path(args.opt), "", args.threads), True),
    }
    stats = {k: {"agree": 0, "n": 0, "cos": []} for k in cands}
    for img in images:
        pv = preprocess.pixel_values(preprocess.load_rgb(img), pre)
        for task in args.tasks:
            ids = np.array([tok.encode(construct_prompt(task)).ids], np.int64)
            hidden = enc.encode(pv, ids)
            ref.start(hidden, rows=1)
            seq, ref_logits = [2], []
            for _ in range(args.tokens):
                lg = ref.step([seq[-1]])[0].copy()
                ref_logits.append(lg)
                seq.append(int(np.argmax(lg)))
            for name, (dec, opt) in cands.items():
                dec.start(hidden, rows=1, capacity=args.tokens) if opt else dec.start(hidden, rows=1)
                for t in range(args.tokens):
                    lg = dec.step([seq[t]])[0]
                    st = stats[name]
                    st["agree"] += int(np.argmax(lg) == seq[t + 1])
                    st["n"] += 1
                    a, b = ref_logits[t].astype(np.float64), lg.astype(np.float64)
                    st["cos"].append(float(a @ b / np.linalg.norm(a) / np.linalg.norm(b)))
    print(f"{len(images)} fixture images x {len(args.tasks)} tasks x {args.tokens} teacher-forced tokens (ids: stock fp32 greedy, no processors)\n")
    print("| decoder | top-1 agreement with stock fp32 | mean logits cosine | min cosine |\n|---|---|---|---|")
    for name, st in stats.items():
        print(f"| {name} | {100 * st['agree'] / st['n']:.1f} % ({st['agree']}/{st['n']}) | {np.mean(st['cos']):.5f} | {min(st['cos']):.5f} |")


def cmd_variants(args) -> None:
    from florence2_tools.optimize.decoder_graph import DecoderOptions
    from florence2_tools.optimize.layouts import Context, DecoderLayout

    model = Path(args.stock).resolve()
    config = json.loads((model / "config.json").read_text())
    ctx = Context(model=model, config=config, preprocessor={}, threads=args.threads)
    variants = {
        "scatter": dict(self_attention="scatter"),
        "cross-matmul-kt": dict(cross_attention="matmul"),
        "cross-mha": dict(cross_attention="mha"),
        "nbits8": dict(int8_kernel="nbits"),
    }
    for name in args.names or list(variants):
        kw = variants[name]
        layout = DecoderLayout({"fp32": DecoderOptions(quant="none", **kw), "int8": DecoderOptions(quant="dynamic", **kw)})
        layout.prepare(ctx)
        out = Path(args.out) / name
        (out / "onnx").mkdir(parents=True, exist_ok=True)
        for precision in args.precision:
            layout.write(ctx, precision, out)
            row = layout.check(ctx, precision, out)
            print(f"{name} {precision}: max |Δ| {row['max_abs_diff']:.3g}, top-1 agreement {row['probes'][0]['top1_agreement']:.3f}", flush=True)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "_memory_child":
        _, kind, folder, precision, threads, tokens, seq = argv
        print(json.dumps(memory_child(kind, folder, precision, int(threads), int(tokens), int(seq))))
        return 0
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("time", "memory", "profile", "variants", "agreement"):
        p = sub.add_parser(name)
        p.add_argument("--stock", type=Path, required=True, help="the stock folder (decoder_model_merged*.onnx)")
        p.add_argument("--threads", type=int, default=2)
        p.add_argument("--seq", type=int, default=584, help="encoder sequence length (577 image tokens of a 768² image + a 7-token prompt)")
        p.add_argument("--tokens", type=int, default=64)
        p.add_argument("--precision", nargs="+", default=["fp32", "int8"])
        if name not in ("variants",):
            p.add_argument("--opt", type=Path, required=True, help="the folder written by optimize.py")
    t = sub.choices["time"]
    t.add_argument("--rounds", type=int, default=5)
    t.add_argument("--variants", nargs="*", default=[])
    t.add_argument("--bandwidth-gb", type=float, default=1.0)
    t.add_argument("--json", action="store_true")
    sub.choices["profile"].add_argument("--tmp", default="/tmp/bench_decoder_profile")
    sub.choices["agreement"].add_argument("--count", type=int, default=7)
    sub.choices["agreement"].add_argument("--tasks", nargs="+", default=["<CAPTION>", "<OD>"])
    sub.choices["variants"].add_argument("--out", type=Path, required=True)
    sub.choices["variants"].add_argument("--names", nargs="*", default=[], help="scatter, cross-matmul-kt, cross-mha, nbits8 (default: all)")
    args = ap.parse_args(argv)
    {"time": cmd_time, "memory": cmd_memory, "profile": cmd_profile, "variants": cmd_variants, "agreement": cmd_agreement}[args.cmd](args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
