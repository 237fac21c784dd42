#!/usr/bin/env bash
# Configures and builds kvwb into build/ (Release). Extra arguments go to CMake's configure,
# e.g. scripts/build.sh -DKVWB_CUDA=OFF -DKVWB_GUI=OFF.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${KVWB_BUILD_DIR:-build}
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache)
fi
cmake -S . -B "$build_dir" -G Ninja "${launcher[@]}" "$@"
cmake --build "$build_dir" -j "$(nproc)"
