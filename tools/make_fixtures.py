#!/usr/bin/env python3
"""Makes the tiny random-weight fixture models of tests/fixtures/models/ and their goldens.

HF transformers is the reference implementation: it builds each model, saves it in HF layout
(save_pretrained, safetensors) and computes f32 logits and greedy continuations from the
*saved* files, so the C++ loader and forward pass can be checked against them.

    .venv-tools/bin/python tools/make_fixtures.py            # regenerate everything
    .venv-tools/bin/python tools/make_fixtures.py --verify   # reload and check the goldens

The layout of goldens.json is documented in tests/fixtures/models/README.md.
"""
import argparse
import json
import platform
import shutil
import sys
from pathlib import Path

import numpy as np
import safetensors
import tokenizers
import torch
import transformers
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import (GenerationConfig, LlamaConfig, LlamaForCausalLM,
                          PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM)

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "tests" / "fixtures" / "models"
SCHEMA_VERSION = 1
VOCAB_SIZE = 384
SPECIAL = "<|endoftext|>"
MAX_NEW_TOKENS = 32
NEAR_TIE = 1e-3          # DESIGN.md: greedy steps with a top-2 margin below this may differ
WANTED_MIN_MARGIN = 5e-3  # seeds are tried in order until every greedy step is this clear
SEEDS_TO_TRY = 200
SIZE_LIMIT_BYTES = 5 * 1024 * 1024

# Training text for the fixture tokenizer: plain English about the project, some code-like
# text and a little non-ASCII so that multi-byte characters go through the byte-level path.
TRAINING_TEXT = """
The key-value cache of a transformer grows with every token it reads. A long prompt fills the
memory of the device, and the scheduler can then admit only a few sequences at a time. Cache
compression keeps the keys and values that the model attends to most and evicts the others.
The cache is split into blocks of sixteen tokens; each block belongs to one head of one layer.
When a block becomes empty it returns to the pool, and the next request can use it.
Batch-Max compresses the cache during prefill as well as during decode, so the peak memory of
a sequence is bounded by its budget plus one chunk. KV-Compress lets every head keep a
different number of tokens and evicts whole blocks, so the freed memory can be reused.
The workbench shows the throughput, the batch size and the memory occupancy while it runs.
You can change the budget of the cache, the size of the blocks and the size of the chunks,
then compare the sessions side by side. The tokens per second go up when the batch grows.
def attention(query, key, value):
    scores = query @ key.T / sqrt(head_dim)
    return softmax(scores) @ value
for layer in range(num_layers):
    hidden = hidden + attention(norm(hidden))
    hidden = hidden + mlp(norm(hidden))
Numbers: 0 1 2 3 4 5 6 7 8 9 10 16 32 64 128 256 512 1024 2048 4096 8192.
Café, naïve, façade, Straße, smörgåsbord, déjà vu; 東京 and 北京 are cities; π ≈ 3.14159.
The quick brown fox jumps over the lazy dog. The lazy dog sleeps in the warm sun all day.
Once upon a time there was a small model that learned to read and to write. It read the same
story again and again, and every time it remembered a little more of the words it had seen.
"""

# Three fixed prompts of about 5, 17 and 40 tokens. The third starts with the special token
# written as text, which the tokenizer must turn into its id (it also plays the part of BOS).
PROMPTS = [
    "The cache grows",
    "When a block is empty, it is free.",
    SPECIAL + "Once upon a time a model learned to evict keys. Café, π ≈ 3!",
]


def tiny_llama(vocab, **overrides):
    base = dict(vocab_size=vocab, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                rms_norm_eps=1e-5, rope_theta=10000.0, initializer_range=0.15,
                tie_word_embeddings=True, bos_token_id=0, eos_token_id=0)
    base.update(overrides)
    return LlamaConfig(**base)


def tiny_qwen2(vocab, **overrides):
    base = dict(vocab_size=vocab, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                rms_norm_eps=1e-6, rope_theta=1000000.0, initializer_range=0.15,
                tie_word_embeddings=True, use_sliding_window=False, bos_token_id=0,
                eos_token_id=0)
    base.update(overrides)
    return Qwen2Config(**base)


LLAMA3_SCALING = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                  "high_freq_factor": 4.0, "original_max_position_embeddings": 64}

# name -> (model class, config maker, stored dtype, max shard size or None, what it exercises)
FIXTURES = {
    "llama-tied": (LlamaForCausalLM, lambda v: tiny_llama(v), torch.float32, None,
                   "Llama, tied embeddings (no lm_head.weight in the file), f32, GQA 4q/2kv, "
                   "head_dim 16, rms_norm_eps 1e-5"),
    "llama-untied": (LlamaForCausalLM,
                     lambda v: tiny_llama(v, tie_word_embeddings=False, rms_norm_eps=1e-6),
                     torch.float32, "200KB",
                     "Llama, separate lm_head.weight, f32, saved as several shards with "
                     "model.safetensors.index.json, rms_norm_eps 1e-6"),
    "qwen2-bias": (Qwen2ForCausalLM, lambda v: tiny_qwen2(v), torch.float32, None,
                   "Qwen2: q/k/v projections with (non-zero) bias, rope_theta 1e6, tied, f32"),
    "llama3-rope": (LlamaForCausalLM,
                    lambda v: tiny_llama(v, num_attention_heads=2, num_key_value_heads=2,
                                         rope_theta=500000.0, rope_scaling=LLAMA3_SCALING),
                    torch.float32, None,
                    "Llama with llama3 RoPE scaling (factor 8, low 1, high 4, original max "
                    "positions 64), rope_theta 5e5, head_dim 32, 2 heads = plain MHA"),
    "llama-bf16": (LlamaForCausalLM, lambda v: tiny_llama(v), torch.bfloat16, None,
                   "Llama stored in bf16; goldens are f32 math on the stored (rounded) weights"),
    "llama-f16": (LlamaForCausalLM, lambda v: tiny_llama(v), torch.float16, None,
                  "Llama stored in f16; goldens are f32 math on the stored (rounded) weights"),
    "llama-gqa4": (LlamaForCausalLM,
                   lambda v: tiny_llama(v, num_attention_heads=8, num_key_value_heads=2,
                                        head_dim=16),
                   torch.float32, None,
                   "Llama with GQA ratio 4 (8 query heads, 2 KV heads) and an explicit "
                   "head_dim 16 != hidden_size / heads (q_proj is 64 -> 128), tied, f32"),
}


def build_tokenizer():
    """Byte-level BPE (GPT-2 style) trained on TRAINING_TEXT, with <|endoftext|> as id 0."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(add_prefix_space=False, trim_offsets=False)
    trainer = trainers.BpeTrainer(vocab_size=VOCAB_SIZE, min_frequency=2, special_tokens=[SPECIAL],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(TRAINING_TEXT.splitlines(keepends=True), trainer=trainer)
    if tok.get_vocab_size() != VOCAB_SIZE:
        sys.exit(f"tokenizer: trained {tok.get_vocab_size()} tokens, wanted {VOCAB_SIZE}")
    if tok.token_to_id(SPECIAL) != 0:
        sys.exit(f"tokenizer: {SPECIAL} is not id 0")
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=SPECIAL, eos_token=SPECIAL,
                                   unk_token=None, model_max_length=256)


def encode(hf_tok, text):
    # No BOS is added: the ids are exactly what the tokenizer makes of the text.
    ids = hf_tok(text, add_special_tokens=False)["input_ids"]
    return [int(i) for i in ids]


def randomize_defaults(model, seed):
    """HF initialises RMSNorm weights to 1 and linear biases to 0: a loader that skipped them
    would pass. Give them random values so that every stored tensor matters."""
    gen = torch.Generator().manual_seed(seed + 7919)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith("norm.weight"):
                param.copy_(1.0 + 0.2 * torch.randn(param.shape, generator=gen))
            elif name.endswith(".bias"):
                param.copy_(0.3 * torch.randn(param.shape, generator=gen))


def save_fixture(out_dir, name, seed, hf_tok):
    cls, make_config, dtype, shard, _ = FIXTURES[name]
    torch.manual_seed(seed)
    config = make_config(len(hf_tok))
    config._attn_implementation = "eager"
    model = cls(config).eval()
    randomize_defaults(model, seed)
    model = model.to(dtype)
    model.config.torch_dtype = dtype
    model.generation_config = GenerationConfig(bos_token_id=0, eos_token_id=0, do_sample=False)
    target = out_dir / name
    if target.exists():
        shutil.rmtree(target)
    kwargs = {"max_shard_size": shard} if shard else {}
    model.save_pretrained(target, safe_serialization=True, **kwargs)
    hf_tok.save_pretrained(target)
    return target


def load_f32(path, **config_changes):
    """Loads a saved fixture and upcasts it to f32 (exact for bf16/f16 weights)."""
    config = transformers.AutoConfig.from_pretrained(path)
    for key, value in config_changes.items():
        setattr(config, key, value)
    model = transformers.AutoModelForCausalLM.from_pretrained(
        path, config=config, torch_dtype=torch.float32, attn_implementation="eager")
    return model.eval()


@torch.no_grad()
def all_logits(model, ids):
    return model(torch.tensor([ids])).logits[0].float()  # [positions, vocab]


def top2_margin(row):
    top = torch.topk(row, 2).values
    return float(top[0] - top[1])


@torch.no_grad()
def greedy_recompute(model, ids, steps):
    """Greedy decoding by re-running the whole sequence each step (no KV cache, no EOS stop)."""
    seq, tokens, margins = list(ids), [], []
    for _ in range(steps):
        row = all_logits(model, seq)[-1]
        token = int(torch.argmax(row))
        tokens.append(token)
        margins.append(top2_margin(row))
        seq.append(token)
    return tokens, margins


@torch.no_grad()
def greedy_cached(model, ids, steps):
    """Greedy decoding through transformers' KV cache: a second path for --verify."""
    out = model(torch.tensor([ids]), use_cache=True)
    past, tokens, margins = out.past_key_values, [], []
    row = out.logits[0, -1].float()
    for _ in range(steps):
        token = int(torch.argmax(row))
        tokens.append(token)
        margins.append(top2_margin(row))
        out = model(torch.tensor([[token]]), past_key_values=past, use_cache=True)
        past, row = out.past_key_values, out.logits[0, -1].float()
    return tokens, margins


def round7(x):
    return float(f"{x:.7g}")


def round_nested(array):
    return [round_nested(a) for a in array] if isinstance(array, list) else round7(array)


def fixture_goldens(path, prompt_ids):
    model = load_f32(path)
    logits, tokens, margins = [], [], []
    for ids in prompt_ids:
        logits.append(all_logits(model, ids).tolist())
        t, m = greedy_recompute(model, ids, MAX_NEW_TOKENS)
        tokens.append(t)
        margins.append(m)
    flat_margins = [m for ms in margins for m in ms]
    return model, {
        "logits": round_nested(logits),
        "greedy_tokens": tokens,
        "greedy_margins": round_nested(margins),
        "greedy_min_margin": round7(min(flat_margins)),
        "greedy_near_ties": sum(m < NEAR_TIE for m in flat_margins),
    }


def rope_scaling_effect(path, prompt_ids):
    """Max |logit| change at the longest prompt when the same weights run without scaling."""
    scaled = load_f32(path)
    plain = load_f32(path, rope_scaling=None)
    a, b = all_logits(scaled, prompt_ids[-1]), all_logits(plain, prompt_ids[-1])
    per_position = (a - b).abs().max(dim=1).values
    return float(per_position.max()), [round7(float(v)) for v in per_position]


def library_versions():
    return {"python": platform.python_version(), "torch": torch.__version__,
            "transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
            "safetensors": safetensors.__version__, "numpy": np.__version__}


def dir_size(path):
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


def generate(out_dir, base_seed):
    out_dir.mkdir(parents=True, exist_ok=True)
    hf_tok = build_tokenizer()
    prompt_ids = [encode(hf_tok, p) for p in PROMPTS]
    print("prompt lengths:", [len(ids) for ids in prompt_ids])
    goldens = {
        "schema_version": SCHEMA_VERSION,
        "command": ".venv-tools/bin/python tools/make_fixtures.py"
                   + ("" if base_seed == 1234 else f" --seed {base_seed}"),
        "versions": library_versions(),
        "compute_dtype": "float32",
        "max_new_tokens": MAX_NEW_TOKENS,
        "near_tie_margin": NEAR_TIE,
        "prompts": PROMPTS,
        "prompt_ids": prompt_ids,
        "fixtures": {},
    }
    for index, name in enumerate(FIXTURES):
        # Try seeds in a fixed order until every greedy step has a clear winner.
        for attempt in range(SEEDS_TO_TRY):
            seed = base_seed + 100 * index + attempt
            path = save_fixture(out_dir, name, seed, hf_tok)
            _, gold = fixture_goldens(path, prompt_ids)
            if gold["greedy_min_margin"] >= WANTED_MIN_MARGIN:
                break
        else:
            sys.exit(f"{name}: no seed in {SEEDS_TO_TRY} gave greedy margins >= "
                     f"{WANTED_MIN_MARGIN}")
        cls, _, dtype, _, what = FIXTURES[name]
        entry = {"exercises": what, "architecture": cls.__name__,
                 "stored_dtype": str(dtype).replace("torch.", ""), "seed": seed,
                 "vocab_size": len(hf_tok)}
        if name == "llama3-rope":
            worst, per_position = rope_scaling_effect(path, prompt_ids)
            print(f"{name}: max |logit difference| scaled vs unscaled RoPE, longest prompt: "
                  f"{worst:.4f} (position 0: {per_position[0]}, last: {per_position[-1]})")
            if worst < 1e-2:
                sys.exit(f"{name}: llama3 scaling barely changes the logits ({worst})")
            entry["rope_scaling_max_logit_change"] = round7(worst)
        entry.update(gold)
        goldens["fixtures"][name] = entry
        print(f"{name}: seed {seed}, greedy min margin {gold['greedy_min_margin']:.4f}, "
              f"{dir_size(path) / 1024:.0f} KiB, files: "
              + ", ".join(sorted(f.name for f in path.iterdir())))
    golden_path = out_dir / "goldens.json"
    golden_path.write_text(json.dumps(goldens, separators=(",", ":")) + "\n")
    total = dir_size(out_dir)
    print(f"goldens.json {golden_path.stat().st_size / 1024:.0f} KiB; "
          f"fixtures folder {total / 1024:.0f} KiB")
    if total > SIZE_LIMIT_BYTES:
        sys.exit(f"{out_dir}: {total} bytes, over the {SIZE_LIMIT_BYTES} byte limit")


def check(condition, message, failures):
    if not condition:
        failures.append(message)
        print("FAIL:", message)


def stored_dtypes(path):
    """The dtypes written in the safetensors headers of a fixture, and the number of files."""
    files = sorted(Path(path).glob("*.safetensors"))
    dtypes = set()
    for f in files:
        with safetensors.safe_open(f, framework="pt") as st:
            dtypes |= {str(st.get_slice(k).get_dtype()) for k in st.keys()}
    return dtypes, len(files)


def verify(out_dir):
    goldens = json.loads((out_dir / "goldens.json").read_text())
    failures = []
    for name, entry in goldens["fixtures"].items():
        path = out_dir / name
        hf_tok = PreTrainedTokenizerFast.from_pretrained(path)
        for text, ids in zip(goldens["prompts"], goldens["prompt_ids"]):
            check(encode(hf_tok, text) == ids, f"{name}: tokenizer gives other ids for {text!r}",
                  failures)
        config = json.loads((path / "config.json").read_text())
        check(config["vocab_size"] == len(hf_tok) == entry["vocab_size"],
              f"{name}: vocab_size differs between config and tokenizer", failures)
        dtypes, n_files = stored_dtypes(path)
        want = {"float32": "F32", "bfloat16": "BF16", "float16": "F16"}[entry["stored_dtype"]]
        check(dtypes == {want}, f"{name}: stored dtypes {dtypes}, expected {want}", failures)
        if (path / "model.safetensors.index.json").exists():
            check(n_files >= 2, f"{name}: sharded but only {n_files} file", failures)

        model = load_f32(path)
        failures_before = len(failures)
        worst_logit = 0.0
        for p, ids in enumerate(goldens["prompt_ids"]):
            got = all_logits(model, ids).numpy()
            want_logits = np.array(entry["logits"][p], dtype=np.float64)
            check(got.shape == want_logits.shape, f"{name}: prompt {p} logits shape", failures)
            # Goldens are rounded to 7 significant digits; the run itself is deterministic.
            err = np.abs(got - want_logits) - 1e-6 * np.abs(want_logits)
            worst_logit = max(worst_logit, float(np.abs(got - want_logits).max()))
            check(err.max() <= 1e-5, f"{name}: prompt {p} logits differ by {err.max():.3g}",
                  failures)
            tokens, margins = greedy_cached(model, ids, goldens["max_new_tokens"])
            for step, (t, m) in enumerate(zip(tokens, margins)):
                want_t = entry["greedy_tokens"][p][step]
                want_m = entry["greedy_margins"][p][step]
                if want_m >= goldens["near_tie_margin"]:
                    check(t == want_t, f"{name}: prompt {p} step {step}: token {t} != {want_t}",
                          failures)
                check(abs(m - want_m) <= 1e-4, f"{name}: prompt {p} step {step}: margin {m} "
                      f"!= {want_m}", failures)
                if t != want_t:
                    break  # the continuations diverge from here on
        verdict = "ok" if len(failures) == failures_before else "FAILED"
        print(f"{name}: logits max |diff| {worst_logit:.2e}; logits and greedy tokens through "
              f"the KV-cache path: {verdict}")
    total = dir_size(out_dir)
    check(total <= SIZE_LIMIT_BYTES, f"fixtures folder is {total} bytes", failures)
    if failures:
        sys.exit(f"verify: {len(failures)} failure(s)")
    print(f"verify: all {len(goldens['fixtures'])} fixtures reproduce their goldens")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="fixtures folder")
    parser.add_argument("--seed", type=int, default=1234, help="base seed")
    parser.add_argument("--verify", action="store_true",
                        help="reload the saved fixtures and check goldens.json instead")
    args = parser.parse_args()
    torch.set_num_threads(1)  # tiny models; also keeps the reductions' order fixed
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    if args.verify:
        verify(args.out)
    else:
        generate(args.out, args.seed)


if __name__ == "__main__":
    main()
