#!/usr/bin/env python3
"""Markdown tables and the frontier PNG of bench/batch_max_bench.sh, from `kvwb-cli sweep --json`.

usage: batch_max_report.py --png OUT.png NAME=REPEAT1.json[,REPEAT2.json ...] [NAME=... ...]
Each NAME is one workload; each of its files one repetition of the same sweep (fresh session
database each time, so every point was measured again). Throughput is shown as the median over
the repetitions with its range; batch sizes and accuracies are the same in every repetition
(greedy decoding, deterministic scheduler) and the script checks that they are.
Every number printed comes from the JSON files; the PNG is drawn from the same values.
"""
import argparse
import json
import math
import statistics


def num(v, fmt="{:.2f}"):
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else fmt.format(v)


def budget(p):
    return "–" if p["budget_tokens"] is None else str(p["budget_tokens"])


def spread(values, fmt):
    """median (min–max) when the repetitions differ."""
    med = statistics.median(values)
    if len(values) == 1:
        return fmt.format(med)
    return f"{fmt.format(med)} ({fmt.format(min(values))}–{fmt.format(max(values))})"


class Point:
    """One sweep point over its repetitions."""

    def __init__(self, reps):
        self.reps = reps
        first = reps[0]
        for key in ("mean_batch", "max_batch", "fidelity", "relative_accuracy", "score", "accuracy"):
            values = {json.dumps(r[key]) for r in reps}
            if len(values) != 1:
                raise SystemExit(f"{first['label']}: {key} differs between repetitions: {sorted(values)}")
        self.p = first
        self.tps = [r["total_tokens_per_second"] for r in reps]
        self.gen = [r["generated_tokens_per_second"] for r in reps]
        self.vs_full = [r["throughput_vs_full"] for r in reps]

    def __getitem__(self, key):
        return self.p[key]


def merge(sweeps):
    labels = [p["label"] for p in sweeps[0]["points"]]
    for s in sweeps[1:]:
        if [p["label"] for p in s["points"]] != labels:
            raise SystemExit("repetitions have different points")
    return [Point([s["points"][i] for s in sweeps]) for i in range(len(labels))]


def table(name, sweep, points):
    reps = len(points[0].reps)
    what = f"median of {reps} runs (range)" if reps > 1 else "one run"
    rows = [f"**{name}** (accuracy axis: {sweep['accuracy_basis']}; throughput: {what}; `*` Pareto frontier and "
            f"`<` recommended at ≥ {sweep['min_accuracy']:.2f}, from the first run)", "",
            "| policy | budget | mean batch | max batch | batch vs full | total tok/s | throughput vs full | "
            "score | accuracy rel. to full | fidelity | |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    full = next(p for p in points if p["reference"])
    for p in points:
        mark = ("*" if p["frontier"] else "") + ("<" if p["recommended"] else "")
        rows.append(
            f"| {p['policy']} | {budget(p)} | {p['mean_batch']:.2f} | {p['max_batch']} | "
            f"{p['mean_batch'] / full['mean_batch']:.2f}x | {spread(p.tps, '{:.0f}')} | "
            f"{spread(p.vs_full, '{:.2f}')}x | {num(p['score'], '{:.3f}')} | "
            f"{num(p['relative_accuracy'], '{:.3f}')} | {num(p['fidelity'], '{:.3f}')} | {mark} |")
    return "\n".join(rows)


def ratios(name, points):
    """Batch-Max over decode-only at each budget both were run at: the paper's comparison."""
    by = {(p["policy"], p["budget_tokens"]): p for p in points}
    lines = []
    for p in points:
        d = by.get(("decode-only", p["budget_tokens"]))
        if p["policy"] != "batch-max" or d is None:
            continue
        per_run = [b / o for b, o in zip(p.tps, d.tps)]
        lines.append(f"- {name}, budget {p['budget_tokens']}: batch-max / decode-only = "
                     f"{spread(per_run, '{:.2f}')}x throughput, {p['mean_batch'] / d['mean_batch']:.2f}x mean batch, "
                     f"max batch {p['max_batch']} vs {d['max_batch']}")
    return "\n".join(lines)


def plot(workloads, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(workloads), figsize=(6.2 * len(workloads), 4.6), squeeze=False)
    colors = {}
    palette = plt.get_cmap("tab10")
    for ax, (name, sweep, points) in zip(axes[0], workloads):
        pts = [p for p in points if p["accuracy"] is not None]
        for p in pts:
            c = colors.setdefault(p["policy"], palette(len(colors) % 10))
            y = statistics.median(p.vs_full)
            ax.errorbar(p["accuracy"], y, yerr=[[y - min(p.vs_full)], [max(p.vs_full) - y]], color=c, fmt="o",
                        markersize=7 if p["frontier"] else 4.5, capsize=2, zorder=3, label=p["policy"],
                        markeredgecolor="black" if p["recommended"] else c, markeredgewidth=1.5)
            if p["budget_tokens"] is not None:
                ax.annotate(budget(p), (p["accuracy"], y), fontsize=7, xytext=(4, 3), textcoords="offset points")
        front = sorted((p for p in pts if p["frontier"]), key=lambda p: p["accuracy"])
        ax.plot([p["accuracy"] for p in front], [statistics.median(p.vs_full) for p in front], color="gray",
                linestyle="--", linewidth=1, zorder=2)
        ax.axvline(sweep["min_accuracy"], color="red", linewidth=0.8, linestyle=":")
        ax.set_title(name, fontsize=10)
        ax.set_xlabel(f"{sweep['accuracy_basis']} (full KV = 1)")
        ax.set_ylabel("throughput / full KV (median, range)")
        ax.grid(alpha=0.3)
        handles, labels = ax.get_legend_handles_labels()
        unique = dict(zip(labels, handles))
        ax.legend(unique.values(), unique.keys(), fontsize=7, loc="best")
    fig.suptitle("kvwb: throughput vs accuracy at one KV pool (dashed: Pareto frontier of the first run; "
                 "ringed: recommended; numbers: budget tokens)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--png", required=True)
    ap.add_argument("workloads", nargs="+", help="NAME=REPEAT1.json[,REPEAT2.json ...]")
    a = ap.parse_args()
    workloads = []
    for arg in a.workloads:
        name, _, paths = arg.partition("=")
        sweeps = []
        for path in paths.split(","):
            with open(path) as f:
                sweeps.append(json.load(f))
        workloads.append((name, sweeps[0], merge(sweeps)))
    for name, sweep, points in workloads:
        print(table(name, sweep, points))
        print()
    for name, _, points in workloads:
        r = ratios(name, points)
        if r:
            print(r)
    plot(workloads, a.png)
    print(f"\nplot: {a.png}")


if __name__ == "__main__":
    main()
