#include "engine/config/policy_names.h"

#include <algorithm>
#include <array>

namespace kvwb {
namespace {

// docs/policies.md describes each rule and its source.
constexpr std::array kPolicies = {
    PolicyInfo{"full", "Keeps every KV entry (the reference)"},
    PolicyInfo{"decode-only", "Caches the whole prompt, then evicts by average attention during decode (Batch-Max's baseline)"},
    PolicyInfo{"batch-max", "Evicts by average attention after every prefill chunk and during decode"},
    PolicyInfo{"kv-compress", "Per-head budgets: evicts whole block groups ranked across layers and heads"},
    PolicyInfo{"streaming-llm", "Keeps the sink tokens and the most recent ones"},
    PolicyInfo{"h2o", "Keeps the heavy hitters: the largest summed attention"},
    PolicyInfo{"snapkv", "Scores the prompt by its last window's attention, pooled over neighbours"},
    PolicyInfo{"pyramidkv", "SnapKV with budgets that shrink from the first layer to the last"},
    PolicyInfo{"ada-kv", "SnapKV with the budget shared across the heads of a layer"},
};

constexpr std::array<std::string_view, kPolicies.size()> names_of(const decltype(kPolicies)& policies) {
  std::array<std::string_view, kPolicies.size()> out{};
  for (size_t i = 0; i < policies.size(); ++i) out[i] = policies[i].name;
  return out;
}

constexpr std::array kNames = names_of(kPolicies);

}  // namespace

std::span<const PolicyInfo> policy_registry() { return kPolicies; }

std::span<const std::string_view> policy_names() { return kNames; }

bool guidable_between_chunks(const PolicyConfig& config) {
  return config.name == "batch-max" || (config.name == "kv-compress" && config.chunked_prefill);
}

bool is_policy_name(std::string_view name) { return std::ranges::find(kNames, name) != kNames.end(); }

std::string policy_name_list() {
  std::string out;
  for (std::string_view n : kNames) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

}  // namespace kvwb
