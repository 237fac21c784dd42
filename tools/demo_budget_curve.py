#!/usr/bin/env python3
"""Accuracy vs KV budget for one compression policy, measured with the C++ engine (kvwb-cli eval).

Runs the workload once with the full cache and once per budget, prints a Markdown table (overall
and per task) and draws the curve to a PNG. docs/demo-model.md has the exact command.

    .venv-tools/bin/python tools/demo_budget_curve.py --policy streaming-llm \\
        --budgets 512,256,128,64,32 --workload data/demo-quick.jsonl --png docs/demo-budget-curve.png
"""
import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def eval_once(args, policy, budget, tmp):
    """Scores of one kvwb-cli eval run: {'overall': x, task: y, ...}."""
    out = Path(tmp) / f"{policy}-{budget}.json"
    cmd = [args.cli, "eval", "--model", args.model, "--workload", args.workload, "--policy", policy,
           "--quiet", "--json", str(out), "--threads", str(args.threads)]
    if budget is not None:
        cmd += ["--budget-ratio" if args.ratio else "--budget-tokens", str(budget)]
    cmd += args.extra
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr}")
    summary = json.loads(out.read_text())
    scores = {task: t["score"] for task, t in summary["tasks"].items()}
    scores["overall"] = summary["accuracy"]["score"]
    return scores


def parse_budgets(text, ratio):
    try:
        values = [float(x) if ratio else int(x) for x in text.split(",")]
    except ValueError:
        sys.exit(f"--budgets {text!r}: expected comma-separated {'fractions' if ratio else 'integers'}")
    return sorted(values, reverse=True)


def draw(rows, full, args, png):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    budgets = [b for b, _ in rows]
    tasks = [t for t in full if t != "overall"]
    fig, ax = plt.subplots(figsize=(9.5, 5))
    for task in tasks:
        ax.plot(budgets, [s[task] for _, s in rows], marker="o", linewidth=1, label=task)
    ax.plot(budgets, [s["overall"] for _, s in rows], marker="s", color="black", linewidth=2.5,
            label="overall")
    ax.axhline(full["overall"], color="black", linestyle="--", linewidth=1,
               label=f"overall, full cache ({full['overall']:.2f})")
    ax.set_xscale("log", base=2)
    ax.set_xticks(budgets)
    ax.set_xticklabels([f"{b:g}" for b in budgets])
    ax.set_xlabel("budget (fraction of the prompt)" if args.ratio
                  else "budget (tokens kept per layer and KV head)")
    ax.set_ylabel("score (em / contains_all / rouge_l)")
    ax.set_ylim(-0.03, 1.03)
    ax.set_title(f"demo model, {Path(args.workload).name}: accuracy vs budget, {args.policy}")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # outside the data
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=110)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cli", default=str(REPO / "build" / "app" / "kvwb-cli"))
    ap.add_argument("--model", default="models/demo")
    ap.add_argument("--workload", default="data/demo-quick.jsonl")
    ap.add_argument("--policy", default="streaming-llm")
    ap.add_argument("--budgets", default="512,256,128,64,32")
    ap.add_argument("--ratio", action="store_true", help="budgets are fractions of the prompt")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--png", type=Path, default=REPO / "docs" / "demo-budget-curve.png")
    ap.add_argument("extra", nargs="*", help="more kvwb-cli eval flags (after --)")
    args = ap.parse_args()
    if not Path(args.cli).exists():
        sys.exit(f"{args.cli}: kvwb-cli not built (ninja -C build app/kvwb-cli)")
    budgets = parse_budgets(args.budgets, args.ratio)
    with tempfile.TemporaryDirectory() as tmp:
        full = eval_once(args, "full", None, tmp)
        rows = [(b, eval_once(args, args.policy, b, tmp)) for b in budgets]
    tasks = [t for t in full if t != "overall"]
    print(f"| budget | overall | {' | '.join(tasks)} |")
    print("|" + " --- |" * (len(tasks) + 2))
    for label, s in [("full", full)] + [(f"{b:g}", s) for b, s in rows]:
        print(f"| {label} | {s['overall']:.3f} | " + " | ".join(f"{s[t]:.3f}" for t in tasks) + " |")
    draw(rows, full, args, args.png)
    print(f"wrote {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
