#include "ui/models/retention_budget.h"

#include <fmt/format.h>

namespace kvwb {
namespace {

// The tokens a head may keep, or 0 when the budget is not a token count.
double budget_of(const PolicyConfig& p) {
  return p.name != "full" && p.budget_tokens && *p.budget_tokens > 0 ? static_cast<double>(*p.budget_tokens) : 0.0;
}

}  // namespace

RetentionCells retention_vs_budget(const RetentionSummary& s, const PolicyConfig& policy) {
  const double budget = budget_of(policy);
  RetentionCells out;
  out.values = s.mean_retained;
  if (budget <= 0) {
    out.unit = "mean retained tokens";
    return out;
  }
  for (double& v : out.values) v = v / budget * 100.0;
  out.unit = fmt::format("% of the {}-token budget", *policy.budget_tokens);
  return out;
}

std::string retention_cell_text(const RetentionSummary& s, const PolicyConfig& policy, int layer, int head) {
  if (layer < 0 || layer >= s.layers || head < 0 || head >= s.kv_heads) return {};
  const auto cell = static_cast<size_t>(layer * s.kv_heads + head);
  if (cell >= s.mean_retained.size()) return {};
  const double mean = s.mean_retained[cell];
  std::string text = fmt::format("layer {}, KV head {}: {:.1f} tokens kept on average over {} sequence{}", layer, head,
                                 mean, s.sequences, s.sequences == 1 ? "" : "s");
  if (const double budget = budget_of(policy); budget > 0) {
    text += fmt::format(" ({:.0f} % of the {}-token budget)", mean / budget * 100.0, *policy.budget_tokens);
  }
  if (cell < s.max_retained.size()) text += fmt::format(", at most {}", s.max_retained[cell]);
  return text;
}

}  // namespace kvwb
