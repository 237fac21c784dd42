#!/usr/bin/env python3
"""Compares two `kvwb-cli eval --results` files request by request (paired by id): the reference
(e.g. f32 full KV) and another run (another KV dtype, a policy). Standard library only.

    kvwb-cli eval ... --kv-dtype f32  --top-logprobs 64 --results f32.json
    kvwb-cli eval ... --kv-dtype q8_0 --top-logprobs 64 --results q8_0.json
    python3 bench/compare_results.py f32.json q8_0.json [--per-request]

Prints accuracy (both, and the ratio), per task; how many requests generated the same tokens,
and how many agree under the exactness rule (docs/architecture.md: identical greedy tokens except
at a near-tie, a reference top-2 margin < 1e-3, counted); and, when both files carry
top_logprobs, the mean KL(reference || other) of the next-token distributions over every step
whose preceding tokens agree (the steps after a divergence condition on different text).

The KL is computed over the ids present in both top-k lists plus one bin for the rest of each
distribution; by the log-sum inequality that is a lower bound of the full-vocabulary KL, tight
when the reference's mass outside the shared ids (printed as `tail`) is small.

--self-test checks the arithmetic on hand-computed cases.
"""
import argparse
import json
import math
import sys

NEAR_TIE = 1e-3  # reference top-2 logit margin below which a different token is excused


def kl_lumped(ref, other):
    """KL(ref || other) over shared ids + one tail bin. ref/other: [[id, logprob], ...].
    Returns (kl, reference tail mass)."""
    lp_other = {i: lp for i, lp in other}
    kl, mass_ref, mass_other = 0.0, 0.0, 0.0
    for i, lp in ref:
        if i not in lp_other:
            continue
        p = math.exp(lp)
        kl += p * (lp - lp_other[i])
        mass_ref += p
        mass_other += math.exp(lp_other[i])
    tail_ref = max(0.0, 1.0 - mass_ref)
    tail_other = max(1e-300, 1.0 - mass_other)
    if tail_ref > 0:
        kl += tail_ref * math.log(tail_ref / tail_other)
    return kl, tail_ref


def first_difference(a, b):
    """Index of the first differing token (the shorter length when one is a prefix); None if equal."""
    for k, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return k
    return None if len(a) == len(b) else min(len(a), len(b))


def margin(step):
    return step[0][1] - step[1][1] if len(step) >= 2 else math.inf


def compare(ref_rows, other_rows):
    other = {r["id"]: r for r in other_rows}
    out = {"pairs": [], "missing": [r["id"] for r in ref_rows if r["id"] not in other]}
    for r in ref_rows:
        o = other.get(r["id"])
        if o is None:
            continue
        a, b = r["output_tokens"], o["output_tokens"]
        d = first_difference(a, b)
        top_a, top_b = r.get("top_logprobs"), o.get("top_logprobs")
        near_tie, split_margin = None, None
        kls, tails = [], []
        if top_a is not None and top_b is not None:
            if d is not None and d < len(top_a):
                split_margin = margin(top_a[d])
                near_tie = split_margin < NEAR_TIE
            last = len(a) - 1 if d is None else d  # step d still conditions on the same prefix
            for k in range(min(last + 1, len(top_a), len(top_b))):
                kl, tail = kl_lumped(top_a[k], top_b[k])
                kls.append(kl)
                tails.append(tail)
        n = max(len(a), 1)
        out["pairs"].append({"id": r["id"], "task": r.get("task", ""), "score_ref": r.get("score"),
                             "score": o.get("score"), "same": d is None, "first_difference": d,
                             "near_tie": near_tie, "margin": split_margin, "agreeing_share": (len(a) if d is None else d) / n,
                             "kl": kls, "tail": tails})
    return out


def mean(xs):
    return sum(xs) / len(xs) if xs else float("nan")


def report(result, per_request):
    pairs = result["pairs"]
    lines = []
    if result["missing"]:
        lines.append(f"missing in the other file: {len(result['missing'])} requests ({', '.join(result['missing'][:5])} ...)")
    scored = [p for p in pairs if p["score_ref"] is not None and p["score"] is not None]
    acc_ref, acc = mean([p["score_ref"] for p in scored]), mean([p["score"] for p in scored])
    ratio = acc / acc_ref if acc_ref > 0 else float("nan")
    lines.append(f"requests paired      {len(pairs)}")
    lines.append(f"accuracy             {acc:.4f} vs reference {acc_ref:.4f} ({100 * ratio:.1f} %)")
    for task in sorted({p["task"] for p in scored}):
        t = [p for p in scored if p["task"] == task]
        lines.append(f"  {task:<18} {mean([p['score'] for p in t]):.4f} vs {mean([p['score_ref'] for p in t]):.4f} ({len(t)})")
    same = sum(p["same"] for p in pairs)
    ties = sum(1 for p in pairs if not p["same"] and p["near_tie"])
    lines.append(f"same tokens          {same} / {len(pairs)}")
    if any(p["near_tie"] is not None for p in pairs) or same == len(pairs):
        lines.append(f"exactness rule       {same + ties} / {len(pairs)} agree ({ties} near-ties excused, margin < {NEAR_TIE:g})")
    margins = [p["margin"] for p in pairs if p["margin"] is not None]
    if margins:
        lines.append(f"where tokens part    reference top-2 margin min {min(margins):.3g}, median {sorted(margins)[len(margins) // 2]:.3g}")
    lines.append(f"agreeing prefix      {100 * mean([p['agreeing_share'] for p in pairs]):.1f} % of the reference's tokens (mean)")
    kls = [k for p in pairs for k in p["kl"]]
    if kls:
        tails = [t for p in pairs for t in p["tail"]]
        lines.append(f"next-token KL        mean {mean(kls):.3e}, max {max(kls):.3e} nats over {len(kls)} steps "
                     f"(tail mean {mean(tails):.1e})")
    if per_request:
        for p in pairs:
            kl = f"{mean(p['kl']):.2e}" if p["kl"] else "-"
            split = "" if p["margin"] is None else f" (reference top-2 margin {p['margin']:.3g})"
            lines.append(f"  {p['id']:<32} same={p['same']!s:<5} diff@{p['first_difference']}{split} near_tie={p['near_tie']} "
                         f"kl={kl} score {p['score']} vs {p['score_ref']}")
    return "\n".join(lines)


def self_test():
    # Identical distributions: KL 0.
    d = [[0, math.log(0.5)], [1, math.log(0.25)]]
    kl, tail = kl_lumped(d, d)
    assert abs(kl) < 1e-15 and abs(tail - 0.25) < 1e-15
    # Full distributions over two ids: KL(p||q) = .5 ln(.5/.25) + .5 ln(.5/.75).
    p = [[0, math.log(0.5)], [1, math.log(0.5)]]
    q = [[1, math.log(0.75)], [0, math.log(0.25)]]
    kl, _ = kl_lumped(p, q)
    assert abs(kl - (0.5 * math.log(2) + 0.5 * math.log(2 / 3))) < 1e-15
    # Lumped tail: p = (.5, .3, .2), q = (.5, .1, .4) with only id 0 shared in top-2 lists.
    p = [[0, math.log(0.5)], [1, math.log(0.3)]]
    q = [[0, math.log(0.5)], [2, math.log(0.4)]]
    kl, tail = kl_lumped(p, q)
    assert abs(kl - 0.5 * math.log(0.5 / 0.5)) < 1e-15 and abs(tail - 0.5) < 1e-12  # tail bins equal: 0
    # Divergence at a near-tie is excused; elsewhere it is not.
    ref = [{"id": "a", "output_tokens": [1, 2], "score": 1.0,
            "top_logprobs": [[[1, -0.1], [3, -3.0]], [[2, -0.6930], [4, -0.6935]]]}]
    oth = [{"id": "a", "output_tokens": [1, 4], "score": 0.0,
            "top_logprobs": [[[1, -0.1], [3, -3.0]], [[4, -0.6930], [2, -0.6935]]]}]
    pair = compare(ref, oth)["pairs"][0]
    assert pair["first_difference"] == 1 and pair["near_tie"] is True and len(pair["kl"]) == 2
    ref[0]["top_logprobs"][1] = [[2, -0.1], [4, -3.0]]
    assert compare(ref, oth)["pairs"][0]["near_tie"] is False
    assert first_difference([1, 2], [1, 2, 3]) == 2 and first_difference([5], [5]) is None
    print("compare_results self-test: ok")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("reference", nargs="?")
    ap.add_argument("other", nargs="?")
    ap.add_argument("--per-request", action="store_true")
    ap.add_argument("--self-test", action="store_true")
    args = ap.parse_args()
    if args.self_test:
        self_test()
        return 0
    if not args.reference or not args.other:
        ap.error("give the reference and the other results file")
    rows = []
    for path in (args.reference, args.other):
        try:
            with open(path) as f:
                rows.append(json.load(f))
        except (OSError, json.JSONDecodeError) as e:
            print(f"{path}: {e}", file=sys.stderr)
            return 1
    print(report(compare(rows[0], rows[1]), args.per_request))
    return 0


if __name__ == "__main__":
    sys.exit(main())
