#!/usr/bin/env bash
# README command 1: installs what is needed, builds, and starts kvwb on a real model.
# (The Qt workbench is not built yet: this streams a generation from the demo model with
# kvwb-cli; arguments are passed on to `kvwb-cli generate`.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/fetch-models.sh || echo "scripts/fetch-models.sh failed: SmolLM2 (--model smollm2) is unavailable" >&2
bash scripts/build.sh
model=demo
[[ -f models/demo/config.json ]] || model=tests/fixtures/models/llama-tied
exec build/app/kvwb-cli generate --model "$model" \
  --prompt "${KVWB_PROMPT:-The pass key is 48213. Remember it. What is the pass key? Answer:}" \
  --max-new-tokens 32 "$@"
