#pragma once
// The pure parts of eviction that span heads and layers (Ada-KV's shared budget, PyramidKV's
// layer budgets). No cache, no model: tested on hand-made numbers.
#include <cstdint>
#include <vector>

#include "engine/runtime/kv_cache.h"
#include "kernels/eviction.h"

namespace kvwb {

inline constexpr float kKeep = kernels::kKeepScore;  // score of a slot never evicted

// Scoring, pooling, protection and per-row selection live in kernels/eviction.h (the reference
// both backends match); what follows is the policies' own arithmetic across heads and layers.
using kernels::PoolKind;
using kernels::ScoreKind;

// Ada-KV: per-head keep counts for heads that share `total_keep` slots by a flattened top-k,
// each head keeping at least min(floor, its length) and all its protected slots.
std::vector<int64_t> allocate_keep_across_heads(const std::vector<std::vector<float>>& scores,
                                                const std::vector<std::vector<uint8_t>>& prot, int64_t total_keep,
                                                int64_t floor_per_head);

// PyramidKV: per-layer budgets decreasing linearly with depth whose mean is `budget`
// (layer 0 gets the most; beta sets the ratio of the extremes as in the reference code).
std::vector<int64_t> pyramid_budgets(int64_t budget, int64_t num_layers, double beta);

}  // namespace kvwb
