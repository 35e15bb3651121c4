"""Traceable PyTorch modules that compute exactly the public ONNX graphs' inputs -> outputs.

They reuse the reference model's weights (no copies) and spell out the BART encoder/decoder maths with
dynamic sequence lengths, masks and positions, so the TorchScript exporter records no fixed sizes.
The export checks every graph against the reference model itself (verify.py), so a mistake here fails
the export rather than producing a subtly wrong file.
"""

from __future__ import annotations

import torch
from torch import nn


def _heads(x: torch.Tensor, n_heads: int) -> torch.Tensor:
    """[B, S, D] -> [B, H, S, D/H]."""
    b, s, d = x.shape
    return x.view(b, s, n_heads, d // n_heads).transpose(1, 2)


def _merge_heads(x: torch.Tensor) -> torch.Tensor:
    """[B, H, S, d] -> [B, S, H*d]."""
    b, h, s, d = x.shape
    return x.transpose(1, 2).reshape(b, s, h * d)


def _attend(q, k, v, additive_mask, scaling):
    w = torch.matmul(q, k.transpose(2, 3)) * scaling
    if additive_mask is not None:
        w = w + additive_mask
    w = torch.softmax(w, dim=-1)
    return torch.matmul(w, v)


def _padding_mask(mask_2d: torch.Tensor, dtype) -> torch.Tensor:
    """int64 [B, S] (1 = attend) -> additive [B, 1, 1, S]."""
    m = mask_2d[:, None, None, :].to(dtype)
    return (1.0 - m) * torch.finfo(dtype).min


def _channel_attention_forward(self, hidden_states):
    """DaViT channel attention with the 1/sqrt(tokens) scale computed in the graph.

    The reference computes `num_tokens ** -0.5` in Python, which tracing freezes into a constant, so an
    export would be correct only at the traced image size.
    """
    b, n, c = hidden_states.shape
    qkv = self.qkv(hidden_states).reshape(b, n, 3, self.groups, c // self.groups).permute(2, 0, 3, 4, 1)
    q, k, v = qkv.unbind(0)  # [B, groups, C/groups, N]
    scale = torch.rsqrt(torch._shape_as_tensor(hidden_states)[1].to(q.dtype))
    w = torch.softmax(torch.matmul(q, k.transpose(2, 3)) * scale, dim=-1)
    out = torch.matmul(w, v).permute(0, 3, 1, 2).reshape(b, n, c)
    return self.proj(out)


class VisionEncoder(nn.Module):
    """pixel_values [B,3,H,W] -> image_features [B, (H/32)*(W/32)+1, D]."""

    def __init__(self, model):
        super().__init__()
        self.inner = model.model
        for module in self.inner.vision_tower.modules():
            if type(module).__name__ == "Florence2VisionChannelAttention":
                module.forward = _channel_attention_forward.__get__(module)

    def forward(self, pixel_values):
        return self.inner.get_image_features(pixel_values).pooler_output


class EmbedTokens(nn.Module):
    """input_ids [B,S] int64 -> inputs_embeds [B,S,D] (the shared table, embed_scale included)."""

    def __init__(self, model, vocab_size: int):
        super().__init__()
        shared = model.model.language_model.shared
        self.weight = nn.Parameter(shared.weight[:vocab_size].detach(), requires_grad=False)
        self.scale = float(getattr(shared, "embed_scale", 1.0) or 1.0)

    def forward(self, input_ids):
        e = nn.functional.embedding(input_ids, self.weight)
        return e * self.scale if self.scale != 1.0 else e


class TextEncoder(nn.Module):
    """(attention_mask [B,S] int64, inputs_embeds [B,S,D]) -> last_hidden_state [B,S,D]."""

    def __init__(self, model):
        super().__init__()
        self.enc = model.model.language_model.encoder
        self.heads = model.config.text_config.encoder_attention_heads

    def forward(self, attention_mask, inputs_embeds):
        enc = self.enc
        seq = inputs_embeds.shape[1]
        pos_ids = torch.arange(seq, device=inputs_embeds.device) + 2
        h = enc.layernorm_embedding(inputs_embeds + enc.embed_positions.weight[pos_ids].unsqueeze(0))
        mask = _padding_mask(attention_mask, h.dtype)
        for layer in enc.layers:
            a = layer.self_attn
            q, k, v = (_heads(p(h), self.heads) for p in (a.q_proj, a.k_proj, a.v_proj))
            h = layer.self_attn_layer_norm(h + a.out_proj(_merge_heads(_attend(q, k, v, mask, a.scaling))))
            ff = layer.fc2(layer.activation_fn(layer.fc1(h)))
            h = layer.final_layer_norm(h + ff)
        return h


class Decoder(nn.Module):
    """The BART decoder plus LM head, in two flavours.

    with_past=False (`decoder_model`): inputs (encoder_attention_mask, encoder_hidden_states,
    inputs_embeds); outputs logits, then per layer present.{i}.decoder.key/value and
    present.{i}.encoder.key/value.
    with_past=True (`decoder_with_past_model`): inputs (encoder_attention_mask, inputs_embeds, then per
    layer past_key_values.{i}.decoder.key/value, past_key_values.{i}.encoder.key/value); outputs logits
    and present.{i}.decoder.key/value.
    """

    def __init__(self, model, vocab_size: int, final_logits_bias, with_past: bool):
        super().__init__()
        self.dec = model.model.language_model.decoder
        self.heads = model.config.text_config.decoder_attention_heads
        self.lm_head = nn.Parameter(model.lm_head.weight[:vocab_size].detach(), requires_grad=False)
        bias = None if final_logits_bias is None else final_logits_bias.reshape(-1)[:vocab_size]
        self.bias = None if bias is None else nn.Parameter(bias.detach().clone(), requires_grad=False)
        self.with_past = with_past
        self.n_layers = len(self.dec.layers)

    def forward(self, *args):
        if self.with_past:
            encoder_attention_mask, inputs_embeds, *past = args
            encoder_hidden_states = None
        else:
            encoder_attention_mask, encoder_hidden_states, inputs_embeds = args
            past = None
        dec = self.dec
        b, s, _ = inputs_embeds.shape
        past_len = past[0].shape[2] if past is not None else 0
        pos_ids = torch.arange(s, device=inputs_embeds.device) + past_len
        h = dec.layernorm_embedding(inputs_embeds + dec.embed_positions.weight[pos_ids + 2].unsqueeze(0))

        total = s + past_len
        q_pos = torch.arange(s, device=h.device) + past_len
        k_pos = torch.arange(total, device=h.device)
        causal = (k_pos[None, :] > q_pos[:, None]).to(h.dtype) * torch.finfo(h.dtype).min
        causal = causal[None, None, :, :]
        cross_mask = _padding_mask(encoder_attention_mask, h.dtype)

        outs = []
        for i, layer in enumerate(dec.layers):
            a = layer.self_attn
            q = _heads(a.q_proj(h), self.heads)
            k = _heads(a.k_proj(h), self.heads)
            v = _heads(a.v_proj(h), self.heads)
            if past is not None:
                k = torch.cat([past[4 * i], k], dim=2)
                v = torch.cat([past[4 * i + 1], v], dim=2)
            h = layer.self_attn_layer_norm(h + a.out_proj(_merge_heads(_attend(q, k, v, causal, a.scaling))))

            x = layer.encoder_attn
            if past is not None:
                ck, cv = past[4 * i + 2], past[4 * i + 3]
            else:
                ck = _heads(x.k_proj(encoder_hidden_states), self.heads)
                cv = _heads(x.v_proj(encoder_hidden_states), self.heads)
            qx = _heads(x.q_proj(h), self.heads)
            h = layer.encoder_attn_layer_norm(h + x.out_proj(_merge_heads(_attend(qx, ck, cv, cross_mask, x.scaling))))
            h = layer.final_layer_norm(h + layer.fc2(layer.activation_fn(layer.fc1(h))))
            outs += [k, v] if past is not None else [k, v, ck, cv]
        logits = torch.matmul(h, self.lm_head.t())
        if self.bias is not None:
            logits = logits + self.bias
        return (logits, *outs)


def decoder_io_names(n_layers: int, with_past: bool) -> tuple[list[str], list[str]]:
    """Input and output names of the two decoder graphs, in the public order."""
    if with_past:
        inputs = ["encoder_attention_mask", "inputs_embeds"]
        for i in range(n_layers):
            inputs += [f"past_key_values.{i}.{kind}.{kv}" for kind in ("decoder", "encoder") for kv in ("key", "value")]
        outputs = ["logits"]
        for i in range(n_layers):
            outputs += [f"present.{i}.decoder.key", f"present.{i}.decoder.value"]
    else:
        inputs = ["encoder_attention_mask", "encoder_hidden_states", "inputs_embeds"]
        outputs = ["logits"]
        for i in range(n_layers):
            outputs += [f"present.{i}.{kind}.{kv}" for kind in ("decoder", "encoder") for kv in ("key", "value")]
    return inputs, outputs
