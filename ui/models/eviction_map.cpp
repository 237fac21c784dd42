#include "ui/models/eviction_map.h"

#include <algorithm>

namespace kvwb {

void LiveEvictionMap::reset(int64_t positions, int layers, int kv_heads) {
  layers_ = std::max(layers, 0);
  kv_heads_ = std::max(kv_heads, 0);
  positions_ = std::max<int64_t>(positions, 0);
  cells_.assign(static_cast<size_t>(rows()), std::vector<int32_t>(static_cast<size_t>(positions_), kKept));
  evicted_ = 0;
  last_step_ = 0;
  ++revision_;
}

void LiveEvictionMap::widen(int64_t positions) {
  if (positions <= positions_) return;
  positions_ = positions;
  for (auto& row : cells_) row.resize(static_cast<size_t>(positions_), kKept);
  ++revision_;
}

void LiveEvictionMap::add(const EvictionRecord& r) {
  if (r.layer < 0 || r.layer >= layers_ || r.head < 0 || r.head >= kv_heads_) return;
  int32_t widest = -1;
  for (int32_t p : r.positions) widest = std::max(widest, p);
  widen(static_cast<int64_t>(widest) + 1);
  std::vector<int32_t>& row = cells_[static_cast<size_t>(r.layer * kv_heads_ + r.head)];
  for (int32_t p : r.positions) {
    if (p < 0) continue;
    int32_t& cell = row[static_cast<size_t>(p)];
    if (cell == kKept) ++evicted_;  // a position is evicted once; keep its first step
    if (cell == kKept) cell = static_cast<int32_t>(r.step);
  }
  last_step_ = std::max(last_step_, r.step);
  ++revision_;
}

int32_t LiveEvictionMap::evicted_at(int row, int64_t position) const {
  if (row < 0 || row >= rows() || position < 0 || position >= positions_) return kKept;
  return cells_[static_cast<size_t>(row)][static_cast<size_t>(position)];
}

}  // namespace kvwb
