#!/usr/bin/env bash
# The CPU kernels' portable path: the kernel tests and the model goldens (HF fixtures, GGUF
# fixtures, SmolLM2 when downloaded) built without -march=native into build-portable/ and run.
# With KVWB_NATIVE=OFF the compiler targets baseline x86-64 (SSE2): no AVX2/FMA/F16C, so every
# `#if KVWB_CPU_AVX2` in kernels/cpu takes its scalar branch. Run by scripts/test.sh (README
# command 2); about 100 compiles, no Qt, CUDA or benchmarks.
#
# Once the CPU backend picks its ISA at run time (KVWB_CPU_ISA=portable|avx2|avx512), no second
# build is needed: set KVWB_PORTABLE_BUILD=0 and KVWB_CPU_ISAS="portable avx2 ..." to run the
# normal build's suites once per ISA instead (run_suites below takes the build dir).
set -euo pipefail
cd "$(dirname "$0")/.."

# ctest the kernel suite and the golden tests of the runtime suite in build dir $1.
run_suites() {
  local dir=$1 rc=0
  (cd "$dir" && ctest --output-on-failure -j "$(nproc)" --timeout 900 -L '^kvwb_kernels_tests$') || rc=$?
  (cd "$dir" && ctest --output-on-failure -j "$(nproc)" --timeout 900 -L '^kvwb_runtime_tests$' \
    -R 'ForwardGolden|GgufGolden|SmolLM2') || rc=$?
  return $rc
}

export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}  # see scripts/test.sh
rc=0
if [[ "${KVWB_PORTABLE_BUILD:-1}" != 0 ]]; then
  build_dir=${KVWB_PORTABLE_BUILD_DIR:-build-portable}
  launcher=()
  if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
  cmake -S . -B "$build_dir" -G Ninja "${launcher[@]}" -DKVWB_NATIVE=OFF -DKVWB_GUI=OFF -DKVWB_CUDA=OFF \
    -DKVWB_BENCH=OFF -DKVWB_FUZZ=OFF
  cmake --build "$build_dir" -j "$(nproc)" --target kvwb_kernels_tests kvwb_runtime_tests
  run_suites "$build_dir" || rc=$?
fi
for isa in ${KVWB_CPU_ISAS:-}; do
  echo "scripts/test-portable.sh: KVWB_CPU_ISA=$isa"
  KVWB_CPU_ISA=$isa run_suites "${KVWB_BUILD_DIR:-build}" || rc=$?
done
exit $rc
