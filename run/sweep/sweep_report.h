#pragma once
// Text and JSON forms of a sweep's analysis (kvwb-cli sweep, bench/batch_max_bench.sh).
#include <string>

#include <nlohmann/json.hpp>

#include "run/sweep/sweep.h"

namespace kvwb {

// One row per point: batch, throughput (and its ratio to the reference), score, accuracy
// relative to full KV, fidelity; '*' marks the frontier, '<' the recommendation.
std::string format_sweep_table(const SweepAnalysis& analysis);
// The per-task score ratios of every point, one column per task (empty when there is none).
std::string format_task_ratios(const SweepAnalysis& analysis);
// "recommended: ..." or why nothing is.
std::string format_recommendation(const SweepAnalysis& analysis);
nlohmann::json sweep_to_json(const SweepAnalysis& analysis);

}  // namespace kvwb
