"""export.py on checkpoint folders in both formats (needs the export stack; skipped without torch).

A seeded random tiny model is written as (a) a transformers-native checkpoint and (b) a Microsoft
remote-code checkpoint (parameter names as in Microsoft's modeling_florence2.py, image_projection
stored [in, out], a final_logits_bias), then exported; the ONNX outputs must equal those of the model
exported straight from memory.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

import onnxruntime as ort  # noqa: E402

from florence2_tools import checkpoint, config as cfgmod, export  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
TOKENIZER = ROOT.parent / "shared" / "florence2-tokenizer"



def _to_ms_key(key: str) -> str:
    import re

    if key.startswith("model.vision_tower.convs."):
        return re.sub(r"^model\.vision_tower\.convs\.(\d+)\.conv\.", r"vision_tower.convs.\1.proj.", key).replace(
            "model.vision_tower.", "vision_tower."
        )
    if key.startswith("model.vision_tower.blocks."):
        k = key.replace("model.vision_tower.", "vision_tower.")
        for block, attn in (("spatial_block", "window_attn"), ("channel_block", "channel_attn")):
            k = k.replace(f"{block}.conv1.", f"{block}.conv1.fn.dw.").replace(f"{block}.conv2.", f"{block}.conv2.fn.dw.")
            k = k.replace(f"{block}.norm1.", f"{block}.{attn}.norm.")
            k = k.replace(f"{block}.{attn}.qkv.", f"{block}.{attn}.fn.qkv.").replace(f"{block}.{attn}.proj.", f"{block}.{attn}.fn.proj.")
            k = k.replace(f"{block}.norm2.", f"{block}.ffn.norm.")
            k = k.replace(f"{block}.ffn.fc1.", f"{block}.ffn.fn.net.fc1.").replace(f"{block}.ffn.fc2.", f"{block}.ffn.fn.net.fc2.")
        return k
    if key == "model.multi_modal_projector.image_projection.weight":
        return "image_projection"
    if key.startswith("model.multi_modal_projector."):
        return key.replace("model.multi_modal_projector.image_position_embed.", "image_pos_embed.").replace("model.multi_modal_projector.", "")
    if key.startswith("model.language_model."):
        return key.replace("model.language_model.", "language_model.model.")
    if key == "lm_head.weight":
        return "language_model.lm_head.weight"
    raise KeyError(key)


def _outputs(folder: Path):
    rng = np.random.default_rng(0)
    pv = rng.normal(size=(1, 3, 160, 160)).astype(np.float32)
    ids = np.array([[0, 2264, 473, 5, 2274, 6190, 116, 2]], dtype=np.int64)
    s = {n: ort.InferenceSession(str(folder / "onnx" / f"{n}.onnx"), providers=["CPUExecutionProvider"]) for n in ("vision_encoder", "embed_tokens", "encoder_model")}
    img = s["vision_encoder"].run(None, {"pixel_values": pv})[0]
    emb = s["embed_tokens"].run(None, {"input_ids": ids})[0]
    x = np.concatenate([img, emb], axis=1)
    enc = s["encoder_model"].run(None, {"inputs_embeds": x, "attention_mask": np.ones(x.shape[:2], np.int64)})[0]
    return img, emb, enc


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("from_memory")
    lm = checkpoint.random_model("tiny", 3)
    export.export_onnx(lm, out)
    return lm, _outputs(out)


def _export_checkpoint(src: Path, out: Path) -> None:
    sys.path.insert(0, str(ROOT / "models"))
    import export as cli  # models/export.py

    assert cli.main(["--checkpoint", str(src), "--out", str(out), "--verify-max-new-tokens", "12", "--verify-tasks", "<OD>"]) == 0


def _copy_tokenizer(dst: Path):
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt"):
        shutil.copyfile(TOKENIZER / name, dst / name)


def _preprocessor(dst: Path):
    (dst / "preprocessor_config.json").write_text(json.dumps(cfgmod.preprocessor_config(160)))


def test_native_checkpoint_exports_identically(reference, tmp_path):
    lm, expected = reference
    src = tmp_path / "native"
    lm.model.save_pretrained(str(src))
    _copy_tokenizer(src)
    _preprocessor(src)
    _export_checkpoint(src, tmp_path / "out")
    for a, b in zip(expected, _outputs(tmp_path / "out")):
        np.testing.assert_array_equal(a, b)


def test_microsoft_checkpoint_exports_identically(reference, tmp_path):
    lm, expected = reference
    src = tmp_path / "ms"
    src.mkdir()
    sd = {}
    for k, v in lm.model.state_dict().items():
        if k.endswith("embed_tokens.weight"):
            continue  # tied to shared in both formats
        mk = _to_ms_key(k)
        sd[mk] = v.t().contiguous() if mk == "image_projection" else v.clone()
    sd["language_model.final_logits_bias"] = torch.zeros(1, cfgmod.FLORENCE2_VOCAB_SIZE)
    torch.save(sd, src / "pytorch_model.bin")
    (src / "config.json").write_text(json.dumps(cfgmod.onnx_community_config(lm.model.config, cfgmod.FLORENCE2_VOCAB_SIZE)))
    _copy_tokenizer(src)
    _preprocessor(src)
    _export_checkpoint(src, tmp_path / "out")
    for a, b in zip(expected, _outputs(tmp_path / "out")):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)


def test_checkpoint_with_foreign_weights_is_refused(tmp_path):
    src = tmp_path / "bad"
    src.mkdir()
    lm = checkpoint.random_model("tiny", 3)
    (src / "config.json").write_text(json.dumps(cfgmod.onnx_community_config(lm.model.config, cfgmod.FLORENCE2_VOCAB_SIZE)))
    torch.save({"language_model.model.shared.weight": torch.zeros(3, 3), "something.else": torch.zeros(1)}, src / "pytorch_model.bin")
    with pytest.raises(checkpoint.CheckpointError, match="do not match"):
        checkpoint.load_checkpoint(src)
