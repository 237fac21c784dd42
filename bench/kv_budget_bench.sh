#!/usr/bin/env bash
# End-to-end throughput with kvwb-cli run, each table from one invocation of this script:
#  1. full KV at several KV pool sizes: pool -> mean batch -> tok/s (the curve compression moves);
#  2. the policies at one pool: mean/max batch, throughput, accuracy, and the cost of
#     compression (scoring, selection, compaction) as a share of all step time and of the time
#     of the steps that evicted.
# usage: bench/kv_budget_bench.sh [MODEL] [WORKLOAD] [MAX_REQUESTS] [POLICY_POOL] [BUDGET_TOKENS]
# KVWB_POOLS="none" skips table 1; KVWB_POLICIES picks the rows of table 2 (kv-compress+chunked:
# kv-compress with chunked_prefill); KVWB_THREADS sets --threads.
# Results: printed as Markdown tables (paste into docs/benchmarks.md with the command).
set -euo pipefail
cd "$(dirname "$0")/.."
cli=${KVWB_CLI:-build/app/kvwb-cli}
model=${1:-demo}
workload=${2:-data/demo-longprompt.jsonl}
max_requests=${3:-32}
policy_pool=${4:-16MiB}
budget=${5:-256}
pools=${KVWB_POOLS:-"4MiB 8MiB 16MiB 32MiB 64MiB"}
[[ $pools == none ]] && pools=""
policies=${KVWB_POLICIES:-"full decode-only batch-max kv-compress kv-compress+chunked streaming-llm h2o snapkv"}
threads=()
[[ -n ${KVWB_THREADS:-} ]] && threads=(--threads "$KVWB_THREADS")
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "model $model, workload $workload (first $max_requests requests), $(nproc) cores, $(date -u +%F), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
[[ -n $pools ]] && echo "| KV pool | mean batch | max batch | generated tok/s | total tok/s | peak blocks / pool | wall s |"
[[ -n $pools ]] && echo "| --- | --- | --- | --- | --- | --- | --- |"
for pool in $pools; do
  "$cli" run --model "$model" --workload "$workload" --max-requests "$max_requests" --kv-pool "$pool" "${threads[@]}" \
    --policy full --quiet --json "$out/full-$pool.json" >/dev/null
  python3 - "$out/full-$pool.json" "$pool" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
print(f"| {sys.argv[2]} | {s['mean_batch']:.2f} | {s['max_batch']} | {s['generated_tokens_per_second']:.1f} | "
      f"{s['total_tokens_per_second']:.1f} | {s['peak_blocks_used']} / {s['blocks_total']} | {s['wall_seconds']:.1f} |")
PY
done

echo
echo "policies at KV pool $policy_pool, budget $budget tokens per head, prefill chunk 128:"
echo
echo "| policy | mean batch | max batch | generated tok/s | total tok/s | throughput vs full | accuracy | compression share: all steps | : evicting steps |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
for row in $policies; do
  policy=${row%+chunked}
  extra=()
  [[ $policy == full ]] || extra=(--budget-tokens "$budget")
  [[ $row == *+chunked ]] && extra+=(--chunked-prefill true)
  "$cli" run --model "$model" --workload "$workload" --max-requests "$max_requests" --kv-pool "$policy_pool" \
    "${threads[@]}" --policy "$policy" "${extra[@]}" --quiet --json "$out/p-$row.json" >/dev/null
  python3 - "$out/p-$row.json" "$out/p-full.json" "$row" <<'PY'
import json, os, sys
s = json.load(open(sys.argv[1]))
base = json.load(open(sys.argv[2])) if os.path.exists(sys.argv[2]) else s
acc = s["accuracy"]["score"] if s["accuracy"]["count"] else float("nan")
share = 100 * s["eviction_seconds"] / s["wall_seconds"] if s["wall_seconds"] else 0
ev = s.get("evicting_steps_seconds", 0)
ev_share = f"{100 * s['evicting_steps_eviction_seconds'] / ev:.1f}% of {s['evicting_steps']} steps" if ev else "-"
print(f"| {sys.argv[3]} | {s['mean_batch']:.2f} | {s['max_batch']} | {s['generated_tokens_per_second']:.1f} | "
      f"{s['total_tokens_per_second']:.1f} | {s['total_tokens_per_second'] / base['total_tokens_per_second']:.2f}x | "
      f"{acc:.3f} | {share:.1f}% | {ev_share} |")
PY
done
