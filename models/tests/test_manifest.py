"""models/manifest.py: sizes and hashes of every file (checked against coreutils' sha256sum), presets
per precision with one graph per component, the same shape as the built-in manifests the download crate
embeds, and clear errors for folders that are not models."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

import manifest

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests/fixtures/tiny-random"
BUILTIN = ROOT / "crates/download/manifests/florence-2-base-ft.json"
GRAPHS = ["onnx/vision_encoder.onnx", "onnx/embed_tokens.onnx", "onnx/encoder_model.onnx",
          "onnx/decoder_model_merged.onnx"]


def coreutils_sha256(path: Path) -> str:
    return subprocess.run(["sha256sum", str(path)], check=True, capture_output=True, text=True).stdout.split()[0]


def test_fixture_manifest_pins_every_file():
    m = manifest.build_manifest(FIXTURE, "http://127.0.0.1:9/m")
    assert m["schema"] == 1
    assert m["base_url"] == "http://127.0.0.1:9/m/"
    assert m["id"] == "tiny-random"
    paths = [f["path"] for f in m["files"]]
    assert paths == ["config.json", "generation_config.json", "preprocessor_config.json", "tokenizer.json", *GRAPHS]
    for f in m["files"]:
        assert f["size"] == (FIXTURE / f["path"]).stat().st_size
        assert f["sha256"] == coreutils_sha256(FIXTURE / f["path"])
    assert [p["name"] for p in m["presets"]] == ["fp32"]
    assert m["presets"][0]["files"] == paths


def test_precision_presets_and_custom_mixes(tmp_path):
    model = tmp_path / "model"
    shutil.copytree(FIXTURE, model)
    for stem in manifest.STEMS:
        for suffix in ("_int8", "_fp16"):
            (model / f"onnx/{stem}{suffix}.onnx").write_bytes(f"{stem}{suffix}".encode())
    (model / "onnx/decoder_model_merged_q4.onnx").write_bytes(b"q4 decoder only")
    m = manifest.build_manifest(model, "https://example.com/x/", "me/model",
                                ["mixed=vision_encoder:fp16,embed_tokens:fp32,encoder_model:int8,decoder_model_merged:q4"])
    names = [p["name"] for p in m["presets"]]
    # q4 has only a decoder: no `q4` preset; int8 gives mobile-int8 first.
    assert names == ["mobile-int8", "fp32", "fp16", "int8", "mixed"]
    by_name = {p["name"]: p for p in m["presets"]}
    assert by_name["mixed"]["files"][-4:] == ["onnx/vision_encoder_fp16.onnx", "onnx/embed_tokens.onnx",
                                              "onnx/encoder_model_int8.onnx", "onnx/decoder_model_merged_q4.onnx"]
    listed = {f["path"] for f in m["files"]}
    for p in m["presets"]:
        graphs = [f for f in p["files"] if f.startswith("onnx/")]
        assert len(graphs) == 4 and set(p["files"]) <= listed
    assert len(listed) == len(m["files"])  # each file once
    int8 = next(f for f in m["files"] if f["path"] == "onnx/encoder_model_int8.onnx")
    assert int8["size"] == len(b"encoder_model_int8")


def test_same_shape_as_the_builtin_manifests():
    builtin = json.loads(BUILTIN.read_text())
    ours = manifest.build_manifest(FIXTURE, "http://h/")
    assert set(ours) - {"note"} == set(builtin) - {"note"}
    assert set(ours["presets"][0]) == set(builtin["presets"][0])
    assert set(builtin["files"][0]) <= set(ours["files"][0])


def test_cli_writes_a_file_and_rejects_bad_input(tmp_path, capsys):
    out = tmp_path / "m.json"
    assert manifest.main([str(FIXTURE), "--base-url", "http://h/", "--out", str(out), "--id", "t"]) == 0
    assert json.loads(out.read_text())["id"] == "t"
    assert manifest.main([str(tmp_path), "--base-url", "http://h/"]) == 2
    assert "no config.json" in capsys.readouterr().err
    assert manifest.main([str(FIXTURE), "--base-url", "ftp://h/"]) == 2
    with pytest.raises(ValueError, match="no precision for"):
        manifest.parse_preset("x=vision_encoder:fp16")
    with pytest.raises(ValueError, match="needs onnx/vision_encoder_fp16.onnx"):
        manifest.build_manifest(FIXTURE, "http://h/", presets=["x=fp16"])
