#pragma once
// The pure parts of eviction: turning a head's attention statistics into scores, protecting
// slots, and choosing which slots go. No cache, no model: tested on hand-made numbers.
#include <cstdint>
#include <vector>

#include "engine/runtime/kv_cache.h"
#include "kernels/eviction.h"

namespace kvwb {

inline constexpr float kKeep = kernels::kKeepScore;  // score of a slot never evicted

// The scoring and selection themselves live in kernels/eviction.h (the reference both backends
// match); these are the policies' vector-shaped entry points to it.
using kernels::PoolKind;
using kernels::ScoreKind;

// One score per slot, in slot order. Slots never observed score kKeep for the averaging kinds
// (nothing is known about them yet) and 0 for the summing kinds (they received nothing).
std::vector<float> slot_scores(const HeadSlots& slots, ScoreKind kind);

// Pools each score with its neighbours (window `kernel`, odd, clipped at the ends) in slot
// order, which is position order. Scores of kKeep are left as they are and ignored as
// neighbours.
void pool_scores(std::vector<float>& scores, int64_t kernel, PoolKind kind);

// Marks slots that must stay: the first `sinks` positions and the last `recent` positions of a
// context of `context_length` tokens.
std::vector<uint8_t> protected_slots(const HeadSlots& slots, int64_t sinks, int64_t recent, int64_t context_length);

// Indices (ascending) to evict so that at most `keep` slots remain: the lowest scores go first
// (ties: the older slot goes first); protected slots never go, so more than `keep` may remain.
std::vector<int64_t> lowest_to_evict(const std::vector<float>& scores, const std::vector<uint8_t>& prot, int64_t keep);

// Ada-KV: per-head keep counts for heads that share `total_keep` slots by a flattened top-k,
// each head keeping at least min(floor, its length) and all its protected slots.
std::vector<int64_t> allocate_keep_across_heads(const std::vector<std::vector<float>>& scores,
                                                const std::vector<std::vector<uint8_t>>& prot, int64_t total_keep,
                                                int64_t floor_per_head);

// KV-Compress: per head, sort slots by score, cut into groups of `block_size` (a group's cost
// is its largest score, kKeep if it holds a protected slot or is incomplete), rank the groups of
// all heads together and take the cheapest until at least `evict_tokens` slots are chosen.
// Returns how many slots each head evicts (multiples of block_size).
std::vector<int64_t> block_groups_to_evict(const std::vector<std::vector<float>>& scores, int64_t block_size,
                                           int64_t evict_tokens);

// PyramidKV: per-layer budgets decreasing linearly with depth whose mean is `budget`
// (layer 0 gets the most; beta sets the ratio of the extremes as in the reference code).
std::vector<int64_t> pyramid_budgets(int64_t budget, int64_t num_layers, double beta);

}  // namespace kvwb
