#!/usr/bin/env python3
"""Cheap diagnostics for demo-model training (docs/demo-model.md, "Why no retrieval yet").

Probe a checkpoint under teacher forcing on held-out (validation-split) requests: per task, the
share of answer bytes right, of first answer bytes right (the look-up itself) and of answers
fully right. Works while training runs (it reads the last saved checkpoint).

    .venv-tools/bin/python tools/demo_probe.py .cache/demo-train/checkpoint.pt --length 160

--sanity instead trains a 2-layer d 64 model for 150 steps on random digit strings repeated once
and prints the loss on the repeat: a check that the module and optimizer can learn to copy.

--recall PAIRS trains a 2-layer d 128 model on dense associative recall (MQAR-style): every
sequence lists PAIRS key=value pairs ("ab=3;cd=7;...|") and then asks every key again in a new
order ("cd=7;ab=3;..."), with the loss on every asked value. It prints held-out accuracy on the
values (chance 0.1): does this architecture learn look-ups quickly when the signal is dense?
"""
import argparse
import random
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
import demo_tasks  # noqa: E402
from demo_model import BOS_ID, EOS_ID, DemoConfig, DemoLlama, encode_prompt  # noqa: E402

PROBE_SEED_BASE = 7000  # validation-split indices used by the probe


def probe(checkpoint, length, per_task, tasks):
    state = torch.load(checkpoint, map_location="cpu")
    model = DemoLlama(DemoConfig(**state["config"]))
    model.load_state_dict(state["model"])
    model.eval()
    print(f"{checkpoint}: step {state['step']}, {state['tokens'] / 1e6:.2f}M tokens; "
          f"{per_task} held-out requests per task at {length} bytes")
    for task in tasks:
        right = total = first = full = 0
        for k in range(per_task):
            seed = demo_tasks.request_seed("validation", PROBE_SEED_BASE + k)
            req = demo_tasks.make_training_request(task, seed, length, min_length=64)
            prompt = encode_prompt(req["prompt"])
            answer = list(req["target"].encode()) + [EOS_ID]
            with torch.no_grad():
                logits = model(torch.tensor([prompt + answer[:-1]]))[0, len(prompt) - 1:]
            ok = (logits.argmax(-1) == torch.tensor(answer)).tolist()
            right, total = right + sum(ok), total + len(ok)
            first, full = first + ok[0], full + all(ok)
        print(f"  {task:<18} answer bytes {right / total:.2f}  first byte {first / per_task:.2f}  "
              f"answers {full / per_task:.2f}")


def sanity(steps=150, lr=3e-3):
    torch.manual_seed(0)
    model = DemoLlama(DemoConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                                 num_key_value_heads=1, intermediate_size=128))
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.95), weight_decay=0.1)
    t0 = time.time()
    for step in range(1, steps + 1):
        half = torch.randint(ord("0"), ord("9") + 1, (32, 20))
        seq = torch.cat([half, half], 1)
        logits = model(seq[:, :-1])
        ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), seq[:, 1:].reshape(-1),
                             reduction="none").view(32, -1)
        opt.zero_grad()
        ce.mean().backward()
        opt.step()
        if step % 50 == 0:
            print(f"step {step}: loss on the first half {ce[:, :19].mean():.3f}, on the repeat "
                  f"{ce[:, 20:].mean():.3f} nats/byte ({time.time() - t0:.0f} s)", flush=True)


def recall_sequence(rng, pairs, key_bytes):
    """One dense-recall sequence: token ids and a mask that is 1 on every asked value."""
    keys = []
    while len(keys) < pairs:
        key = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(key_bytes))
        if key not in keys:
            keys.append(key)
    values = [rng.choice("0123456789") for _ in keys]
    ids = [BOS_ID] + list(("".join(f"{k}={v};" for k, v in zip(keys, values)) + "|").encode())
    mask = [0] * len(ids)
    order = list(range(pairs))
    rng.shuffle(order)
    for i in order:
        for j, b in enumerate(f"{keys[i]}={values[i]};".encode()):
            ids.append(b)
            mask.append(1 if j == key_bytes + 1 else 0)
    return ids, mask


def recall_batch(rng, count, pairs, key_bytes):
    seqs = [recall_sequence(rng, pairs, key_bytes) for _ in range(count)]
    ids = torch.tensor([s[0] for s in seqs])
    mask = torch.tensor([s[1] for s in seqs], dtype=torch.float)
    return ids[:, :-1], ids[:, 1:], mask[:, 1:]


def recall(pairs, key_bytes, steps, lr, device):
    torch.manual_seed(0)
    model = DemoLlama(DemoConfig(hidden_size=128, num_hidden_layers=2, num_attention_heads=4,
                                 num_key_value_heads=2, intermediate_size=256)).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    rng = random.Random(1)
    held_out = tuple(t.to(device) for t in recall_batch(random.Random(999), 64, pairs, key_bytes))
    t0 = time.time()
    for step in range(1, steps + 1):
        x, y, m = (t.to(device) for t in recall_batch(rng, 32, pairs, key_bytes))
        logits = model(x)
        ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1),
                             reduction="none").view(y.shape)
        loss = (ce * m).sum() / m.sum() + 0.1 * ce.mean()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 50 == 0:
            with torch.no_grad():
                vx, vy, vm = held_out
                acc = ((model(vx).argmax(-1) == vy).float() * vm).sum() / vm.sum()
            print(f"step {step} ({step * x.numel() / 1e6:.2f}M tokens, {time.time() - t0:.0f} s): "
                  f"loss {loss.item():.3f}, held-out value accuracy {acc.item():.3f}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("checkpoint", nargs="?", type=Path)
    ap.add_argument("--length", type=int, default=160, help="asked prompt length in bytes")
    ap.add_argument("--per-task", type=int, default=12)
    ap.add_argument("--tasks", default=",".join(demo_tasks.TASKS + [demo_tasks.COPY_TASK]))
    ap.add_argument("--sanity", action="store_true", help="the copy-learning check instead")
    ap.add_argument("--recall", type=int, metavar="PAIRS", help="the dense-recall check instead")
    ap.add_argument("--key-bytes", type=int, default=2, help="--recall: bytes per key")
    ap.add_argument("--steps", type=int, default=600, help="--recall: training steps")
    ap.add_argument("--lr", type=float, default=2e-3, help="--recall: learning rate")
    ap.add_argument("--device", default="cpu", help="--recall: torch device (cuda on a GPU machine)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.sanity:
        sanity()
        return 0
    if args.recall:
        recall(args.recall, args.key_bytes, args.steps, args.lr, args.device)
        return 0
    if args.checkpoint is None or not args.checkpoint.exists():
        ap.error(f"{args.checkpoint}: no such checkpoint")
    tasks = args.tasks.split(",")
    unknown = [t for t in tasks if t not in demo_tasks.TASKS + [demo_tasks.COPY_TASK]]
    if unknown:
        ap.error(f"--tasks: unknown {', '.join(unknown)}")
    probe(args.checkpoint, args.length, args.per_task, tasks)
    return 0


if __name__ == "__main__":
    sys.exit(main())
