#pragma once
// Text and JSON forms of a run's summary (kvwb-cli run/eval; sessions compare reuses them).
#include <string>

#include <nlohmann/json.hpp>

#include "run/run.h"

namespace kvwb {

std::string format_summary(const RunSummary& summary);
std::string format_task_table(const RunSummary& summary);
nlohmann::json summary_to_json(const RunSummary& summary);
// The inverse, for summaries stored in sessions (missing keys read as zero; not an object: all zero).
RunSummary summary_from_json(const nlohmann::json& j);
// One object per request; "top_logprobs" ([[id, logprob], ...] per output token) when recorded.
nlohmann::json results_to_json(const std::vector<RequestResult>& results);

}  // namespace kvwb
