#!/usr/bin/env python3
"""Golden values for SmolLM2-135M-Instruct (Q4_1 GGUF) from the reference implementations.

    bash scripts/fetch-models.sh                               # the model, into the cache
    .venv-tools/bin/python tools/make_smollm2_goldens.py       # -> tests/fixtures/smollm2/

References:
  * logits and greedy continuations: transformers loading the same GGUF
    (from_pretrained(dir, gguf_file=...), which dequantizes every tensor to f32 with gguf-py
    and undoes llama.cpp's Q/K row permutation), run in f32, with lm_head tied to the
    embedding as llama.cpp does when the file has no `output` tensor;
  * token ids: HF `tokenizers` built from the GGUF's own vocabulary and merges with the
    pre-tokenizer of SmolLM2's tokenizer.json (Digits(individual_digits) + ByteLevel with the
    GPT-2 regex), which is what tokenizer.ggml.pre = "smollm" stands for in llama.cpp.
    (transformers 4.46's GGUF converter treats this vocabulary as a Llama-3 one and does not
    split digits: its ids are stored beside ours as `transformers_gguf_ids`, and the two agree
    on every string without digits — checked below.)
  * chat prompts: the GGUF's Jinja chat template rendered by jinja2 with the settings
    transformers' apply_chat_template uses (trim_blocks, lstrip_blocks).

Full rows of 49,152 logits per position would make the file large, so each position keeps the
top 16 logits (ids and values), the logits of 96 fixed random ids, and the row's max and
logsumexp. The C++ test (tests/runtime/smollm2_golden_test.cpp) states its tolerance.
"""
import hashlib
import json
import os
import platform
import sys
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "tests" / "fixtures" / "smollm2" / "goldens.json"
FILE_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
MAX_NEW_TOKENS = 32
NEAR_TIE = 1e-3
TOP_K = 16
SAMPLED = 96
SCHEMA_VERSION = 1

PROMPTS = [
    {"name": "capital", "text": "The capital of France is"},
    {"name": "story", "text": "Once upon a time, in a small village by the sea, there lived an old fisherman who"},
    {"name": "code", "text": "def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n"},
    {"name": "chat_capital", "messages": [{"role": "user", "content": "What is the capital of France?"}]},
    {"name": "chat_system_multi", "messages": [
        {"role": "system", "content": "You are a concise assistant. Answer in one sentence."},
        {"role": "user", "content": "Name a primary colour."},
        {"role": "assistant", "content": "Red is a primary colour."},
        {"role": "user", "content": "Name another one, and say why it is primary."}]},
]

TOKENIZER_STRINGS = [
    "Hello world",
    "The capital of France is Paris.",
    "I'm sure they'll say it's fine, aren't they?",
    "In 2024, 12345 people paid $3.14159 each (about 1,000,000 in total).",
    "naïve café, Größe, 東京, Привет, 🚀🔥!",
    "    indented\n\n\ttabbed  double  spaces   \r\n",
    "def f(x):\n    return x ** 2 + 1  # square",
    "<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n",
    "<|endoftext|>text after a special token",
    "UPPER lower MiXeD snake_case kebab-case CamelCase",
    "",
    " ",
    "a",
]


def model_cache_dir() -> Path:
    if os.environ.get("KVWB_MODEL_CACHE"):
        return Path(os.environ["KVWB_MODEL_CACHE"])
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]) / "kvwb" / "models"
    return Path.home() / ".cache" / "kvwb" / "models"


def read_gguf_vocab(path: Path):
    from gguf import GGUFReader
    reader = GGUFReader(str(path))

    def strings(key):
        f = reader.fields[key]
        return [bytes(f.parts[i]).decode("utf-8") for i in f.data]

    def ints(key):
        f = reader.fields[key]
        return [int(f.parts[i][0]) for i in f.data]

    def string(key):
        f = reader.fields[key]
        return bytes(f.parts[f.data[0]]).decode("utf-8")

    assert string("tokenizer.ggml.model") == "gpt2" and string("tokenizer.ggml.pre") == "smollm"
    return strings("tokenizer.ggml.tokens"), strings("tokenizer.ggml.merges"), ints("tokenizer.ggml.token_type"), \
        string("tokenizer.chat_template")


def reference_tokenizer(tokens, merges, token_types):
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers
    vocab = {t: i for i, t in enumerate(tokens)}
    bpe = models.BPE(vocab, [tuple(m.split(" ")) for m in merges])
    tok = Tokenizer(bpe)
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)])
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(tokens[i], normalized=False, special=True)
                            for i, t in enumerate(token_types) if t == 3])
    return tok


def render_chat(template: str, messages, bos: str, eos: str) -> str:
    # The environment transformers' apply_chat_template builds (minus its extra globals).
    from jinja2.ext import loopcontrols
    from jinja2.sandbox import ImmutableSandboxedEnvironment
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    return env.from_string(template).render(messages=messages, add_generation_prompt=True, bos_token=bos,
                                            eos_token=eos)


def position_record(row: torch.Tensor, sampled_ids):
    row = row.double()
    top = torch.topk(row, TOP_K)
    return {
        "top_ids": top.indices.tolist(),
        "top_logits": [round(float(v), 5) for v in top.values],
        "sampled_logits": [round(float(row[i]), 5) for i in sampled_ids],
        "max": round(float(row.max()), 5),
        "logsumexp": round(float(torch.logsumexp(row, 0)), 5),
    }


def greedy(model, ids):
    """Greedy continuation without stopping at EOS; margins are top-1 minus top-2 logits."""
    tokens, margins = [], []
    past = None
    inp = torch.tensor([ids])
    with torch.no_grad():
        for _ in range(MAX_NEW_TOKENS):
            out = model(input_ids=inp, past_key_values=past, use_cache=True)
            past = out.past_key_values
            logits = out.logits[0, -1].double()
            top2 = torch.topk(logits, 2)
            nxt = int(top2.indices[0])
            tokens.append(nxt)
            margins.append(round(float(top2.values[0] - top2.values[1]), 6))
            inp = torch.tensor([[nxt]])
    return tokens, margins


def main():
    import gguf
    import tokenizers
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.set_num_threads(2)
    path = model_cache_dir() / FILE_NAME
    if not path.is_file():
        sys.exit(f"{path} is missing: run scripts/fetch-models.sh first")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != SHA256:
        sys.exit(f"{path} has sha256 {digest}, expected {SHA256}")

    tokens, merges, token_types, template = read_gguf_vocab(path)
    ref_tok = reference_tokenizer(tokens, merges, token_types)
    hf_tok = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    bos, eos = tokens[1], tokens[2]  # tokenizer.ggml.bos_token_id 1, eos_token_id 2

    tokenizer_cases = []
    for text in TOKENIZER_STRINGS:
        ids = ref_tok.encode(text, add_special_tokens=False).ids
        hf_ids = hf_tok.encode(text, add_special_tokens=False)
        if not any(ch.isdigit() for ch in text):
            assert ids == hf_ids, (text, ids, hf_ids)
        tokenizer_cases.append({"text": text, "ids": ids, "transformers_gguf_ids": hf_ids,
                                "decoded": ref_tok.decode(ids, skip_special_tokens=False)})

    model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, torch_dtype=torch.float32)
    # The GGUF has no `output` tensor: llama.cpp then uses token_embd as the LM head (tied),
    # but transformers 4.46 leaves lm_head randomly initialised. Tie it as llama.cpp does.
    from gguf import GGUFReader
    assert all(t.name != "output.weight" for t in GGUFReader(str(path)).tensors)
    model.lm_head.weight = model.model.embed_tokens.weight
    model.eval()
    rng = np.random.default_rng(1234)
    sampled_ids = sorted(int(i) for i in rng.choice(model.config.vocab_size, SAMPLED, replace=False))

    prompts = []
    for p in PROMPTS:
        rec = {"name": p["name"]}
        if "messages" in p:
            rec["messages"] = p["messages"]
            rec["rendered"] = render_chat(template, p["messages"], bos, eos)
            text = rec["rendered"]
        else:
            rec["text"] = p["text"]
            text = p["text"]
        ids = ref_tok.encode(text, add_special_tokens=False).ids
        rec["ids"] = ids
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([ids])).logits[0]
        rec["positions"] = [position_record(logits[t], sampled_ids) for t in range(len(ids))]
        rec["greedy_tokens"], rec["greedy_margins"] = greedy(model, ids)
        rec["greedy_text"] = ref_tok.decode(rec["greedy_tokens"], skip_special_tokens=False)
        prompts.append(rec)
        print(f"{p['name']}: {len(ids)} tokens -> {rec['greedy_text']!r}", file=sys.stderr)

    goldens = {
        "schema_version": SCHEMA_VERSION,
        "model_file": FILE_NAME,
        "sha256": SHA256,
        "made_by": "tools/make_smollm2_goldens.py",
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
                     "gguf": getattr(gguf, "__version__", "0.19")},
        "max_new_tokens": MAX_NEW_TOKENS,
        "near_tie_margin": NEAR_TIE,
        "top_k": TOP_K,
        "sampled_ids": sampled_ids,
        "prompts": prompts,
        "tokenizer": tokenizer_cases,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(goldens, ensure_ascii=False, separators=(",", ":")) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
