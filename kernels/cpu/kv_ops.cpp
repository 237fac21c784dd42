// Writing new K/V rows into the paged pool and moving slots during compaction. A slot is
// K row + V row (in the pool's dtype) + position + three statistics; every field moves together.
#include <cstring>

#include "kernels/cpu/cpu_ops.h"
#include "kernels/quant.h"

namespace kvwb::kernels::cpu {
namespace {

void check_slots(const char* op, const int32_t* slots, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    if (slots[i] < 0) op_error(op, "slot index " + std::to_string(slots[i]) + " is negative");
  }
}

}  // namespace

void check_kv_dtype(const char* op, const PagedKv& kv) {
  const std::string problem = kv_dtype_problem(kv.dtype, kv.head_dim);
  if (!problem.empty()) op_error(op, "kv dtype " + problem);
}

void kv_write(const PagedKv& kv, const float* k, const float* v, int64_t num_tokens, const int32_t* dst_slot,
              const int32_t* pos, int threads) {
  const int64_t heads = kv.num_kv_heads;
  const int64_t hd = kv.head_dim;
  check_kv_dtype("kv_write", kv);
  check_slots("kv_write", dst_slot, num_tokens * heads);
  // Rows are rounded one by one (whole blocks, checked above): quantize_row cannot throw here.
#pragma omp parallel for num_threads(threads) if (num_tokens * heads * kv.head_dim >= (int64_t{1} << 15))
  for (int64_t i = 0; i < num_tokens * heads; ++i) {
    const int64_t slot = dst_slot[i];
    quantize_row(kv.dtype, k + i * hd, kv.k_row(slot), hd);
    quantize_row(kv.dtype, v + i * hd, kv.v_row(slot), hd);
    kv.slot_pos[slot] = pos[i / heads];
    kv.att_sum[slot] = 0.0f;
    kv.att_sq[slot] = 0.0f;
    kv.n_obs[slot] = 0.0f;
  }
}

void kv_move(const PagedKv& kv, const int32_t* src, const int32_t* dst, int64_t n) {
  check_slots("kv_move", src, n);
  check_slots("kv_move", dst, n);
  check_kv_dtype("kv_move", kv);
  const size_t row = kv.row_bytes();
  // In order and serial: a slot may be written after it was read (the contract in backend.h).
  for (int64_t i = 0; i < n; ++i) {
    const int64_t s = src[i], d = dst[i];
    if (s == d) continue;
    std::memcpy(kv.k_row(d), kv.k_row(s), row);
    std::memcpy(kv.v_row(d), kv.v_row(s), row);
    kv.slot_pos[d] = kv.slot_pos[s];
    kv.att_sum[d] = kv.att_sum[s];
    kv.att_sq[d] = kv.att_sq[s];
    kv.n_obs[d] = kv.n_obs[s];
  }
}

}  // namespace kvwb::kernels::cpu
