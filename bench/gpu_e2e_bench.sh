#!/usr/bin/env bash
# End to end on a Llama-3-8B-shaped model with random weights (bench/configs/llama-3-8b.json,
# bf16 weights, f32 KV), on the CUDA backend, in one command:
#   1. decode throughput vs batch (full KV, 32-token prompts, 128 new tokens per request,
#      batch = number of requests = --max-batch);
#   2. prefill throughput (16 prompts of 2048 tokens, 1 new token each);
#   3. full vs batch-max vs kv-compress at one KV pool (kvwb-cli sweep: 32 prompts of 1024
#      tokens, 64 new tokens, 128-token budget per head; the pool holds full KV for ~8 of them).
# Random weights answer nothing: the sweep's accuracy column is fidelity to full KV, and the
# comparison is about batch size and throughput. The byte tokenizer makes one token per byte.
#
#   KVWB_CLI=build-gpu/app/kvwb-cli OUT_DIR=/tmp/e2e bash bench/gpu_e2e_bench.sh
#
# env: KVWB_CLI (default build/app/kvwb-cli), OUT_DIR (default a new temporary directory),
#      KVWB_BACKEND (default cuda), KVWB_MODEL_CONFIG (default bench/configs/llama-3-8b.json),
#      KVWB_DECODE_BATCHES (default "1 16 64 256"), KVWB_DECODE_POOL (default 16GiB),
#      KVWB_COMPARE_POOL (default 2304MiB), KVWB_STEP_LIMIT_S (per kvwb-cli call, default 240).
# Writes OUT_DIR/report.md (the tables) and one log and JSON per kvwb-cli call beside it.
set -uo pipefail
cd "$(dirname "$0")/.."
cli=${KVWB_CLI:-build/app/kvwb-cli}
out=${OUT_DIR:-$(mktemp -d /tmp/kvwb-e2e.XXXXXX)}
backend=${KVWB_BACKEND:-cuda}
config=${KVWB_MODEL_CONFIG:-bench/configs/llama-3-8b.json}
batches=${KVWB_DECODE_BATCHES:-"1 16 64 256"}
decode_pool=${KVWB_DECODE_POOL:-16GiB}
compare_pool=${KVWB_COMPARE_POOL:-2304MiB}
limit=${KVWB_STEP_LIMIT_S:-240}
mkdir -p "$out"
report=$out/report.md
model=(--random-weights "$config" --backend "$backend")

# workload FILE COUNT PROMPT_BYTES NEW_TOKENS: requests of distinct filler text.
workload() {
  python3 - "$@" <<'EOF'
import json, sys
path, count, size, new = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
with open(path, "w") as f:
    for i in range(count):
        text = "".join(f"w{(i * 7919 + k) % 9973} " for k in range(size))[:size]
        f.write(json.dumps({"id": f"r{i}", "prompt": text, "max_new_tokens": new}) + "\n")
EOF
}

# field JSON KEY: one number from a kvwb-cli --json summary.
field() {
  python3 -c "import json,sys; v = json.load(open(sys.argv[1]))[sys.argv[2]]; print(f'{v:.2f}' if isinstance(v, float) else v)" \
    "$1" "$2" 2>/dev/null || echo "?"
}
# run NAME ARGS...: one kvwb-cli call under the time limit; returns its exit code.
run() {
  local name=$1
  shift
  echo "gpu_e2e_bench: $name: $cli $*"
  timeout --kill-after=10 "$limit" "$cli" "$@" >"$out/$name.log" 2>&1
  local rc=$?
  [ $rc -eq 0 ] || { echo "gpu_e2e_bench: $name failed (exit $rc):"; tail -5 "$out/$name.log"; }
  return $rc
}

{
  echo "Model: $config with random bf16 weights, f32 KV, backend $backend, block 16."
  echo
  echo "### Decode throughput vs batch (full KV, 32-token prompts, 128 new tokens each)"
  echo
  echo "| batch | generated tok/s | total tok/s | mean batch | wall s | exit |"
  echo "| --- | --- | --- | --- | --- | --- |"
} >"$report"
for b in $batches; do
  workload "$out/decode-$b.jsonl" "$b" 32 128
  run "decode-$b" run "${model[@]}" --workload "$out/decode-$b.jsonl" --kv-pool "$decode_pool" --policy full \
    --max-batch "$b" --max-tokens-per-step 4096 --json "$out/decode-$b.json" --quiet
  rc=$?
  j=$out/decode-$b.json
  echo "| $b | $(field "$j" generated_tokens_per_second) | $(field "$j" total_tokens_per_second) | $(field "$j" mean_batch) | $(field "$j" wall_seconds) | $rc |" >>"$report"
done

workload "$out/prefill.jsonl" 16 2048 1
run prefill run "${model[@]}" --workload "$out/prefill.jsonl" --kv-pool "$decode_pool" --policy full --max-batch 16 \
  --prefill-chunk 512 --max-tokens-per-step 4096 --json "$out/prefill.json" --quiet
rc=$?
{
  echo
  echo "### Prefill throughput (16 prompts of 2048 tokens, chunks of 512, 4096 tokens per step)"
  echo
  echo "prompt tokens $(field "$out/prefill.json" prompt_tokens), wall $(field "$out/prefill.json" wall_seconds) s," \
    "total tok/s $(field "$out/prefill.json" total_tokens_per_second) (exit $rc)"
} >>"$report"

workload "$out/compare.jsonl" 32 1024 64
run compare sweep "${model[@]}" --workload "$out/compare.jsonl" --kv-pool "$compare_pool" \
  --policies batch-max,kv-compress --budget-tokens 128 --db "$out/compare.db" --json "$out/compare.json" --quiet
rc=$?
{
  echo
  echo "### Full KV vs Batch-Max vs KV-Compress at a $compare_pool KV pool (32 prompts of 1024 tokens, 64 new tokens, budget 128 tokens per head; exit $rc)"
  echo
  echo '```'
  cat "$out/compare.log"
  echo '```'
} >>"$report"
cat "$report"
