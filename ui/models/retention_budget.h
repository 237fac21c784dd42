#pragma once
// The live retention map relative to the compression budget: each (layer, KV head) cell as a
// percentage of the tokens the policy's budget allows it (budget_tokens is what each head keeps
// on average, docs/policies.md), so a head that keeps less or more than its share stands out;
// tokens where the budget is not a token count (full KV, budget_ratio). Qt-free.
#include <string>
#include <vector>

#include "engine/config/run_config.h"
#include "ui/controller/run_snapshot.h"

namespace kvwb {

struct RetentionCells {
  std::vector<double> values;  // [layer * kv_heads + head]
  std::string unit;            // the colour scale's label
};

RetentionCells retention_vs_budget(const RetentionSummary& summary, const PolicyConfig& policy);
// A cell's tooltip: "layer 3, KV head 1: 231.5 tokens kept on average over 4 sequences (90 % of
// the 256-token budget), at most 256".
std::string retention_cell_text(const RetentionSummary& summary, const PolicyConfig& policy, int layer, int head);

}  // namespace kvwb
