// Appends K and V rows to the paged pool: token t's head h goes to slot dst_slot[t·heads + h]
// (= block · block_size + offset) with position pos[t] and cleared statistics.
//
//   k, v:     [num_tokens, num_kv_heads, head_dim] f32
//   dst_slot: [num_tokens · num_kv_heads] int32      pos: [num_tokens] int32
//   pool:     k/v_pool [pool_slots, head_dim]; slot_pos, att_sum, att_sq, n_obs [pool_slots]
//
// A slot outside [0, pool_slots) is reported (DeviceErrorCode::SlotOutOfPool) and skipped.
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_ops.h"

namespace kvwb::kernels::cuda {
namespace {

constexpr int kThreads = 128;

// One CTA per (token, head) row.
__global__ void __launch_bounds__(kThreads)
    kv_write_kernel(float* __restrict__ k_pool, float* __restrict__ v_pool, int32_t* __restrict__ slot_pos,
                    float* __restrict__ att_sum, float* __restrict__ att_sq, float* __restrict__ n_obs,
                    int64_t pool_slots, int64_t heads, int64_t head_dim, const float* __restrict__ k,
                    const float* __restrict__ v, const int32_t* __restrict__ dst_slot, const int32_t* __restrict__ pos,
                    DeviceErrorRecord* errors) {
  const int64_t row = blockIdx.x;  // token * heads + head
  const int64_t slot = dst_slot[row];
  if (slot < 0 || slot >= pool_slots) {
    if (threadIdx.x == 0) report_device_error(errors, DeviceErrorCode::SlotOutOfPool, slot, pool_slots);
    return;
  }
  for (int64_t d = threadIdx.x; d < head_dim; d += kThreads) {
    k_pool[slot * head_dim + d] = k[row * head_dim + d];
    v_pool[slot * head_dim + d] = v[row * head_dim + d];
  }
  if (threadIdx.x == 0) {
    slot_pos[slot] = pos[row / heads];
    att_sum[slot] = 0.0f;
    att_sq[slot] = 0.0f;
    n_obs[slot] = 0.0f;
  }
}

}  // namespace

void launch_kv_write(const OpContext& ctx, const PagedKv& kv, int64_t pool_slots, const float* k, const float* v,
                     int64_t num_tokens, const int32_t* dst_slot, const int32_t* pos) {
  const int64_t rows = num_tokens * kv.num_kv_heads;
  if (rows <= 0) return;
  kv_write_kernel<<<static_cast<unsigned>(rows), kThreads, 0, ctx.stream>>>(
      kv.k_pool, kv.v_pool, kv.slot_pos, kv.att_sum, kv.att_sq, kv.n_obs, pool_slots, kv.num_kv_heads, kv.head_dim, k,
      v, dst_slot, pos, ctx.errors);
  check_launch("kv_write");
}

}  // namespace kvwb::kernels::cuda
