#!/usr/bin/env python3
"""Issue 21, benchmark 2: the equal-bytes table from `kvwb-cli eval --json` summaries.

    python3 bench/kv_equal_bytes_report.py --reference f32-full.json run1.json run2.json ...

Each summary carries its config (kv_dtype, policy, budget). For every run: the share of the
cached slots it kept at the end of its requests (1 - evicted / (tokens x layers x KV heads)),
its KV memory relative to f32 full KV (that share x bytes per slot of its dtype / f32's, slot
metadata included: kv_bytes_per_slot in engine/runtime/kv_cache.h), accuracy relative to the
reference, mean batch and throughput. Then, for each memory cap, the most accurate run within it.
Markdown on stdout.
"""
import argparse
import json
import sys

SLOT_METADATA = 16  # bytes: position, att_sum, att_sq, n_obs (kv_bytes_per_slot)


def row_bytes(dtype, head_dim):
    """One K or V row in the dtype (GGUF blocks of 32 for q8_0: 2 + 32, q4_0: 2 + 16)."""
    return {"f32": 4 * head_dim, "f16": 2 * head_dim, "bf16": 2 * head_dim,
            "q8_0": head_dim // 32 * 34, "q4_0": head_dim // 32 * 18}[dtype]


def slot_bytes(dtype, head_dim):
    return 2 * row_bytes(dtype, head_dim) + SLOT_METADATA


def describe(run, head_dim, rows_per_token):
    c = run["config"]
    p = c["policy"]
    tokens = run["prompt_tokens"] + run["generated_tokens"]
    kept = 1 - run["evicted_slots"] / (tokens * rows_per_token)
    budget = p.get("budget_ratio") or p.get("budget_tokens") or ""
    # Quantized rows rotated (kv_rotation, schema version 3; older summaries have none) and
    # span-granular eviction are named with the dtype and the policy they qualify.
    dtype = c["kv_dtype"] + (" rotated" if c["kv_dtype"] in ("q8_0", "q4_0") and c.get("kv_rotation") == "hadamard" else "")
    policy = p["name"] + (f" + span {p['span']}" if p.get("span", "none") != "none" and p["name"] != "full" else "")
    return {"dtype": dtype, "policy": policy, "budget": budget, "kept": kept,
            "memory": kept * slot_bytes(c["kv_dtype"], head_dim) / slot_bytes("f32", head_dim),
            "accuracy": run["accuracy"]["score"], "batch": run["mean_batch"],
            "tok_s": run["total_tokens_per_second"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reference", required=True, help="f32 full-KV summary")
    ap.add_argument("--head-dim", type=int, default=64)
    ap.add_argument("--rows-per-token", type=int, default=90, help="layers x KV heads (SmolLM2-135M: 30 x 3)")
    ap.add_argument("--caps", default="2,3.5,6", help="memory caps as 1/x of f32 full KV")
    ap.add_argument("runs", nargs="+")
    args = ap.parse_args()
    load = lambda path: json.load(open(path))
    ref = describe(load(args.reference), args.head_dim, args.rows_per_token)
    runs = [describe(load(p), args.head_dim, args.rows_per_token) for p in args.runs]
    runs.sort(key=lambda r: -r["memory"])
    print("| kv_dtype | policy | budget ratio | slots kept | KV memory vs f32 full | accuracy | of f32 full | mean batch | total tok/s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in [ref] + runs:
        print(f"| {r['dtype']} | {r['policy']} | {r['budget']} | {100 * r['kept']:.1f} % | 1/{1 / r['memory']:.2f} | "
              f"{r['accuracy']:.4f} | {100 * r['accuracy'] / ref['accuracy']:.0f} % | {r['batch']:.2f} | {r['tok_s']:.1f} |")
    print()
    print("| KV memory at most | best run | accuracy of f32 full | mean batch | total tok/s |")
    print("| --- | --- | --- | --- | --- |")
    for cap in (float(x) for x in args.caps.split(",")):
        fit = [r for r in runs if r["memory"] <= 1 / cap + 1e-9]
        if not fit:
            print(f"| 1/{cap:g} | (no run measured) | | | |")
            continue
        best = max(fit, key=lambda r: (r["accuracy"], r["tok_s"]))
        name = best["dtype"] + ("" if best["policy"] == "full" else f" + {best['policy']} {best['budget']}")
        print(f"| 1/{cap:g} | {name} (1/{1 / best['memory']:.2f}) | {100 * best['accuracy'] / ref['accuracy']:.0f} % | "
              f"{best['batch']:.2f} | {best['tok_s']:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
