#!/usr/bin/env bash
# Builds kvwb on a GPU machine and runs every GPU path: the CUDA and CUPTI tests (the whole
# ctest suite), the CUDA microbenchmarks, the CUPTI overhead, a recorded CUPTI session and the
# end-to-end Llama-3-8B-shaped comparison. Made for the device tool's machines (docs/gpu-runs.md):
# a copy of the working tree, nvcc, CMake, ninja and a C++ compiler, but no network and none of
# kvwb's other build dependencies; those come as Debian .deb files that scripts/gpu-debs.sh
# downloaded into .gpu-debs/ beforehand, unpacked here with `dpkg -x` into a prefix (never /).
#
#   bash scripts/gpu-validate.sh [STAGE...]      (default: test)
#
# Stages (each builds the targets it needs first, incrementally, into build-gpu/):
#   test     the whole ctest suite (CUDA and CUPTI tests included), JUnit XML kept
#   bench    bench/cuda_bench (decode attention bandwidth, GEMM vs cuBLAS) and the CUPTI
#            overhead (profiler_overhead_bench on the demo model, CPU timers vs CUDA + CUPTI)
#   session  a kvwb-cli run on the cuda backend with --profile, recorded into
#            $OUT/cupti-session.db (copy it back and open it in the workbench)
#   e2e      bench/gpu_e2e_bench.sh: Llama-3-8B-shaped random weights, decode tok/s vs batch,
#            prefill tok/s, full vs batch-max vs kv-compress at one KV pool
#   sanitize the CUDA tests under compute-sanitizer: memcheck (out-of-bounds and misaligned
#            accesses, leaks of device errors) and racecheck on the attention tests
#   all      every stage above (longer than one 10-minute device call: split it)
#
# Writes under $OUT (./gpu-out when OUT is unset): summary-<stages>.md (what ran, what passed,
# the numbers), logs-<stages>.tar.gz (every log) and cupti-session.db. Each step runs under a
# time limit so the summary is written even when a step hangs: KVWB_GPU_DEADLINE_S (default
# 560) is the budget of the whole invocation. Without a usable GPU it says so, and still
# builds and runs what runs without one (useful to test this script on a machine with nvcc).
#
# Environment: KVWB_GPU_DEBS (default .gpu-debs), KVWB_GPU_PREFIX (where the debs are
# unpacked, default /tmp/kvwb-gpu-deps), KVWB_BUILD_DIR (default build-gpu),
# KVWB_CUDA_ARCHS (default 90: H100/H200; "80;90" for both), KVWB_JOBS (default nproc),
# KVWB_GPU_TARGETS and KVWB_CTEST_REGEX (only to test this script; see below).
set -uo pipefail
set -a  # the steps run in child shells under `timeout`: they see every variable set below
cd "$(dirname "$0")/.."
repo=$(pwd)
start_s=$(date +%s)
deadline_s=${KVWB_GPU_DEADLINE_S:-560}
out=${OUT:-$repo/gpu-out}
debs=${KVWB_GPU_DEBS:-$repo/.gpu-debs}
prefix=${KVWB_GPU_PREFIX:-/tmp/kvwb-gpu-deps}
build=${KVWB_BUILD_DIR:-$repo/build-gpu}
archs=${KVWB_CUDA_ARCHS:-90}
jobs=${KVWB_JOBS:-$(nproc)}
stages=("$@")
[ ${#stages[@]} -eq 0 ] && stages=(test)
for s in "${stages[@]}"; do
  case $s in
    test | bench | session | e2e | sanitize) ;;
    all) stages=(test bench session e2e sanitize) ;;
    *) echo "gpu-validate: unknown stage '$s' (test, bench, session, e2e, sanitize, all)" >&2; exit 2 ;;
  esac
done
tag=$(IFS=-; echo "${stages[*]}")
mkdir -p "$out"
logs=$(mktemp -d /tmp/kvwb-gpu-logs.XXXXXX)
summary=$out/summary-$tag.md
results=()  # "| step | status | detail |" rows

say() { echo "gpu-validate: $*"; }
row() { results+=("| $1 | $2 | $3 |"); say "$1: $2 ${3:+($3)}"; }
left_s() { echo $((deadline_s - ($(date +%s) - start_s))); }
# step NAME LIMIT_S CMD...: runs CMD with its output in $logs/NAME.log under min(LIMIT, time left).
step() {
  local name=$1 limit=$2
  shift 2
  local left
  left=$(($(left_s) - 15))
  if [ "$left" -lt 20 ]; then
    row "$name" "NOT RUN" "out of time (KVWB_GPU_DEADLINE_S=$deadline_s)"
    return 124
  fi
  [ "$limit" -gt "$left" ] && limit=$left
  say "$name (limit ${limit}s) ..."
  local t0 rc
  t0=$(date +%s)
  if declare -F "$1" >/dev/null; then  # a function of this script: give it to the child shell
    timeout --kill-after=10 "$limit" bash -c "set -o pipefail; $(declare -f "$1"); \"\$@\"" _ "$@" >"$logs/$name.log" 2>&1
  else
    timeout --kill-after=10 "$limit" "$@" >"$logs/$name.log" 2>&1
  fi
  rc=$?
  local took=$(($(date +%s) - t0))
  if [ $rc -eq 0 ]; then
    row "$name" "ok" "${took}s"
  elif [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
    row "$name" "TIMED OUT" "after ${took}s; log: $name.log"
  else
    row "$name" "FAILED (exit $rc)" "${took}s; log: $name.log"
    tail -n 25 "$logs/$name.log" | sed 's/^/    /'
  fi
  return $rc
}

finish() {
  {
    echo "# kvwb GPU validation: ${stages[*]}"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?')" \
      "$(git -C "$repo" diff --quiet 2>/dev/null || echo '(with uncommitted changes)')"
    echo
    echo '```'
    cat "$logs/environment.txt" 2>/dev/null
    echo '```'
    echo
    echo "| step | status | detail |"
    echo "| --- | --- | --- |"
    printf '%s\n' "${results[@]}"
    for f in "$logs"/*.md; do
      [ -f "$f" ] && { echo; cat "$f"; }
    done
  } >"$summary"
  tar -C "$logs" -czf "$out/logs-$tag.tar.gz" . 2>/dev/null
  say "summary: $summary"
  cat "$summary"
}
trap finish EXIT

# --- the machine ---------------------------------------------------------------------------
gpu=yes
gpu_why=""
{
  echo "host: $(uname -srm), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)"
  echo "os: $(. /etc/os-release 2>/dev/null; echo "${PRETTY_NAME:-?}"), glibc $(ldd --version 2>/dev/null | head -1 | awk '{print $NF}')"
  echo "compiler: $(c++ --version 2>/dev/null | head -1)"
  echo "nvcc: $(nvcc --version 2>/dev/null | tail -2 | head -1)"
  echo "cmake: $(cmake --version 2>/dev/null | head -1), ninja $(ninja --version 2>/dev/null)"
} >"$logs/environment.txt"
if ! command -v nvidia-smi >/dev/null; then
  gpu=no
  gpu_why="nvidia-smi not found"
elif ! nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem --format=csv,noheader \
  >>"$logs/environment.txt" 2>"$logs/nvidia-smi.err"; then
  gpu=no
  gpu_why="nvidia-smi: $(head -1 "$logs/nvidia-smi.err")"
fi
if [ "$gpu" = yes ]; then
  sed -i '$s/^/gpu: /' "$logs/environment.txt"
  nvidia-smi >"$logs/nvidia-smi.txt" 2>&1
else
  echo "gpu: none ($gpu_why)" >>"$logs/environment.txt"
  say "NO GPU: $gpu_why. Building and running what runs without one; every GPU test and benchmark skips."
fi
cat "$logs/environment.txt"
for tool in cmake ninja nvcc c++; do
  command -v $tool >/dev/null || { row "environment" "FAILED" "$tool not found"; exit 1; }
done

# --- dependencies from the carried .deb files ----------------------------------------------
unpack_debs() {
  shopt -s nullglob
  local files=("$debs"/*.deb)
  if [ ${#files[@]} -eq 0 ]; then
    echo "no .deb files in $debs: run scripts/gpu-debs.sh on a machine with apt first, and carry .gpu-debs" >&2
    return 1
  fi
  rm -rf "$prefix"
  mkdir -p "$prefix"
  for f in "${files[@]}"; do dpkg -x "$f" "$prefix" || return 1; done
  local lib=$prefix/usr/lib/x86_64-linux-gnu
  # pkg-config files say prefix=/usr: point them at the unpacked tree.
  sed -i "s|^prefix=/usr\$|prefix=$prefix/usr|" "$lib"/pkgconfig/*.pc
  # Debian selects OpenBLAS through update-alternatives, which dpkg -x does not run.
  ln -sf openblas-pthread/libopenblas.so "$lib/libopenblas.so"
  ln -sf openblas-pthread/libopenblas.so.0 "$lib/libopenblas.so.0"
  ls "$debs"/*.deb | xargs -n1 basename
}
lib=$prefix/usr/lib/x86_64-linux-gnu
export LD_LIBRARY_PATH=$lib:$lib/openblas-pthread${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
step deps 120 unpack_debs || exit 1

pkg_config=$(command -v pkg-config || echo "$prefix/usr/bin/pkgconf")
# CMAKE_POLICY_VERSION_MINIMUM: a CMake 4 (pip's) still reads Debian's older package config files.
configure() {
  cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DKVWB_GUI=OFF -DKVWB_CUDA=ON -DKVWB_BENCH=ON \
    -DCMAKE_CUDA_ARCHITECTURES="$archs" -DCMAKE_PREFIX_PATH="$prefix/usr" -DPKG_CONFIG_EXECUTABLE="$pkg_config" \
    -DCMAKE_POLICY_VERSION_MINIMUM=3.5 &&
    grep -E '^(GTest_DIR|fmt_DIR|nlohmann_json_DIR|CLI11_DIR|benchmark_DIR|SQLite3_LIBRARY|SQLite3_INCLUDE_DIR|pkgcfg_lib_PCRE2_pcre2-8|PKG_CONFIG_EXECUTABLE|BLAS_openblas_LIBRARY|KVWB_CBLAS_INCLUDE_DIR|PCRE2_LINK_LIBRARIES|CMAKE_CUDA_ARCHITECTURES|CMAKE_CUDA_COMPILER):' \
      "$build/CMakeCache.txt"
}
step configure 240 configure || exit 1

targets=()
for s in "${stages[@]}"; do
  case $s in
    test) targets+=(all) ;;
    bench) targets+=(cuda_bench profiler_overhead_bench kv_dtype_attention_bench kvwb-cli) ;;
    session) targets+=(kvwb-cli) ;;
    e2e) targets+=(kvwb-cli) ;;
    sanitize) targets+=(kvwb_cuda_tests) ;;
  esac
done
# KVWB_GPU_TARGETS / KVWB_CTEST_REGEX narrow the build and the suite (to test this script on a
# slow machine without a GPU); a real run leaves them unset.
[ -n "${KVWB_GPU_TARGETS:-}" ] && read -ra targets <<<"$KVWB_GPU_TARGETS"
step build 420 cmake --build "$build" -j "$jobs" --target $(printf '%s\n' "${targets[@]}" | sort -u) || exit 1

# --- stages ------------------------------------------------------------------------------------
run_tests() {
  cd "$build" && OMP_WAIT_POLICY=PASSIVE ctest -j "$jobs" --output-on-failure --timeout 300 --output-junit "$logs/ctest.xml" \
    ${KVWB_CTEST_REGEX:+-R "$KVWB_CTEST_REGEX"}
}
report_tests() {
  local log=$logs/test.log
  {
    echo "## Tests"
    echo
    grep -E 'tests passed|tests failed' "$log" | tail -1
    echo
    echo "GPU tests (kvwb_cuda_tests, Cupti*, GpuActivity*) by status:"
    echo
    echo '```'
    grep -E '^ *[0-9]+/[0-9]+ Test +#[0-9]+: (Cuda|Cupti|GpuActivity|BackendFactory|CudaProbe)' "$log" |
      sed -E 's/^ *[0-9]+\/[0-9]+ Test +#[0-9]+: //; s/ \.{2,}/ /; s/ +[0-9.]+ sec$//' | awk '{print $NF}' | sort | uniq -c
    echo '```'
    if grep -q '(Failed)\|(Timeout)\|\*\*\*Failed\|Exception' "$log"; then
      echo
      echo "Failed:"
      echo
      grep -E '\(Failed\)|\(Timeout\)|\*\*\*Failed|\*\*\*Exception' "$log" | sed 's/^/    /' | head -60
    fi
    if grep -q 'Skipped' "$log"; then
      echo
      echo "Skipped (first reasons):"
      echo
      grep -E 'Skipped' "$log" | head -5 | sed 's/^/    /'
      grep -m3 -E 'no CUDA device|no GPU' "$log" | sed 's/^/    /'
    fi
  } >"$logs/20-tests.md"
}

bench_cuda() {
  "$build/bench/cuda_bench" --benchmark_counters_tabular=true --benchmark_out="$logs/cuda_bench.json" \
    --benchmark_out_format=json
}
bench_kv_dtype() {
  # Decode attention at 4k context by KV dtype (f32, f16, bf16, q8_0, q4_0) on the GPU.
  KVWB_BENCH_BACKEND=cuda "$build/bench/kv_dtype_attention_bench" --benchmark_counters_tabular=true \
    --benchmark_out="$logs/kv_dtype_attention_cuda.json" --benchmark_out_format=json
}
bench_cupti() {
  # demo: the workbench's own model, the CUPTI target is < 5 % of step time.
  KVWB_BENCH_BACKEND=cuda "$build/bench/profiler_overhead_bench" --benchmark_filter='/(fixture|demo)$' \
    --benchmark_counters_tabular=true --benchmark_out="$logs/profiler_overhead_cuda.json" --benchmark_out_format=json
}
report_bench() {
  {
    echo "## CUDA microbenchmarks (bench/cuda_bench)"
    echo
    echo '```'
    grep -E '^device:|skipped' "$logs/bench-cuda.log"
    grep -E '^(DecodeAttention|Gemm|Benchmark|-)' "$logs/bench-cuda.log" | head -120
    echo '```'
    echo
    echo "## Decode attention by KV dtype (kv_dtype_attention_bench, KVWB_BENCH_BACKEND=cuda)"
    echo
    echo '```'
    grep -E '^(BM_|Benchmark|-)|skipped|no GPU' "$logs/bench-kv-dtype.log" | head -20
    echo '```'
    echo
    echo "## CUPTI overhead (profiler_overhead_bench, KVWB_BENCH_BACKEND=cuda)"
    echo
    echo '```'
    grep -E '^(BM_|Benchmark|-)|skipped|no GPU' "$logs/bench-cupti.log" | head -20
    echo '```'
  } >"$logs/30-bench.md"
}

session_db=$out/cupti-session.db
record_session() {
  rm -f "$session_db"
  "$build/app/kvwb-cli" run --backend cuda --model demo --workload "$repo/data/demo-quick.jsonl" \
    --policy batch-max --budget-tokens 128 --kv-pool 64MiB --profile --trace "$logs/session-trace.json" \
    --record "$session_db" --json "$logs/session-summary.json" -q &&
    "$build/app/kvwb-cli" sessions list --db "$session_db"
}
report_session() {
  {
    echo "## CUPTI session"
    echo
    echo "kvwb-cli run --backend cuda --model demo --workload data/demo-quick.jsonl --policy batch-max" \
      "--budget-tokens 128 --kv-pool 64MiB --profile --record cupti-session.db"
    echo
    echo '```'
    grep -E 'note:|recorded session|error' "$logs/session.log" | head
    # GPU records in the trace: kernel, memcpy and memset events on GPU tracks.
    for kind in kernel memcpy memset; do
      printf '%s events in the trace: ' "$kind"
      grep -o "\"cat\": *\"$kind\"" "$logs/session-trace.json" 2>/dev/null | wc -l
    done
    echo '```'
  } >"$logs/40-session.md"
}

run_sanitize() {
  local cs
  cs=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
  cd "$build" || return 1
  # The long-context and batch-64 scenarios take minutes under memcheck; the rest covers every
  # kernel, GQA ratio and block size.
  echo "== memcheck" && OMP_WAIT_POLICY=PASSIVE "$cs" --tool memcheck --error-exitcode 1 ./tests/kvwb_cuda_tests \
    --gtest_filter='-*LongContext*:*DecodeBatchOf64*:*EndToEnd*' &&
    echo "== racecheck" && OMP_WAIT_POLICY=PASSIVE "$cs" --tool racecheck --error-exitcode 1 ./tests/kvwb_cuda_tests \
      --gtest_filter='*GroupsBlocksDims/CudaAttentionShapes.MixedDecodeAndPrefillBatch/G4_bs16_D128:CudaAttention.Whole*:CudaAttention.Prefill*:CudaEviction.PerRowSelection*'
}
report_sanitize() {
  {
    echo "## compute-sanitizer (memcheck, racecheck) on kvwb_cuda_tests"
    echo
    echo '```'
    grep -E '^== (memcheck|racecheck)|ERROR SUMMARY|RACECHECK SUMMARY|PASSED|FAILED|not run' "$logs/sanitize.log" | head -20
    echo '```'
  } >"$logs/60-sanitize.md"
}

run_e2e() { KVWB_CLI="$build/app/kvwb-cli" OUT_DIR="$logs/e2e" bash "$repo/bench/gpu_e2e_bench.sh"; }
report_e2e() {
  { echo "## End to end, Llama-3-8B shape, random weights (bench/gpu_e2e_bench.sh)"; echo; cat "$logs/e2e/report.md" 2>/dev/null || echo "(no report)"; } \
    >"$logs/50-e2e.md"
}

# gpu_step NAME LIMIT CMD...: a step that only means something on a GPU.
gpu_step() {
  if [ "$gpu" = yes ]; then
    step "$@"
  else
    row "$1" "NOT RUN" "no GPU"
    echo "not run: no GPU ($gpu_why)" >"$logs/$1.log"
  fi
}
for s in "${stages[@]}"; do
  case $s in
    test) step test 420 run_tests; report_tests ;;
    bench)
      step bench-cuda 300 bench_cuda  # says "skipped: no CUDA device" itself
      gpu_step bench-kv-dtype 120 bench_kv_dtype
      gpu_step bench-cupti 240 bench_cupti
      report_bench ;;
    session) gpu_step session 180 record_session; report_session ;;
    e2e) gpu_step e2e 540 run_e2e; report_e2e ;;
    sanitize) gpu_step sanitize 420 run_sanitize; report_sanitize ;;
  esac
done
[ "$gpu" = yes ] || row "gpu" "NONE" "$gpu_why: GPU tests skipped, GPU benchmarks not run; nothing GPU-related verified"
