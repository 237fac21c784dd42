"""The report of bench/cpu_throughput.sh: markdown tables from the files it wrote in OUT.

    python3 report.py OUT ROUNDS

Throughput = (prompt + generated tokens) / wall; a ratio is kvwb / other within one round (the
pair ran back to back, under similar load), and the figure reported is the median of the rounds'
ratios. Parts that were skipped (their files are absent) are left out.
"""
import json
import re
import statistics
import sys
from pathlib import Path

out, rounds = Path(sys.argv[1]), int(sys.argv[2])


def tok_s(summary):
    return (summary["prompt_tokens"] + summary["generated_tokens"]) / summary["wall_seconds"]


def row(name, ours, theirs, unit="tok/s"):
    ratios = [a / b for a, b in zip(ours, theirs)]
    fmt = lambda v: f"{statistics.median(v):.1f} ({min(v):.1f}–{max(v):.1f})"
    print(f"| {name} | {fmt(ours)} | {fmt(theirs)} | {' '.join(f'{r:.2f}' for r in ratios)} | **{statistics.median(ratios):.2f}×** |")


def table_head(other):
    print(f"| test | kvwb, median (min–max) | {other} | kvwb / {other} per round | median ratio |")
    print("| --- | --- | --- | --- | --- |")


print((out / "header.txt").read_text().strip())
print("load average (1, 5, 15 min) at each step:", "; ".join(l.strip() for l in (out / "load.txt").read_text().splitlines()))
print()
kvwb = [json.loads((out / f"kvwb-{r}.json").read_text()) for r in range(rounds)]
print(f"kvwb eval: mean batch {statistics.mean(s['mean_batch'] for s in kvwb):.1f}, "
      f"accuracy {kvwb[0].get('accuracy', {}).get('score', float('nan')):.3f}, "
      f"{kvwb[0]['prompt_tokens']} prompt + {kvwb[0]['generated_tokens']} generated tokens")
fast = [json.loads((out / f"kvwb-fast-{r}.json").read_text()) for r in range(rounds)]
exact_outputs = {x["id"]: x["output_tokens"] for x in json.loads((out / "kvwb-0.results.json").read_text())}
fast_outputs = json.loads((out / "kvwb-fast-0.results.json").read_text())
same_fast = sum(exact_outputs[x["id"]] == x["output_tokens"] for x in fast_outputs)
print(f"kvwb eval --matmul fast: accuracy {fast[0].get('accuracy', {}).get('score', float('nan')):.3f}, "
      f"outputs identical to exact {same_fast}/{len(fast_outputs)}")
print()
table_head("kvwb --matmul exact")
row("--matmul fast: workload (prompt + generated) / wall", [tok_s(s) for s in fast], [tok_s(s) for s in kvwb])
print()

if (out / "hf-0.json").exists():
    hf = [json.loads((out / f"hf-{r}.json").read_text()) for r in range(rounds)]
    ours = {x["id"]: x for x in json.loads((out / "kvwb-0.results.json").read_text())}
    theirs = hf[0]["results"]
    same = sum(ours[x["id"]]["output_tokens"] == x["output_tokens"] for x in theirs)
    prompts = sum(ours[x["id"]]["prompt_tokens"] == x["prompt_tokens"] for x in theirs)
    print(f"transformers: {hf[0]['prompt_tokens']} prompt + {hf[0]['generated_tokens']} generated tokens; "
          f"identical outputs {same}/{len(theirs)} ({100 * same / len(theirs):.0f} %), identical prompt lengths {prompts}/{len(theirs)}")
    print()
    table_head("transformers f32, batch 1")
    row("workload (prompt + generated) / wall", [tok_s(s) for s in kvwb], [tok_s(s) for s in hf])
    row("--matmul fast: workload (prompt + generated) / wall", [tok_s(s) for s in fast], [tok_s(s) for s in hf])
    print()

if (out / "llama-bench-0.json").exists():
    table_head("llama.cpp")
    for test, bench, n_prompt, n_gen in (("pp512", "BM_Prompt512", 512, 0), ("tg128", "BM_Decode128", 0, 128)):
        theirs = [next(e["avg_ts"] for e in json.loads((out / f"llama-bench-{r}.json").read_text())
                       if e["n_prompt"] == n_prompt and e["n_gen"] == n_gen) for r in range(rounds)]
        for matmul in ("exact", "fast"):
            ours = [next(b["tok_s"] for b in json.loads((out / f"kvwb-speed-{r}.json").read_text())["benchmarks"]
                         if b["name"].startswith(f"{bench}/{matmul}/")) for r in range(rounds)]
            row(f"{test}, --matmul {matmul}", ours, theirs)
    batched = [[json.loads(l) for l in (out / f"llama-batched-{r}.txt").read_text().splitlines() if l.startswith('{"n_kv_max"')]
               for r in range(rounds)]
    for pl in sorted({e["pl"] for e in batched[0]}):
        theirs = [next(e["speed"] for e in b if e["pl"] == pl) for b in batched]
        same = [json.loads((out / f"kvwb-batched-{pl}-{r}.json").read_text()) for r in range(rounds)]
        shape = {(s["prompt_tokens"], s["generated_tokens"]) for s in same}
        if shape != {(512 * pl, 32 * pl)}:
            sys.exit(f"report: kvwb's batched-{pl} run had (prompt, generated) tokens {shape}, not {(512 * pl, 32 * pl)}")
        row(f"512+32 × {pl} sequences: eval --ignore-eos vs batched-bench", [tok_s(s) for s in same], theirs)
    print()

if (out / "gemm-peak.json").exists():
    peak = json.loads((out / "gemm-peak.json").read_text())
    probe = (out / "gemm-kvwb.txt").read_text()
    m = re.search(r"^\s*512 \|" + r"\s*([\d.]+),\s*([\d.]+) \|" * 4, probe, re.M)
    blas, blas_cpu, ours, ours_cpu, _, _, fast_gf, fast_cpu = (float(v) for v in m.groups())
    print(f"GEMM, one SmolLM2 layer at n = 512, wall GFLOP/s (GFLOP per CPU-second): torch {peak['torch_gflops']:.1f} "
          f"({peak['torch_gflops_per_cpu_s']:.1f}), OpenBLAS of numpy {peak['openblas_gflops']:.1f} "
          f"({peak['openblas_gflops_per_cpu_s']:.1f}), system OpenBLAS {blas:.1f} ({blas_cpu:.1f}); kvwb matmul on Q4_1 "
          f"{ours:.1f} ({ours_cpu:.1f}) = **{ours / max(peak['peak_gflops'], blas):.2f}** of the wall peak, "
          f"**{ours_cpu / max(peak['peak_gflops_per_cpu_s'], blas_cpu):.2f}** per CPU-second; --matmul fast "
          f"{fast_gf:.1f} ({fast_cpu:.1f}) = **{fast_gf / max(peak['peak_gflops'], blas):.2f}** of the wall peak")

if (out / "bandwidth.json").exists():
    b = json.loads((out / "bandwidth.json").read_text())["benchmarks"][0]
    print(f"bandwidth bound, f32 100M-parameter Llama ({b['weight_MB']:.0f} MB read per token): read bandwidth "
          f"{b['bw_GB_s']:.1f} GB/s, bound {b['bound_tok_s']:.1f} tok/s, decode {b['tok_s']:.1f} tok/s = **{b['of_bound']:.2f}** of the bound")
