// SwiGLU activation: out[i] = silu(gate[i]) · up[i] = gate[i] / (1 + exp(-gate[i])) · up[i].
//
//   gate, up, out: [n] f32 (out may alias gate or up: each element is read before it is written)
#include <algorithm>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_ops.h"

namespace kvwb::kernels::cuda {
namespace {

constexpr int kThreads = 256;

__global__ void __launch_bounds__(kThreads) swiglu_kernel(const float* gate, const float* up, int64_t n, float* out) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * kThreads) {
    const float g = gate[i];
    out[i] = g / (1.0f + expf(-g)) * up[i];
  }
}

}  // namespace

void launch_swiglu(const OpContext& ctx, const float* gate, const float* up, int64_t n, float* out) {
  if (n <= 0) return;
  const int64_t blocks = std::min<int64_t>(ceil_div(n, kThreads), int64_t{ctx.sm_count} * 32);
  swiglu_kernel<<<static_cast<unsigned>(blocks), kThreads, 0, ctx.stream>>>(gate, up, n, out);
  check_launch("swiglu");
}

}  // namespace kvwb::kernels::cuda
