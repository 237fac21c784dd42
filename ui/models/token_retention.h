#pragma once
// How much of each token of a traced request the KV cache still holds after a chosen engine
// step: per token position, the share of (layer, KV head) rows that keep it, or for one row
// whether it does. Derived from the request's eviction map (sessions/' EvictionMap, built live
// from the engine's eviction records or read from a recorded session), which says at which
// step each row evicted each position. The token view shades the prompt with it. Qt-free.
#include <cstdint>
#include <string>
#include <vector>

#include "sessions/session_types.h"

namespace kvwb {

class TokenRetention {
 public:
  TokenRetention() = default;
  // `layers` x `kv_heads` rows; heads absent from the map evicted nothing. Heads outside the
  // grid are ignored.
  TokenRetention(const EvictionMap& map, int layers, int kv_heads);

  int layers() const { return layers_; }
  int kv_heads() const { return kv_heads_; }
  int rows() const { return layers_ * kv_heads_; }  // row = layer * kv_heads + head
  int64_t positions() const { return positions_; }
  // The steps at which any row evicted something, ascending (the view's step choices).
  const std::vector<int64_t>& eviction_steps() const { return steps_; }

  // The step row `row` evicted `position` at, or -1 (kept to the end of the map).
  int32_t evicted_at(int row, int64_t position) const;
  bool kept(int row, int64_t position, int64_t step) const;  // after `step` ran
  // Share of rows keeping `position` after `step`; with `row` >= 0, 1 or 0 for that row only.
  double kept_share(int64_t position, int64_t step, int row = -1) const;
  // kept_share of positions 0 .. n - 1 (positions past the map read 1: nothing evicted them).
  std::vector<double> kept_shares(int64_t n, int64_t step, int row = -1) const;
  // Every row's state of `position` after `step`, one line per layer: "layer 3: kept, evicted
  // at step 12, kept", after a first line "kept in 57 of 90 heads".
  std::string detail(int64_t position, int64_t step) const;

 private:
  int layers_ = 0, kv_heads_ = 0;
  int64_t positions_ = 0;
  std::vector<int32_t> evicted_at_;  // [row * positions + position]; -1 = kept
  std::vector<int64_t> steps_;
};

}  // namespace kvwb
