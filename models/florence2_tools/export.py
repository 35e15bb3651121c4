"""Export a Florence-2 PyTorch model into the onnx-community folder layout."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import onnx
import torch

from . import config as cfgmod
from .checkpoint import CheckpointError, LoadedModel
from .merge import merge_decoders
from .wrappers import Decoder, EmbedTokens, TextEncoder, VisionEncoder, decoder_io_names

TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.json",
    "merges.txt",
)


def _export(module, args, path: Path, input_names, output_names, dynamic_axes, opset: int):
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            args,
            str(path),
            input_names=input_names,
            output_names=output_names,
            dynamic_axes=dynamic_axes,
            opset_version=opset,
            do_constant_folding=True,
            dynamo=False,
        )
    model = onnx.load(str(path))
    onnx.checker.check_model(model)
    return model


def export_onnx(lm: LoadedModel, out: Path, opset: int = 17, keep_unmerged: bool = False) -> dict[str, Path]:
    """Writes onnx/{vision_encoder,embed_tokens,encoder_model,decoder_model_merged}.onnx (fp32)."""
    model = lm.model
    tc = model.config.text_config
    onnx_dir = out / "onnx"
    onnx_dir.mkdir(parents=True, exist_ok=True)
    size = lm.image_size
    d = tc.d_model
    n_dec, h_dec = tc.decoder_layers, tc.decoder_attention_heads
    head_dim = d // h_dec
    paths = {}

    with torch.no_grad():
        pv = torch.randn(1, 3, size, size)
        paths["vision_encoder"] = onnx_dir / "vision_encoder.onnx"
        _export(
            VisionEncoder(model).eval(),
            (pv,),
            paths["vision_encoder"],
            ["pixel_values"],
            ["image_features"],
            {"pixel_values": {0: "batch_size", 2: "height", 3: "width"}, "image_features": {0: "batch_size", 1: "num_image_tokens"}},
            opset,
        )

        ids = torch.tensor([[0, 2264, 473, 5, 2274, 6190, 116, 2]], dtype=torch.long)
        paths["embed_tokens"] = onnx_dir / "embed_tokens.onnx"
        _export(
            EmbedTokens(model, lm.vocab_size).eval(),
            (ids,),
            paths["embed_tokens"],
            ["input_ids"],
            ["inputs_embeds"],
            {"input_ids": {0: "batch_size", 1: "sequence_length"}, "inputs_embeds": {0: "batch_size", 1: "sequence_length"}},
            opset,
        )

        s_enc = (size // 32) ** 2 + 1 + ids.shape[1]
        embeds = torch.randn(1, s_enc, d)
        mask = torch.ones(1, s_enc, dtype=torch.long)
        paths["encoder_model"] = onnx_dir / "encoder_model.onnx"
        _export(
            TextEncoder(model).eval(),
            (mask, embeds),
            paths["encoder_model"],
            ["attention_mask", "inputs_embeds"],
            ["last_hidden_state"],
            {
                "attention_mask": {0: "batch_size", 1: "encoder_sequence_length"},
                "inputs_embeds": {0: "batch_size", 1: "encoder_sequence_length"},
                "last_hidden_state": {0: "batch_size", 1: "encoder_sequence_length"},
            },
            opset,
        )

        enc_h = torch.randn(1, s_enc, d)
        dec_in = torch.randn(1, 1, d)
        in_np, out_np = decoder_io_names(n_dec, with_past=False)
        axes = {
            "encoder_attention_mask": {0: "batch_size", 1: "encoder_sequence_length"},
            "encoder_hidden_states": {0: "batch_size", 1: "encoder_sequence_length"},
            "inputs_embeds": {0: "batch_size", 1: "decoder_sequence_length"},
            "logits": {0: "batch_size", 1: "decoder_sequence_length"},
        }
        for name in out_np[1:]:
            axes[name] = {0: "batch_size", 2: "decoder_sequence_length" if ".decoder." in name else "encoder_sequence_length_out"}
        no_past_path = onnx_dir / "decoder_model.onnx"
        no_past = _export(
            Decoder(model, lm.vocab_size, lm.final_logits_bias, with_past=False).eval(),
            (mask, enc_h, dec_in),
            no_past_path,
            in_np,
            out_np,
            axes,
            opset,
        )

        past_len = 3
        past = []
        for _ in range(n_dec):
            past += [torch.randn(1, h_dec, past_len, head_dim), torch.randn(1, h_dec, past_len, head_dim)]
            past += [torch.randn(1, h_dec, s_enc, head_dim), torch.randn(1, h_dec, s_enc, head_dim)]
        in_wp, out_wp = decoder_io_names(n_dec, with_past=True)
        axes = {
            "encoder_attention_mask": {0: "batch_size", 1: "encoder_sequence_length"},
            "inputs_embeds": {0: "batch_size", 1: "decoder_sequence_length"},
            "logits": {0: "batch_size", 1: "decoder_sequence_length"},
        }
        for name in in_wp[2:]:
            axes[name] = {0: "batch_size", 2: "past_decoder_sequence_length" if ".decoder." in name else "encoder_sequence_length_out"}
        for name in out_wp[1:]:
            axes[name] = {0: "batch_size", 2: "past_decoder_sequence_length + 1"}
        with_past_path = onnx_dir / "decoder_with_past_model.onnx"
        with_past = _export(
            Decoder(model, lm.vocab_size, lm.final_logits_bias, with_past=True).eval(),
            (mask, dec_in, *past),
            with_past_path,
            in_wp,
            out_wp,
            axes,
            opset,
        )

    merged = merge_decoders(no_past, with_past, n_dec, h_dec, head_dim)
    paths["decoder_model_merged"] = onnx_dir / "decoder_model_merged.onnx"
    onnx.save(merged, str(paths["decoder_model_merged"]))
    if keep_unmerged:
        paths["decoder_model"] = no_past_path
        paths["decoder_with_past_model"] = with_past_path
    else:
        no_past_path.unlink()
        with_past_path.unlink()
    return paths


def write_tokenizer(src: Path, out: Path, vocab_size: int) -> None:
    """Copies the tokenizer files, dropping added tokens outside the exported vocabulary.

    transformers-native checkpoints add an `<image>` placeholder (id 51289) that the public ONNX contract
    does not have; keeping it would let a prompt tokenise to an id the embedding table lacks.
    """
    src = Path(src)
    if not (src / "tokenizer.json").exists():
        raise CheckpointError(f"{src}: no tokenizer.json (the SDK reads the fast-tokenizer file)")
    for name in TOKENIZER_FILES:
        if (src / name).exists():
            shutil.copyfile(src / name, out / name)
    tok = json.loads((out / "tokenizer.json").read_text())
    kept = [t for t in tok.get("added_tokens", []) if t["id"] < vocab_size]
    if len(kept) != len(tok.get("added_tokens", [])):
        tok["added_tokens"] = kept
        (out / "tokenizer.json").write_text(json.dumps(tok, ensure_ascii=False))
    tc_path = out / "tokenizer_config.json"
    if tc_path.exists():
        tc = json.loads(tc_path.read_text())
        dec = tc.get("added_tokens_decoder")
        if isinstance(dec, dict):
            tc["added_tokens_decoder"] = {k: v for k, v in dec.items() if int(k) < vocab_size}
            tc_path.write_text(json.dumps(tc, indent=2, ensure_ascii=False))
    at_path = out / "added_tokens.json"
    if at_path.exists():
        at = json.loads(at_path.read_text())
        at_path.write_text(json.dumps({k: v for k, v in at.items() if v < vocab_size}, indent=2, ensure_ascii=False))


def write_configs(lm: LoadedModel, out: Path) -> None:
    """config.json, generation_config.json, preprocessor_config.json, processor_config.json."""
    native = lm.model.config
    (out / "config.json").write_text(json.dumps(cfgmod.onnx_community_config(native, lm.vocab_size), indent=2))
    (out / "generation_config.json").write_text(json.dumps(cfgmod.generation_config(native), indent=2))
    (out / "preprocessor_config.json").write_text(json.dumps(cfgmod.preprocessor_config(lm.image_size), indent=2))
    (out / "processor_config.json").write_text(json.dumps({"processor_class": "Florence2Processor"}, indent=2))
