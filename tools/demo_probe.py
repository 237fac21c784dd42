#!/usr/bin/env python3
"""Cheap diagnostics for demo-model training (docs/demo-model.md, "Why no retrieval yet").

Probe a checkpoint under teacher forcing on held-out (validation-split) requests: per task, the
share of answer bytes right, of first answer bytes right (the look-up itself) and of answers
fully right. Works while training runs (it reads the last saved checkpoint).

    .venv-tools/bin/python tools/demo_probe.py .cache/demo-train/checkpoint.pt --length 160

--sanity instead trains a 2-layer d 64 model for 150 steps on random digit strings repeated once
and prints the loss on the repeat: a check that the module and optimizer can learn to copy.
"""
import argparse
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
import demo_tasks  # noqa: E402
from demo_model import EOS_ID, DemoConfig, DemoLlama, encode_prompt  # noqa: E402

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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("checkpoint", nargs="?", type=Path)
    ap.add_argument("--length", type=int, default=160, help="asked prompt length in bytes")
    ap.add_argument("--per-task", type=int, default=12)
    ap.add_argument("--tasks", default=",".join(demo_tasks.TASKS + [demo_tasks.COPY_TASK]))
    ap.add_argument("--sanity", action="store_true", help="the copy-learning check instead")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.sanity:
        sanity()
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
