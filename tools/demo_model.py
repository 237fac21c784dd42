"""The demo model as a plain torch module whose parameter names are HF LlamaForCausalLM's.

Written by hand (not transformers' class) for two reasons: grouped-query attention without
materialising repeated K/V (torch 1.13 has no scaled_dot_product_attention), and a simple KV
cache for the greedy validation decode. tools/demo_export.py checks that transformers gives
the same logits from the exported files.
"""
import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

# Byte tokenizer contract (engine/tokenizer): ids 0..255 are bytes, then the specials.
BOS_ID, EOS_ID, PAD_ID = 256, 257, 258
SPECIALS = ["<bos>", "<eos>", "<pad>"]
VOCAB_SIZE = 259


@dataclass
class DemoConfig:
    hidden_size: int = 256
    num_hidden_layers: int = 4
    num_attention_heads: int = 8
    num_key_value_heads: int = 4
    intermediate_size: int = 512
    max_position_embeddings: int = 2048
    rope_theta: float = 10000.0
    rms_norm_eps: float = 1e-5
    vocab_size: int = VOCAB_SIZE
    tie_word_embeddings: bool = False

    @property
    def head_dim(self):
        return self.hidden_size // self.num_attention_heads

    def to_dict(self):
        return asdict(self)


class RMSNorm(nn.Module):
    def __init__(self, size, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(size))
        self.eps = eps

    def forward(self, x):
        var = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(var + self.eps))


def rope_tables(cfg, positions):
    """cos/sin of shape [T, head_dim] for HF's rotate-half RoPE."""
    d = cfg.head_dim
    steps = torch.arange(0, d, 2, dtype=torch.int64, device=positions.device).float()
    inv_freq = 1.0 / (cfg.rope_theta ** (steps / d))
    freqs = positions.float()[:, None] * inv_freq[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        h, kv, d = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
        self.q_proj = nn.Linear(cfg.hidden_size, h * d, bias=False)
        self.k_proj = nn.Linear(cfg.hidden_size, kv * d, bias=False)
        self.v_proj = nn.Linear(cfg.hidden_size, kv * d, bias=False)
        self.o_proj = nn.Linear(h * d, cfg.hidden_size, bias=False)

    def forward(self, x, cos, sin, cache=None):
        """x [B, T, C]; cache: None, or a dict holding this layer's past 'k'/'v' (updated)."""
        b, t, _ = x.shape
        h, kv, d = self.cfg.num_attention_heads, self.cfg.num_key_value_heads, self.cfg.head_dim
        group = h // kv
        q = self.q_proj(x).view(b, t, h, d).transpose(1, 2)
        k = self.k_proj(x).view(b, t, kv, d).transpose(1, 2)
        v = self.v_proj(x).view(b, t, kv, d).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        past = 0
        if cache is not None:
            if "k" in cache:
                past = cache["k"].shape[2]
                k = torch.cat((cache["k"], k), dim=2)
                v = torch.cat((cache["v"], v), dim=2)
            cache["k"], cache["v"] = k, v
        s = k.shape[2]
        # Query heads of one KV group share that group's K/V (no repeated copies):
        # scores [B*kv, group*T, S]; baddbmm adds the causal mask inside the GEMM.
        qg = q.reshape(b * kv, group * t, d)
        kt = k.reshape(b * kv, s, d).transpose(1, 2)
        if t == 1:  # one decode query sees every cached key
            scores = torch.bmm(qg, kt) * (1.0 / math.sqrt(d))
        else:
            bias = causal_bias(group, t, past, x.device)
            scores = torch.baddbmm(bias, qg, kt, alpha=1.0 / math.sqrt(d))
        probs = F.softmax(scores, dim=-1)
        out = torch.bmm(probs, v.reshape(b * kv, s, d))
        out = out.view(b, h, t, d).transpose(1, 2).reshape(b, t, h * d)
        return self.o_proj(out)


_BIAS_CACHE = {}


def causal_bias(group, t, past, device):
    """[group*T, past+T] additive mask (0 or -inf): query i of a chunk sees keys <= past+i."""
    key = (group, t, past, str(device))
    if key not in _BIAS_CACHE:
        if len(_BIAS_CACHE) > 64:
            _BIAS_CACHE.clear()
        mask = torch.ones(t, past + t, dtype=torch.bool, device=device).triu(past + 1)
        bias = torch.zeros(t, past + t, device=device).masked_fill(mask, float("-inf"))
        _BIAS_CACHE[key] = bias.repeat(group, 1)
    return _BIAS_CACHE[key]


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.gate_proj = nn.Linear(cfg.hidden_size, cfg.intermediate_size, bias=False)
        self.up_proj = nn.Linear(cfg.hidden_size, cfg.intermediate_size, bias=False)
        self.down_proj = nn.Linear(cfg.intermediate_size, cfg.hidden_size, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.self_attn = Attention(cfg)
        self.mlp = MLP(cfg)
        self.input_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.post_attention_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)

    def forward(self, x, cos, sin, cache=None):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, cache)
        return x + self.mlp(self.post_attention_layernorm(x))


class Backbone(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.layers = nn.ModuleList(DecoderLayer(cfg) for _ in range(cfg.num_hidden_layers))
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)


class DemoLlama(nn.Module):
    """Parameters named model.* and lm_head.* exactly as LlamaForCausalLM's state dict."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.model = Backbone(cfg)
        self.lm_head = nn.Linear(cfg.hidden_size, cfg.vocab_size, bias=False)
        self.apply(self._init)

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)

    def forward(self, ids, caches=None, start=0):
        """ids [B, T] -> logits [B, T, V]. caches: list of per-layer dicts for incremental decode."""
        t = ids.shape[1]
        cos, sin = rope_tables(self.cfg, torch.arange(start, start + t, device=ids.device))
        x = self.model.embed_tokens(ids)
        for i, layer in enumerate(self.model.layers):
            x = layer(x, cos, sin, None if caches is None else caches[i])
        return self.lm_head(self.model.norm(x))

    @torch.no_grad()
    def greedy(self, prompt_ids, max_new_tokens, eos_id=EOS_ID):
        """Greedy continuation of one prompt (list of ids) with a KV cache; stops at eos."""
        caches = [dict() for _ in self.model.layers]
        device = self.lm_head.weight.device
        ids = torch.tensor([prompt_ids], dtype=torch.long, device=device)
        logits = self(ids, caches, 0)
        out, pos = [], len(prompt_ids)
        for _ in range(max_new_tokens):
            nxt = int(logits[0, -1].argmax())
            if nxt == eos_id:
                break
            out.append(nxt)
            logits = self(torch.tensor([[nxt]], dtype=torch.long, device=device), caches, pos)
            pos += 1
        return out


def encode_prompt(text):
    """The byte tokenizer's encoding with BOS (what tokenizer.json's template produces)."""
    return [BOS_ID] + list(text.encode("utf-8"))


def decode_bytes(ids):
    return bytes(i for i in ids if i < 256).decode("utf-8", errors="replace")
