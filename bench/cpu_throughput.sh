#!/usr/bin/env bash
# kvwb against transformers and llama.cpp on the CPU, in one run on one machine (issue 23):
#   (a) kvwb `eval` on a RULER-style workload (full KV, --model smollm2), wall from its summary,
#       with --matmul exact (the default) and again with --matmul fast (int8 activations);
#   (b) transformers f32 on the same requests, one at a time (bench/cpu_throughput/hf_generate.py);
#   (c) llama.cpp's llama-bench (pp512, tg128) against kvwb's gguf_speed_bench (the same two
#       tests, exact and fast), and llama-batched-bench (512 prompt + 32 generated tokens, 8 and 16
#       sequences, f16 KV: its default) on the same GGUF against kvwb `eval --ignore-eos` on the same shape;
#   (d) the GEMM peak: the larger of torch and OpenBLAS sgemm on SmolLM2's prefill shapes
#       (bench/cpu_throughput/gemm_peak.py), next to kvwb's matmul on the same shapes
#       (build/bench/prefill_gemm_probe, one Q4_1 layer, n = 512);
#   (e) the bandwidth bound: build/bench/cpu_decode_bench's f32 100M-parameter Llama (400 MB
#       read per token, more than the last-level cache) against the read bandwidth the same
#       program measures over a 1 GiB buffer.
# Throughput = (prompt + generated tokens) / wall. Every round runs (a), (b) and (c) and
# alternates their order; the report gives each round's ratio and the median of the ratios, the
# load average at every step, and how many outputs are identical token for token. On a loaded
# machine wall time measures the scheduler as much as the engines: say so with the load.
#
#   bash bench/cpu_throughput.sh [WORKLOAD] [ROUNDS]
#
# WORKLOAD defaults to data/ruler-quick.jsonl, ROUNDS to 3. Environment:
#   MAX_REQUESTS  the first N requests only (default 0 = all)
#   THREADS       threads of every engine (default 2)
#   OUT           where outputs go (default .cache/cpu-throughput)
#   SKIP          parts to leave out, from: hf llama gemm bandwidth
# Needs build/app/kvwb-cli and build/bench/{gguf_speed_bench,prefill_gemm_probe,cpu_decode_bench}
# (built here if missing). The venv .cache/cpu-throughput-venv (git-ignored) is made once from
# bench/cpu_throughput/requirements.txt; llama.cpp by bench/cpu_throughput/build_llamacpp.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/model-cache.sh

workload=${1:-data/ruler-quick.jsonl}
rounds=${2:-3}
max_requests=${MAX_REQUESTS:-0}
threads=${THREADS:-2}
out=${OUT:-.cache/cpu-throughput}
skip=" ${SKIP:-} "
build=${KVWB_BUILD_DIR:-build}
gguf=$(kvwb_model_cache_dir)/SmolLM2-135M-Instruct.Q4_1.gguf
venv=.cache/cpu-throughput-venv
here=bench/cpu_throughput
wants() { [[ "$skip" != *" $1 "* ]]; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
limit=(); ((max_requests > 0)) && limit=(--max-requests "$max_requests")

[[ -f "$workload" ]] || { echo "cpu_throughput: $workload not found" >&2; exit 1; }
[[ -f "$gguf" ]] || { echo "cpu_throughput: $gguf not found (run scripts/fetch-models.sh)" >&2; exit 1; }
for t in app/kvwb-cli bench/gguf_speed_bench bench/prefill_gemm_probe bench/cpu_decode_bench; do
  [[ -x "$build/$t" ]] || nice -n 5 cmake --build "$build" -j 2 --target "$(basename "$t")"
done
if (wants hf || wants gemm) && [[ ! -x "$venv/bin/python" ]]; then
  echo "cpu_throughput: making $venv from PyPI ($here/requirements.txt)" >&2
  /usr/bin/python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r "$here/requirements.txt"
fi
if wants llama; then llama_bin=$(bash "$here/build_llamacpp.sh"); fi

rm -rf "$out" && mkdir -p "$out"
export OMP_WAIT_POLICY=PASSIVE  # OpenMP threads sleep between parallel regions
echo "$workload, ${max_requests/#0/all} requests, $rounds rounds, $threads threads, $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(date -u '+%F %H:%M') UTC" >"$out/header.txt"

run_kvwb() {  # round; exact then fast back to back (files kvwb-R.* and kvwb-fast-R.*)
  local matmul name
  for matmul in exact fast; do
    name=kvwb
    if [[ $matmul == fast ]]; then name=kvwb-fast; fi
    echo "round $1 $name: load $(load)" >>"$out/load.txt"
    nice -n 5 "$build/app/kvwb-cli" eval --model smollm2 --workload "$workload" "${limit[@]}" --matmul "$matmul" \
      --threads "$threads" --quiet --json "$out/$name-$1.json" --results "$out/$name-$1.results.json" >/dev/null
  done
}
run_hf() {  # round
  echo "round $1 transformers: load $(load)" >>"$out/load.txt"
  OMP_NUM_THREADS=$threads nice -n 5 "$venv/bin/python" "$here/hf_generate.py" --gguf "$gguf" --workload "$workload" \
    "${limit[@]}" --threads "$threads" --out "$out/hf-$1.json" 2>"$out/hf-$1.err" || { cat "$out/hf-$1.err" >&2; exit 1; }
}
run_llama() {  # round
  echo "round $1 llama.cpp: load $(load)" >>"$out/load.txt"
  KVWB_BENCH_MODEL="$gguf" KVWB_BENCH_THREADS=$threads nice -n 5 "$build/bench/gguf_speed_bench" --benchmark_format=json \
    >"$out/kvwb-speed-$1.json" 2>/dev/null
  nice -n 5 "$llama_bin/llama-bench" -m "$gguf" -p 512 -n 128 -t "$threads" -r 3 -o json >"$out/llama-bench-$1.json" 2>/dev/null
  nice -n 5 "$llama_bin/llama-batched-bench" -m "$gguf" -t "$threads" -tb "$threads" -c $(((512 + 32) * 16)) -b 2048 -ub 512 \
    -npp 512 -ntg 32 -npl 8,16 --output-format jsonl >"$out/llama-batched-$1.txt" 2>&1
  for n in 8 16; do  # the same work in kvwb: n prompts of 512 tokens, 32 tokens each past eos, one batch
    nice -n 5 "$build/app/kvwb-cli" eval --model smollm2 --workload "$out/batched-$n.jsonl" --max-batch "$n" \
      --ignore-eos --threads "$threads" --quiet --json "$out/kvwb-batched-$n-$1.json" >/dev/null
  done
}
# llama-batched-bench's shape for kvwb: n plain prompts (no chat template) of 512 one-token
# words, 32 tokens generated each; report.py checks the prompt lengths kvwb counted.
for n in 8 16; do
  python3 -c "
import json
words = [' the', ' of', ' and', ' to', ' in']
for i in range($n):
    text = ''.join(words[(i + k) % 5] for k in range(512))
    print(json.dumps({'id': f'batched-{i}', 'prompt': text, 'max_new_tokens': 32}))" >"$out/batched-$n.jsonl"
done

for ((round = 0; round < rounds; ++round)); do
  parts=(kvwb); wants hf && parts+=(hf); wants llama && parts+=(llama)
  if ((round % 2 == 1)); then parts=($(printf '%s\n' "${parts[@]}" | tac)); fi
  for p in "${parts[@]}"; do "run_$p" "$round"; done
done

if wants gemm; then
  echo "gemm: load $(load)" >>"$out/load.txt"
  nice -n 5 "$venv/bin/python" "$here/gemm_peak.py" --threads "$threads" --rows 512 >"$out/gemm-peak.json"
  OMP_NUM_THREADS=$threads nice -n 5 "$build/bench/prefill_gemm_probe" 3 q4_1 1 512 >"$out/gemm-kvwb.txt"
fi
if wants bandwidth; then
  echo "bandwidth: load $(load)" >>"$out/load.txt"
  KVWB_BENCH_THREADS=$threads nice -n 5 "$build/bench/cpu_decode_bench" --benchmark_filter=F32 --benchmark_format=json \
    >"$out/bandwidth.json" 2>/dev/null
fi
echo "end: load $(load)" >>"$out/load.txt"
python3 "$here/report.py" "$out" "$rounds"
