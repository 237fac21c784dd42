#pragma once
// Which token positions each (layer, KV head) of one sequence has evicted, and at which engine
// step: the Try panel's eviction map (x = token position, y = layer/head row). Filled from the
// engine's traced eviction records as they arrive; the map grows as the answer is generated.
// (A recorded session's map is sessions/'s EvictionMap, built by EvictionMapBuilder.)
#include <cstdint>
#include <vector>

#include "engine/runtime/policy.h"

namespace kvwb {

class LiveEvictionMap {
 public:
  static constexpr int32_t kKept = -1;

  void reset(int64_t positions, int layers, int kv_heads);
  // Records one decision; rows or positions outside the map are ignored except that positions
  // past the end widen it (decode adds tokens).
  void add(const EvictionRecord& record);
  void widen(int64_t positions);

  int layers() const { return layers_; }
  int kv_heads() const { return kv_heads_; }
  int rows() const { return layers_ * kv_heads_; }  // row = layer * kv_heads + head
  int64_t positions() const { return positions_; }
  int32_t evicted_at(int row, int64_t position) const;  // the step, or kKept
  int64_t evicted_count() const { return evicted_; }
  int64_t last_step() const { return last_step_; }
  uint64_t revision() const { return revision_; }

 private:
  int layers_ = 0, kv_heads_ = 0;
  int64_t positions_ = 0;
  std::vector<std::vector<int32_t>> cells_;  // [row][position]
  int64_t evicted_ = 0;
  int64_t last_step_ = 0;
  uint64_t revision_ = 0;
};

}  // namespace kvwb
