#!/usr/bin/env bash
# README command 2: installs what is needed, builds, and runs the whole test suite; before it, in
# build-asan/, the whole Qt-free suite (parser fuzzers included) under ASan + UBSan
# (scripts/test-sanitizers.sh; KVWB_SANITIZER_SCOPE=ci for the parser subset only,
# KVWB_SANITIZERS=0 skips the step), then in build-portable/ the kernel and model-golden tests
# on the portable (non-AVX) CPU path (scripts/test-portable.sh; KVWB_PORTABLE_TESTS=0 skips it).
# The normal suite runs last, so the output ends with its ctest summary; the exit code fails if
# any step failed.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
bash scripts/install-deps.sh
bash scripts/fetch-models.sh || echo "scripts/fetch-models.sh failed: SmolLM2 tests will skip" >&2
bash scripts/build.sh "$@"
sanitizer_rc=0
if [[ "${KVWB_SANITIZERS:-1}" != 0 ]]; then
  KVWB_SANITIZER_SCOPE=${KVWB_SANITIZER_SCOPE:-full} bash scripts/test-sanitizers.sh || sanitizer_rc=$?
fi
portable_rc=0
if [[ "${KVWB_PORTABLE_TESTS:-1}" != 0 ]]; then
  portable_start=$(date +%s)
  bash scripts/test-portable.sh || portable_rc=$?
  echo "scripts/test.sh: portable kernel and golden tests: $(( $(date +%s) - portable_start )) s (exit code $portable_rc)"
fi
cd "${KVWB_BUILD_DIR:-build}"
# ctest runs tests in parallel and each CPU backend starts its own OpenMP team: sleeping rather
# than spinning at barriers keeps an oversubscribed machine from crawling.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
echo "scripts/test.sh: $(( $(date +%s) - start )) s before the normal suite (sanitizer step exit code $sanitizer_rc, portable step $portable_rc)"
set +e
ctest --output-on-failure -j "$(nproc)" --timeout 900
rc=$?
echo "scripts/test.sh: wall time $(( $(date +%s) - start )) s"
if (( rc == 0 && sanitizer_rc != 0 )); then rc=$sanitizer_rc; fi
if (( rc == 0 && portable_rc != 0 )); then rc=$portable_rc; fi
exit $rc
