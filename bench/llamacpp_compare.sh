#!/usr/bin/env bash
# kvwb vs llama.cpp on the same GGUF, on this machine, in one run: prompt tok/s at 512 tokens
# (llama-bench pp512) and decode tok/s at one sequence (tg128), at 1 and 2 threads.
#
#   bash bench/llamacpp_compare.sh [GGUF] [ROUNDS]
#
# GGUF defaults to SmolLM2-135M-Instruct in the model cache (scripts/fetch-models.sh). llama.cpp's
# llama-bench is built once by bench/cpu_throughput/build_llamacpp.sh (from the llama-cpp-python
# source package on PyPI, sha256-checked, CPU only, explicit AVX2/AVX-512 flags rather than a
# native build, whose AMX instructions some VMs refuse). kvwb's side is
# build/bench/gguf_speed_bench (the same two tests; built here with ninja if missing).
# Each round runs kvwb and llama.cpp back to back for every thread count (5 repetitions each),
# alternating which goes first; the table gives tok/s as median (min–max) over rounds, the
# ratio of each round's pair, and the median of those ratios (pairs see similar load).
# On a busy machine wall time mostly measures the scheduler, so a second table gives the CPU
# time per decoded token at 1 thread: kvwb's from its benchmark, llama.cpp's as the difference
# of the process CPU times of tg192 and tg64 runs (which cancels loading and warm-up) over
# the 128 tokens between them. KVWB_COMPARE_CPU=0 skips it.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/model-cache.sh

model=${1:-$(kvwb_model_cache_dir)/SmolLM2-135M-Instruct.Q4_1.gguf}
rounds=${2:-3}
threads_list=${KVWB_COMPARE_THREADS:-"1 2"}
kvwb_bench=${KVWB_BUILD_DIR:-build}/bench/gguf_speed_bench

[[ -f "$model" ]] || { echo "llamacpp_compare: $model not found (run scripts/fetch-models.sh)" >&2; exit 1; }

llama_bench=$(bash bench/cpu_throughput/build_llamacpp.sh)/llama-bench
if [[ ! -x "$kvwb_bench" ]]; then nice -n 5 ninja -C "$(dirname "$(dirname "$kvwb_bench")")" -j2 gguf_speed_bench; fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
export OMP_WAIT_POLICY=PASSIVE  # both programs: OpenMP threads sleep between parallel regions

run_kvwb() {  # threads round
  KVWB_BENCH_MODEL="$model" KVWB_BENCH_THREADS=$1 nice -n 5 "$kvwb_bench" --benchmark_format=json \
    >"$out/kvwb-$1-$2.json" 2>"$out/kvwb-$1-$2.err" || { cat "$out/kvwb-$1-$2.err" >&2; exit 1; }
}
run_llama() {  # threads round
  nice -n 5 "$llama_bench" -m "$model" -p 512 -n 128 -t "$1" -r 5 -o json \
    >"$out/llama-$1-$2.json" 2>"$out/llama-$1-$2.err" || { cat "$out/llama-$1-$2.err" >&2; exit 1; }
}

echo "model $(basename "$model"), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(date -u '+%F %H:%M') UTC, load average $(cut -d' ' -f1-3 /proc/loadavg) at start"
for ((round = 0; round < rounds; ++round)); do
  for t in $threads_list; do
    if ((round % 2 == 0)); then run_kvwb "$t" "$round"; run_llama "$t" "$round"; else run_llama "$t" "$round"; run_kvwb "$t" "$round"; fi
  done
done
echo "load average $(cut -d' ' -f1-3 /proc/loadavg) at end; llama.cpp: $("$llama_bench" --version 2>&1 | head -n 1)"
echo

python3 - "$out" "$rounds" $threads_list <<'PY'
import json, statistics, sys
out, rounds, threads = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
print("| threads | test | kvwb tok/s | llama.cpp tok/s | kvwb / llama.cpp per round | median ratio |")
print("| --- | --- | --- | --- | --- | --- |")
for t in threads:
    for test, bench_name, n_prompt, n_gen in (("prompt 512", "BM_Prompt512", 512, 0), ("decode 128", "BM_Decode128", 0, 128)):
        kv, ll = [], []
        for r in range(rounds):
            kv += [b["tok_s"] for b in json.load(open(f"{out}/kvwb-{t}-{r}.json"))["benchmarks"] if b["name"] == f"{bench_name}/exact"]
            ll += [e["avg_ts"] for e in json.load(open(f"{out}/llama-{t}-{r}.json")) if e["n_prompt"] == n_prompt and e["n_gen"] == n_gen]
        ratios = [k / l for k, l in zip(kv, ll)]  # each round's pair ran back to back
        spread = lambda v: f"{statistics.median(v):.1f} ({min(v):.1f}–{max(v):.1f})"
        print(f"| {t} | {test} | {spread(kv)} | {spread(ll)} | {' '.join(f'{x:.2f}' for x in ratios)} | **{statistics.median(ratios):.2f}x** |")
PY

[[ "${KVWB_COMPARE_CPU:-1}" == 1 ]] || exit 0
cpu_of() { { /usr/bin/time -f "%U %S" "$@" >/dev/null; } 2>&1 | tail -n 1 | awk '{print $1 + $2}'; }
echo
echo "CPU time per decoded token, 1 thread ($rounds pairs):"
echo
echo "| pair | kvwb ms | llama.cpp ms | kvwb / llama.cpp (speed) |"
echo "| --- | --- | --- | --- |"
for ((round = 0; round < rounds; ++round)); do
  KVWB_BENCH_MODEL="$model" KVWB_BENCH_THREADS=1 nice -n 5 "$kvwb_bench" --benchmark_filter=Decode128 \
    --benchmark_format=json >"$out/cpu-kvwb.json" 2>/dev/null
  short=$(cpu_of nice -n 5 "$llama_bench" -m "$model" -p 0 -n 64 -t 1 -r 5 -o json)
  long=$(cpu_of nice -n 5 "$llama_bench" -m "$model" -p 0 -n 192 -t 1 -r 5 -o json)
  python3 - "$out/cpu-kvwb.json" "$short" "$long" "$((round + 1))" <<'PY'
import json, sys
b = json.load(open(sys.argv[1]))["benchmarks"][0]
kvwb_ms = b["cpu_time"] / 128  # ms per iteration of 128 tokens (cache setup included)
llama_ms = (float(sys.argv[3]) - float(sys.argv[2])) / (128 * 5) * 1000
print(f"| {sys.argv[4]} | {kvwb_ms:.1f} | {llama_ms:.1f} | {llama_ms / kvwb_ms:.2f}x |")
PY
done
