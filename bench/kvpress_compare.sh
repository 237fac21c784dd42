#!/usr/bin/env bash
# kvwb's policies against NVIDIA kvpress's presses on the same GGUF and the same requests, at
# the same budgets (kvwb's --budget-ratio = 1 - kvpress's compression_ratio), scored with each
# request's metric by kvwb (eval for kvwb, `kvwb-cli score` for kvpress's outputs). A bench,
# never a test: it downloads from PyPI and takes hours on the full sets (docs/kvpress-compare.md).
#
#   bash bench/kvpress_compare.sh [WORKLOAD] [RATIOS]
#
# WORKLOAD defaults to data/ruler-tuning.jsonl, RATIOS to "0.25 0.5 0.75 0.875" (kvpress's
# leaderboard). Two protocols: `whole` (every question folded into its prompt, the whole prompt
# compressed: kvwb's default) and `question` (the workload's `question` field appended after
# compression: kvpress's protocol), the second only when the workload has questions.
# Environment:
#   KVPRESS_PRESSES  comma-separated kvpress classes (default below; AdaKVPress and ChunkKVPress wrap SnapKV)
#   KVWB_POLICIES    kvwb policies (default: snapkv streaming-llm ada-kv pyramidkv kv-compress h2o batch-max decode-only);
#                    NAME+FLAG=VALUE adds kvwb-cli flags, e.g. snapkv+span=word runs --policy snapkv --span word
#   MAX_REQUESTS     only the first N requests (0 = all)
#   THREADS          threads of each engine (default 2)
#   OUT              where outputs and results go (default .cache/kvpress-compare/<workload name>)
#   DOC, PLOT        the report's markdown and plot (default docs/kvpress-compare-<name>.{md,png})
# The virtual environment (.cache/kvpress-venv, git-ignored) is made once from the pins of
# bench/kvpress_requirements.txt; PyPI's torch brings its CUDA libraries (a few GB), unused here.
# A finished method's outputs are kept in OUT: a second run only adds what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/model-cache.sh

workload=${1:-data/ruler-tuning.jsonl}
ratios=${2:-"0.25 0.5 0.75 0.875"}
presses=${KVPRESS_PRESSES:-SnapKVPress,StreamingLLMPress,TOVAPress,KnormPress,ExpectedAttentionPress,AdaKVPress,PyramidKVPress,FinchPress,ChunkKVPress,KVzipPress}
policies=${KVWB_POLICIES:-"snapkv streaming-llm ada-kv pyramidkv kv-compress h2o batch-max decode-only"}
max_requests=${MAX_REQUESTS:-0}
threads=${THREADS:-2}
name=$(basename "$workload" .jsonl)
out=${OUT:-.cache/kvpress-compare/$name}
doc=${DOC:-docs/kvpress-compare-$name.md}
plot=${PLOT:-docs/kvpress-compare-$name.png}
venv=${KVPRESS_VENV:-.cache/kvpress-venv}
cli=${KVWB_BUILD_DIR:-build}/app/kvwb-cli
gguf=$(kvwb_model_cache_dir)/SmolLM2-135M-Instruct.Q4_1.gguf

[[ -f "$workload" ]] || { echo "kvpress_compare: $workload not found" >&2; exit 1; }
[[ -f "$gguf" ]] || { echo "kvpress_compare: $gguf not found (run scripts/fetch-models.sh)" >&2; exit 1; }
[[ -x "$cli" ]] || { echo "kvpress_compare: $cli not built (cmake --build build --target kvwb-cli)" >&2; exit 1; }
if [[ ! -x "$venv/bin/python" ]]; then
  echo "kvpress_compare: making $venv from PyPI (bench/kvpress_requirements.txt)" >&2
  /usr/bin/python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r bench/kvpress_requirements.txt
fi
py=$venv/bin/python
comma_ratios=$(echo $ratios | tr ' ' ',')

echo "kvpress_compare: $workload, ratios $ratios, ${max_requests/#0/all} requests, $threads threads; load: $(cut -d' ' -f1-3 /proc/loadavg)"
"$py" -c "import sys; from importlib.metadata import version as v; print('python', sys.version.split()[0], *(f'| {p} {v(p)}' for p in ('torch', 'transformers', 'kvpress', 'gguf')))"
mkdir -p "$out"
"$py" bench/kvpress_compare.py split "$workload" "$out" --max-requests "$max_requests"

for protocol in whole question; do
  w=$out/$protocol.jsonl
  [[ -f "$w" ]] || continue
  echo "== protocol $protocol: kvpress (transformers, $threads threads)"
  OMP_NUM_THREADS=$threads "$py" bench/kvpress_compare.py run --gguf "$gguf" --workload "$w" --protocol "$protocol" \
    --presses "$presses" --ratios "$comma_ratios" --out "$out" --threads "$threads"
  for f in "$out"/kvpress-*-"$protocol".outputs.json; do
    r=${f%.outputs.json}.results.json
    [[ -f "$r" ]] || "$cli" score --workload "$w" --outputs "$f" --results "$r" > /dev/null
  done
  echo "== protocol $protocol: kvwb ($threads threads)"
  for policy in full $policies; do
    for ratio in $ratios; do
      if [[ $policy == full ]]; then label=full; budget=(); else label=$policy-$ratio; budget=(--budget-ratio "$(awk "BEGIN { print 1 - $ratio }")"); fi
      IFS=+ read -ra parts <<<"$policy"
      flags=()
      for option in "${parts[@]:1}"; do flags+=("--${option%%=*}" "${option#*=}"); done
      r=$out/kvwb-$label-$protocol.results.json
      if [[ ! -f "$r" ]]; then
        start=$(date +%s)
        "$cli" eval --model smollm2 --workload "$w" --policy "${parts[0]}" "${flags[@]}" "${budget[@]}" --threads "$threads" \
          --quiet --results "$r" > /dev/null
        echo "  $label ($protocol): $(($(date +%s) - start)) s"
      fi
      [[ $policy == full ]] && break
    done
  done
done
"$py" bench/kvpress_compare.py report --out "$out" --name "$name" --ratios "$comma_ratios" --doc "$doc" --plot "$plot"
echo "kvpress_compare: wrote $doc and $plot; outputs and results in $out; load: $(cut -d' ' -f1-3 /proc/loadavg)"
