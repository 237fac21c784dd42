#include "ui/models/token_retention.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

namespace kvwb {

TokenRetention::TokenRetention(const EvictionMap& map, int layers, int kv_heads)
    : layers_(std::max(layers, 0)), kv_heads_(std::max(kv_heads, 0)), positions_(std::max<int64_t>(map.context_length, 0)) {
  for (const HeadEvictions& h : map.heads) positions_ = std::max<int64_t>(positions_, static_cast<int64_t>(h.evicted_at_step.size()));
  evicted_at_.assign(static_cast<size_t>(rows()) * static_cast<size_t>(positions_), -1);
  std::set<int64_t> steps;
  for (const HeadEvictions& h : map.heads) {
    if (h.layer < 0 || h.layer >= layers_ || h.head < 0 || h.head >= kv_heads_) continue;
    int32_t* row = evicted_at_.data() + static_cast<size_t>(h.layer * kv_heads_ + h.head) * static_cast<size_t>(positions_);
    for (size_t p = 0; p < h.evicted_at_step.size(); ++p) {
      row[p] = h.evicted_at_step[p];
      if (h.evicted_at_step[p] >= 0) steps.insert(h.evicted_at_step[p]);
    }
  }
  steps_.assign(steps.begin(), steps.end());
}

int32_t TokenRetention::evicted_at(int row, int64_t position) const {
  if (row < 0 || row >= rows() || position < 0 || position >= positions_) return -1;
  return evicted_at_[static_cast<size_t>(row) * static_cast<size_t>(positions_) + static_cast<size_t>(position)];
}

bool TokenRetention::kept(int row, int64_t position, int64_t step) const {
  const int32_t at = evicted_at(row, position);
  return at < 0 || at > step;
}

double TokenRetention::kept_share(int64_t position, int64_t step, int row) const {
  if (row >= 0) return kept(row, position, step) ? 1.0 : 0.0;
  if (rows() == 0) return 1.0;
  int kept_rows = 0;
  for (int r = 0; r < rows(); ++r) kept_rows += kept(r, position, step) ? 1 : 0;
  return static_cast<double>(kept_rows) / rows();
}

std::vector<double> TokenRetention::kept_shares(int64_t n, int64_t step, int row) const {
  std::vector<double> out(static_cast<size_t>(std::max<int64_t>(n, 0)));
  for (size_t p = 0; p < out.size(); ++p) out[p] = kept_share(static_cast<int64_t>(p), step, row);
  return out;
}

std::string TokenRetention::detail(int64_t position, int64_t step) const {
  int kept_rows = 0;
  for (int r = 0; r < rows(); ++r) kept_rows += kept(r, position, step) ? 1 : 0;
  std::string text = fmt::format("kept in {} of {} heads after step {}", kept_rows, rows(), step);
  for (int l = 0; l < layers_; ++l) {
    text += fmt::format("\nlayer {}:", l);
    for (int h = 0; h < kv_heads_; ++h) {
      const int r = l * kv_heads_ + h;
      text += h == 0 ? " " : ", ";
      text += kept(r, position, step) ? std::string("kept") : fmt::format("evicted at step {}", evicted_at(r, position));
    }
  }
  return text;
}

}  // namespace kvwb
