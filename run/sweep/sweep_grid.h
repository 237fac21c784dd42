#pragma once
// The points of a budget sweep: every KV dtype x policy x compression budget (x span x chunk guidance) x prefill chunk at the
// base config's fixed KV pool (docs/sweeps.md: sweeps vary the compression budget and the KV
// precision, never the pool), after one full-KV reference run that accuracy is measured against.
#include <cstdint>
#include <string>
#include <vector>

#include "engine/config/run_config.h"

namespace kvwb {

struct SweepGrid {
  std::vector<std::string> policies;
  std::vector<int64_t> budget_tokens;   // per sequence or per head, as base.policy.budget_scope says
  std::vector<int64_t> prefill_chunks;  // empty = the base config's prefill_chunk
  // Empty = the base config's kv_dtype, and the reference is full KV at that dtype (the budgets
  // alone are compared). Given, the reference is full KV at f32 (the precision everything else
  // approximates, as the equal-bytes table measures it) and each dtype's full-KV point
  // (precision alone) joins the grid.
  std::vector<std::string> kv_dtypes{};  // {}: aggregate initializers may leave it out
  // policy.span of the evicting points (none, word, line); empty = the base config's. Full-KV
  // points evict nothing and run with none.
  std::vector<std::string> spans{};
  // policy.chunk_guidance of the evicting points (none, question); empty = the base config's. A
  // point whose policy it does not apply to (guidable_between_chunks) runs with none.
  std::vector<std::string> chunk_guidances{};
};

// The dtype of the full-KV reference of a sweep of `grid` over `base`.
std::string reference_kv_dtype(const RunConfig& base, const SweepGrid& grid);

struct SweepPoint {
  RunConfig config;
  bool reference = false;  // the full-KV run the others are compared with
  std::string label;       // "batch-max, budget 128, chunk 128, f16" (", span word", ", question-guided" after the budget)
};

// The reference first (policy full, the first chunk, reference_kv_dtype), then dtype-major (each
// dtype's full KV at the first chunk), policy, budget, span, chunk guidance, chunk; a point whose config equals an
// earlier one is left out (so `full` in the list adds only the chunks the reference does not
// cover). Errors ("sweep: ...") for an empty policy list, an unknown policy or dtype, no budgets
// while a policy needs one, a budget or chunk below 1, and a base config without a fixed KV pool
// (the pool must be the same for every point).
std::vector<SweepPoint> sweep_points(const RunConfig& base, const SweepGrid& grid);

std::string point_label(const RunConfig& config);

}  // namespace kvwb
