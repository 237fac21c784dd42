// Appends K and V rows to the paged pool: token t's head h goes to slot dst_slot[t·heads + h]
// (= block · block_size + offset), rounded to the pool's dtype, with position pos[t] and
// cleared statistics.
//
//   k, v:     [num_tokens, num_kv_heads, head_dim] f32
//   dst_slot: [num_tokens · num_kv_heads] int32      pos: [num_tokens] int32
//   pool:     k/v_pool [pool_slots] rows of kv_row_bytes(dtype, head_dim) bytes;
//             slot_pos, att_sum, att_sq, n_obs [pool_slots]
//
// The rounding is kernels::quantize_row's, bit for bit (round-to-nearest-even conversions, an
// IEEE division x / d and roundf): f16 saturates at ±65504; q8_0 / q4_0 take one warp per
// 32-value block, lane i holding value i. A slot outside [0, pool_slots) is reported
// (DeviceErrorCode::SlotOutOfPool) and skipped.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/device_utils.cuh"

namespace kvwb::kernels::cuda {
namespace {

constexpr int kThreads = 128;
constexpr float kF16Max = 65504.0f;

__device__ inline uint16_t f16_bits_saturated(float v) {
  return __half_as_ushort(__float2half_rn(v != v ? v : fminf(fmaxf(v, -kF16Max), kF16Max)));
}

// round(x / d) clamped to [lo, hi]: quantize_row's rule (d != 0).
__device__ inline int round_clamped(float x, float d, int lo, int hi) {
  const float r = roundf(x / d);
  return r < lo ? lo : (r > hi ? hi : static_cast<int>(r));
}

// One 32-value block by one full warp; lane = value index.
__device__ inline void quantize_q8_0(float x, uint8_t* block, int lane) {
  const float amax = warp_max(fabsf(x));
  const uint16_t dh = f16_bits_saturated(amax / 127.0f);
  const float d = __half2float(__ushort_as_half(dh));
  if (lane == 0) *reinterpret_cast<uint16_t*>(block) = dh;
  reinterpret_cast<int8_t*>(block + 2)[lane] = static_cast<int8_t>(d == 0.0f ? 0 : round_clamped(x, d, -127, 127));
}

__device__ inline void quantize_q4_0(float x, uint8_t* block, int lane) {
  // The value of largest magnitude, the first one among equals (as the CPU's scan).
  float best = fabsf(x);
  int at = lane;
  for (int off = 16; off > 0; off >>= 1) {
    const float b = __shfl_xor_sync(kFullMask, best, off);
    const int a = __shfl_xor_sync(kFullMask, at, off);
    if (b > best || (b == best && a < at)) {
      best = b;
      at = a;
    }
  }
  const float m = __shfl_sync(kFullMask, x, at);
  const uint16_t dh = f16_bits_saturated(m / -8.0f);
  const float d = __half2float(__ushort_as_half(dh));
  const int q = (d == 0.0f ? 0 : round_clamped(x, d, -8, 7)) + 8;
  const int high = __shfl_down_sync(kFullMask, q, 16);  // lane i < 16 pairs with value i + 16
  if (lane == 0) *reinterpret_cast<uint16_t*>(block) = dh;
  if (lane < 16) block[2 + lane] = static_cast<uint8_t>(q | (high << 4));
}

// Row x[head_dim] into dst in `dtype` (the whole CTA).
__device__ void store_row(const float* __restrict__ x, uint8_t* __restrict__ dst, int64_t head_dim, DType dtype) {
  if (dtype == DType::Q8_0 || dtype == DType::Q4_0) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int block_bytes = dtype == DType::Q8_0 ? 34 : 18;
    for (int64_t b = warp; b < head_dim / 32; b += kThreads / 32) {  // warp-uniform loop
      const float v = x[b * 32 + lane];
      if (dtype == DType::Q8_0) quantize_q8_0(v, dst + b * block_bytes, lane);
      else quantize_q4_0(v, dst + b * block_bytes, lane);
    }
    return;
  }
  for (int64_t d = threadIdx.x; d < head_dim; d += kThreads) {
    if (dtype == DType::F16) reinterpret_cast<uint16_t*>(dst)[d] = f16_bits_saturated(x[d]);
    else if (dtype == DType::BF16) reinterpret_cast<uint16_t*>(dst)[d] = __bfloat16_as_ushort(__float2bfloat16_rn(x[d]));
    else reinterpret_cast<float*>(dst)[d] = x[d];
  }
}

// One CTA per (token, head) row.
__global__ void __launch_bounds__(kThreads)
    kv_write_kernel(uint8_t* __restrict__ k_pool, uint8_t* __restrict__ v_pool, int64_t row_bytes, DType dtype,
                    int32_t* __restrict__ slot_pos, float* __restrict__ att_sum, float* __restrict__ att_sq,
                    float* __restrict__ n_obs, int64_t pool_slots, int64_t heads, int64_t head_dim,
                    const float* __restrict__ k, const float* __restrict__ v, const int32_t* __restrict__ dst_slot,
                    const int32_t* __restrict__ pos, DeviceErrorRecord* errors) {
  const int64_t row = blockIdx.x;  // token * heads + head
  const int64_t slot = dst_slot[row];
  if (slot < 0 || slot >= pool_slots) {
    if (threadIdx.x == 0) report_device_error(errors, DeviceErrorCode::SlotOutOfPool, slot, pool_slots);
    return;
  }
  store_row(k + row * head_dim, k_pool + slot * row_bytes, head_dim, dtype);
  store_row(v + row * head_dim, v_pool + slot * row_bytes, head_dim, dtype);
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
      static_cast<uint8_t*>(kv.k_pool), static_cast<uint8_t*>(kv.v_pool), static_cast<int64_t>(kv.row_bytes()),
      kv.dtype, kv.slot_pos, kv.att_sum, kv.att_sq, kv.n_obs, pool_slots, kv.num_kv_heads, kv.head_dim, k, v, dst_slot,
      pos, ctx.errors);
  check_launch("kv_write");
}

}  // namespace kvwb::kernels::cuda
