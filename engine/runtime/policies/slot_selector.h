#pragma once
// Runs a policy's scoring and selection with the backend's eviction ops (kernels/eviction.h):
// the block tables of one sequence go to the backend, the scores are computed and ranked where
// the statistics live, and only the kept indices of the rows that evict come back. On the CPU
// backend this is the reference code on host memory, so results are the same on both.
#include <cstdint>
#include <vector>

#include "engine/runtime/backend_buffer.h"
#include "engine/runtime/kv_cache.h"
#include "kernels/eviction.h"

namespace kvwb {

// Lives for one eviction decision: its buffers are the backend's and freed with it.
class SlotSelector {
 public:
  explicit SlotSelector(kernels::Backend& backend)
      : backend_(&backend), indptr_(backend, kScratch), indices_(backend, kScratch), lengths_dev_(backend, kScratch),
        offsets_dev_(backend, kScratch), scores_(backend, kScratch), keep_(backend, kScratch),
        retained_(backend, kScratch), kept_(backend, kScratch) {}
  SlotSelector(const SlotSelector&) = delete;
  SlotSelector& operator=(const SlotSelector&) = delete;

  // Scores every row (layer * kv_heads + head) of `seq` in `cache` (whose backend this is).
  void score(const KvCache& cache, int32_t seq, const kernels::SlotScoring& scoring);
  int64_t rows() const { return static_cast<int64_t>(lengths_.size()); }
  int64_t length(int64_t row) const { return lengths_[static_cast<size_t>(row)]; }
  // Host copy of rows [first, first + count)'s scores, one vector per row (Ada-KV's allocation
  // and eviction traces need them; the selection itself does not).
  std::vector<std::vector<float>> host_scores(int64_t first, int64_t count) const;
  // Replaces row `row`'s scores with a host copy of the same length (span-granular eviction).
  void set_row_scores(int64_t row, const std::vector<float>& scores);

  // Indices (ascending) each row evicts: keeping keep[r] slots per row, or (cross-row,
  // KV-Compress) whole groups of group_size until evict_tokens slots go.
  std::vector<std::vector<int64_t>> victims_keeping(const std::vector<int64_t>& keep);
  std::vector<std::vector<int64_t>> victims_by_groups(int64_t group_size, int64_t evict_tokens);

 private:
  std::vector<std::vector<int64_t>> victims(const kernels::SlotSelection& sel);

  kernels::Backend* backend_ = nullptr;
  std::vector<int32_t> lengths_, offsets_;
  static constexpr const char* kScratch = "eviction scratch";
  BackendBuffer indptr_, indices_, lengths_dev_, offsets_dev_, scores_, keep_, retained_, kept_;
};

}  // namespace kvwb
