#!/usr/bin/env bash
# End-to-end throughput with kvwb-cli run, each table from one invocation of this script:
#  1. full KV at several KV pool sizes: pool -> mean batch -> tok/s (the curve compression moves);
#  2. the policies at one pool: mean/max batch, throughput, accuracy, eviction share of time.
# usage: bench/kv_budget_bench.sh [MODEL] [WORKLOAD] [MAX_REQUESTS] [POLICY_POOL] [BUDGET_TOKENS]
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
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "model $model, workload $workload (first $max_requests requests), $(nproc) cores, $(date -u +%F)"
echo
echo "| KV pool | mean batch | max batch | generated tok/s | total tok/s | peak blocks / pool | wall s |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for pool in $pools; do
  "$cli" run --model "$model" --workload "$workload" --max-requests "$max_requests" --kv-pool "$pool" \
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
echo "| policy | mean batch | max batch | generated tok/s | total tok/s | throughput vs full | accuracy | evicting share of wall time |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
for policy in full decode-only batch-max kv-compress streaming-llm h2o snapkv; do
  extra=()
  [[ $policy == full ]] || extra=(--budget-tokens "$budget")
  "$cli" run --model "$model" --workload "$workload" --max-requests "$max_requests" --kv-pool "$policy_pool" \
    --policy "$policy" "${extra[@]}" --quiet --json "$out/p-$policy.json" >/dev/null
  python3 - "$out/p-$policy.json" "$out/p-full.json" "$policy" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); f = json.load(open(sys.argv[2]))
acc = s["accuracy"]["score"] if s["accuracy"]["count"] else float("nan")
share = 100 * s["eviction_seconds"] / s["wall_seconds"] if s["wall_seconds"] else 0
print(f"| {sys.argv[3]} | {s['mean_batch']:.2f} | {s['max_batch']} | {s['generated_tokens_per_second']:.1f} | "
      f"{s['total_tokens_per_second']:.1f} | {s['total_tokens_per_second'] / f['total_tokens_per_second']:.2f}x | "
      f"{acc:.3f} | {share:.1f}% |")
PY
done
