#include "run/sweep/sweep_grid.h"

#include <algorithm>
#include <array>
#include <string_view>

#include "engine/config/policy_names.h"
#include "engine/config/run_config_schema.h"
#include "engine/core/error.h"
#include "engine/runtime/policies/policy_reads.h"

namespace kvwb {
namespace {

// A point's compression budget: tokens or a share of the prompt (none for full KV).
struct Budget {
  std::optional<int64_t> tokens;
  std::optional<double> ratio;
};

// The policy fields a sweep varies by axes of their own, never as a tuned knob.
constexpr std::array<std::string_view, 5> kAxisKeys = {"policy.name", "policy.budget_tokens", "policy.budget_ratio",
                                                        "policy.span", "policy.chunk_guidance"};

RunConfig point_config(const RunConfig& base, const std::string& policy, const Budget& budget, int64_t chunk,
                       const std::string& kv_dtype, const std::string& span = "none",
                       const std::string& chunk_guidance = "none") {
  RunConfig c = base;
  c.policy.span = span;
  c.kv_dtype = kv_dtype;
  c.record.clear();  // recording is the sweep's business, not part of a point's config
  c.policy.name = policy;
  c.policy.budget_ratio = budget.ratio;
  c.policy.budget_tokens = budget.tokens;
  c.prefill_chunk = chunk;
  // Guidance that does not apply would give a second point that runs the same as the first.
  c.policy.chunk_guidance = guidable_between_chunks(c.policy) ? chunk_guidance : "none";
  return c;
}

void set_value(RunConfig& c, const ConfigField& field, const nlohmann::json& value) {
  field.read(value, c, "sweep", std::string(field.leaf()).c_str());
}

// Checks that each dimension is a policy knob given once, with values its schema row accepts.
void check_dimensions(const RunConfig& base, const std::vector<SweepDimension>& dimensions) {
  std::vector<std::string_view> keys;
  for (const SweepDimension& d : dimensions) {
    const ConfigField* field = find_config_field(d.key);
    if (field == nullptr || field->group() != "policy" || std::ranges::find(kAxisKeys, d.key) != kAxisKeys.end()) {
      fail("sweep", "'{}' is not a policy knob a sweep can tune", d.key);
    }
    if (std::ranges::find(keys, field->key) != keys.end()) fail("sweep", "{} given twice", d.key);
    keys.push_back(field->key);
    if (d.values.empty()) fail("sweep", "{}: no values", d.key);
    for (const nlohmann::json& v : d.values) {
      RunConfig c = base;
      set_value(c, *field, v);
      const std::string problem = config_field_problem(c, *field);
      if (!problem.empty()) fail("sweep", "{} {}: {}", d.key, v.dump(), problem);
    }
  }
}

// `c` with every combination of the values of the dimensions its policy reads (the first
// dimension outermost); `c` alone when it reads none.
std::vector<RunConfig> with_dimensions(const RunConfig& c, const std::vector<SweepDimension>& dimensions) {
  std::vector<RunConfig> out{c};
  for (const SweepDimension& d : dimensions) {
    if (!policy_reads(c.policy, d.key)) continue;
    const ConfigField& field = config_field(d.key);
    std::vector<RunConfig> next;
    for (const RunConfig& partial : out) {
      for (const nlohmann::json& v : d.values) {
        next.push_back(partial);
        set_value(next.back(), field, v);
      }
    }
    out = std::move(next);
  }
  return out;
}

std::vector<std::string> keys_of(const std::vector<SweepDimension>& dimensions) {
  std::vector<std::string> keys;
  for (const SweepDimension& d : dimensions) keys.push_back(d.key);
  return keys;
}

}  // namespace

std::string point_knobs(const RunConfig& c, const std::vector<std::string>& tuned) {
  std::string out;
  auto add = [&out](const std::string& part) { out += (out.empty() ? "" : ", ") + part; };
  if (c.policy.span != "none") add(fmt::format("span {}", c.policy.span));
  if (c.policy.chunk_guidance != "none") add(fmt::format("{}-guided", c.policy.chunk_guidance));
  for (const std::string& key : tuned) {
    if (!policy_reads(c.policy, key)) continue;
    const ConfigField& field = config_field(key);
    std::string name(field.leaf());
    std::ranges::replace(name, '_', ' ');
    add(fmt::format("{} {}", name, field.write(c).dump()));
  }
  return out;
}

std::string point_label(const RunConfig& c, const std::vector<std::string>& tuned) {
  std::string label = c.policy.name;
  if (c.policy.budget_tokens) label += fmt::format(", budget {}", *c.policy.budget_tokens);
  if (c.policy.budget_ratio) label += fmt::format(", budget ratio {}", *c.policy.budget_ratio);
  if (c.policy.budget_scope == "head" && c.policy.name != "full") label += " per head";
  if (const std::string knobs = point_knobs(c, tuned); !knobs.empty()) label += ", " + knobs;
  return label + fmt::format(", chunk {}, {}", c.prefill_chunk, c.kv_dtype);
}

std::string reference_kv_dtype(const RunConfig& base, const SweepGrid& grid) {
  return grid.kv_dtypes.empty() ? base.kv_dtype : "f32";
}

std::vector<SweepPoint> sweep_points(const RunConfig& base, const SweepGrid& grid) {
  if (grid.policies.empty()) fail("sweep", "no policies given");
  if (!base.kv_pool_bytes) fail("sweep", "the KV pool must be fixed (give a size, not auto): a sweep compares budgets at one pool");
  std::vector<Budget> budgets;
  for (int64_t b : grid.budget_tokens) {
    if (b < 1) fail("sweep", "budget {} tokens: budgets must be at least 1", b);
    budgets.push_back({b, std::nullopt});
  }
  for (double r : grid.budget_ratios) {
    RunConfig c = base;
    c.policy.budget_ratio = r;
    const std::string problem = config_field_problem(c, config_field("policy.budget_ratio"));
    if (!problem.empty()) fail("sweep", "budget ratio {}: {}", r, problem);
    budgets.push_back({std::nullopt, r});
  }
  for (int64_t c : grid.prefill_chunks) {
    if (c < 1) fail("sweep", "prefill chunk {}: chunks must be at least 1", c);
  }
  check_dimensions(base, grid.dimensions);
  const std::vector<std::string> tuned = keys_of(grid.dimensions);
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
    std::string label = point_label(c, tuned);
    std::string knobs = point_knobs(c, tuned);
    points.push_back({std::move(c), reference, std::move(label), std::move(knobs)});
  };
  const Budget none;
  // Names first: "foo" is unknown, not budgetless.
  for (const std::string& dtype : dtypes) validate(point_config(base, "full", none, chunks.front(), dtype), "sweep");
  for (const std::string& policy : grid.policies) {
    validate(point_config(base, policy, none, chunks.front(), dtypes.front()), "sweep");
  }
  for (const std::string& span : spans) validate(point_config(base, "full", none, chunks.front(), dtypes.front(), span), "sweep");
  for (const std::string& g : guidances) {
    RunConfig c = point_config(base, "full", none, chunks.front(), dtypes.front());
    c.policy.chunk_guidance = g;  // checked as given, whichever policy it would apply to
    validate(c, "sweep");
  }
  add(point_config(base, "full", none, chunks.front(), reference_kv_dtype(base, grid)), true);
  for (const std::string& dtype : dtypes) {
    add(point_config(base, "full", none, chunks.front(), dtype), false);  // precision alone
    for (const std::string& policy : grid.policies) {
      if (policy == "full") {
        for (int64_t chunk : chunks) add(point_config(base, policy, none, chunk, dtype), false);
        continue;
      }
      if (budgets.empty()) {
        fail("sweep", "no budgets given: policy '{}' needs a compression budget (budget tokens or ratios)", policy);
      }
      for (const Budget& budget : budgets) {
        for (const std::string& span : spans) {
          for (const std::string& g : guidances) {
            for (RunConfig c : with_dimensions(point_config(base, policy, budget, chunks.front(), dtype, span, g),
                                               grid.dimensions)) {
              for (int64_t chunk : chunks) {
                c.prefill_chunk = chunk;
                add(c, false);
              }
            }
          }
        }
      }
    }
  }
  return points;
}

}  // namespace kvwb
