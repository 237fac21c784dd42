// f32 activations narrowed to the dtype of 16-bit weights, so cuBLASLt can multiply them with
// f32 accumulation (it has no bf16 x f32 input pairing). Round to nearest even, as
// kvwb::f32_to_bf16 / f32_to_f16 do; f16 saturates at ±65504 rather than becoming infinite
// (NaN stays NaN).
//
//   src: [count] f32     dst: [count] F16 or BF16 bits
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_ops.h"

namespace kvwb::kernels::cuda {
namespace {

constexpr int kThreads = 256;
constexpr float kF16Max = 65504.0f;

__global__ void __launch_bounds__(kThreads) to_bf16_kernel(const float* __restrict__ src, int64_t count,
                                                           __nv_bfloat16* __restrict__ dst) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x; i < count;
       i += static_cast<int64_t>(gridDim.x) * kThreads) {
    dst[i] = __float2bfloat16_rn(src[i]);
  }
}

__global__ void __launch_bounds__(kThreads) to_f16_kernel(const float* __restrict__ src, int64_t count,
                                                          __half* __restrict__ dst) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x; i < count;
       i += static_cast<int64_t>(gridDim.x) * kThreads) {
    const float v = src[i];
    dst[i] = __float2half_rn(v != v ? v : fminf(fmaxf(v, -kF16Max), kF16Max));
  }
}

}  // namespace

void launch_to_half(const OpContext& ctx, const float* src, int64_t count, DType dtype, uint16_t* dst) {
  if (count <= 0) return;
  const int64_t blocks = std::min<int64_t>(ceil_div(count, kThreads), int64_t{ctx.sm_count} * 32);
  if (dtype == DType::BF16) {
    to_bf16_kernel<<<static_cast<unsigned>(blocks), kThreads, 0, ctx.stream>>>(src, count,
                                                                               reinterpret_cast<__nv_bfloat16*>(dst));
  } else if (dtype == DType::F16) {
    to_f16_kernel<<<static_cast<unsigned>(blocks), kThreads, 0, ctx.stream>>>(src, count, reinterpret_cast<__half*>(dst));
  } else {
    throw std::runtime_error("matmul: cannot narrow activations to " + std::string(dtype_info(dtype).name));
  }
  check_launch("matmul (narrow activations)");
}

}  // namespace kvwb::kernels::cuda
