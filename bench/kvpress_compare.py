#!/usr/bin/env python3
"""The Python side of bench/kvpress_compare.sh: kvpress presses on the same GGUF, and the report.

    kvpress_compare.py split WORKLOAD OUT_DIR [--max-requests N]
        OUT_DIR/whole.jsonl: every question folded into its prompt (the whole prompt compressed);
        OUT_DIR/question.jsonl: the requests as given (question appended after compression),
        written only when some request has a `question`.
    kvpress_compare.py run --workload W --protocol whole|question --presses P,... --ratios R,...
                           --out OUT_DIR [--threads T]
        Full KV and every press at every compression ratio: OUT_DIR/kvpress-<method>-<ratio>-<protocol>.outputs.json
        ([{"id", "output", "output_tokens", "margins", "prompt_tokens", "question_tokens"}]).
    kvpress_compare.py report --out OUT_DIR --name NAME --ratios R,... --doc DOC.md --plot PLOT.png
        One markdown table per protocol from the *.results.json files that kvwb-cli wrote (eval
        for kvwb, score for kvpress), the plot, and the request-by-request full-KV comparison.

The model is loaded by transformers from the GGUF (dequantized to f32, run in f32). Tokens are
made as kvwb makes them (run/run.cpp, prompt_tokens): the whole turn rendered by the chat
template and encoded at once; the question's tokens are those after the longest prefix shared
with the encoded text before the question. Decoding is greedy, as kvwb's eval.
"""
import argparse
import contextlib
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TQDM_DISABLE", "1")  # the GGUF dequantization's progress bars

NEAR_TIE = 1e-3  # docs/architecture.md, "Exactness": reference top-2 logit margin below this


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def write_jsonl(path, rows):
    with open(path, "w") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def fold_question(request):
    r = dict(request)
    q = r.pop("question", "")
    if "messages" in r:
        r["messages"] = [dict(m) for m in r["messages"]]
        r["messages"][-1]["content"] += q
    else:
        r["prompt"] += q
    return r


def split(args):
    requests = read_jsonl(args.workload)[: args.max_requests or None]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_jsonl(out / "whole.jsonl", [fold_question(r) for r in requests])
    if any(r.get("question") for r in requests):
        write_jsonl(out / "question.jsonl", requests)
    print(f"{len(requests)} requests; protocols: whole" + (", question" if any(r.get("question") for r in requests) else ""))


# ---- run --------------------------------------------------------------------------------------

def load(gguf):
    import torch
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer
    transformers.utils.logging.disable_progress_bar()
    path = Path(gguf)
    tok = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, dtype=torch.float32)
    # The GGUF has no `output` tensor: llama.cpp (and kvwb) use the embedding as the LM head.
    model.lm_head.weight = model.model.embed_tokens.weight
    model.eval()
    return tok, model


def prompt_tokens(tok, request):
    """(ids, question_tokens): the whole turn encoded at once, split where the question starts."""
    question = request.get("question", "")
    if "messages" in request:
        turns = [dict(m) for m in request["messages"]]
        content = turns[-1]["content"]
        turns[-1]["content"] = content + question
        text = tok.apply_chat_template(turns, tokenize=False, add_generation_prompt=True)
        special = False  # the template writes BOS where the family needs it
    else:
        content = request["prompt"]
        text = content + question
        special = True
    ids = tok.encode(text, add_special_tokens=special)
    if not question:
        return ids, 0
    at = text.rfind(content + question)
    if at < 0:
        sys.exit(f"{request['id']}: the chat template changes the message text: the question cannot be placed")
    before = tok.encode(text[: at + len(content)], add_special_tokens=special)
    shared = 0
    while shared < min(len(before), len(ids)) and before[shared] == ids[shared]:
        shared += 1
    return ids, len(ids) - shared


def make_press(name, ratio):
    """A kvpress press by its class name; AdaKV(...) and ChunkKV(...) wrap SnapKV as in kvpress's
    leaderboard. None for full KV."""
    import kvpress
    if name == "full":
        return None
    if name == "AdaKVPress":
        return kvpress.AdaKVPress(kvpress.SnapKVPress(compression_ratio=ratio))
    if name == "ChunkKVPress":
        return kvpress.ChunkKVPress(kvpress.SnapKVPress(compression_ratio=ratio))
    return getattr(kvpress, name)(compression_ratio=ratio)


def generate(model, ids, question_tokens, protocol, press, max_new, eos, vocab, delimiter=None):
    """Greedy tokens and each step's top-2 logit margin over the model's `vocab`. The press
    compresses the cache during the forward of `context` (the whole prompt, or the prompt before
    the question). Finch (question-aware: `delimiter` given) reads prompt + delimiter + question
    in one forward and re-rotates the keys it keeps, so positions go on from the cache's length."""
    import torch
    from transformers import DynamicCache
    split_at = len(ids) - question_tokens if protocol == "question" else len(ids)
    context, question = ids[:split_at], ids[split_at:]
    if delimiter is not None:
        context = ids[: len(ids) - question_tokens] + [delimiter] + ids[len(ids) - question_tokens:]
    cache = DynamicCache()
    with torch.no_grad():
        with press(model) if press is not None else contextlib.nullcontext():
            out = model(input_ids=torch.tensor([context]), past_key_values=cache, logits_to_keep=1)
        position = cache.get_seq_length() if delimiter is not None else len(context)
        if question:
            # The cache is shorter than the positions it holds: positions are given explicitly.
            out = model(input_ids=torch.tensor([question]), past_key_values=cache, logits_to_keep=1,
                        position_ids=torch.arange(position, position + len(question)).unsqueeze(0))
            position += len(question)
        tokens, margins = [], []
        while True:
            logits = out.logits[0, -1, :vocab].float()
            top = torch.topk(logits, 2)
            token = int(top.indices[0])
            tokens.append(token)
            margins.append(float(top.values[0] - top.values[1]))
            if token in eos or len(tokens) >= max_new:
                break
            out = model(input_ids=torch.tensor([[token]]), past_key_values=cache,
                        position_ids=torch.tensor([[position]]))
            position += 1
    return tokens, margins


def run(args):
    from importlib.metadata import version
    import torch
    import transformers
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, kvpress {version('kvpress')}, "
          f"torch threads {torch.get_num_threads()}", flush=True)
    tok, model = load(args.gguf)
    # kvwb stops at the GGUF's eos_token_id (engine/tokenizer/gguf_vocab.cpp); transformers' GGUF
    # tokenizer reports another id for SmolLM2 (<|im_start|>), so the id is read from the file.
    from gguf import GGUFReader
    field = GGUFReader(args.gguf).fields["tokenizer.ggml.eos_token_id"]
    eos = {int(field.parts[field.data[0]][0])}
    print(f"eos id {sorted(eos)} (transformers' tokenizer says {tok.eos_token_id})", flush=True)
    requests = read_jsonl(args.workload)
    prepared = [(r, *prompt_tokens(tok, r)) for r in requests]
    vocab = model.config.vocab_size  # Finch adds a delimiter token to the embeddings: never sampled
    methods = [("full", 0.0)] + [(p, float(x)) for p in args.presses.split(",") if p for x in args.ratios.split(",")]
    out = Path(args.out)
    for name, ratio in methods:
        label = "full" if name == "full" else f"{name}-{ratio:g}"
        path = out / f"kvpress-{label}-{args.protocol}.outputs.json"
        if path.exists():
            print(f"  {path.name}: already there", flush=True)
            continue
        if name == "FinchPress" and args.protocol == "question":
            print(f"  {label}: question-aware (the question is its window): whole protocol only", flush=True)
            continue
        rows, start = [], time.time()
        try:
            for r, ids, q in prepared:
                press = make_press(name, ratio)
                delimiter = None
                if name == "FinchPress":
                    press.update_model_and_tokenizer(model, tok)
                    delimiter = press.delimiter_token_id
                tokens, margins = generate(model, ids, q, args.protocol, press, r.get("max_new_tokens", 64), eos,
                                           vocab, delimiter)
                rows.append({"id": r["id"], "output": tok.decode(tokens, skip_special_tokens=True),
                             "output_tokens": tokens, "margins": margins, "prompt_tokens": len(ids),
                             "question_tokens": q})
        except Exception as e:  # a press that does not run here: reported, the others go on
            print(f"  {label} ({args.protocol}): fails: {type(e).__name__}: {str(e).splitlines()[0][:200]}", flush=True)
            (out / f"kvpress-{label}-{args.protocol}.failed").write_text(f"{type(e).__name__}: {e}\n")
            continue
        path.write_text(json.dumps(rows) + "\n")
        print(f"  {label} ({args.protocol}): {len(rows)} requests in {time.time() - start:.0f} s", flush=True)


# ---- report -----------------------------------------------------------------------------------

def mean(xs):
    return sum(xs) / len(xs) if xs else float("nan")


def scores_of(path):
    return {r["id"]: r for r in json.loads(Path(path).read_text())}


def first_difference(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return None if len(a) == len(b) else min(len(a), len(b))


def full_kv_agreement(out, protocol, lines):
    kv = out / f"kvwb-full-{protocol}.results.json"
    hf_outputs = out / f"kvpress-full-{protocol}.outputs.json"
    if not kv.exists() or not hf_outputs.exists():
        return
    kvwb = scores_of(kv)
    hf = {r["id"]: r for r in json.loads(hf_outputs.read_text())}
    same = ties = 0
    problems = []
    for rid, h in hf.items():
        k = kvwb.get(rid)
        if k is None:
            problems.append(f"- `{rid}`: no kvwb result")
            continue
        if k.get("prompt_tokens") != h["prompt_tokens"] or k.get("question_tokens", 0) != h["question_tokens"]:
            problems.append(f"- `{rid}`: prompt tokens differ (kvwb {k.get('prompt_tokens')}+{k.get('question_tokens', 0)} "
                            f"question, transformers {h['prompt_tokens']}+{h['question_tokens']})")
        i = first_difference(k["output_tokens"], h["output_tokens"])
        if i is None:
            same += 1
        elif i < len(h["margins"]) and h["margins"][i] < NEAR_TIE:
            ties += 1
        else:
            margin = h["margins"][i] if i < len(h["margins"]) else float("nan")
            problems.append(f"- `{rid}`: differ from token {i} (transformers' top-2 margin there {margin:.4g}): "
                            f"kvwb {k['output']!r} / transformers {h['output']!r}")
    lines.append(f"Full KV, kvwb against transformers ({protocol}): {same} of {len(hf)} requests identical, "
                 f"{ties} differ first at a near-tie (top-2 margin < {NEAR_TIE:g}), {len(problems)} disagreements.")
    lines.extend(problems)
    lines.append("")
    for p in problems:
        print(f"full-KV disagreement ({protocol}) {p[2:]}", file=sys.stderr)


def report(args):
    out = Path(args.out)
    ratios = [float(x) for x in args.ratios.split(",")]
    lines = [f"## {args.name}", ""]
    plot_rows = {}
    for protocol in ("whole", "question"):
        full_path = out / f"kvwb-full-{protocol}.results.json"
        if not full_path.exists():
            continue
        methods = {}
        for p in sorted(out.glob(f"*-{protocol}.results.json")):
            engine, rest = p.name.split("-", 1)
            label = rest[: -len(f"-{protocol}.results.json")]
            if label == "full":
                methods[(engine, "full")] = {None: p}
                continue
            method, ratio = label.rsplit("-", 1)
            methods.setdefault((engine, method), {})[float(ratio)] = p
        failed = sorted(p.name for p in out.glob(f"kvpress-*-{protocol}.failed"))
        title = {"whole": "whole prompt compressed (question included)",
                 "question": "question appended after compression"}[protocol]
        lines += [f"### {title}", "", "| method | full KV | " + " | ".join(f"{r:g}" for r in ratios) + " |",
                  "| --- | --- | " + " | ".join("---" for _ in ratios) + " |"]
        for (engine, method), by_ratio in sorted(methods.items(), key=lambda kv: (kv[0][1] != "full", kv[0])):
            full_scores = [r["score"] for r in scores_of(out / f"{engine}-full-{protocol}.results.json").values()
                           if r["score"] is not None] if (out / f"{engine}-full-{protocol}.results.json").exists() else []
            full = mean(full_scores)
            name = "kvwb " + method if engine == "kvwb" else "kvpress " + method
            if method == "full":
                lines.append(f"| {name} | {full:.3f} | " + " | ".join("" for _ in ratios) + " |")
                continue
            cells = []
            for r in ratios:
                if r not in by_ratio:
                    cells.append("–")
                    continue
                s = mean([x["score"] for x in scores_of(by_ratio[r]).values() if x["score"] is not None])
                cells.append(f"{s:.3f} ({s / full:.0%})" if full > 0 else f"{s:.3f}")
                plot_rows.setdefault((protocol, name), []).append((r, s / full if full > 0 else float("nan")))
            lines.append(f"| {name} | | " + " | ".join(cells) + " |")
        lines.append("")
        if failed:
            lines += ["Did not run here: " + ", ".join(f"`{f}`" for f in failed), ""]
        full_kv_agreement(out, protocol, lines)
    Path(args.doc).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    if args.plot and plot_rows:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        protocols = sorted({p for p, _ in plot_rows})
        fig, axes = plt.subplots(1, len(protocols), figsize=(6 * len(protocols), 4), squeeze=False)
        for ax, protocol in zip(axes[0], protocols):
            for (p, name), pts in sorted(plot_rows.items()):
                if p != protocol:
                    continue
                xs, ys = zip(*sorted(pts))
                ax.plot(xs, ys, marker="o", linestyle="-" if name.startswith("kvwb") else "--", label=name)
            ax.set_title(f"{args.name}: {protocol}")
            ax.set_xlabel("compression ratio (1 - budget ratio)")
            ax.set_ylabel("score / full KV")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(args.plot, dpi=110)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("split")
    s.add_argument("workload")
    s.add_argument("out")
    s.add_argument("--max-requests", type=int, default=0)
    r = sub.add_parser("run")
    r.add_argument("--gguf", required=True)
    r.add_argument("--workload", required=True)
    r.add_argument("--protocol", choices=["whole", "question"], required=True)
    r.add_argument("--presses", default="")
    r.add_argument("--ratios", required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--threads", type=int, default=0)
    p = sub.add_parser("report")
    p.add_argument("--out", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--ratios", required=True)
    p.add_argument("--doc", required=True)
    p.add_argument("--plot", default="")
    args = parser.parse_args()
    {"split": split, "run": run, "report": report}[args.command](args)


if __name__ == "__main__":
    main()
