"""transformers in f32 on a kvwb workload, one request at a time (batch 1), greedy, full KV.

    python hf_generate.py --gguf MODEL.gguf --workload W.jsonl --max-requests N --threads T --out OUT.json

The GGUF is dequantized to f32 by transformers. Prompts are the chat template rendered by the
GGUF's tokenizer (as kvwb renders them); generation stops at the GGUF's eos token (included in
the output) or at the request's max_new_tokens, as kvwb's does. OUT.json: {"wall_seconds", "prompt_tokens",
"generated_tokens", "results": [{"id", "prompt_tokens", "output_tokens"}]}; the wall time covers
the requests only (not loading), as kvwb's summary does.
"""
import argparse
import json
import time
from pathlib import Path


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--gguf", required=True)
    p.add_argument("--workload", required=True)
    p.add_argument("--max-requests", type=int, default=0)
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--out", required=True)
    a = p.parse_args()

    import torch
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer
    transformers.utils.logging.disable_progress_bar()
    torch.set_num_threads(a.threads)
    path = Path(a.gguf)
    tok = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, dtype=torch.float32)
    model.lm_head.weight = model.model.embed_tokens.weight  # the GGUF ties the head to the embedding
    model.eval()
    from gguf import GGUFReader
    field = GGUFReader(a.gguf).fields["tokenizer.ggml.eos_token_id"]
    eos = int(field.parts[field.data[0]][0])  # the GGUF's eos, where kvwb stops (transformers' may differ)

    requests = [json.loads(line) for line in open(a.workload) if line.strip()]
    if a.max_requests > 0:
        requests = requests[: a.max_requests]
    prompts = []
    for r in requests:
        if "messages" in r:
            text = tok.apply_chat_template(r["messages"], tokenize=False, add_generation_prompt=True)
            ids = tok.encode(text, add_special_tokens=False)  # the template writes BOS where needed
        else:
            ids = tok.encode(r["prompt"], add_special_tokens=True)
        prompts.append(ids)

    results, start = [], time.perf_counter()
    with torch.inference_mode():
        for r, ids in zip(requests, prompts):
            out = model.generate(torch.tensor([ids]), max_new_tokens=r.get("max_new_tokens", 64), do_sample=False,
                                 eos_token_id=eos, pad_token_id=eos, attention_mask=torch.ones(1, len(ids), dtype=torch.long))
            new = out[0, len(ids):].tolist()  # ends with the eos token where it stopped there, as kvwb's
            results.append({"id": r["id"], "prompt_tokens": len(ids), "output_tokens": new})
    wall = time.perf_counter() - start
    json.dump({"wall_seconds": wall, "prompt_tokens": sum(x["prompt_tokens"] for x in results),
               "generated_tokens": sum(len(x["output_tokens"]) for x in results), "results": results},
              open(a.out, "w"))


if __name__ == "__main__":
    main()
