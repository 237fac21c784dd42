#!/usr/bin/env bash
# Makes the workbench screenshots in docs/screenshots/ from the real kvwb window: each runs kvwb
# under Xvfb (an X server without a screen, from install-deps.sh), lets the run finish and saves
# the window with --screenshot. Needs build/app/kvwb (scripts/build.sh) and SmolLM2
# (scripts/fetch-models.sh). Slow on a small CPU: the README shot runs 8 RULER requests on
# SmolLM2 twice (the run and its full-KV reference). One shot: tools/screenshots.sh try
# `tests`: the session-browser shots and the live eviction map of docs/user-guide.md, grabbed
# by the offscreen UI tests on runs and sessions of the fixture model (needs build/tests/kvwb_ui_tests, no Xvfb).
set -euo pipefail
cd "$(dirname "$0")/.."
kvwb=${KVWB_BUILD_DIR:-build}/app/kvwb
out=docs/screenshots
[[ -x "$kvwb" ]] || { echo "screenshots: $kvwb is missing; build it: bash scripts/build.sh" >&2; exit 1; }
mkdir -p "$out"

shot() {
  xvfb-run --auto-servernum --server-args="-screen 0 1600x1000x24" "$kvwb" "$@"
}

readme() {
  # What scripts/start.sh opens (SmolLM2, data/ruler-quick.jsonl, the default config of
  # ui/controller/default_run.cpp) with its full-KV reference; the Live tab's token view shows
  # the first traced request, a needle. The Model field says "smollm2", never a path.
  shot --model smollm2 --workload data/ruler-quick.jsonl --autostart --reference \
    --token-request quick-niah_single-1024-01 --screenshot "$out/workbench.png"
}
first_run() {
  # The sweep that chose the default (docs/workbench.md "The first run"), recorded into a fresh
  # database named relative to the checkout (the Sessions tab shows the name, not a machine
  # path), then its full-KV session (#1) and the default's (#2) compared in the window.
  local cli=${KVWB_BUILD_DIR:-build}/app/kvwb-cli db=${KVWB_BUILD_DIR:-build}/first-run-screenshots.db
  rm -f "$db" "$db-wal" "$db-shm"
  "$cli" sweep --model smollm2 --workload data/ruler-quick.jsonl --max-requests 8 --threads 1 \
    --kv-pool 72MiB --max-batch 16 --prefill-chunk 64 --policies batch-max --budget-tokens 512,480 \
    --db "$db" --quiet
  shot --sessions "$db" --compare 1,2 --screenshot "$out/first-run-compare.png"
  rm -f "$db" "$db-wal" "$db-shm"
}
dark() {
  # KV-Compress on the demo model: the retained tokens differ per head; dark palette.
  shot --dark --model demo --workload data/demo-quick.jsonl --kv-pool 16MiB --policy kv-compress \
    --budget-tokens 96 --autostart --screenshot "$out/workbench-dark.png"
}
try() {
  # KV-Compress evicts per head, after the prompt and every 16 decode steps: rows differ, colours too.
  shot --model smollm2 --policy kv-compress --budget-tokens 32 \
    --try "Alice has a red kite and Bob has a blue boat. Tim has a green bike. What colour is Bob's boat?" \
    --screenshot "$out/workbench-try.png"
}

tune() {
  # docs/user-guide.md's worked example: the SmolLM2 sweep (slow: about 5 minutes on 2 cores),
  # then sessions #1 (full KV) and #5 (KV-Compress at 384 tokens) compared in the window.
  local db; db=$(mktemp -u /tmp/kvwb-tune-XXXXXX.db)
  local cli=${KVWB_BUILD_DIR:-build}/app/kvwb-cli
  for budgets in 64,128 64,128,256,384; do
    "$cli" sweep --model smollm2 --workload data/ruler-quick.jsonl --max-requests 4 --kv-pool 32MiB \
      --policies kv-compress --budget-tokens "$budgets" --threads 1 --db "$db" --quiet
  done
  shot --sessions "$db" --compare 1,5 --screenshot "$out/tune-compare.png"
  rm -f "$db"
}
tests() {
  local ui_tests=${KVWB_BUILD_DIR:-build}/tests/kvwb_ui_tests
  [[ -x "$ui_tests" ]] || { echo "screenshots: $ui_tests is missing; build it: ninja -C build tests/kvwb_ui_tests" >&2; exit 1; }
  QT_QPA_PLATFORM=offscreen KVWB_SCREENSHOT_DIR="$out" "$ui_tests" --gtest_filter='SessionPanel.*:OpTimeline.*:MainWindow.Clicking*'
}

names=("$@")
((${#names[@]} > 0)) || names=(readme first_run dark try tests)
for n in "${names[@]}"; do
  [[ "$n" == readme || "$n" == first_run || "$n" == dark || "$n" == try || "$n" == tests || "$n" == tune ]] ||
    { echo "screenshots: unknown shot '$n' (readme, first_run, dark, try, tests, tune)" >&2; exit 1; }
  echo "screenshots: $n"
  "$n"
done
