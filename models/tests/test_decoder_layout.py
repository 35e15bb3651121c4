"""The optimised decoder layout (models/optimize.py, docs/decoder-layout.md) on the fixtures, torch-free.

- token-exact with transformers: all 105 greedy and 28 beam sequences of tests/fixtures/tiny-random and
  the 12 + 12 of tests/fixtures/tiny-positions (generation reaching exactly the last of 64 positions),
  through an onnxruntime loop that binds every buffer once (florence2_tools/steploop.py);
- the cache is written in place: the bound buffers are the ones ONNX Runtime writes, each step writes
  one position and leaves the others alone, the graph refuses a position past the buffer;
- beam reordering in place against numpy's gather for every row mapping of three beams;
- one token table: embed_tokens and the step graph's LM head read the same bytes of one file, and the
  rows read from the file equal ONNX Runtime running embed_tokens;
- the embedding-row reader on the committed lookup fixtures (tests/fixtures/embedding), against ONNX
  Runtime, and the graphs it must refuse;
- input variations: transformers' `Gather → Mul(1.0)` embedding, an LM head not tied to the table,
  a config that does not fit, determinism.
"""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import helper, numpy_helper

import optimize
from florence2_tools import preprocess, steploop
from florence2_tools.optimize.errors import OptimizeError
from florence2_tools.optimize.opset import allowed_ops, op_set

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "tests" / "fixtures"
EMB = FIX / "embedding"


def _reference(name: str) -> dict:
    return json.loads((FIX / "reference" / f"{name}.json").read_text())


def _optimise(tmp_path_factory, name: str, precisions=("fp32", "int8")) -> Path:
    out = tmp_path_factory.mktemp("dec") / f"{name}-optimized"
    optimize.optimize(FIX / name, out, list(precisions), [], threads=1, force=False)
    return out


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return _optimise(tmp_path_factory, "tiny-random")


@pytest.fixture(scope="module")
def positions(tmp_path_factory) -> Path:
    return _optimise(tmp_path_factory, "tiny-positions", ("fp32",))


class Pipeline:
    """The stock front half of the fixture (vision, prompt embedding, encoder) and our decoder."""

    def __init__(self, stock: Path, optimised: Path, reference: dict, suffix: str = ""):
        self.encoder = steploop.Encoder(stock, threads=1)
        self.decoder = steploop.OptimisedDecoder(optimised, suffix, threads=1)
        pre = preprocess.read_preprocessor(stock)
        self.pixels = {img["file"]: preprocess.pixel_values(preprocess.load_rgb(FIX / "images" / img["file"]), pre) for img in reference["images"]}
        self.generation = steploop.Generation.from_json(reference["generation"])
        self._hidden = {}

    def hidden(self, case: dict) -> np.ndarray:
        key = (case["image"], tuple(case["input_ids"]))
        if key not in self._hidden:
            self._hidden[key] = self.encoder.encode(self.pixels[case["image"]], np.array([case["input_ids"]], np.int64))
        return self._hidden[key]


TINY = _reference("tiny-random")
POSITIONS = _reference("tiny-positions")


@pytest.fixture(scope="module")
def tiny_pipeline(tiny) -> Pipeline:
    return Pipeline(FIX / "tiny-random", tiny, TINY)


@pytest.fixture(scope="module")
def positions_pipeline(positions) -> Pipeline:
    return Pipeline(FIX / "tiny-positions", positions, POSITIONS)


def test_reference_counts():
    assert len(TINY["cases"]) == 105 and sum("beam" in c for c in TINY["cases"]) == 28
    assert len(POSITIONS["cases"]) == 12 and all("beam" in c for c in POSITIONS["cases"])


@pytest.mark.parametrize("case", TINY["cases"], ids=lambda c: f"{c['image']}-{c['task']}")
def test_greedy_token_exact_with_transformers(case, tiny_pipeline):
    p = tiny_pipeline
    got = steploop.greedy(p.decoder, p.hidden(case), case["max_new_tokens"], p.generation)
    assert got.ids == case["greedy"]["ids"]


@pytest.mark.parametrize("case", [c for c in TINY["cases"] if "beam" in c], ids=lambda c: f"{c['image']}-{c['task']}")
def test_beam_token_exact_with_transformers(case, tiny_pipeline):
    p = tiny_pipeline
    got = steploop.beam_search(p.decoder, p.hidden(case), case["max_new_tokens"], case["beam"]["num_beams"], p.generation)
    assert got.ids == case["beam"]["ids"]


@pytest.mark.parametrize("case", POSITIONS["cases"], ids=lambda c: f"{c['image']}-{c['task']}")
def test_generation_reaches_exactly_the_last_position(case, positions_pipeline):
    p = positions_pipeline
    assert p.decoder.max_positions == 64 == case["max_new_tokens"]
    greedy = steploop.greedy(p.decoder, p.hidden(case), case["max_new_tokens"], p.generation)
    assert greedy.ids == case["greedy"]["ids"]
    if case["greedy"]["finish"] == "length":
        assert len(greedy.ids) == 65 and p.decoder.filled == 64 == p.decoder.capacity  # position 63 was the last step
    beam = steploop.beam_search(p.decoder, p.hidden(case), case["max_new_tokens"], case["beam"]["num_beams"], p.generation)
    assert beam.ids == case["beam"]["ids"]
    # one past the limit: refused before any model runs, as transformers fails on it
    assert case["beyond_limit"]["max_new_tokens"] == 65
    with pytest.raises(steploop.LayoutError, match="outside 1..64"):
        p.decoder.start(p.hidden(case), rows=1, capacity=65)


def test_step_graph_refuses_a_position_past_its_buffer(positions_pipeline):
    p = positions_pipeline
    case = POSITIONS["cases"][0]
    p.decoder.start(p.hidden(case), rows=1, capacity=4)
    for tok in (2, 0, 100, 200):
        p.decoder.step([tok])
    with pytest.raises(steploop.LayoutError, match="holds 4 positions"):
        p.decoder.step([300])
    # and the graph itself, asked to write position 4 of a 4-position buffer, fails instead of writing
    p.decoder.past_len[0] = 4
    with pytest.raises(Exception):
        p.decoder.step_session.run_with_iobinding(p.decoder.io)


def test_cache_is_written_in_place(tiny_pipeline):
    p = tiny_pipeline
    dec = p.decoder
    case = TINY["cases"][0]
    dec.start(p.hidden(case), rows=2, capacity=8)
    pointers = [b.ctypes.data for kv in dec.cache for b in kv]
    snapshots = []
    for t, tok in enumerate((2, 0, 500, 77, 9)):
        logits = dec.step([tok, tok + 1])
        assert logits.ctypes.data == dec.logits.ctypes.data
        outs = dict(zip(dec.bound_outputs, dec.io.get_outputs()))
        assert outs["logits"].data_ptr() == dec.logits.ctypes.data
        for i, (k, v) in enumerate(dec.cache):
            assert outs[f"present.{i}.key"].data_ptr() == k.ctypes.data
            assert outs[f"present.{i}.value"].data_ptr() == v.ctypes.data
            assert np.abs(k[:, :, t]).max() > 0 and np.abs(v[:, :, t]).max() > 0  # position t written
            assert not k[:, :, t + 1:].any() and not v[:, :, t + 1:].any()  # nothing past it
        for earlier, snap in enumerate(snapshots):
            assert all(np.array_equal(k[:, :, earlier], s) for (k, _), s in zip(dec.cache, snap))  # never rewritten
        snapshots.append([k[:, :, t].copy() for k, _ in dec.cache])
    assert [b.ctypes.data for kv in dec.cache for b in kv] == pointers


def test_in_place_reorder_equals_a_gather_for_every_mapping():
    rng = np.random.default_rng(3)
    H, C, hd, n = 2, 6, 3, 4
    scratch = np.zeros((H, C, hd), np.float32)
    for order in itertools.product(range(3), repeat=3):
        buf = rng.standard_normal((3, H, C, hd)).astype(np.float32)
        want = buf.copy()
        want[:, :, :n] = buf[list(order), :, :n]
        pending = [b for b, s in enumerate(order) if s != b]
        steploop._gather_rows_in_place(buf, list(order), pending, n, scratch)
        assert np.array_equal(buf, want), order


def test_reorder_matches_a_cache_built_from_the_reordered_tokens(tiny_pipeline):
    """Rows swapped in place continue exactly as a decoder that saw the swapped history."""
    p = tiny_pipeline
    dec = p.decoder
    h = p.hidden(TINY["cases"][3])
    a, b = [2, 0, 300, 301, 302], [2, 0, 400, 401, 402]
    dec.start(h, rows=2, capacity=8)
    for t in range(4):
        dec.step([a[t], b[t]])
    got = dec.step([a[4], b[4]], reorder=[1, 1]).copy()  # both rows continue row 1 (b)
    dec.start(h, rows=2, capacity=8)
    for t in range(4):
        dec.step([b[t], b[t]])
    want = dec.step([a[4], b[4]])
    np.testing.assert_array_equal(got, want)


def _external(init: onnx.TensorProto) -> dict:
    return {e.key: e.value for e in init.external_data}


@pytest.mark.parametrize("suffix", ["", "_int8"])
def test_one_token_table_for_the_embedding_and_the_lm_head(tiny, suffix):
    step = onnx.load(str(tiny / f"onnx/decoder_step{suffix}.onnx"), load_external_data=False)
    embed = onnx.load(str(tiny / f"onnx/embed_tokens{suffix}.onnx"), load_external_data=False)
    vocab, d = 51289, 32
    big = lambda m: {i.name: i for i in m.graph.initializer if int(np.prod(i.dims)) >= vocab * d}  # noqa: E731
    s_big, e_big = big(step), big(embed)
    assert len(s_big) == 1 and len(e_big) == 1, "the [vocab, d] table is stored once per graph"
    (st,), (et,) = s_big.values(), e_big.values()
    assert st.data_location == et.data_location == onnx.TensorProto.EXTERNAL
    assert _external(st) == _external(et)
    assert list(st.dims) == list(et.dims) and int(np.prod(st.dims)) == vocab * d and st.dims[0] == vocab  # row t is token t
    table_file = tiny / "onnx" / _external(st)["location"]
    assert table_file.name == f"token_table{suffix}.onnx_data"
    size = table_file.stat().st_size
    assert size < 1.1 * vocab * d * (4 if not suffix else 1) + vocab * 4 + 65536
    lm = [n for n in step.graph.node if st.name in n.input]
    attrs = {a.name: a.i for a in lm[0].attribute}
    if suffix:  # 8-bit blocks [vocab, d / block, block]: MatMulNBits' own layout, rows contiguous
        assert len(lm) == 1 and lm[0].op_type == "MatMulNBits" and attrs["bits"] == 8 and attrs["N"] == vocab and attrs["K"] == d
    else:
        assert len(lm) == 1 and lm[0].op_type == "Gemm" and attrs["transB"] == 1
    # the rows core reads from the file equal ONNX Runtime running the graph
    rows = steploop.TokenRows.from_graph(tiny / f"onnx/embed_tokens{suffix}.onnx")
    ids = np.array([[0, 1, 2, 3, 50268, 51268, 51288, 4242]], np.int64)
    got = np.zeros((ids.shape[1], d), np.float32)
    rows.lookup(ids[0], got)
    want = ort.InferenceSession(str(tiny / f"onnx/embed_tokens{suffix}.onnx"), providers=["CPUExecutionProvider"]).run(None, {"input_ids": ids})[0][0]
    assert np.array_equal(got, want)
    # and equal the stock embedding (fp32: bit for bit; int8: per-row int8 of the same table)
    stock = ort.InferenceSession(str(FIX / "tiny-random/onnx/embed_tokens.onnx"), providers=["CPUExecutionProvider"]).run(None, {"input_ids": ids})[0][0]
    if suffix:
        assert np.abs(got - stock).max() <= np.abs(stock).max(axis=1, keepdims=True).max() / 254 + 1e-7
    else:
        assert np.array_equal(got, stock)


def test_graphs_use_only_the_android_operators_and_no_if(tiny):
    for name in ("decoder_step", "decoder_cross_kv", "embed_tokens", "decoder_step_int8", "decoder_cross_kv_int8", "embed_tokens_int8"):
        m = onnx.load(str(tiny / f"onnx/{name}.onnx"), load_external_data=False)
        ops = op_set(m)
        assert ops <= allowed_ops(), (name, ops - allowed_ops())
        assert ("", "If") not in ops
    step = {op for _, op in op_set(onnx.load(str(tiny / "onnx/decoder_step.onnx"), load_external_data=False))}
    assert "GroupQueryAttention" in step and "Erf" not in step


def test_report_names_the_layout(tiny):
    report = json.loads((tiny / "optimize_report.json").read_text())
    for sfx in ("", "_int8"):
        entry = report["graphs"][f"onnx/decoder_step{sfx}.onnx"]
        assert entry["token_table"]["shared_with_lm_head"] is True
        assert entry["max_positions"] == 1024
        assert entry["probes"][0]["top1_agreement"] >= (1.0 if not sfx else 0.9)
        for f in (f"decoder_cross_kv{sfx}.onnx", f"embed_tokens{sfx}.onnx", f"token_table{sfx}.onnx_data"):
            assert report["graphs"][f"onnx/{f}"]["source"] == "optimised decoder layout"
    assert report["graphs"]["onnx/decoder_model_merged.onnx"]["source"].startswith("copied from the input folder")
    assert report["graphs"]["onnx/decoder_step.onnx"]["max_abs_diff"] <= 1e-4


def test_manifest_presets_carry_the_layout_and_its_data_files(tiny):
    import manifest

    m = manifest.build_manifest(tiny, "https://models.example.com/tiny-opt/")
    presets = {p["name"]: p["files"] for p in m["presets"]}
    for name, sfx in (("mobile-int8", "_int8"), ("fp32", "")):
        files = presets[name]
        for f in (f"decoder_step{sfx}.onnx", f"decoder_cross_kv{sfx}.onnx", f"token_table{sfx}.onnx_data", f"embed_tokens{sfx}.onnx"):
            assert f"onnx/{f}" in files, (name, f)
        # every external-data file a listed graph reads is listed too
        for g in (f for f in files if f.endswith(".onnx")):
            for init in onnx.load(str(tiny / g), load_external_data=False).graph.initializer:
                if init.data_location == onnx.TensorProto.EXTERNAL:
                    assert f"onnx/{_external(init)['location']}" in files, (name, g)
    assert {f["path"] for f in m["files"]} >= set(presets["mobile-int8"]) | set(presets["fp32"])


def test_int8_layout_agrees_with_fp32(tiny, tiny_pipeline):
    p = tiny_pipeline
    int8 = steploop.OptimisedDecoder(tiny, "_int8", threads=1)
    agree = total = 0
    for case in TINY["cases"][:15]:
        ids = case["greedy"]["ids"]
        int8.start(p.hidden(case), rows=1, capacity=len(ids) - 1)
        for t in range(len(ids) - 1):
            agree += int(np.argmax(int8.step([ids[t]])[0]) == ids[t + 1])
            total += 1
    assert agree / total > 0.8, agree / total


def test_deterministic(tiny, tmp_path):
    again = tmp_path / "again"
    optimize.optimize(FIX / "tiny-random", again, ["fp32", "int8"], [], threads=1, force=False)
    for sfx in ("", "_int8"):
        for name in (f"decoder_step{sfx}.onnx", f"decoder_cross_kv{sfx}.onnx", f"embed_tokens{sfx}.onnx", f"token_table{sfx}.onnx_data"):
            assert (again / "onnx" / name).read_bytes() == (tiny / "onnx" / name).read_bytes(), name


def _copy(tmp_path: Path, name: str = "tiny-random") -> Path:
    dst = tmp_path / "in"
    shutil.copytree(FIX / name, dst)
    return dst


def test_transformers_embedding_with_its_scale_is_read_as_a_row_lookup(tmp_path):
    """transformers' own export: `Gather → Mul(Constant 1.0)`; the optimised folder stores the table
    once, with the plain lookup core reads from the file, and stays token-exact."""
    src = _copy(tmp_path)
    m = onnx.load(str(src / "onnx/embed_tokens.onnx"))
    gather = m.graph.node[0]
    gather.output[0] = "rows"
    m.graph.node.extend([
        helper.make_node("Constant", [], ["scale"], value=helper.make_tensor("s", onnx.TensorProto.FLOAT, [], [1.0])),
        helper.make_node("Mul", ["rows", "scale"], ["inputs_embeds"]),
    ])
    onnx.save(m, str(src / "onnx/embed_tokens.onnx"))
    out = tmp_path / "out"
    optimize.optimize(src, out, ["fp32"], [], threads=1, force=False)
    embed = onnx.load(str(out / "onnx/embed_tokens.onnx"), load_external_data=False)
    assert [n.op_type for n in embed.graph.node] == ["Gather"]
    report = json.loads((out / "optimize_report.json").read_text())
    assert report["graphs"]["onnx/decoder_step.onnx"]["token_table"]["embedding"] == "Gather → Mul(1)"
    p = Pipeline(src, out, TINY)
    for case in TINY["cases"][:6]:
        assert steploop.greedy(p.decoder, p.hidden(case), case["max_new_tokens"], p.generation).ids == case["greedy"]["ids"]


def test_lm_head_not_tied_to_the_table_keeps_its_own_weights(tmp_path):
    src = _copy(tmp_path)
    m = onnx.load(str(src / "onnx/decoder_model_merged.onnx"))
    lm = next(i for i in m.graph.initializer if list(i.dims) == [32, 51289])
    w = numpy_helper.to_array(lm).copy()
    w[:, 7] += 0.5
    lm.CopyFrom(numpy_helper.from_array(w, lm.name))
    onnx.save(m, str(src / "onnx/decoder_model_merged.onnx"))
    out = tmp_path / "out"
    report = optimize.optimize(src, out, ["fp32", "int8"], [], threads=1, force=False)
    entry = report["graphs"]["onnx/decoder_step.onnx"]
    assert entry["token_table"]["shared_with_lm_head"] is False and entry["max_abs_diff"] <= 1e-4
    for sfx in ("", "_int8"):
        step = onnx.load(str(out / f"onnx/decoder_step{sfx}.onnx"), load_external_data=False)
        files = {_external(i)["location"] for i in step.graph.initializer if i.data_location == onnx.TensorProto.EXTERNAL}
        assert files == {f"decoder_step{sfx}.onnx_data"}  # its own LM head, not the embedding table


def test_a_decoder_that_does_not_fit_the_config_is_refused(tmp_path):
    src = _copy(tmp_path)
    config = json.loads((src / "config.json").read_text())
    config["text_config"]["decoder_layers"] = 2
    (src / "config.json").write_text(json.dumps(config))
    with pytest.raises(OptimizeError, match=r"more than decoder_layers=2 layers"):
        optimize.optimize(src, tmp_path / "out", ["fp32"], [], threads=1, force=False)
    assert not (tmp_path / "out").exists()


def test_an_embedding_that_is_not_a_row_lookup_is_refused(tmp_path):
    src = _copy(tmp_path)
    shutil.copy(EMB / "offset.onnx", src / "onnx/embed_tokens.onnx")
    with pytest.raises(OptimizeError, match=r"embed_tokens.*Add after the Gather; not a row lookup"):
        optimize.optimize(src, tmp_path / "out", ["fp32"], [], threads=1, force=False)


# ---- the embedding-row reader on the committed fixtures ---------------------------------------------
ACCEPTED = ["f32.onnx", "f32_external.onnx", "per_row_int8.onnx", "per_row_uint8.onnx", "scaled.onnx", "scaled_one_constant.onnx",
            "scaled_first_operand.onnx", "per_row_int8_scaled.onnx", "identity_cast_div.onnx", "two_scales.onnx", "blocks_uint8.onnx",
            "blocks_uint8_external.onnx"]
REFUSED = {"offset.onnx": "Add after the lookup", "per_column_scale.onnx": "non-scalar", "axis1.onnx": "axis other than 0"}


@pytest.mark.parametrize("name", ACCEPTED)
def test_row_reader_equals_onnxruntime_on_the_lookup_fixtures(name):
    rows = steploop.TokenRows.from_graph(EMB / name)
    ids = np.arange(rows.rows, dtype=np.int64)[None]
    want = ort.InferenceSession(str(EMB / name), providers=["CPUExecutionProvider"]).run(None, {"input_ids": ids})[0][0]
    got = np.zeros_like(want)
    rows.lookup(ids[0], got)
    assert np.array_equal(got, want), np.abs(got - want).max()
    assert np.abs(want).max() > 0.1


def test_scaled_fixtures_really_scale():
    plain = steploop.TokenRows.from_graph(EMB / "f32.onnx")
    for name, factor in (("scaled.onnx", 2.0), ("scaled_first_operand.onnx", 0.5), ("identity_cast_div.onnx", 1 / 3)):
        rows = steploop.TokenRows.from_graph(EMB / name)
        a, b = np.zeros((1, plain.dim), np.float32), np.zeros((1, plain.dim), np.float32)
        plain.lookup([5], a)
        rows.lookup([5], b)
        np.testing.assert_allclose(b, a * factor, rtol=1e-6)


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_row_reader_refuses_graphs_that_are_not_a_scaled_lookup(name):
    with pytest.raises(steploop.LayoutError, match=REFUSED[name]):
        steploop.TokenRows.from_graph(EMB / name)
