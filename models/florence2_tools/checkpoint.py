"""Loading a Florence-2 checkpoint into the transformers-native PyTorch model.

Sources:
- a folder in Microsoft's remote-code format (`microsoft/Florence-2-*` and most fine-tunes: config with
  `florence2_language`/`davit`, weights named `vision_tower.*`, `language_model.model.*`);
- a folder in the transformers-native format (`florence-community/Florence-2-*`);
- a preset with seeded random weights (tests and benchmarks: real weights cannot be downloaded here).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import torch

from . import config as cfgmod


class CheckpointError(Exception):
    """A checkpoint folder that cannot be converted; the message names the file and the problem."""


@dataclass
class LoadedModel:
    """The reference model plus what the export needs to know about it."""

    model: "torch.nn.Module"  # Florence2ForConditionalGeneration, eval mode, float32
    vocab_size: int  # rows kept in the exported embedding / logits
    final_logits_bias: torch.Tensor | None  # Microsoft checkpoints carry one (usually zeros)
    image_size: int
    source: str


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError as e:
        raise CheckpointError(f"{path}: missing") from e
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{path}: not valid JSON ({e})") from e


def _load_state_dict(folder: Path) -> dict[str, torch.Tensor]:
    st = sorted(folder.glob("*.safetensors"))
    if st:
        from safetensors.torch import load_file

        sd: dict[str, torch.Tensor] = {}
        for f in st:
            sd.update(load_file(str(f)))
        return sd
    bins = sorted(folder.glob("pytorch_model*.bin"))
    if bins:
        sd = {}
        for f in bins:
            sd.update(torch.load(str(f), map_location="cpu", weights_only=True))
        return sd
    raise CheckpointError(f"{folder}: no *.safetensors or pytorch_model*.bin weights")


# Microsoft remote-code parameter names -> transformers-native names (vision tower and projector; the
# language model only moves from `language_model.model.` to `model.language_model.`).
_MS_RENAMES: list[tuple[str, str]] = [
    (r"^vision_tower\.convs\.(\d+)\.proj\.", r"model.vision_tower.convs.\1.conv."),
    (r"^vision_tower\.convs\.(\d+)\.norm\.", r"model.vision_tower.convs.\1.norm."),
    (r"\.(spatial|channel)_block\.conv([12])\.fn\.dw\.", r".\1_block.conv\2."),
    (r"\.spatial_block\.window_attn\.norm\.", r".spatial_block.norm1."),
    (r"\.spatial_block\.window_attn\.fn\.", r".spatial_block.window_attn."),
    (r"\.channel_block\.channel_attn\.norm\.", r".channel_block.norm1."),
    (r"\.channel_block\.channel_attn\.fn\.", r".channel_block.channel_attn."),
    (r"\.(spatial|channel)_block\.ffn\.norm\.", r".\1_block.norm2."),
    (r"\.(spatial|channel)_block\.ffn\.fn\.net\.", r".\1_block.ffn."),
    (r"^vision_tower\.blocks\.", r"model.vision_tower.blocks."),
    (r"^image_projection$", r"model.multi_modal_projector.image_projection.weight"),
    (r"^image_proj_norm\.", r"model.multi_modal_projector.image_proj_norm."),
    (r"^image_pos_embed\.", r"model.multi_modal_projector.image_position_embed."),
    (r"^visual_temporal_embed\.", r"model.multi_modal_projector.visual_temporal_embed."),
    (r"^language_model\.model\.", r"model.language_model."),
    (r"^language_model\.lm_head\.", r"lm_head."),
]


def _rename_ms_key(key: str) -> str:
    for pat, rep in _MS_RENAMES:
        key = re.sub(pat, rep, key)
    return key


def load_checkpoint(folder: Path) -> LoadedModel:
    """Loads a local checkpoint folder of either format."""
    from transformers import Florence2ForConditionalGeneration

    folder = Path(folder)
    if not folder.is_dir():
        raise CheckpointError(f"{folder}: not a directory")
    raw = _read_json(folder / "config.json")
    image_size = _image_size_of(folder)
    if cfgmod.is_ms_format(raw):
        native_cfg = cfgmod.native_config_from_ms(raw)
        sd = _load_state_dict(folder)
        bias = sd.pop("language_model.final_logits_bias", None)
        renamed = {}
        for k, v in sd.items():
            nk = _rename_ms_key(k)
            if nk == "model.multi_modal_projector.image_projection.weight":
                v = v.t().contiguous()  # Microsoft stores it as [in, out] and multiplies x @ W
            renamed[nk] = v
        model = Florence2ForConditionalGeneration(native_cfg)
        try:
            missing, unexpected = model.load_state_dict(renamed, strict=False)
        except RuntimeError as e:  # shape mismatches: a different architecture or a corrupt file
            raise CheckpointError(f"{folder}: weights do not match the Florence-2 architecture in config.json: {e}") from e
        # Tied / derived weights may be absent from a checkpoint; anything else is an error.
        missing = [m for m in missing if not m.endswith(("embed_tokens.weight", "lm_head.weight"))]
        if missing or unexpected:
            raise CheckpointError(
                f"{folder}: weights do not match the Florence-2 architecture; "
                f"missing {missing[:8]}{'…' if len(missing) > 8 else ''}, "
                f"unexpected {unexpected[:8]}{'…' if len(unexpected) > 8 else ''}"
            )
        model.tie_weights()
        vocab = native_cfg.text_config.vocab_size
        source = "microsoft-remote-code"
    else:
        try:
            model = Florence2ForConditionalGeneration.from_pretrained(str(folder), dtype=torch.float32)
        except (OSError, ValueError, RuntimeError) as e:
            raise CheckpointError(f"{folder}: cannot load as a transformers-native Florence-2 checkpoint: {e}") from e
        bias = None
        vocab = min(model.config.text_config.vocab_size, cfgmod.FLORENCE2_VOCAB_SIZE)
        source = "transformers-native"
    if bias is not None and float(bias.abs().max()) == 0.0:
        bias = None
    model.eval()
    return LoadedModel(model=model, vocab_size=vocab, final_logits_bias=bias, image_size=image_size, source=source)


def _image_size_of(folder: Path) -> int:
    p = folder / "preprocessor_config.json"
    if not p.exists():
        return 768
    pc = _read_json(p)
    size = pc.get("size") or {}
    if isinstance(size, dict):
        h, w = size.get("height", 768), size.get("width", 768)
    else:
        h = w = int(size)
    if h != w:
        raise CheckpointError(f"{p}: non-square size {w}x{h}; Florence-2's vision tower needs square input")
    return int(h)


# Multipliers applied to the default init by random_model (see its docstring).
RANDOM_SCALES = {
    "embed_std": 0.3,
    "loc_noise": 1.0,
    "loc_ramp": 0.5,
    "eos_scale": 2.0,
    "pos_std": 2.0,
    "qk": 8.0,
    "vo": 4.0,
    "cross_qk": 8.0,
    "cross_vo": 6.0,
    "ffn": 4.0,
    "image_proj": 4.0,
    "vision": 3.0,
}


def random_model(preset_name: str, seed: int, scales: dict | None = None) -> LoadedModel:
    """The real architecture with seeded random weights, rescaled so greedy outputs are long and varied.

    With the default init (std 0.02) a random Florence-2 collapses to one repeated token or stops at
    once, which makes parity tests meaningless. The scaling below sharpens attention (so the image
    matters), gives the decoder positions a strong signal (so outputs keep changing along the
    sequence), makes `<loc_N>` tokens competitive (so box/polygon parsers get real input) and lowers the
    EOS logit (so sequences run long).
    """
    from transformers import Florence2ForConditionalGeneration

    if preset_name not in cfgmod.PRESETS:
        raise CheckpointError(f"unknown preset {preset_name!r}; known: {sorted(cfgmod.PRESETS)}")
    preset = cfgmod.PRESETS[preset_name]
    torch.manual_seed(seed)
    native_cfg = cfgmod.native_config_from_preset(preset)
    model = Florence2ForConditionalGeneration(native_cfg)
    model.eval()
    k = dict(RANDOM_SCALES, **(scales or {}))
    # The multipliers were tuned on the tiny preset (d_model 32, last vision stage 32). Wider layers sum
    # over more inputs, so their gains shrink by sqrt(32 / width): otherwise attention in a base-sized
    # model saturates so hard that float32 rounding alone moves logits by 0.3 % (measured: PyTorch fp32
    # vs fp64 differ by 1e-2 on the encoder), and no two runtimes could agree token for token.
    text_gain = (32 / preset.d_model) ** 0.5
    vision_gain = (32 / preset.vision_dims[-1]) ** 0.5
    for name in ("qk", "vo", "cross_qk", "cross_vo", "ffn"):
        k[name] *= text_gain
    for name in ("image_proj", "vision"):
        k[name] *= vision_gain
    g = torch.Generator().manual_seed(seed + 1)
    lm = model.model.language_model
    with torch.no_grad():
        shared = lm.shared.weight
        shared.normal_(0.0, k["embed_std"], generator=g)
        # <loc_N> rows: a smooth ramp plus noise, so neighbouring bins look alike and loc runs appear.
        loc = slice(50269, 50269 + 1000)
        ramp = torch.linspace(-1.0, 1.0, 1000).unsqueeze(1) * torch.randn(1, shared.shape[1], generator=g)
        shared[loc] = k["loc_noise"] * shared[loc] + k["loc_ramp"] * ramp
        shared[cfgmod.TOKEN_IDS["eos"]] *= k["eos_scale"]
        for stack in (lm.encoder, lm.decoder):
            stack.embed_positions.weight.normal_(0.0, k["pos_std"], generator=g)
            for layer in stack.layers:
                attn = layer.self_attn
                for proj in (attn.q_proj, attn.k_proj):
                    proj.weight.mul_(k["qk"])
                attn.v_proj.weight.mul_(k["vo"])
                attn.out_proj.weight.mul_(k["vo"])
                if hasattr(layer, "encoder_attn"):
                    x = layer.encoder_attn
                    for proj in (x.q_proj, x.k_proj):
                        proj.weight.mul_(k["cross_qk"])
                    x.v_proj.weight.mul_(k["cross_vo"])
                    x.out_proj.weight.mul_(k["cross_vo"])
                layer.fc1.weight.mul_(k["ffn"])
                layer.fc2.weight.mul_(k["ffn"])
        model.model.multi_modal_projector.image_projection.weight.mul_(k["image_proj"])
        for p in model.model.vision_tower.parameters():
            if p.dim() > 1:
                p.mul_(k["vision"])
    model.tie_weights()
    return LoadedModel(
        model=model,
        vocab_size=cfgmod.FLORENCE2_VOCAB_SIZE,
        final_logits_bias=None,
        image_size=preset.image_size,
        source=f"random:{preset_name}:seed={seed}",
    )
