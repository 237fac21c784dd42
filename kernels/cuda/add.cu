// Residual add: x[i] += y[i].
//
//   x: [n] f32 (in place)     y: [n] f32
#include <algorithm>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_ops.h"

namespace kvwb::kernels::cuda {
namespace {

constexpr int kThreads = 256;

__global__ void __launch_bounds__(kThreads) add_kernel(float* x, const float* y, int64_t n) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * kThreads) {
    x[i] += y[i];
  }
}

}  // namespace

void launch_add(const OpContext& ctx, float* x, const float* y, int64_t n) {
  if (n <= 0) return;
  const int64_t blocks = std::min<int64_t>(ceil_div(n, kThreads), int64_t{ctx.sm_count} * 32);
  add_kernel<<<static_cast<unsigned>(blocks), kThreads, 0, ctx.stream>>>(x, y, n);
  check_launch("add");
}

}  // namespace kvwb::kernels::cuda
