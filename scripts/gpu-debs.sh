#!/usr/bin/env bash
# Run HERE (a Debian 12 machine with internet), before scripts/gpu-validate.sh runs on a GPU
# machine that has nvcc, CMake and ninja but none of kvwb's other build dependencies and no
# network: downloads the Debian .deb files of those dependencies (GoogleTest, Google
# Benchmark, SQLite, OpenBLAS, fmt, nlohmann-json, CLI11, PCRE2, pkgconf) into .gpu-debs/
# (git-ignored), for the device tool to carry. No root needed: `apt-get download` only
# fetches. Prints the total size, which must stay well under the carry limit of 64 MiB.
set -euo pipefail
cd "$(dirname "$0")/.."
out=.gpu-debs
# What the GPU build needs beyond a C++ compiler, nvcc, CMake and ninja, with the runtime
# libraries the -dev packages point at (dpkg -x does not resolve dependencies).
packages=(
  libgtest-dev libgmock-dev
  libbenchmark-dev libbenchmark1debian
  libsqlite3-dev libsqlite3-0
  libopenblas-dev libopenblas0 libopenblas-pthread-dev libopenblas0-pthread libgfortran5 libquadmath0
  libfmt-dev libfmt9
  nlohmann-json3-dev libcli11-dev
  libpcre2-dev libpcre2-8-0 libpcre2-16-0 libpcre2-32-0 libpcre2-posix3
  pkgconf pkgconf-bin libpkgconf3
)
mkdir -p "$out"
rm -f "$out"/*.deb
# amd64 whatever this machine is: the GPU machines are x86-64.
(cd "$out" && apt-get -o APT::Architecture=amd64 download "${packages[@]}")
ls -l "$out"/*.deb | awk '{s += $5} END {printf "gpu-debs: %d files, %.1f MiB in .gpu-debs/\n", NR, s / 1048576}'
