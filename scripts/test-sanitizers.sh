#!/usr/bin/env bash
# Tests under AddressSanitizer + UndefinedBehaviorSanitizer, with every parser fuzz target run
# for KVWB_FUZZ_RUNS inputs (10,000 by default), in their own build directory (build-asan/).
#   bash scripts/test-sanitizers.sh                  # the whole Qt-free suite (scope full; CI)
#   KVWB_SANITIZER_SCOPE=ci bash scripts/test-sanitizers.sh   # parser suites + fuzzers only
#   KVWB_SANITIZE=thread bash scripts/test-sanitizers.sh      # TSan (build-tsan/), scope threads
#   KVWB_SANITIZE=thread KVWB_TSAN_OPENMP=archer bash scripts/test-sanitizers.sh  # + OpenMP, 2 threads
# Scope ci builds and runs only the fuzz targets and the parser suites (core, tokenizer, model,
# config, workload), for a quick check after a parser change. Scope full (what scripts/test.sh
# runs: ~13 minutes more than the normal suite on 2 idle cores, docs/reliability.md) leaves out the two-minute
# soak (label soak: ASan's quarantine makes RSS meaningless) and GPU code (KVWB_CUDA=OFF).
# Scope threads (TSan's default) builds and runs the suites whose code runs on more than one
# thread: the engine runtime, runs and sweeps, the profiler, the session recorder and store,
# the fault-injection and soak-helper tests. No fuzzing under TSan (no threads in the parsers).
# KVWB_TSAN_OPENMP=archer also runs the kernels' OpenMP regions with two threads, on LLVM's
# libomp and its Archer tool (scripts/test-tsan-openmp.sh; needs libomp-dev).
# Exits non-zero when any test fails.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
sanitize=${KVWB_SANITIZE:-address}
case "$sanitize" in
  address) build_dir=${KVWB_ASAN_BUILD_DIR:-build-asan}; fuzz=ON; scope=${KVWB_SANITIZER_SCOPE:-full} ;;
  thread) build_dir=${KVWB_TSAN_BUILD_DIR:-build-tsan}; fuzz=OFF; scope=${KVWB_SANITIZER_SCOPE:-threads} ;;
  *) echo "test-sanitizers.sh: KVWB_SANITIZE must be address or thread" >&2; exit 2 ;;
esac
case "${KVWB_TSAN_OPENMP:-off}" in
  off|archer) ;;
  *) echo "test-sanitizers.sh: KVWB_TSAN_OPENMP must be off or archer, not '$KVWB_TSAN_OPENMP'" >&2; exit 2 ;;
esac
# ctest labels: each GoogleTest executable's tests carry its name (cmake/KvwbTargets.cmake).
ci_suites=(kvwb_core_tests kvwb_tokenizer_tests kvwb_model_tests kvwb_config_tests kvwb_workload_tests)
thread_suites=(kvwb_runtime_tests kvwb_run_tests kvwb_profiler_tests kvwb_sessions_tests kvwb_reliability_tests)
case "$scope" in
  full) targets=""; select=(-LE soak) ;;
  ci)
    targets="tests/fuzz/all"
    for s in "${ci_suites[@]}"; do targets+=" tests/$s"; done
    select=(-L "^($(IFS='|'; echo "${ci_suites[*]}")|fuzz)\$")
    ;;
  threads)
    targets=""
    for s in "${thread_suites[@]}"; do targets+=" tests/$s"; done
    select=(-L "^($(IFS='|'; echo "${thread_suites[*]}"))\$")
    ;;
  *) echo "test-sanitizers.sh: KVWB_SANITIZER_SCOPE must be full, ci or threads" >&2; exit 2 ;;
esac
start=$(date +%s)
KVWB_BUILD_DIR=$build_dir KVWB_BUILD_TARGETS=$targets bash scripts/build.sh -DKVWB_SANITIZE="$sanitize" \
  -DKVWB_GUI=OFF -DKVWB_CUDA=OFF -DKVWB_BENCH=OFF -DKVWB_FUZZ=$fuzz
built=$(date +%s)
cd "$build_dir"
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
# halt_on_error: the first report fails the test. LeakSanitizer stays on (ASan's default).
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# TSan: OpenMP (libgomp) is not instrumented and its barriers look like races to TSan, so the
# kernels run single-threaded; the threads under test are kvwb's own (recorder, profiler).
# KVWB_TSAN_OPENMP=archer instead gives TSan OpenMP's ordering and the kernels two threads.
# OMP_THREAD_LIMIT, not only OMP_NUM_THREADS: the kernels ask for num_threads(n) explicitly.
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
if [[ "$sanitize" == thread ]]; then
  case "${KVWB_TSAN_OPENMP:-off}" in
    off) export OMP_NUM_THREADS=1 OMP_THREAD_LIMIT=1 ;;
    archer) source "$root/scripts/test-tsan-openmp.sh" ;;
  esac
fi
set +e
ctest --output-on-failure -j "$(nproc)" --timeout 1800 "${select[@]}"
rc=$?
echo "scripts/test-sanitizers.sh ($sanitize, scope $scope): build $(( built - start )) s, tests $(( $(date +%s) - built )) s"
exit $rc
