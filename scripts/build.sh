#!/usr/bin/env bash
# Configures and builds kvwb into build/ (Release). Extra arguments go to CMake's configure,
# e.g. scripts/build.sh -DKVWB_CUDA=OFF -DKVWB_GUI=OFF. KVWB_BUILD_TARGETS="app/kvwb app/kvwb-cli"
# builds only those targets (scripts/start.sh: no tests or benchmarks before the window opens).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${KVWB_BUILD_DIR:-build}
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache)
fi
cmake -S . -B "$build_dir" -G Ninja "${launcher[@]}" "$@"
targets=()
for t in ${KVWB_BUILD_TARGETS:-}; do targets+=(--target "$t"); done
cmake --build "$build_dir" -j "$(nproc)" "${targets[@]}"
