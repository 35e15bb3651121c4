"""The committed fixtures agree with themselves and with the public contract (light deps only: no torch).

- every greedy reference sequence (made by transformers) is reproduced token for token by a plain
  onnxruntime loop over the committed ONNX files;
- numpy/Pillow preprocessing reproduces the recorded pixel_values hashes and resized images;
- the tokenizer reproduces the recorded prompt ids;
- every graph has the tensor names, element types and ranks of the onnx-community layout, and the
  configs agree with the graphs.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from PIL import Image
from tokenizers import Tokenizer

from florence2_tools import ortloop, preprocess, tasks

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "tests" / "fixtures"
MODEL = FIX / "tiny-random"
REF = json.loads((FIX / "reference" / "tiny-random.json").read_text())
CONFIG = json.loads((MODEL / "config.json").read_text())


@pytest.fixture(scope="module")
def runner():
    return ortloop.OrtFlorence2(MODEL, threads=1)


@pytest.fixture(scope="module")
def pixel_values():
    pre = preprocess.read_preprocessor(MODEL)
    return {img["file"]: preprocess.pixel_values(preprocess.load_rgb(FIX / "images" / img["file"]), pre) for img in REF["images"]}


def test_reference_covers_the_fixture_contract():
    assert len(REF["images"]) >= 6
    assert len({c["task"] for c in REF["cases"]}) >= 4
    assert any("beam" in c for c in REF["cases"])
    modes = {img["mode"] for img in REF["images"]}
    assert {"RGB", "L", "RGBA"} <= modes
    assert any(img["width"] % 2 and img["height"] % 2 for img in REF["images"]), "an odd-sized image"
    size = json.loads((MODEL / "preprocessor_config.json").read_text())["size"]
    assert size["height"] != 768, "the fixture must not share the real image size"
    text = CONFIG["text_config"]
    assert text["encoder_layers"] != text["decoder_layers"]


@pytest.mark.parametrize("case", REF["cases"], ids=lambda c: f"{c['image']}-{c['task']}")
def test_onnxruntime_greedy_matches_transformers(case, runner, pixel_values):
    got = runner.greedy(pixel_values[case["image"]], np.array([case["input_ids"]], dtype=np.int64), case["max_new_tokens"])
    assert got.ids == case["greedy"]["ids"]


@pytest.mark.parametrize("image", REF["images"], ids=lambda i: i["file"])
def test_preprocessing_reproduces_reference_pixels(image, pixel_values):
    pv = pixel_values[image["file"]]
    assert list(pv.shape) == image["pixel_values"]["shape"]
    assert hashlib.sha256(pv.tobytes()).hexdigest() == image["pixel_values"]["sha256_f32"]
    if "npy" in image["pixel_values"]:
        assert np.array_equal(np.load(FIX / "reference" / image["pixel_values"]["npy"]), pv)
    pre = preprocess.read_preprocessor(MODEL)
    resized = preprocess.load_rgb(FIX / "images" / image["file"]).resize(
        (pre["size"]["width"], pre["size"]["height"]), Image.Resampling(pre["resample"])
    )
    assert np.array_equal(np.asarray(resized), np.asarray(Image.open(FIX / "reference" / image["resized_png"])))


def test_preprocessing_is_sensitive_to_channel_order(pixel_values):
    any_pv = next(iter(pixel_values.values()))
    assert not np.array_equal(any_pv, any_pv[:, ::-1])


def test_white_image_normalises_to_spec_values():
    pre = preprocess.read_preprocessor(MODEL)
    pv = preprocess.pixel_values(Image.new("RGB", (40, 30), (255, 255, 255)), pre)
    np.testing.assert_allclose(pv[0, :, 0, 0], [2.2489, 2.4286, 2.6400], atol=1e-4)


@pytest.mark.parametrize("case", REF["cases"][:15], ids=lambda c: c["task"])
def test_tokenizer_reproduces_prompt_ids(case):
    tok = Tokenizer.from_file(str(MODEL / "tokenizer.json"))
    assert tasks.construct_prompt(case["task"], case["text_input"]) == case["prompt"]
    assert tok.encode(case["prompt"], add_special_tokens=True).ids == case["input_ids"]


def test_tokenizer_spec_values():
    tok = Tokenizer.from_file(str(MODEL / "tokenizer.json"))
    assert tok.encode("describe", add_special_tokens=True).ids == [0, 45091, 21700, 2]
    assert tok.token_to_id("<loc_0>") == 50269 and tok.token_to_id("<loc_999>") == 51268
    assert tok.get_vocab_size(with_added_tokens=True) == CONFIG["vocab_size"] == 51289


def _io(path):
    model = onnx.load(str(path), load_external_data=False)
    init = {i.name for i in model.graph.initializer}

    def desc(v):
        t = v.type.tensor_type
        return onnx.helper.tensor_dtype_to_np_dtype(t.elem_type), len(t.shape.dim)

    return ({v.name: desc(v) for v in model.graph.input if v.name not in init}, {v.name: desc(v) for v in model.graph.output})


def test_graphs_follow_the_public_tensor_contract():
    text = CONFIG["text_config"]
    n = text["decoder_layers"]
    f32, i64 = np.dtype("float32"), np.dtype("int64")
    ins, outs = _io(MODEL / "onnx" / "vision_encoder.onnx")
    assert ins == {"pixel_values": (f32, 4)} and outs == {"image_features": (f32, 3)}
    ins, outs = _io(MODEL / "onnx" / "embed_tokens.onnx")
    assert ins == {"input_ids": (i64, 2)} and outs == {"inputs_embeds": (f32, 3)}
    ins, outs = _io(MODEL / "onnx" / "encoder_model.onnx")
    assert ins == {"attention_mask": (i64, 2), "inputs_embeds": (f32, 3)} and outs == {"last_hidden_state": (f32, 3)}
    ins, outs = _io(MODEL / "onnx" / "decoder_model_merged.onnx")
    expect_in = {"encoder_attention_mask": (i64, 2), "encoder_hidden_states": (f32, 3), "inputs_embeds": (f32, 3), "use_cache_branch": (np.dtype(bool), 1)}
    expect_out = {"logits": (f32, 3)}
    for i in range(n):
        for kind in ("decoder", "encoder"):
            for kv in ("key", "value"):
                expect_in[f"past_key_values.{i}.{kind}.{kv}"] = (f32, 4)
                expect_out[f"present.{i}.{kind}.{kv}"] = (f32, 4)
    assert ins == expect_in and outs == expect_out


def test_decoder_output_order_is_logits_then_layers():
    model = onnx.load(str(MODEL / "onnx" / "decoder_model_merged.onnx"))
    names = [o.name for o in model.graph.output]
    assert names[0] == "logits"
    assert names[1:5] == ["present.0.decoder.key", "present.0.decoder.value", "present.0.encoder.key", "present.0.encoder.value"]


def test_shapes_agree_with_config(runner, pixel_values):
    text = CONFIG["text_config"]
    pv = next(iter(pixel_values.values()))
    image_size = pv.shape[-1]
    feats = runner.vision.run(None, {"pixel_values": pv})[0]
    assert feats.shape == (1, (image_size // 32) ** 2 + 1, text["d_model"])
    assert CONFIG["vision_config"]["projection_dim"] == text["d_model"]
    emb = runner.embed.run(None, {"input_ids": np.array([[0, 2]], dtype=np.int64)})[0]
    assert emb.shape == (1, 2, text["d_model"])
    past = [i for i in runner.decoder.get_inputs() if i.name.startswith("past_key_values.")]
    assert len(past) == 4 * text["decoder_layers"]
    assert all(i.shape[1] == text["decoder_attention_heads"] for i in past)
    assert all(i.shape[3] == text["d_model"] // text["decoder_attention_heads"] for i in past)


def test_cache_branch_returns_empty_cross_attention_placeholders(runner, pixel_values):
    case = REF["cases"][0]
    hidden, mask = runner.encode(pixel_values[case["image"]], np.array([case["input_ids"]], dtype=np.int64))
    feeds = {"encoder_attention_mask": mask, "encoder_hidden_states": hidden, "use_cache_branch": np.array([False])}
    emb = runner.embed.run(None, {"input_ids": np.array([[2]], dtype=np.int64)})[0]
    feeds["inputs_embeds"] = emb
    for inp in runner.past_inputs:
        feeds[inp.name] = np.zeros([1, inp.shape[1], 0, inp.shape[3]], dtype=np.float32)
    first = dict(zip(runner.output_names, runner.decoder.run(None, feeds)))
    assert first["present.0.encoder.key"].shape[2] == hidden.shape[1]
    for name, value in first.items():
        if name.startswith("present."):
            feeds[name.replace("present.", "past_key_values.")] = value
    feeds["use_cache_branch"] = np.array([True])
    second = dict(zip(runner.output_names, runner.decoder.run(None, feeds)))
    assert second["present.0.encoder.key"].shape[0] == 0
    assert second["present.0.decoder.key"].shape[2] == 2


def test_region_prompt_quantisation():
    # floor(v / (dim / 1000)) clamped to [0, 999]; x uses the width, y the height.
    assert tasks.loc_tokens((0, 0, 640, 480), 640, 480) == "<loc_0><loc_0><loc_999><loc_999>"
    assert tasks.loc_tokens((33, 25, 321, 241), 640, 480) == "<loc_51><loc_52><loc_501><loc_502>"
    assert tasks.loc_tokens((-5, 0, 700, 480.9), 640, 480) == "<loc_0><loc_0><loc_999><loc_999>"
    # exact bin boundaries: rounded division, then floor (Python's float // would give 499 and 624)
    assert tasks.loc_tokens((256, 500, 256, 500), 512, 800) == "<loc_500><loc_625><loc_500><loc_625>"
    assert tasks.construct_prompt("<OPEN_VOCABULARY_DETECTION>", " a car") == "Locate  a car in the image."
    with pytest.raises(ValueError):
        tasks.construct_prompt("<CAPTION_TO_PHRASE_GROUNDING>")
