"""The PyTorch reference side: encoder outputs, generate (greedy and beam), and export self-checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from .ortloop import OrtFlorence2


def reference_encode(model, pixel_values: np.ndarray, input_ids: list[int]):
    """vision -> concat(image features, prompt embeddings) -> text encoder, as the ONNX pipeline does.

    transformers 5 would otherwise insert `<image>` placeholder ids into input_ids; the public ONNX
    contract has none, so the encoder input is built by hand (identical maths).
    """
    inner = model.model
    pv = torch.from_numpy(pixel_values)
    ids = torch.tensor([input_ids], dtype=torch.long)
    img = inner.get_image_features(pv).pooler_output
    txt = inner.language_model.get_input_embeddings()(ids)
    embeds = torch.cat([img, txt], dim=1)
    mask = torch.ones(embeds.shape[:2], dtype=torch.long)
    enc = inner.language_model.encoder(inputs_embeds=embeds, attention_mask=mask)
    return enc, mask


def reference_generate(model, pixel_values: np.ndarray, input_ids: list[int], max_new_tokens: int, num_beams: int = 1):
    """transformers `generate` with the Florence-2 generation_config processors; returns the ids."""
    return _generate(model, pixel_values, input_ids, max_new_tokens, num_beams).sequences[0].tolist()


def reference_greedy_with_margin(model, pixel_values: np.ndarray, input_ids: list[int], max_new_tokens: int):
    """Greedy ids plus the smallest top-1/top-2 gap of the processed scores (forced steps skipped):
    how close the nearest tie was, i.e. how robust token-exact parity with this sequence is."""
    out = _generate(model, pixel_values, input_ids, max_new_tokens, 1, output_scores=True)
    margin = float("inf")
    for s in out.scores:
        top = torch.topk(s[0].float(), 2).values
        if torch.isfinite(top).all():
            margin = min(margin, float(top[0] - top[1]))
    return out.sequences[0].tolist(), margin


def _generate(model, pixel_values, input_ids, max_new_tokens, num_beams, **extra):
    with torch.no_grad():
        enc, mask = reference_encode(model, pixel_values, input_ids)
        return model.generate(
            encoder_outputs=enc,
            attention_mask=mask,
            max_new_tokens=max_new_tokens,
            num_beams=num_beams,
            do_sample=False,
            **({"early_stopping": True} if num_beams > 1 else {}),
            no_repeat_ngram_size=3,
            forced_bos_token_id=0,
            forced_eos_token_id=2,
            decoder_start_token_id=2,
            bos_token_id=0,
            eos_token_id=2,
            pad_token_id=1,
            length_penalty=1.0,
            return_dict_in_generate=True,
            **extra,
        )


def _maxdiff(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))))


def check_components(model, folder: Path, image_size: int, tolerance: float = 2e-3) -> dict[str, float]:
    """Each ONNX graph against the PyTorch reference on the same inputs; raises if any max|Δ| exceeds
    `tolerance` x the reference's largest magnitude. Returns the max|Δ| per check."""
    onnx_dir = Path(folder) / "onnx"
    opts = ort.SessionOptions()

    def sess(stem):
        return ort.InferenceSession(str(onnx_dir / f"{stem}.onnx"), opts, providers=["CPUExecutionProvider"])

    g = torch.Generator().manual_seed(1234)
    results: dict[str, float] = {}
    failures = []

    def record(name, ref, got):
        ref = ref.detach().numpy() if isinstance(ref, torch.Tensor) else ref
        if ref.shape != got.shape:
            failures.append(f"{name}: shape {got.shape} != reference {ref.shape}")
            return
        d = _maxdiff(ref, got)
        results[name] = d
        scale = max(1.0, float(np.max(np.abs(ref))))
        if not d <= tolerance * scale:
            failures.append(f"{name}: max|Δ| {d:.3g} > {tolerance} x {scale:.3g}")

    inner = model.model
    with torch.no_grad():
        vision = sess("vision_encoder")
        for size in (image_size, image_size + 32):
            pv = torch.randn(1, 3, size, size, generator=g)
            record(f"vision_encoder@{size}", inner.get_image_features(pv).pooler_output, vision.run(None, {"pixel_values": pv.numpy()})[0])

        embed = sess("embed_tokens")
        ids = torch.tensor([[0, 2264, 473, 5, 2274, 6190, 116, 50269, 51268, 2]], dtype=torch.long)
        record("embed_tokens", inner.language_model.get_input_embeddings()(ids), embed.run(None, {"input_ids": ids.numpy()})[0])

        pv = torch.randn(1, 3, image_size, image_size, generator=g)
        enc, mask = reference_encode(model, pv.numpy(), ids[0].tolist())
        embeds = torch.cat([inner.get_image_features(pv).pooler_output, inner.language_model.get_input_embeddings()(ids)], dim=1)
        encoder = sess("encoder_model")
        got_enc = encoder.run(None, {"inputs_embeds": embeds.numpy(), "attention_mask": mask.numpy()})[0]
        record("encoder_model", enc.last_hidden_state, got_enc)

        # Decoder: a step-0 call with three tokens (teacher forcing), then one cached step.
        dec = sess("decoder_model_merged")
        names = [o.name for o in dec.get_outputs()]
        past_inputs = [i for i in dec.get_inputs() if i.name.startswith("past_key_values.")]
        dec_ids = torch.tensor([[2, 0, 1640]], dtype=torch.long)
        emb = embed.run(None, {"input_ids": dec_ids.numpy()})[0]
        feeds = {"encoder_attention_mask": mask.numpy(), "encoder_hidden_states": got_enc, "inputs_embeds": emb, "use_cache_branch": np.array([False])}
        for inp in past_inputs:
            shape = [1 if d == "batch_size" else 0 if isinstance(d, str) or d is None else d for d in inp.shape]
            feeds[inp.name] = np.zeros(shape, dtype=np.float32)
        out0 = dict(zip(names, dec.run(None, feeds)))
        ref0 = model(encoder_outputs=enc, attention_mask=mask, decoder_input_ids=dec_ids, use_cache=True)
        vocab = out0["logits"].shape[-1]
        record("decoder_model_merged step 0 logits", ref0.logits[..., :vocab], out0["logits"])

        nxt = torch.tensor([[4758]], dtype=torch.long)
        feeds["inputs_embeds"] = embed.run(None, {"input_ids": nxt.numpy()})[0]
        feeds["use_cache_branch"] = np.array([True])
        for name, value in out0.items():
            if name.startswith("present."):
                feeds[name.replace("present.", "past_key_values.")] = value
        out1 = dict(zip(names, dec.run(None, feeds)))
        ref1 = model(encoder_outputs=enc, attention_mask=mask, decoder_input_ids=nxt, past_key_values=ref0.past_key_values, use_cache=True)
        record("decoder_model_merged cached step logits", ref1.logits[..., :vocab], out1["logits"])
        for name, value in out1.items():
            if ".encoder." in name and value.shape[0] != 0:
                failures.append(f"{name}: cache branch should return an empty placeholder, got {value.shape}")
    if failures:
        raise AssertionError("export does not match the PyTorch reference:\n  " + "\n  ".join(failures))
    return results


def check_generation(model, folder: Path, cases, max_new_tokens: int) -> list[dict]:
    """Greedy onnxruntime loop vs transformers `generate`, token for token.

    `cases` yields (name, pixel_values, input_ids). Returns one row per case; raises on any mismatch.
    """
    runner = OrtFlorence2(folder)
    rows, failures = [], []
    for name, pv, input_ids in cases:
        ref = reference_generate(model, pv, input_ids, max_new_tokens)
        got = runner.greedy(pv, np.array([input_ids], dtype=np.int64), max_new_tokens)
        rows.append({"case": name, "tokens": len(ref), "equal": ref == got.ids, "min_top2_margin": got.min_top2_margin})
        if ref != got.ids:
            first = next((i for i, (a, b) in enumerate(zip(ref, got.ids)) if a != b), min(len(ref), len(got.ids)))
            failures.append(f"{name}: first difference at position {first}: transformers {ref[first:first + 5]} vs onnxruntime {got.ids[first:first + 5]}")
    if failures:
        raise AssertionError("greedy onnxruntime loop differs from transformers generate:\n  " + "\n  ".join(failures))
    return rows
