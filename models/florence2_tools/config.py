"""Florence-2 model configuration: presets, and conversion between the three config dialects.

Dialects:
- *onnx-community* (= Microsoft's remote-code format): top level `model_type: florence2`, `text_config`
  with `model_type: florence2_language`, `vision_config` with `model_type: davit` and `dim_embed`.
  This is what the SDK reads and what export.py writes.
- *transformers-native* (transformers >= 5): `text_config.model_type: bart`, `vision_config.embed_dim`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

# The real tokenizer's size: 50265 BPE ids + 1024 Florence tokens. Everything the public ONNX files
# produce (logits width, embedding rows) has this many entries.
FLORENCE2_VOCAB_SIZE = 51289

TOKEN_IDS = {"bos": 0, "pad": 1, "eos": 2, "unk": 3, "decoder_start": 2}


@dataclass(frozen=True)
class Preset:
    """Architecture numbers of one model shape (see the spec, section 6)."""

    d_model: int
    encoder_layers: int
    decoder_layers: int
    encoder_heads: int
    decoder_heads: int
    ffn_dim: int
    vision_dims: tuple[int, ...]
    vision_heads: tuple[int, ...]
    vision_depths: tuple[int, ...]
    window_size: int
    image_size: int
    max_position_embeddings: int = 1024
    extra: dict = field(default_factory=dict)


PRESETS: dict[str, Preset] = {
    # Test fixture: small enough to commit, but deliberately unlike the real models so nothing can
    # hard-code 768 pixels, 577 image tokens, a layer count or a head count: image 160 px (5x5 + 1 = 26
    # image tokens), 2 encoder vs 3 decoder layers, 2 encoder vs 4 decoder heads.
    "tiny": Preset(
        d_model=32,
        encoder_layers=2,
        decoder_layers=3,
        encoder_heads=2,
        decoder_heads=4,
        ffn_dim=64,
        vision_dims=(8, 16, 24, 32),
        vision_heads=(1, 2, 3, 4),
        vision_depths=(1, 1, 2, 1),
        window_size=5,
        image_size=160,
    ),
    # The decoder's position limit, proven against transformers: like `tiny` but with only 64 learned
    # positions (so a reference can be recorded *at* the limit, and nothing can hard-code 1024) and
    # a narrower text model (d_model 16) so the extra fixture stays small.
    "tiny-positions": Preset(
        d_model=16,
        encoder_layers=1,
        decoder_layers=2,
        encoder_heads=2,
        decoder_heads=2,
        ffn_dim=32,
        vision_dims=(8, 16, 24, 32),
        vision_heads=(1, 2, 3, 4),
        vision_depths=(1, 1, 2, 1),
        window_size=5,
        image_size=160,
        max_position_embeddings=64,
    ),
    "base": Preset(
        d_model=768,
        encoder_layers=6,
        decoder_layers=6,
        encoder_heads=12,
        decoder_heads=12,
        ffn_dim=3072,
        vision_dims=(128, 256, 512, 1024),
        vision_heads=(4, 8, 16, 32),
        vision_depths=(1, 1, 9, 1),
        window_size=12,
        image_size=768,
    ),
    "large": Preset(
        d_model=1024,
        encoder_layers=12,
        decoder_layers=12,
        encoder_heads=16,
        decoder_heads=16,
        ffn_dim=4096,
        vision_dims=(256, 512, 1024, 2048),
        vision_heads=(8, 16, 32, 64),
        vision_depths=(1, 1, 9, 1),
        window_size=12,
        image_size=768,
    ),
}


def native_config_from_preset(preset: Preset, vocab_size: int = FLORENCE2_VOCAB_SIZE):
    """A transformers `Florence2Config` with the preset's shape."""
    from transformers import BartConfig, Florence2Config, Florence2VisionConfig

    text = BartConfig(
        vocab_size=vocab_size,
        d_model=preset.d_model,
        encoder_layers=preset.encoder_layers,
        decoder_layers=preset.decoder_layers,
        encoder_attention_heads=preset.encoder_heads,
        decoder_attention_heads=preset.decoder_heads,
        encoder_ffn_dim=preset.ffn_dim,
        decoder_ffn_dim=preset.ffn_dim,
        max_position_embeddings=preset.max_position_embeddings,
        activation_function="gelu",
        scale_embedding=False,
        bos_token_id=TOKEN_IDS["bos"],
        pad_token_id=TOKEN_IDS["pad"],
        eos_token_id=TOKEN_IDS["eos"],
        decoder_start_token_id=TOKEN_IDS["decoder_start"],
        forced_bos_token_id=TOKEN_IDS["bos"],
        forced_eos_token_id=TOKEN_IDS["eos"],
        is_encoder_decoder=True,
    )
    vision = Florence2VisionConfig(
        embed_dim=list(preset.vision_dims),
        num_heads=list(preset.vision_heads),
        num_groups=list(preset.vision_heads),
        depths=list(preset.vision_depths),
        window_size=preset.window_size,
        projection_dim=preset.d_model,
    )
    return Florence2Config(text_config=text.to_dict(), vision_config=vision.to_dict())


def native_config_from_ms(ms: dict):
    """Converts a Microsoft remote-code / onnx-community config dict to a transformers `Florence2Config`."""
    from transformers import BartConfig, Florence2Config, Florence2VisionConfig

    text = dict(ms.get("text_config") or {})
    text.pop("model_type", None)
    for k in ("architectures", "_name_or_path", "transformers_version", "auto_map"):
        text.pop(k, None)
    text_cfg = BartConfig(**text)
    v = dict(ms.get("vision_config") or {})
    vision_cfg = Florence2VisionConfig(
        embed_dim=list(v.get("dim_embed", v.get("embed_dim", (128, 256, 512, 1024)))),
        num_heads=list(v["num_heads"]),
        num_groups=list(v.get("num_groups", v["num_heads"])),
        depths=list(v["depths"]),
        patch_size=list(v.get("patch_size", (7, 3, 3, 3))),
        patch_stride=list(v.get("patch_stride", (4, 2, 2, 2))),
        patch_padding=list(v.get("patch_padding", (3, 1, 1, 1))),
        patch_prenorm=list(v.get("patch_prenorm", (False, True, True, True))),
        window_size=v.get("window_size", 12),
        projection_dim=v.get("projection_dim", ms.get("projection_dim", text_cfg.d_model)),
        max_temporal_embeddings=(v.get("visual_temporal_embedding") or {}).get("max_temporal_embeddings", 100),
        max_position_embeddings=(v.get("image_pos_embed") or {}).get("max_pos_embeddings", 50),
    )
    return Florence2Config(text_config=text_cfg.to_dict(), vision_config=vision_cfg.to_dict())


def is_ms_format(cfg: dict) -> bool:
    """True for Microsoft remote-code / onnx-community config dicts, False for transformers-native ones."""
    text_type = (cfg.get("text_config") or {}).get("model_type")
    vision = cfg.get("vision_config") or {}
    return text_type == "florence2_language" or "dim_embed" in vision


def onnx_community_config(native, vocab_size: int) -> dict:
    """The `config.json` of an exported folder, in the onnx-community (Microsoft) dialect.

    `vocab_size` is the width of the exported embedding/logits (51289 for every public checkpoint;
    transformers-native checkpoints pad their tables, the export slices them back).
    """
    t = native.text_config
    v = native.vision_config
    text = {
        "model_type": "florence2_language",
        "vocab_size": vocab_size,
        "d_model": t.d_model,
        "encoder_layers": t.encoder_layers,
        "decoder_layers": t.decoder_layers,
        "encoder_attention_heads": t.encoder_attention_heads,
        "decoder_attention_heads": t.decoder_attention_heads,
        "encoder_ffn_dim": t.encoder_ffn_dim,
        "decoder_ffn_dim": t.decoder_ffn_dim,
        "max_position_embeddings": t.max_position_embeddings,
        "activation_function": t.activation_function,
        "scale_embedding": bool(t.scale_embedding),
        "init_std": t.init_std,
        "dropout": t.dropout,
        "attention_dropout": t.attention_dropout,
        "activation_dropout": t.activation_dropout,
        "is_encoder_decoder": True,
        "use_cache": True,
        "bos_token_id": t.bos_token_id,
        "pad_token_id": t.pad_token_id,
        "eos_token_id": t.eos_token_id,
        "decoder_start_token_id": t.decoder_start_token_id,
        "forced_bos_token_id": getattr(t, "forced_bos_token_id", TOKEN_IDS["bos"]),
        "forced_eos_token_id": getattr(t, "forced_eos_token_id", TOKEN_IDS["eos"]),
        "num_hidden_layers": t.encoder_layers,
    }
    vision = {
        "model_type": "davit",
        "drop_path_rate": 0.1,
        "patch_size": list(v.patch_size),
        "patch_stride": list(v.patch_stride),
        "patch_padding": list(v.patch_padding),
        "patch_prenorm": list(v.patch_prenorm),
        "enable_checkpoint": False,
        "dim_embed": list(v.embed_dim),
        "num_heads": list(v.num_heads),
        "num_groups": list(v.num_groups),
        "depths": list(v.depths),
        "window_size": v.window_size,
        "projection_dim": v.projection_dim,
        "visual_temporal_embedding": {"type": "COSINE", "max_temporal_embeddings": v.max_temporal_embeddings},
        "image_pos_embed": {"type": "learned_abs_2d", "max_pos_embeddings": v.max_position_embeddings},
        "image_feature_source": ["spatial_avg_pool", "temporal_avg_pool"],
    }
    return {
        "architectures": ["Florence2ForConditionalGeneration"],
        "model_type": "florence2",
        "is_encoder_decoder": True,
        "projection_dim": v.projection_dim,
        "vocab_size": vocab_size,
        "bos_token_id": text["bos_token_id"],
        "eos_token_id": text["eos_token_id"],
        "pad_token_id": text["pad_token_id"],
        "decoder_start_token_id": text["decoder_start_token_id"],
        "ignore_index": -100,
        "torch_dtype": "float32",
        "text_config": text,
        "vision_config": vision,
    }


def generation_config(native, max_length: int | None = None) -> dict:
    """`generation_config.json` as the public onnx-community repos ship it."""
    t = native.text_config
    cfg = {
        "bos_token_id": t.bos_token_id,
        "decoder_start_token_id": t.decoder_start_token_id,
        "early_stopping": True,
        "eos_token_id": t.eos_token_id,
        "forced_bos_token_id": TOKEN_IDS["bos"],
        "forced_eos_token_id": TOKEN_IDS["eos"],
        "no_repeat_ngram_size": 3,
        "num_beams": 3,
        "pad_token_id": t.pad_token_id,
    }
    if max_length is not None:
        cfg["max_length"] = max_length
    return cfg


TASK_ANSWER_TYPES = {
    "<OCR>": "pure_text",
    "<OCR_WITH_REGION>": "ocr",
    "<CAPTION>": "pure_text",
    "<DETAILED_CAPTION>": "pure_text",
    "<MORE_DETAILED_CAPTION>": "pure_text",
    "<OD>": "description_with_bboxes",
    "<DENSE_REGION_CAPTION>": "description_with_bboxes",
    "<CAPTION_TO_PHRASE_GROUNDING>": "phrase_grounding",
    "<REFERRING_EXPRESSION_SEGMENTATION>": "polygons",
    "<REGION_TO_SEGMENTATION>": "polygons",
    "<OPEN_VOCABULARY_DETECTION>": "description_with_bboxes_or_polygons",
    "<REGION_TO_CATEGORY>": "pure_text",
    "<REGION_TO_DESCRIPTION>": "pure_text",
    "<REGION_TO_OCR>": "pure_text",
    "<REGION_PROPOSAL>": "bboxes",
}

TASK_PROMPTS_WITHOUT_INPUT = {
    "<OCR>": "What is the text in the image?",
    "<OCR_WITH_REGION>": "What is the text in the image, with regions?",
    "<CAPTION>": "What does the image describe?",
    "<DETAILED_CAPTION>": "Describe in detail what is shown in the image.",
    "<MORE_DETAILED_CAPTION>": "Describe with a paragraph what is shown in the image.",
    "<OD>": "Locate the objects with category name in the image.",
    "<DENSE_REGION_CAPTION>": "Locate the objects in the image, with their descriptions.",
    "<REGION_PROPOSAL>": "Locate the region proposals in the image.",
}

TASK_PROMPTS_WITH_INPUT = {
    "<CAPTION_TO_PHRASE_GROUNDING>": "Locate the phrases in the caption: {input}",
    "<REFERRING_EXPRESSION_SEGMENTATION>": "Locate {input} in the image with mask",
    "<REGION_TO_SEGMENTATION>": "What is the polygon mask of region {input}",
    "<OPEN_VOCABULARY_DETECTION>": "Locate {input} in the image.",
    "<REGION_TO_CATEGORY>": "What is the region {input}?",
    "<REGION_TO_DESCRIPTION>": "What does the region {input} describe?",
    "<REGION_TO_OCR>": "What text is in the region {input}?",
}


def preprocessor_config(image_size: int) -> dict:
    """`preprocessor_config.json`: CLIP image-processor settings plus the task tables transformers.js reads."""
    return {
        "processor_class": "Florence2Processor",
        "image_processor_type": "CLIPImageProcessor",
        "do_resize": True,
        "size": {"height": image_size, "width": image_size},
        "resample": 3,
        "do_center_crop": False,
        "crop_size": {"height": image_size, "width": image_size},
        "do_rescale": True,
        "rescale_factor": 1 / 255,
        "do_normalize": True,
        "image_mean": [0.485, 0.456, 0.406],
        "image_std": [0.229, 0.224, 0.225],
        "do_convert_rgb": None,
        "image_seq_length": (image_size // 32) ** 2 + 1,
        "tasks_answer_post_processing_type": copy.deepcopy(TASK_ANSWER_TYPES),
        "task_prompts_without_inputs": copy.deepcopy(TASK_PROMPTS_WITHOUT_INPUT),
        "task_prompts_with_input": copy.deepcopy(TASK_PROMPTS_WITH_INPUT),
    }
