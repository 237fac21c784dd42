#pragma once
// The points of a budget sweep: every policy x compression budget x prefill chunk at the base
// config's fixed KV pool (docs/sweeps.md: sweeps vary the compression budget, never the pool), after
// one full-KV reference run that accuracy is measured against.
#include <cstdint>
#include <string>
#include <vector>

#include "engine/config/run_config.h"

namespace kvwb {

struct SweepGrid {
  std::vector<std::string> policies;
  std::vector<int64_t> budget_tokens;   // per sequence or per head, as base.policy.budget_scope says
  std::vector<int64_t> prefill_chunks;  // empty = the base config's prefill_chunk
};

struct SweepPoint {
  RunConfig config;
  bool reference = false;  // the full-KV run the others are compared with
  std::string label;       // "batch-max, budget 128, chunk 128"
};

// The reference first (policy full, the first chunk), then policy-major, budget, chunk; a point
// whose config equals an earlier one is left out (so `full` in the list adds only the chunks the
// reference does not cover). Errors ("sweep: ...") for an empty policy list, an unknown policy,
// no budgets while a policy needs one, a budget or chunk below 1, and a base config without a
// fixed KV pool (the pool must be the same for every point).
std::vector<SweepPoint> sweep_points(const RunConfig& base, const SweepGrid& grid);

std::string point_label(const RunConfig& config);

}  // namespace kvwb
