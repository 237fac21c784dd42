// Backend::score_slots / select_slots on host memory: gathers each row's slots from its
// blocks and runs the reference scoring and selection of kernels/eviction.h.
#include <vector>

#include "kernels/cpu/cpu_ops.h"

namespace kvwb::kernels::cpu {

void score_slots(const PagedKv& kv, int32_t num_rows, const int32_t* offsets, const SlotScoring& s, float* scores) {
  const int64_t bs = kv.block_size;
  std::vector<int32_t> pos;
  std::vector<float> sum, sq, obs;
  for (int32_t r = 0; r < num_rows; ++r) {
    const int64_t n = kv.lengths[r];
    if (n != offsets[r + 1] - offsets[r]) {
      op_error("score_slots", "row " + std::to_string(r) + " has " + std::to_string(n) + " slots but offsets give " +
                                  std::to_string(offsets[r + 1] - offsets[r]));
    }
    if (n > static_cast<int64_t>(kv.indptr[r + 1] - kv.indptr[r]) * bs) {
      op_error("score_slots", "row " + std::to_string(r) + " has more slots than its blocks hold");
    }
    pos.resize(static_cast<size_t>(n));
    sum.resize(pos.size());
    sq.resize(pos.size());
    obs.resize(pos.size());
    for (int64_t i = 0; i < n; ++i) {
      const int64_t slot = static_cast<int64_t>(kv.indices[kv.indptr[r] + i / bs]) * bs + i % bs;
      pos[static_cast<size_t>(i)] = kv.slot_pos[slot];
      sum[static_cast<size_t>(i)] = kv.att_sum[slot];
      sq[static_cast<size_t>(i)] = kv.att_sq[slot];
      obs[static_cast<size_t>(i)] = kv.n_obs[slot];
    }
    score_row(pos.data(), sum.data(), sq.data(), obs.data(), n, s, scores + offsets[r]);
  }
}

void select_slots(const float* scores, const SlotSelection& sel, int32_t* retained, int32_t* kept) {
  if (sel.keep == nullptr && sel.group_size <= 0) {
    op_error("select_slots", "group size must be positive, got " + std::to_string(sel.group_size));
  }
  select_slots_reference(scores, sel, retained, kept);
}

}  // namespace kvwb::kernels::cpu
