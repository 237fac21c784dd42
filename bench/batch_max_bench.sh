#!/usr/bin/env bash
# The Batch-Max comparison (arXiv 2412.05693) at one KV memory budget, in one command: full KV
# vs decode-only compression vs Batch-Max vs KV-Compress and the other policies, on a
# long-prompt/short-answer workload (where compressing during prefill should raise the batch
# most) and a short-prompt one (where it should not matter). Each workload is a
# `kvwb-cli sweep` (every point recorded as a session); bench/batch_max_report.py turns the
# sweeps' JSON into Markdown tables (mean/max batch, throughput, accuracy relative to full KV,
# ratios) and draws the frontier PNG.
#
# usage: bench/batch_max_bench.sh [MODEL] [KV_POOL] [BUDGETS] [MAX_REQUESTS]
#   BUDGETS: comma-separated compression budgets in tokens (every policy runs at each)
# env: KVWB_CLI (default build/app/kvwb-cli), KVWB_PYTHON (a python3 with matplotlib; default
#      .venv-tools/bin/python, made by tools/setup-python.sh), KVWB_PNG (default
#      docs/batch-max-frontier.png), KVWB_BENCH_DB_DIR (where the session databases go, one per
#      repetition; default a temporary directory, removed at the end), KVWB_POLICIES, KVWB_WORKLOADS
#      ("name=path ..."), KVWB_THREADS, KVWB_REPEATS (default 2: every sweep runs this many
#      times, each into a fresh database, alternating workloads, so the tables show the
#      run-to-run spread of throughput on a shared machine).
set -euo pipefail
cd "$(dirname "$0")/.."
cli=${KVWB_CLI:-build/app/kvwb-cli}
model=${1:-demo}
pool=${2:-12MiB}
budgets=${3:-64,128}
max_requests=${4:-16}
policies=${KVWB_POLICIES:-decode-only,batch-max,kv-compress,streaming-llm,h2o,snapkv,pyramidkv,ada-kv}
workloads=${KVWB_WORKLOADS:-"long-prompt=data/demo-longprompt.jsonl short-prompt=data/demo-shortprompt.jsonl"}
png=${KVWB_PNG:-docs/batch-max-frontier.png}
python=${KVWB_PYTHON:-}
if [[ -z $python ]]; then
  for candidate in .venv-tools/bin/python python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c "import matplotlib" 2>/dev/null; then
      python=$candidate
      break
    fi
  done
fi
if [[ -z $python ]] || ! "$python" -c "import matplotlib" 2>/dev/null; then
  echo "batch_max_bench.sh: no python3 with matplotlib: run tools/setup-python.sh or set KVWB_PYTHON" >&2
  exit 1
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
repeats=${KVWB_REPEATS:-2}
threads=()
[[ -z ${KVWB_THREADS:-} ]] || threads=(--threads "$KVWB_THREADS")

echo "model $model, KV pool $pool, budgets $budgets tokens per head, first $max_requests requests of each workload,"
echo "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the start, $(date -u '+%F %H:%M') UTC"
echo
db_dir=${KVWB_BENCH_DB_DIR:-$out}
mkdir -p "$db_dir"
declare -A jsons
for ((r = 1; r <= repeats; r++)); do
  for entry in $workloads; do
    name=${entry%%=*}
    workload=${entry#*=}
    start=$(date +%s)
    "$cli" sweep --model "$model" --workload "$workload" --max-requests "$max_requests" --kv-pool "$pool" \
      --policies "$policies" --budget-tokens "$budgets" --min-accuracy 0.96 --db "$db_dir/sweeps-$r.db" \
      --json "$out/$name-$r.json" "${threads[@]}" --quiet >"$out/$name-$r.txt"
    echo "run $r, $name: $workload, $(($(date +%s) - start)) s"
    jsons[$name]+="${jsons[$name]:+,}$out/$name-$r.json"
  done
done
echo "load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
echo
reports=()
for entry in $workloads; do
  name=${entry%%=*}
  reports+=("$name=${jsons[$name]}")
done
"$python" bench/batch_max_report.py --png "$png" "${reports[@]}"
