// Writing new K/V rows into the paged pool and moving slots during compaction. A slot is
// K row + V row + position + three statistics; every field moves together.
#include <cstring>

#include "kernels/cpu/cpu_ops.h"

namespace kvwb::kernels::cpu {
namespace {

void check_slots(const char* op, const int32_t* slots, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    if (slots[i] < 0) op_error(op, "slot index " + std::to_string(slots[i]) + " is negative");
  }
}

}  // namespace

void kv_write(const PagedKv& kv, const float* k, const float* v, int64_t num_tokens, const int32_t* dst_slot,
              const int32_t* pos, int threads) {
  const int64_t heads = kv.num_kv_heads;
  const size_t hd = static_cast<size_t>(kv.head_dim);
  check_slots("kv_write", dst_slot, num_tokens * heads);
#pragma omp parallel for num_threads(threads) if (num_tokens * heads * kv.head_dim >= (int64_t{1} << 15))
  for (int64_t i = 0; i < num_tokens * heads; ++i) {
    const size_t slot = static_cast<size_t>(dst_slot[i]);
    std::memcpy(kv.k_pool + slot * hd, k + static_cast<size_t>(i) * hd, hd * sizeof(float));
    std::memcpy(kv.v_pool + slot * hd, v + static_cast<size_t>(i) * hd, hd * sizeof(float));
    kv.slot_pos[slot] = pos[i / heads];
    kv.att_sum[slot] = 0.0f;
    kv.att_sq[slot] = 0.0f;
    kv.n_obs[slot] = 0.0f;
  }
}

void kv_move(const PagedKv& kv, const int32_t* src, const int32_t* dst, int64_t n) {
  check_slots("kv_move", src, n);
  check_slots("kv_move", dst, n);
  const size_t hd = static_cast<size_t>(kv.head_dim);
  // In order and serial: a slot may be written after it was read (the contract in backend.h).
  for (int64_t i = 0; i < n; ++i) {
    const size_t s = static_cast<size_t>(src[i]), d = static_cast<size_t>(dst[i]);
    if (s == d) continue;
    std::memcpy(kv.k_pool + d * hd, kv.k_pool + s * hd, hd * sizeof(float));
    std::memcpy(kv.v_pool + d * hd, kv.v_pool + s * hd, hd * sizeof(float));
    kv.slot_pos[d] = kv.slot_pos[s];
    kv.att_sum[d] = kv.att_sum[s];
    kv.att_sq[d] = kv.att_sq[s];
    kv.n_obs[d] = kv.n_obs[s];
  }
}

}  // namespace kvwb::kernels::cpu
