#include "run/sweep/sweep_grid.h"

#include <nlohmann/json.hpp>

#include "engine/config/policy_names.h"
#include "engine/core/error.h"

namespace kvwb {
namespace {

RunConfig point_config(const RunConfig& base, const std::string& policy, const std::optional<int64_t>& budget,
                       int64_t chunk, const std::string& kv_dtype, const std::string& span = "none",
                       const std::string& chunk_guidance = "none") {
  RunConfig c = base;
  c.policy.span = span;
  c.kv_dtype = kv_dtype;
  c.record.clear();  // recording is the sweep's business, not part of a point's config
  c.policy.name = policy;
  c.policy.budget_ratio.reset();
  c.policy.budget_tokens = budget;
  c.prefill_chunk = chunk;
  // Guidance that does not apply would give a second point that runs the same as the first.
  c.policy.chunk_guidance = guidable_between_chunks(c.policy) ? chunk_guidance : "none";
  return c;
}

}  // namespace

std::string point_label(const RunConfig& c) {
  std::string label = c.policy.name;
  if (c.policy.budget_tokens) label += fmt::format(", budget {}", *c.policy.budget_tokens);
  if (c.policy.budget_ratio) label += fmt::format(", budget ratio {}", *c.policy.budget_ratio);
  if (c.policy.budget_scope == "head" && c.policy.name != "full") label += " per head";
  if (c.policy.span != "none") label += fmt::format(", span {}", c.policy.span);
  if (c.policy.chunk_guidance != "none") label += fmt::format(", {}-guided", c.policy.chunk_guidance);
  return label + fmt::format(", chunk {}, {}", c.prefill_chunk, c.kv_dtype);
}

std::string reference_kv_dtype(const RunConfig& base, const SweepGrid& grid) {
  return grid.kv_dtypes.empty() ? base.kv_dtype : "f32";
}

std::vector<SweepPoint> sweep_points(const RunConfig& base, const SweepGrid& grid) {
  if (grid.policies.empty()) fail("sweep", "no policies given");
  if (!base.kv_pool_bytes) fail("sweep", "the KV pool must be fixed (give a size, not auto): a sweep compares budgets at one pool");
  for (int64_t b : grid.budget_tokens) {
    if (b < 1) fail("sweep", "budget {} tokens: budgets must be at least 1", b);
  }
  for (int64_t c : grid.prefill_chunks) {
    if (c < 1) fail("sweep", "prefill chunk {}: chunks must be at least 1", c);
  }
  const std::vector<int64_t> chunks = grid.prefill_chunks.empty() ? std::vector<int64_t>{base.prefill_chunk}
                                                                    : grid.prefill_chunks;
  const std::vector<std::string> dtypes = grid.kv_dtypes.empty() ? std::vector<std::string>{base.kv_dtype}
                                                                  : grid.kv_dtypes;
  const std::vector<std::string> spans = grid.spans.empty() ? std::vector<std::string>{base.policy.span} : grid.spans;
  const std::vector<std::string> guidances =
      grid.chunk_guidances.empty() ? std::vector<std::string>{base.policy.chunk_guidance} : grid.chunk_guidances;
  std::vector<SweepPoint> points;
  std::vector<nlohmann::json> seen;
  auto add = [&](RunConfig c, bool reference) {
    validate(c, "sweep");
    nlohmann::json j = run_config_to_json(c);
    for (const nlohmann::json& s : seen) {
      if (s == j) return;
    }
    seen.push_back(std::move(j));
    std::string label = point_label(c);
    points.push_back({std::move(c), reference, std::move(label)});
  };
  // Names first: "foo" is unknown, not budgetless.
  for (const std::string& dtype : dtypes) validate(point_config(base, "full", std::nullopt, chunks.front(), dtype), "sweep");
  for (const std::string& policy : grid.policies) {
    validate(point_config(base, policy, std::nullopt, chunks.front(), dtypes.front()), "sweep");
  }
  for (const std::string& span : spans) validate(point_config(base, "full", std::nullopt, chunks.front(), dtypes.front(), span), "sweep");
  for (const std::string& g : guidances) {
    RunConfig c = point_config(base, "full", std::nullopt, chunks.front(), dtypes.front());
    c.policy.chunk_guidance = g;  // checked as given, whichever policy it would apply to
    validate(c, "sweep");
  }
  add(point_config(base, "full", std::nullopt, chunks.front(), reference_kv_dtype(base, grid)), true);
  for (const std::string& dtype : dtypes) {
    add(point_config(base, "full", std::nullopt, chunks.front(), dtype), false);  // precision alone
    for (const std::string& policy : grid.policies) {
      if (policy == "full") {
        for (int64_t chunk : chunks) add(point_config(base, policy, std::nullopt, chunk, dtype), false);
        continue;
      }
      if (grid.budget_tokens.empty()) fail("sweep", "no budgets given: policy '{}' needs a compression budget", policy);
      for (int64_t budget : grid.budget_tokens) {
        for (const std::string& span : spans) {
          for (const std::string& g : guidances) {
            for (int64_t chunk : chunks) add(point_config(base, policy, budget, chunk, dtype, span, g), false);
          }
        }
      }
    }
  }
  return points;
}

}  // namespace kvwb
