#!/usr/bin/env python3
"""Trains the demo model (a small byte-level Llama) on the synthetic tasks of demo_tasks.py.

Resumable: every few minutes (and on SIGTERM/SIGINT) the whole state goes to
<out-dir>/checkpoint.pt; running the same command again continues from it, with the same data
stream (batches are a function of the step number). Logs: <out-dir>/train.csv (losses, tok/s),
<out-dir>/eval.csv (greedy exact match on held-out requests at the current curriculum length),
the loss plot docs/demo-model-loss.png. docs/demo-model.md has the exact commands.

    PRE="LD_PRELOAD=$(/sbin/ldconfig -p | grep -o '/.*libtcmalloc_minimal.so.4' | head -1)"
    env $PRE OMP_WAIT_POLICY=PASSIVE nice -n 19 .venv-tools/bin/python tools/train_demo.py
    ... tools/train_demo.py --trial 20          # measure tok/s at each curriculum length
    ... tools/train_demo.py --export models/demo  # write the HF layout from the checkpoint
"""
import argparse
import csv
import math
import os
import random
import signal
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
import demo_tasks  # noqa: E402
from demo_model import EOS_ID, PAD_ID, DemoConfig, DemoLlama, decode_bytes, encode_prompt  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
CHECKPOINT = "checkpoint.pt"
# Tasks the training stream can draw: the workload tasks and the training-only copy warm-up
# (weight 0 unless --task-weights names it).
TRAIN_TASKS = demo_tasks.TASKS + [demo_tasks.COPY_TASK]

# Curriculum: (fraction of the token budget at which the stage starts, shortest and longest
# prompt in bytes). Retrieval is learned on short prompts; the last stages stretch it to the
# full context.
CURRICULUM = [(0.00, 192, 384), (0.25, 192, 768), (0.50, 256, 1024), (0.75, 256, 1536),
              (0.88, 384, demo_tasks.MAX_PROMPT_BYTES)]


def parse_curriculum(text):
    """"0:128-256,0.3:192-512" -> [(0.0, 128, 256), (0.3, 192, 512)] (stages in order)."""
    stages = []
    try:
        for part in text.split(","):
            start, span = part.split(":")
            lo, hi = span.split("-")
            stages.append((float(start), int(lo), int(hi)))
    except ValueError:
        raise SystemExit(f"--curriculum {text!r}: expected START:LO-HI[,START:LO-HI...]")
    if stages[0][0] != 0 or any(a[0] >= b[0] for a, b in zip(stages, stages[1:])):
        raise SystemExit(f"--curriculum {text!r}: stages must start at 0 and increase")
    return stages


def stage_at(progress, curriculum=CURRICULUM):
    stage = curriculum[0]
    for s in curriculum:
        if progress >= s[0]:
            stage = s
    return stage[1], stage[2]


def parse_task_weights(text):
    """"niah_single=2,vt=1" -> weights for every training task (unnamed workload tasks weigh
    1, the copy warm-up 0)."""
    weights = {t: 0.0 if t == demo_tasks.COPY_TASK else 1.0 for t in TRAIN_TASKS}
    for part in filter(None, text.split(",")):
        name, _, value = part.partition("=")
        if name not in weights:
            raise SystemExit(f"--task-weights: unknown task {name!r}; known: {', '.join(weights)}")
        weights[name] = float(value)
    return weights


def lr_at(tokens, args):
    """Linear warmup, then cosine decay to min_lr_ratio * lr at total_tokens."""
    if tokens < args.warmup_tokens:
        return args.lr * max(tokens, 1) / args.warmup_tokens
    p = min(1.0, (tokens - args.warmup_tokens) / max(1, args.total_tokens - args.warmup_tokens))
    return args.lr * (args.min_lr_ratio + (1 - args.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * p)))


def make_batch(step, lo, hi, args, weights=None):
    """Training batch of step `step`: same-length prompts, right-padded.

    weights: task -> sampling weight (None: uniform). Returns inputs, labels, answer mask,
    prompt mask (all [B, T]) and the task index of every row."""
    rng = random.Random(args.seed * 1_000_003 + step)
    length = rng.randint(lo, hi)
    count = max(1, args.tokens_per_step // length)
    seqs, task_ids = [], []
    for i in range(count):
        if weights is None:
            task = rng.choice(demo_tasks.TASKS)
        else:
            task = rng.choices(TRAIN_TASKS, [weights[t] for t in TRAIN_TASKS])[0]
        seed = demo_tasks.request_seed("train", step * 256 + i)
        req = demo_tasks.make_training_request(task, seed, length * rng.uniform(0.9, 1.0),
                                               min_length=args.min_prompt)
        prompt = encode_prompt(req["prompt"])
        answer = list(req["target"].encode()) + [EOS_ID]
        seqs.append((prompt, answer))
        task_ids.append(TRAIN_TASKS.index(task))
    width = max(len(p) + len(a) for p, a in seqs) - 1
    inputs = torch.full((count, width), PAD_ID, dtype=torch.long)
    labels = torch.full((count, width), PAD_ID, dtype=torch.long)
    ans = torch.zeros(count, width)
    pro = torch.zeros(count, width)
    for i, (p, a) in enumerate(seqs):
        ids = p + a
        n = len(ids) - 1
        inputs[i, :n] = torch.tensor(ids[:-1])
        labels[i, :n] = torch.tensor(ids[1:])
        ans[i, len(p) - 1:n] = 1.0       # positions whose next token is an answer byte or <eos>
        pro[i, :len(p) - 1] = 1.0
    return inputs, labels, ans, pro, torch.tensor(task_ids)


def validation_set(length, per_task):
    """Held-out requests (validation seeds) at one prompt length; the same set every time."""
    reqs = []
    for t, task in enumerate(demo_tasks.TASKS):
        for k in range(per_task):
            seed = demo_tasks.request_seed("validation", length * 10_000 + t * 100 + k)
            reqs.append(demo_tasks.make_request(task, seed, length))
    return reqs


def evaluate(model, length, per_task):
    """Greedy exact match (strict string equality with the target) per task."""
    model.eval()
    hits = {t: 0 for t in demo_tasks.TASKS}
    for req in validation_set(length, per_task):
        out = model.greedy(encode_prompt(req["prompt"]), req["max_new_tokens"])
        hits[req["task"]] += int(decode_bytes(out) == req["target"])
    model.train()
    return {t: h / per_task for t, h in hits.items()}


class CsvLog:
    def __init__(self, path, fields):
        self.path, self.fields = path, fields
        fresh = not path.exists()
        if not fresh:
            with open(path, newline="") as f:
                old = list(csv.DictReader(f))
            if old and list(old[0]) != fields:  # columns added since: rewrite under the new header
                with open(path, "w", newline="") as f:
                    writer = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
                    writer.writeheader()
                    writer.writerows(old)
        self.file = open(path, "a", newline="")
        self.writer = csv.DictWriter(self.file, fieldnames=fields)
        if fresh:
            self.writer.writeheader()

    def write(self, row):
        self.writer.writerow({k: row.get(k, "") for k in self.fields})
        self.file.flush()


TRAIN_FIELDS = ["step", "tokens", "train_s", "tok_per_s", "lr", "len_lo", "len_hi", "batch",
                "loss", "loss_answer", "loss_prompt", "answer_token_acc", "answer_seq_acc"] + \
    [f"acc_{t}" for t in TRAIN_TASKS]  # answers fully right per task (teacher forcing)
EVAL_FIELDS = ["step", "tokens", "length", "mean"] + demo_tasks.TASKS


def build_model(args, state):
    if state is not None:
        cfg = DemoConfig(**state["config"])
    else:
        cfg = DemoConfig(hidden_size=args.d_model, num_hidden_layers=args.layers,
                         num_attention_heads=args.heads, num_key_value_heads=args.kv_heads,
                         intermediate_size=args.ffn, max_position_embeddings=args.context)
    torch.manual_seed(args.seed)
    model = DemoLlama(cfg)
    if state is not None:
        model.load_state_dict(state["model"])
    return cfg, model


def make_optimizer(model, args):
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    other = [p for n, p in model.named_parameters() if p.dim() < 2]
    return torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                              {"params": other, "weight_decay": 0.0}],
                             lr=args.lr, betas=(0.9, 0.95), eps=1e-8)


def save_checkpoint(path, model, opt, step, tokens, train_s, task_acc):
    tmp = path.with_suffix(".tmp")
    torch.save({"config": model.cfg.to_dict(), "model": model.state_dict(),
                "optimizer": opt.state_dict(), "step": step, "tokens": tokens,
                "train_s": train_s, "task_acc": task_acc}, tmp)
    os.replace(tmp, path)  # atomic: a kill during the save leaves the previous checkpoint


def train_step(model, opt, batch, args, lr):
    inputs, labels, ans, pro, task_ids = batch
    for group in opt.param_groups:
        group["lr"] = lr
    logits = model(inputs)
    ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1),
                         reduction="none").view(labels.shape)
    loss_answer = (ce * ans).sum() / ans.sum()
    loss_prompt = (ce * pro).sum() / pro.sum()
    loss = loss_answer + args.prompt_loss_weight * loss_prompt
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    with torch.no_grad():
        right = (logits.argmax(-1) == labels).float() * ans
        token_acc = right.sum() / ans.sum()
        seq_right = (right.sum(1) == ans.sum(1)).float()
        seq_acc = seq_right.mean()
    per_task = {}  # task -> (answers fully right, answers) in this batch
    for t, task in enumerate(TRAIN_TASKS):
        rows = task_ids == t
        per_task[task] = (seq_right[rows].sum().item(), rows.sum().item())
    return {"loss": loss.item(), "loss_answer": loss_answer.item(),
            "loss_prompt": loss_prompt.item(), "answer_token_acc": token_acc.item(),
            "answer_seq_acc": seq_acc.item()}, per_task


def trial(model, opt, args, steps):
    """Measures training tok/s at each curriculum stage's longest length (no checkpoint)."""
    for _, lo, hi in args.curriculum:
        times, toks = [], 0
        for s in range(steps):
            batch = make_batch(10_000_000 + s, hi, hi, args)
            t0 = time.time()
            train_step(model, opt, batch, args, args.lr * 0.1)
            if s > 0:  # the first step warms up allocator and caches
                times.append(time.time() - t0)
                toks += batch[0].numel()
        print(f"trial: prompt {hi} bytes, batch {batch[0].shape[0]}: "
              f"{toks / sum(times):.0f} tok/s over {steps - 1} steps", flush=True)


def task_mix(task_acc, args):
    """Sampling weight per task: the base weights, times (floor + 1 - recent accuracy) when
    --adaptive-mix is on, so that tasks not yet learned get more of the batches."""
    if not args.adaptive_mix:
        return args.task_weights
    return {t: w * (args.adaptive_floor + 1.0 - task_acc[t]) for t, w in args.task_weights.items()}


def run(args):
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ckpt = out / CHECKPOINT
    state = torch.load(ckpt, map_location="cpu") if ckpt.exists() else None
    cfg, model = build_model(args, state)
    model.to(args.device)
    opt = make_optimizer(model, args)
    nparams = sum(p.numel() for p in model.parameters())
    if args.trial:
        print(f"model {cfg.to_dict()} ({nparams / 1e6:.2f}M parameters)", flush=True)
        trial(model, opt, args, args.trial)
        return 0
    step, tokens, train_s = 0, 0, 0.0
    # Running (EMA) share of answers fully right per task, under teacher forcing.
    task_acc = {t: 0.0 for t in TRAIN_TASKS}
    if state is not None:
        opt.load_state_dict(state["optimizer"])
        step, tokens, train_s = state["step"], state["tokens"], state["train_s"]
        task_acc.update(state.get("task_acc", {}))
        print(f"resumed from {ckpt}: step {step}, {tokens / 1e6:.2f}M tokens", flush=True)
    else:
        print(f"new model {cfg.to_dict()} ({nparams / 1e6:.2f}M parameters)", flush=True)
    del state
    train_log = CsvLog(out / "train.csv", TRAIN_FIELDS)
    eval_log = CsvLog(out / "eval.csv", EVAL_FIELDS)
    stop = {"now": False}

    def on_signal(signum, frame):
        stop["now"] = True
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    last_ckpt = last_eval = time.time()
    window, window_tok, window_t = [], 0, 0.0
    window_task = {t: [0, 0] for t in TRAIN_TASKS}
    while tokens < args.total_tokens and not stop["now"]:
        lo, hi = stage_at(tokens / args.total_tokens, args.curriculum)
        batch = make_batch(step, lo, hi, args, task_mix(task_acc, args))
        batch = tuple(x.to(args.device) for x in batch)
        lr = lr_at(tokens, args)
        t0 = time.time()
        stats, per_task = train_step(model, opt, batch, args, lr)
        dt = time.time() - t0
        for t, (right, count) in per_task.items():
            if count:
                task_acc[t] += 0.05 * (right / count - task_acc[t])
                window_task[t][0] += right
                window_task[t][1] += count
        step += 1
        tokens += batch[0].numel()
        train_s += dt
        window.append(stats)
        window_tok += batch[0].numel()
        window_t += dt
        if step % args.log_every == 0:
            row = {k: sum(w[k] for w in window) / len(window) for k in window[0]}
            row.update(step=step, tokens=tokens, train_s=round(train_s, 1),
                       tok_per_s=round(window_tok / window_t), lr=f"{lr:.3e}", len_lo=lo,
                       len_hi=hi, batch=batch[0].shape[0])
            row.update({f"acc_{t}": r / max(1, c) for t, (r, c) in window_task.items()})
            train_log.write({k: (f"{v:.4f}" if isinstance(v, float) else v) for k, v in row.items()})
            print(f"step {step} tok {tokens / 1e6:.2f}M len {lo}-{hi} loss {row['loss']:.4f} "
                  f"ans {row['loss_answer']:.4f} prompt {row['loss_prompt']:.4f} "
                  f"ans_seq_acc {row['answer_seq_acc']:.3f} {row['tok_per_s']} tok/s | " +
                  " ".join(f"{t[:6]} {r / max(1, c):.2f}" for t, (r, c) in window_task.items()),
                  flush=True)
            window, window_tok, window_t = [], 0, 0.0
            window_task = {t: [0, 0] for t in TRAIN_TASKS}
        if time.time() - last_eval > args.eval_minutes * 60:
            acc = evaluate(model, hi, args.eval_per_task)
            mean = sum(acc.values()) / len(acc)
            eval_log.write({"step": step, "tokens": tokens, "length": hi,
                            "mean": f"{mean:.3f}", **{k: f"{v:.3f}" for k, v in acc.items()}})
            print(f"eval at {hi} bytes: mean EM {mean:.3f} " +
                  " ".join(f"{k} {v:.2f}" for k, v in acc.items()), flush=True)
            last_eval = time.time()
        if time.time() - last_ckpt > args.ckpt_minutes * 60:
            save_checkpoint(ckpt, model, opt, step, tokens, train_s, task_acc)
            plot(out, args.plot_path)
            last_ckpt = time.time()
    save_checkpoint(ckpt, model, opt, step, tokens, train_s, task_acc)
    plot(out, args.plot_path)
    why = "stopped by signal" if stop["now"] else "token budget reached"
    print(f"{why}: checkpoint saved at step {step}, {tokens / 1e6:.2f}M tokens", flush=True)
    return 0


def plot(out, plot_path):
    import demo_plot
    try:
        demo_plot.plot_logs(out / "train.csv", out / "eval.csv", Path(plot_path))
    except Exception as e:  # a plot must never stop the training
        print(f"plot failed: {e}", flush=True)


def export(args):
    import demo_export
    ckpt = Path(args.out_dir) / CHECKPOINT
    if not ckpt.exists():
        print(f"{ckpt}: no checkpoint to export (train first)", file=sys.stderr)
        return 1
    state = torch.load(ckpt, map_location="cpu")
    cfg, model = build_model(args, state)
    info = {"step": state["step"], "tokens": state["tokens"], "train_s": state["train_s"]}
    demo_export.export(model, Path(args.export), info, args.export_dtype)
    return 0


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out-dir", default=str(REPO / ".cache" / "demo-train"))
    ap.add_argument("--export", metavar="DIR", help="export the checkpoint in HF layout and exit")
    ap.add_argument("--export-dtype", choices=["f16", "bf16"], default="f16")
    ap.add_argument("--trial", type=int, default=0, metavar="STEPS",
                    help="only measure tok/s at every curriculum length")
    ap.add_argument("--plot-path", default=str(REPO / "docs" / "demo-model-loss.png"))
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1234)
    # model shape (used only when no checkpoint exists)
    ap.add_argument("--d-model", type=int, default=256)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--kv-heads", type=int, default=4)
    ap.add_argument("--ffn", type=int, default=512)
    ap.add_argument("--context", type=int, default=2048)
    # schedule (read on every start: a larger --total-tokens stretches a resumed run)
    ap.add_argument("--total-tokens", type=float, default=40e6)
    ap.add_argument("--tokens-per-step", type=int, default=8192)
    ap.add_argument("--curriculum", type=parse_curriculum,
                    default=",".join(f"{a:g}:{lo}-{hi}" for a, lo, hi in CURRICULUM),
                    help="START:LO-HI,... fraction of the token budget -> prompt bytes")
    ap.add_argument("--min-prompt", type=int, default=demo_tasks.MIN_PROMPT_BYTES,
                    help="shortest training prompt in bytes (the workloads start at "
                         f"{demo_tasks.MIN_PROMPT_BYTES})")
    ap.add_argument("--task-weights", type=parse_task_weights, default="",
                    help="TASK=W,... base sampling weights (others weigh 1)")
    ap.add_argument("--adaptive-mix", action="store_true",
                    help="weight tasks by (floor + 1 - their recent answer accuracy)")
    ap.add_argument("--adaptive-floor", type=float, default=0.25)
    ap.add_argument("--lr", type=float, default=1.5e-3)
    ap.add_argument("--min-lr-ratio", type=float, default=0.1)
    ap.add_argument("--warmup-tokens", type=float, default=1.5e6)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--prompt-loss-weight", type=float, default=0.1,
                    help="weight of the loss on prompt bytes (answer bytes weigh 1)")
    ap.add_argument("--log-every", type=int, default=10)
    ap.add_argument("--ckpt-minutes", type=float, default=5)
    ap.add_argument("--eval-minutes", type=float, default=20)
    ap.add_argument("--eval-per-task", type=int, default=4)
    return ap.parse_args(argv)


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    if args.export:
        return export(args)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
