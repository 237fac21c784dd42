#pragma once
// Eviction scoring and selection, shared by the backends: the statistic a slot is scored by,
// pooling over neighbouring slots, protected slots, and which slots a head keeps. The host
// functions below are the reference; the CPU backend runs them and the CUDA kernels
// (kernels/cuda/select_slots.cu) must give the same scores and the same choices.
//
// Tie-breaking (both backends): among equal scores the slot with the lower index (the older
// position) is evicted first; among block groups of equal cost (KV-Compress), the group of
// the lower row (layer * kv_heads + head) goes first, then the head's cheaper group.
// -0 and +0 compare equal; scores are never NaN (the statistics are sums of probabilities).
#include <cstdint>
#include <limits>
#include <vector>

namespace kvwb::kernels {

inline constexpr float kKeepScore = std::numeric_limits<float>::infinity();  // never evicted

enum class ScoreKind : uint8_t {
  Recency,  // the position itself (StreamingLLM keeps the newest)
  Average,  // att_sum / n_obs: mean attention received (Batch-Max, decode-only)
  Sum,      // att_sum: accumulated attention (H2O, SnapKV's window sum)
  L1Sum,    // KV-Compress metrics over the observed queries
  L1Avg,
  L2Sum,
  L2Avg,
};
enum class PoolKind : uint8_t { None, Max, Avg };

// How the slots of one sequence's rows are scored (Backend::score_slots).
struct SlotScoring {
  ScoreKind kind = ScoreKind::Average;
  PoolKind pool = PoolKind::None;
  int32_t pool_kernel = 1;      // odd window, clipped at the ends
  int64_t sinks = 0;            // positions < sinks are protected
  int64_t recent = 0;           // positions >= context_length - recent are protected
  int64_t context_length = 0;
};

// What Backend::select_slots keeps of num_rows rows of scores (scores[offsets[r] .. offsets[r+1])
// are row r's slots in order; kKeepScore marks a protected slot). offsets: [num_rows + 1].
// keep: [num_rows] slots each row may keep (protected slots stay even beyond it); or null for
// KV-Compress's cross-row selection: whole groups of `group_size` slots, ranked over all rows,
// are evicted until at least `evict_tokens` slots go (block_groups_to_evict below).
struct SlotSelection {
  int32_t num_rows = 0;
  const int32_t* offsets = nullptr;
  const int32_t* keep = nullptr;
  int32_t group_size = 16;
  int64_t evict_tokens = 0;
};

// ---- Host reference (kernels/cpu/eviction.cpp) ----

// One score per slot, in slot order. Slots never observed score kKeepScore for the averaging
// kinds (nothing is known about them yet) and 0 for the summing kinds (they received nothing).
void raw_slot_scores(const int32_t* pos, const float* att_sum, const float* att_sq, const float* n_obs, int64_t n,
                     ScoreKind kind, float* out);
// Pools each score with its neighbours (window `kernel`, odd, clipped at the ends) in slot
// order. Scores of kKeepScore are left as they are and ignored as neighbours.
void pool_slot_scores(float* scores, int64_t n, int64_t kernel, PoolKind kind);
// prot[i] = 1 for the first `sinks` and the last `recent` positions of the context.
void protect_slots(const int32_t* pos, int64_t n, int64_t sinks, int64_t recent, int64_t context_length,
                   uint8_t* prot);
// raw, pooled, and kKeepScore where protected: what score_slots writes for one row.
void score_row(const int32_t* pos, const float* att_sum, const float* att_sq, const float* n_obs, int64_t n,
               const SlotScoring& s, float* out);

// Indices (ascending) to evict so that at most `keep` slots remain: the lowest scores go first
// (ties: the lower index first); protected slots (prot[i] or kKeepScore; prot may be null)
// never go, so more than `keep` may remain.
std::vector<int64_t> lowest_to_evict(const float* scores, const uint8_t* prot, int64_t n, int64_t keep);

// KV-Compress: per row, sort slots by score, cut into groups of `group_size` (a group's cost is
// its largest score; groups holding a kKeepScore are never taken), rank the groups of all rows
// together and take the cheapest until at least `evict_tokens` slots are chosen. Returns how
// many slots each row evicts (multiples of group_size).
std::vector<int64_t> block_groups_to_evict(const std::vector<std::vector<float>>& scores, int64_t group_size,
                                           int64_t evict_tokens);

// The whole selection on host arrays, as Backend::select_slots: retained[offsets[r] ..
// offsets[r] + kept[r]) = the indices row r keeps, ascending. keep points into host memory.
void select_slots_reference(const float* scores, const SlotSelection& sel, int32_t* retained, int32_t* kept);

}  // namespace kvwb::kernels
