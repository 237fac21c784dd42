#pragma once
// The points of a budget sweep: every KV dtype x policy x compression budget (x span x chunk guidance
// x tuned policy knobs) x prefill chunk at the base config's fixed KV pool (docs/sweeps.md: sweeps vary the compression budget and the KV
// precision, never the pool), after one full-KV reference run that accuracy is measured against.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/config/run_config.h"

namespace kvwb {

// One tuned policy knob: a RunConfig schema key and the values it takes, as the config's JSON
// writes them (7, 0.2). Each multiplies only the evicting points whose policy reads it
// (engine/runtime/policies/policy_reads.h); the others run with the base config's value.
struct SweepDimension {
  std::string key;  // "policy.pool_kernel"; not the policy, budgets, span or chunk guidance (axes of their own)
  std::vector<nlohmann::json> values;
};

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
  // policy.budget_ratio: the fraction of each request's prompt kept, so requests of different
  // lengths give up the same share. The evicting points run at every token budget, then at every
  // ratio (a point has one budget or the other; either list alone is enough).
  std::vector<double> budget_ratios{};
  // Tuned policy knobs (--pool-kernels, --windows, ...), the first outermost.
  std::vector<SweepDimension> dimensions{};
};

// The dtype of the full-KV reference of a sweep of `grid` over `base`.
std::string reference_kv_dtype(const RunConfig& base, const SweepGrid& grid);

struct SweepPoint {
  RunConfig config;
  bool reference = false;  // the full-KV run the others are compared with
  std::string label;       // "batch-max, budget 128, chunk 128, f16" (", span word", ", question-guided" after the budget)
  std::string knobs;       // what the label names beyond policy, budget, chunk and dtype: "span word, window 32"; "" for none
};

// The reference first (policy full, the first chunk, reference_kv_dtype), then dtype-major (each
// dtype's full KV at the first chunk), policy, budget (tokens, then ratios), span, chunk guidance,
// tuned knobs, chunk; a point whose config equals an earlier one is left out (so `full` in the
// list adds only the chunks the reference does not cover). Errors ("sweep: ...") for an empty
// policy list, an unknown policy or dtype, no budgets while a policy needs one, a budget or chunk
// below 1, a ratio or knob value the schema rejects, a knob that is not a policy knob (or given
// twice), and a base config without a fixed KV pool (the pool must be the same for every point).
std::vector<SweepPoint> sweep_points(const RunConfig& base, const SweepGrid& grid);

// "span word, question-guided, pool kernel 7": the span and guidance when set, then the value of
// each of `tuned` (schema keys) that the config's policy reads.
std::string point_knobs(const RunConfig& config, const std::vector<std::string>& tuned = {});
std::string point_label(const RunConfig& config, const std::vector<std::string>& tuned = {});

}  // namespace kvwb
