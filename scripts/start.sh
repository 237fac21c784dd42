#!/usr/bin/env bash
# README command 1: installs what is needed, fetches SmolLM2, builds the two programs, and opens
# the kvwb window on SmolLM2 with its quick RULER workload, running the default compressed config
# and, beside it, the full-KV reference (so "% of full" fills as both finish requests; the
# default is ui/controller/default_run.cpp, chosen in docs/workbench.md). When SmolLM2 cannot be
# fetched it opens the committed demo model instead (and says so); without a graphical display
# it runs the same workload in the terminal with kvwb-cli. Extra arguments go to kvwb
# (e.g. --policy kv-compress --budget-tokens 128, or --help).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh

model=smollm2
workload=data/ruler-quick.jsonl
if ! bash scripts/fetch-models.sh; then
  model=demo
  workload=data/demo-quick.jsonl
  echo "start: SmolLM2 could not be fetched (see above): opening kvwb on the demo model (models/demo)" \
       "with $workload instead. Retry later with: bash scripts/fetch-models.sh" >&2
fi

KVWB_BUILD_TARGETS="app/kvwb app/kvwb-cli" bash scripts/build.sh
build_dir=${KVWB_BUILD_DIR:-build}

if [[ -z "${DISPLAY:-}" && -z "${WAYLAND_DISPLAY:-}" && -z "${QT_QPA_PLATFORM:-}" ]]; then
  echo "start: no graphical display (DISPLAY and WAYLAND_DISPLAY are unset), so the kvwb window cannot" \
       "open here. From a desktop session run: $build_dir/app/kvwb --model $model --workload $workload" \
       "--autostart (or use ssh -X). Running the same workload in the terminal instead:" >&2
  # The window's default run (ui/controller/default_run.cpp; on the demo model its pool is auto).
  flags=(--policy batch-max --budget-tokens 256)
  [[ "$model" == smollm2 ]] && flags=(--kv-pool 72MiB --max-batch 16 --max-requests 8 --prefill-chunk 64
                                      --policy batch-max --budget-tokens 512)
  exec "$build_dir/app/kvwb-cli" run --model "$model" --workload "$workload" "${flags[@]}"
fi

echo "start: opening kvwb on $model with $workload"
exec "$build_dir/app/kvwb" --model "$model" --workload "$workload" --autostart --reference "$@"
