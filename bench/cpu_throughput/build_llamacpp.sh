#!/usr/bin/env bash
# Builds llama.cpp's CPU benchmarks (llama-bench, llama-batched-bench) once, from the
# llama-cpp-python source package on PyPI (its sdist vendors llama.cpp), into the git-ignored
# .cache/llamacpp/, and prints the build's bin directory. Used by bench/llamacpp_compare.sh and
# bench/cpu_throughput.sh.
#
#   bash bench/cpu_throughput/build_llamacpp.sh
#
# Not GGML_NATIVE: a native build on a CPU with AMX emits AMX instructions that a VM may refuse
# ("Illegal instruction" in llama-bench). The ISA flags are explicit instead, from /proc/cpuinfo:
# AVX-512 (with VNNI, BF16, VBMI where present) or AVX2/FMA/F16C; AMX off. The build directory is
# named by that choice, so a build for one ISA is never reused for another.
set -euo pipefail
cd "$(dirname "$0")/../.."

version=0.3.36
sdist_sha256=832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e
work=.cache/llamacpp
src=$work/llama_cpp_python-$version/vendor/llama.cpp

has() { grep -qw "$1" /proc/cpuinfo; }
isa=(-DGGML_NATIVE=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF
     -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON)
if has avx512f && has avx512bw && has avx512vl && has avx512dq; then
  flavour=avx512
  isa+=(-DGGML_AVX512=ON)
  has avx512_vnni && isa+=(-DGGML_AVX512_VNNI=ON) && flavour+=-vnni
  has avx512_bf16 && isa+=(-DGGML_AVX512_BF16=ON) && flavour+=-bf16
  has avx512vbmi && isa+=(-DGGML_AVX512_VBMI=ON) && flavour+=-vbmi
elif has avx2 && has fma && has f16c; then
  flavour=avx2
  has avx_vnni && isa+=(-DGGML_AVX_VNNI=ON) && flavour+=-vnni
else
  echo "build_llamacpp: this CPU has no AVX2/FMA/F16C; no explicit-ISA build is defined for it" >&2
  exit 1
fi
build=$work/build-$version-$flavour

if [[ ! -x "$build/bin/llama-bench" || ! -x "$build/bin/llama-batched-bench" ]]; then
  mkdir -p "$work"
  sdist=$work/llama_cpp_python-$version.tar.gz
  if [[ ! -f "$sdist" ]]; then
    if [[ ! -x .venv-fetch/bin/pip ]]; then /usr/bin/python3 -m venv .venv-fetch; fi
    echo "build_llamacpp: downloading llama-cpp-python $version (source, about 75 MB) from PyPI" >&2
    .venv-fetch/bin/pip download --quiet --no-deps --no-binary llama-cpp-python \
      "llama-cpp-python==$version" -d "$work" >&2 || {
      echo "build_llamacpp: pip could not download llama-cpp-python==$version" >&2
      exit 1
    }
  fi
  got=$(sha256sum "$sdist" | cut -d' ' -f1)
  [[ "$got" == "$sdist_sha256" ]] || { echo "build_llamacpp: $sdist has sha256 $got, expected $sdist_sha256" >&2; exit 1; }
  [[ -d "$src" ]] || tar -xzf "$sdist" -C "$work"
  launcher=()
  if command -v ccache >/dev/null; then launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
  echo "build_llamacpp: building llama-bench and llama-batched-bench ($flavour) in $build" >&2
  cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" "${isa[@]}" \
    -DBUILD_SHARED_LIBS=OFF -DGGML_CUDA=OFF -DGGML_BLAS=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_CURL=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_APP=OFF \
    -DLLAMA_BUILD_TOOLS=ON >&2
  nice -n 5 cmake --build "$build" -j 2 --target llama-bench llama-batched-bench >&2
fi
echo "$build/bin"
