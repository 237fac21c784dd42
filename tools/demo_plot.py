"""Plots the demo model's training logs (train.csv, eval.csv of tools/train_demo.py) to a PNG."""
import csv
from pathlib import Path


def read_csv(path):
    if not Path(path).exists():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def smooth(values, span=5):
    """Trailing mean over the last `span` logged values (None where nothing was logged)."""
    out = []
    for i in range(len(values)):
        window = [v for v in values[max(0, i - span + 1):i + 1] if v is not None]
        out.append(sum(window) / len(window) if window else None)
    return [float("nan") if v is None else v for v in out]


def plot_logs(train_csv, eval_csv, png):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    train, evals = read_csv(train_csv), read_csv(eval_csv)
    if not train:
        return
    fig, (ax_loss, ax_acc) = plt.subplots(2, 1, figsize=(8, 7), sharex=True)
    mtok = [int(r["tokens"]) / 1e6 for r in train]
    for key, label in [("loss_answer", "answer bytes"), ("loss_prompt", "prompt bytes")]:
        ax_loss.plot(mtok, [float(r[key]) for r in train], label=label, linewidth=0.8)
    ax_loss.set_yscale("log")
    ax_loss.set_ylabel("cross-entropy (nats / byte)")
    ax_loss.set_title("kvwb demo model: training loss")
    ax_loss.grid(True, which="both", alpha=0.3)
    # Mark where the curriculum lengthens the prompts.
    last = None
    for x, r in zip(mtok, train):
        if r["len_hi"] != last:
            ax_loss.axvline(x, color="grey", linestyle=":", linewidth=0.8)
            ax_loss.text(x, ax_loss.get_ylim()[1], f" <= {r['len_hi']} B", fontsize=7,
                         va="top", rotation=90)
            last = r["len_hi"]
    ax_loss.legend(loc="lower left")
    ax_acc.plot(mtok, [float(r["answer_seq_acc"]) for r in train], linewidth=0.6, alpha=0.5,
                color="black", label="answers fully right (teacher forcing, train batches)")
    # Per task (logged since the adaptive task mix): smoothed, so the learning order shows.
    for key in [k for k in train[0] if k.startswith("acc_")]:
        ys = [float(r[key]) if r.get(key) else None for r in train]
        if any(y is not None for y in ys):
            ax_acc.plot(mtok, smooth(ys), linewidth=0.9, label=f"{key[4:]} (teacher forcing)")
    if evals:
        ex = [int(r["tokens"]) / 1e6 for r in evals]
        ax_acc.plot(ex, [float(r["mean"]) for r in evals], "o-", color="black",
                    label="held-out greedy exact match (mean of tasks)")
    ax_acc.set_ylim(-0.02, 1.02)
    ax_acc.set_xlabel("training tokens (millions)")
    ax_acc.set_ylabel("accuracy")
    ax_acc.grid(True, alpha=0.3)
    ax_acc.legend(loc="upper left", fontsize=7)
    fig.tight_layout()
    Path(png).parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(png).with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=90)
    plt.close(fig)
    tmp.replace(png)


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("out_dir", type=Path, help="a training --out-dir (train.csv, eval.csv)")
    ap.add_argument("png", type=Path)
    args = ap.parse_args()
    plot_logs(args.out_dir / "train.csv", args.out_dir / "eval.csv", args.png)
