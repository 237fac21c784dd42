#!/usr/bin/env bash
# Issue 21, benchmark 1: accuracy per KV dtype with full KV, paired request by request with the
# f32 run: accuracy and its ratio, requests with the same tokens / agreeing under the exactness
# rule (near-ties excused), and the mean next-token KL vs f32 (bench/compare_results.py).
# usage: bench/kv_dtype_accuracy.sh [MODEL] [WORKLOAD] [MAX_REQUESTS] [OUT_DIR]
# KVWB_DTYPES (default "f32 f16 bf16 q8_0 q4_0"; f32 first: it is the reference), KVWB_POOL
# (default 1GiB: one pool for every dtype; a smaller dtype runs a larger batch, same tokens),
# KVWB_THREADS (--threads), KVWB_TOP_K (log-probs kept per token, default 64).
# A dtype whose results file is already in OUT_DIR is not run again (resume after a stop).
set -euo pipefail
cd "$(dirname "$0")/.."
cli=${KVWB_CLI:-build/app/kvwb-cli}
model=${1:-smollm2}
workload=${2:-data/ruler-standard.jsonl}
max_requests=${3:-}
out=${4:-kv-dtype-accuracy}
dtypes=${KVWB_DTYPES:-"f32 f16 bf16 q8_0 q4_0"}
extra=()
[[ -n $max_requests ]] && extra+=(--max-requests "$max_requests")
[[ -n ${KVWB_THREADS:-} ]] && extra+=(--threads "$KVWB_THREADS")
mkdir -p "$out"

echo "model $model, workload $workload${max_requests:+ (first $max_requests requests)}, $(nproc) cores, $(date -u +'%F %T') UTC, load $(cut -d' ' -f1-3 /proc/loadavg)"
for dt in $dtypes; do
  [[ -f $out/$dt-results.json ]] && continue
  start=$(date +%s)
  "$cli" eval --model "$model" --workload "$workload" "${extra[@]}" --kv-dtype "$dt" --policy full \
    --kv-pool "${KVWB_POOL:-1GiB}" --top-logprobs "${KVWB_TOP_K:-64}" -q \
    --json "$out/$dt-summary.json" --results "$out/$dt-results.json.tmp" > "$out/$dt-eval.txt"
  mv "$out/$dt-results.json.tmp" "$out/$dt-results.json"
  echo "$dt: $(( $(date +%s) - start )) s, ended $(date -u +%T) UTC, load $(cut -d' ' -f1-3 /proc/loadavg)"
done
for dt in $dtypes; do
  [[ $dt == f32 ]] && continue
  echo
  echo "== $dt vs f32"
  python3 bench/compare_results.py "$out/f32-results.json" "$out/$dt-results.json"
done
