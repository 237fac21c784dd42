"""Plots a soak CSV (kvwb-cli soak --csv) to a PNG: RSS and open file descriptors over time,
with the engine's progress (steps) and the budget in force below. Needs matplotlib
(.venv-tools, tools/setup-python.sh).

    python tools/plot_soak.py soak.csv docs/soak.png [--warmup 60]
"""
import argparse
import csv


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("csv")
    ap.add_argument("png")
    ap.add_argument("--warmup", type=float, default=60.0, help="seconds shaded as warm-up")
    ap.add_argument("--title", default="kvwb soak: continuous batching, live budget changes, recording on")
    args = ap.parse_args()

    with open(args.csv, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise SystemExit(f"{args.csv}: no samples")
    minutes = [float(r["seconds"]) / 60 for r in rows]

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_rss, ax_fd, ax_steps) = plt.subplots(3, 1, figsize=(9, 8), sharex=True,
                                                  gridspec_kw={"height_ratios": [3, 1.5, 1.5]})
    ax_rss.plot(minutes, [int(r["rss_bytes"]) / 2**20 for r in rows], linewidth=0.9)
    ax_rss.set_ylabel("RSS (MiB)")
    ax_rss.set_title(args.title)
    ax_fd.plot(minutes, [int(r["open_fds"]) for r in rows], linewidth=0.9, color="tab:orange")
    ax_fd.set_ylabel("open fds")
    ax_steps.plot(minutes, [int(r["steps"]) / 1000 for r in rows], linewidth=0.9, color="tab:green", label="steps (k)")
    ax_budget = ax_steps.twinx()
    ax_budget.step(minutes, [int(r["budget_tokens"]) for r in rows], where="post", linewidth=0.6,
                   color="tab:gray", label="budget (tokens)")
    ax_budget.set_ylabel("budget (tokens)")
    ax_steps.set_ylabel("steps (thousands)")
    ax_steps.set_xlabel("minutes")
    for ax in (ax_rss, ax_fd, ax_steps):
        ax.axvspan(0, args.warmup / 60, color="0.9", zorder=0)
        ax.grid(True, alpha=0.3)
    ax_rss.text(args.warmup / 120, ax_rss.get_ylim()[0], "warm-up", ha="center", va="bottom", fontsize=8)
    fig.tight_layout()
    fig.savefig(args.png, dpi=110)


if __name__ == "__main__":
    main()
