#!/usr/bin/env bash
# README command 2: installs what is needed, builds, and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
bash scripts/install-deps.sh
bash scripts/fetch-models.sh || echo "scripts/fetch-models.sh failed: SmolLM2 tests will skip" >&2
bash scripts/build.sh "$@"
cd "${KVWB_BUILD_DIR:-build}"
# ctest runs tests in parallel and each CPU backend starts its own OpenMP team: sleeping rather
# than spinning at barriers keeps an oversubscribed machine from crawling.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
set +e
ctest --output-on-failure -j "$(nproc)" --timeout 900
rc=$?
echo "scripts/test.sh: wall time $(( $(date +%s) - start )) s"
exit $rc
