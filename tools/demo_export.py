"""Writes the demo model in HF layout and checks it with transformers and tokenizers.

Files: config.json (LlamaForCausalLM), model.safetensors (f16 or bf16), tokenizer.json (the byte
tokenizer), tokenizer_config.json, generation_config.json, training_info.json. The check loads
the written files with transformers 4.46.3 (eager attention) and requires the same logits and
the same greedy tokens as the training module given the same rounded weights.
"""
import json
from pathlib import Path

import torch
from safetensors.torch import save_file

import demo_tasks
from demo_model import BOS_ID, EOS_ID, PAD_ID, SPECIALS, DemoLlama, encode_prompt

LOGIT_TOLERANCE = 1e-3  # f32 on both sides; only summation order differs
DTYPES = {"f16": torch.float16, "bf16": torch.bfloat16}


def byte_tokenizer_json():
    """HF tokenizer.json for the byte tokenizer: ids 0..255 are bytes (<0xNN>), specials after."""
    added = [{"id": 256 + i, "content": s, "single_word": False, "lstrip": False,
              "rstrip": False, "normalized": False, "special": True}
             for i, s in enumerate(SPECIALS)]
    bos = SPECIALS[0]
    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
        "normalizer": None, "pre_tokenizer": None,
        # Like Llama's files: encoding with special tokens puts <bos> first.
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": bos, "type_id": 0}},
                       {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": bos, "type_id": 0}},
                     {"Sequence": {"id": "A", "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {bos: {"id": bos, "ids": [BOS_ID], "tokens": [bos]}}},
        "decoder": {"type": "Sequence", "decoders": [{"type": "ByteFallback"}, {"type": "Fuse"}]},
        "model": {"type": "BPE", "dropout": None, "unk_token": None,
                  "continuing_subword_prefix": None, "end_of_word_suffix": None,
                  "fuse_unk": False, "byte_fallback": True, "ignore_merges": False,
                  "vocab": {f"<0x{b:02X}>": b for b in range(256)}, "merges": []},
    }


def hf_config(cfg, dtype_name):
    from transformers import LlamaConfig
    return LlamaConfig(
        vocab_size=cfg.vocab_size, hidden_size=cfg.hidden_size,
        intermediate_size=cfg.intermediate_size, num_hidden_layers=cfg.num_hidden_layers,
        num_attention_heads=cfg.num_attention_heads, num_key_value_heads=cfg.num_key_value_heads,
        head_dim=cfg.head_dim, max_position_embeddings=cfg.max_position_embeddings,
        rms_norm_eps=cfg.rms_norm_eps, rope_theta=cfg.rope_theta, hidden_act="silu",
        tie_word_embeddings=cfg.tie_word_embeddings, bos_token_id=BOS_ID, eos_token_id=EOS_ID,
        pad_token_id=PAD_ID, torch_dtype={"f16": "float16", "bf16": "bfloat16"}[dtype_name],
        architectures=["LlamaForCausalLM"])


def write_json(path, value):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=2)
        f.write("\n")


def export(model, out, info, dtype_name="f16"):
    from transformers import GenerationConfig
    out.mkdir(parents=True, exist_ok=True)
    cfg = model.cfg
    dtype = DTYPES[dtype_name]
    tensors = {k: v.detach().to(dtype).contiguous() for k, v in model.state_dict().items()}
    save_file(tensors, str(out / "model.safetensors"), metadata={"format": "pt"})
    hf_config(cfg, dtype_name).save_pretrained(out)
    GenerationConfig(bos_token_id=BOS_ID, eos_token_id=EOS_ID, pad_token_id=PAD_ID,
                     do_sample=False).save_pretrained(out)
    write_json(out / "tokenizer.json", byte_tokenizer_json())
    write_json(out / "tokenizer_config.json", {
        "tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<bos>", "eos_token": "<eos>",
        "pad_token": "<pad>", "add_bos_token": True, "add_eos_token": False,
        "model_max_length": cfg.max_position_embeddings, "clean_up_tokenization_spaces": False})
    write_json(out / "training_info.json", {
        "trained_by": "tools/train_demo.py (see docs/demo-model.md)", "step": info["step"],
        "tokens": info["tokens"], "train_hours": round(info["train_s"] / 3600, 2),
        "weights_dtype": dtype_name, "answer_cue": demo_tasks.ANSWER_CUE,
        "tasks": demo_tasks.TASKS})
    # The reference for the check: the training module with the same rounded weights.
    rounded = DemoLlama(cfg)
    rounded.load_state_dict({k: v.float() for k, v in tensors.items()})
    check_tokenizer(out)
    check_transformers(out, rounded.eval())
    for f in sorted(out.iterdir()):
        print(f"  {f}: {f.stat().st_size} bytes")


def check_tokenizer(out):
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer
    tok = Tokenizer.from_file(str(out / "tokenizer.json"))
    text = "héllo 12"
    want = list(text.encode("utf-8"))
    got = tok.encode(text, add_special_tokens=False).ids
    if got != want:
        raise SystemExit(f"{out}/tokenizer.json: encodes {text!r} to {got}, want {want}")
    if tok.encode(text).ids != [BOS_ID] + want:
        raise SystemExit(f"{out}/tokenizer.json: template does not put <bos> first")
    if tok.decode(want + [EOS_ID]) != text:
        raise SystemExit(f"{out}/tokenizer.json: decode does not round-trip {text!r}")
    fast = AutoTokenizer.from_pretrained(str(out))
    if fast(text)["input_ids"] != [BOS_ID] + want or fast.eos_token_id != EOS_ID:
        raise SystemExit(f"{out}: AutoTokenizer disagrees with the byte tokenizer contract")
    print(f"tokenizer: {text!r} -> {got} (and <bos> first with specials): ok")


@torch.no_grad()
def hf_greedy(hf, x, max_new_tokens):
    """Greedy decode through transformers' own KV cache (generate() needs torch.distributed,
    which Debian's torch 1.13 cannot import under Python 3.11)."""
    from transformers import DynamicCache
    res = hf(input_ids=x, past_key_values=DynamicCache(), use_cache=True)
    gen = []
    for _ in range(max_new_tokens):
        nxt = int(res.logits[0, -1].argmax())
        if nxt == EOS_ID:
            break
        gen.append(nxt)
        res = hf(input_ids=torch.tensor([[nxt]]), past_key_values=res.past_key_values,
                 use_cache=True)
    return gen


def check_transformers(out, reference):
    from tokenizers import Tokenizer
    from transformers import LlamaForCausalLM
    hf = LlamaForCausalLM.from_pretrained(str(out), torch_dtype=torch.float32,
                                          attn_implementation="eager").eval()
    tok = Tokenizer.from_file(str(out / "tokenizer.json"))
    worst, agree = 0.0, 0
    tasks = demo_tasks.TASKS
    for i, task in enumerate(tasks):
        req = demo_tasks.make_request(task, demo_tasks.request_seed("validation", 999_000 + i),
                                      300 + 100 * i)
        ids = tok.encode(req["prompt"]).ids
        if ids != encode_prompt(req["prompt"]):
            raise SystemExit(f"{out}/tokenizer.json: encodes a prompt differently from training")
        x = torch.tensor([ids])
        with torch.no_grad():
            ours, theirs = reference(x), hf(x).logits
        worst = max(worst, (ours - theirs).abs().max().item())
        mine = reference.greedy(ids, req["max_new_tokens"])
        agree += int(hf_greedy(hf, x, req["max_new_tokens"]) == mine)
    if worst > LOGIT_TOLERANCE:
        raise SystemExit(f"{out}: transformers logits differ from the training module by {worst:.2e}")
    # Greedy tokens may differ only at near-ties (an untrained model has many); the logits
    # check above is the hard one.
    print(f"transformers: max |logit difference| {worst:.2e} over {len(tasks)} prompts; "
          f"greedy continuations identical on {agree}/{len(tasks)}")
