#!/usr/bin/env python3
"""Tiny GGUF fixtures (tests/fixtures/gguf/) and their goldens from transformers.

    .venv-tools/bin/python tools/make_gguf_fixtures.py

Two of the committed HF fixture models (tests/fixtures/models/) are written as GGUF files the
way llama.cpp's converter writes them, with gguf-py (an independent writer):
  * llama-tied.gguf: architecture `llama`, Q/K rows permuted as convert_hf_to_gguf.py does for
    Llama (so that llama.cpp's pair-wise RoPE is right), tensors in a mix of types (Q8_0 embedding,
    Q4_0, Q4_1, Q8_0, F16, BF16 matrices, F32 norms), a gpt2 vocabulary (pre "gpt-2"), a ChatML
    chat template, alignment 64;
  * qwen2-bias.gguf: architecture `qwen2` (not permuted, half rotation), Q8_0 matrices, F32 biases.
The goldens are transformers loading each GGUF back (dequantizing with gguf-py and undoing the
permutation), in f32: logits at every position of the fixture prompts and greedy continuations
with top-2 margins. They check the whole GGUF path of kvwb without the SmolLM2 download.
"""
import json
import sys
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import load_file

REPO = Path(__file__).resolve().parent.parent
SRC = REPO / "tests" / "fixtures" / "models"
OUT = REPO / "tests" / "fixtures" / "gguf"
MAX_NEW_TOKENS = 16
CHATML = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + "
          "'<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")


def permute(w: np.ndarray, heads: int) -> np.ndarray:
    """llama.cpp's Q/K row order: within each head, rows (i, i + d/2) become adjacent."""
    return w.reshape(heads, 2, w.shape[0] // heads // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def write_gguf(name: str, arch: str, types: dict):
    import gguf
    from gguf import GGMLQuantizationType as T
    src = SRC / name
    config = json.loads((src / "config.json").read_text())
    tok = json.loads((src / "tokenizer.json").read_text())
    weights = load_file(str(src / "model.safetensors"))
    heads, kv_heads = config["num_attention_heads"], config["num_key_value_heads"]

    w = gguf.GGUFWriter(str(OUT / f"{name}.gguf"), arch)
    w.add_custom_alignment(64)
    w.add_name(name)
    w.add_context_length(config["max_position_embeddings"])
    w.add_embedding_length(config["hidden_size"])
    w.add_block_count(config["num_hidden_layers"])
    w.add_feed_forward_length(config["intermediate_size"])
    w.add_head_count(heads)
    w.add_head_count_kv(kv_heads)
    w.add_layer_norm_rms_eps(config["rms_norm_eps"])
    w.add_rope_freq_base(config.get("rope_theta", 10000.0))
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("gpt-2")
    vocab = sorted(tok["model"]["vocab"].items(), key=lambda kv: kv[1])
    w.add_token_list([t for t, _ in vocab])
    w.add_token_types([3 if t == "<|endoftext|>" else 1 for t, _ in vocab])
    w.add_token_merges([" ".join(m) if isinstance(m, list) else m for m in tok["model"]["merges"]])
    w.add_bos_token_id(0)
    w.add_eos_token_id(0)
    w.add_add_bos_token(False)
    w.add_chat_template(CHATML)

    def put(gguf_name, array, qtype):
        array = np.ascontiguousarray(array.astype(np.float32))
        if qtype in (T.F32,):
            w.add_tensor(gguf_name, array)
        elif qtype == T.F16:
            w.add_tensor(gguf_name, array.astype(np.float16))
        else:
            data = gguf.quants.quantize(array, qtype)
            w.add_tensor(gguf_name, data, raw_shape=data.shape, raw_dtype=qtype)

    put("token_embd.weight", weights["model.embed_tokens.weight"], types["embed"])
    put("output_norm.weight", weights["model.norm.weight"], T.F32)
    for i in range(config["num_hidden_layers"]):
        p, b = f"model.layers.{i}.", f"blk.{i}."
        q, k = weights[p + "self_attn.q_proj.weight"], weights[p + "self_attn.k_proj.weight"]
        if arch == "llama":
            q, k = permute(q, heads), permute(k, kv_heads)
        put(b + "attn_q.weight", q, types["q"])
        put(b + "attn_k.weight", k, types["k"])
        put(b + "attn_v.weight", weights[p + "self_attn.v_proj.weight"], types["v"])
        put(b + "attn_output.weight", weights[p + "self_attn.o_proj.weight"], types["o"])
        for proj in ("q", "k", "v"):
            bias = weights.get(p + f"self_attn.{proj}_proj.bias")
            if bias is not None:
                put(b + f"attn_{proj}.bias", bias, T.F32)
        put(b + "ffn_gate.weight", weights[p + "mlp.gate_proj.weight"], types["gate"])
        put(b + "ffn_up.weight", weights[p + "mlp.up_proj.weight"], types["up"])
        put(b + "ffn_down.weight", weights[p + "mlp.down_proj.weight"], types["down"])
        put(b + "attn_norm.weight", weights[p + "input_layernorm.weight"], T.F32)
        put(b + "ffn_norm.weight", weights[p + "post_attention_layernorm.weight"], T.F32)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def goldens_for(name: str, prompt_ids):
    from transformers import AutoModelForCausalLM
    model = AutoModelForCausalLM.from_pretrained(str(OUT), gguf_file=f"{name}.gguf", torch_dtype=torch.float32)
    model.lm_head.weight = model.model.embed_tokens.weight  # no `output` tensor: tied, as llama.cpp
    model.eval()
    out = {"logits": [], "greedy_tokens": [], "greedy_margins": []}
    with torch.no_grad():
        for ids in prompt_ids:
            logits = model(input_ids=torch.tensor([ids])).logits[0]
            out["logits"].append([[round(float(v), 6) for v in row] for row in logits])
            seq, tokens, margins = list(ids), [], []
            for _ in range(MAX_NEW_TOKENS):  # full recompute: no cache involved
                last = model(input_ids=torch.tensor([seq])).logits[0, -1].double()
                top = torch.topk(last, 2)
                tokens.append(int(top.indices[0]))
                margins.append(round(float(top.values[0] - top.values[1]), 6))
                seq.append(tokens[-1])
            out["greedy_tokens"].append(tokens)
            out["greedy_margins"].append(margins)
    return out


def main():
    from gguf import GGMLQuantizationType as T
    torch.set_num_threads(2)
    OUT.mkdir(parents=True, exist_ok=True)
    fixtures = {
        "llama-tied": ("llama", {"embed": T.Q8_0, "q": T.Q4_0, "k": T.Q4_1, "v": T.Q8_0, "o": T.F16,
                                 "gate": T.Q4_1, "up": T.Q4_0, "down": T.BF16}),
        "qwen2-bias": ("qwen2", {"embed": T.Q8_0, "q": T.Q8_0, "k": T.Q8_0, "v": T.Q8_0, "o": T.Q8_0,
                                 "gate": T.Q8_0, "up": T.Q8_0, "down": T.Q8_0}),
    }
    base = json.loads((SRC / "goldens.json").read_text())
    goldens = {"made_by": "tools/make_gguf_fixtures.py", "max_new_tokens": MAX_NEW_TOKENS,
               "near_tie_margin": base["near_tie_margin"], "prompts": base["prompts"],
               "prompt_ids": base["prompt_ids"], "fixtures": {}}
    for name, (arch, types) in fixtures.items():
        write_gguf(name, arch, types)
        goldens["fixtures"][name] = goldens_for(name, base["prompt_ids"])
        print(f"{name}: greedy {goldens['fixtures'][name]['greedy_tokens'][0]}", file=sys.stderr)
    (OUT / "goldens.json").write_text(json.dumps(goldens, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
