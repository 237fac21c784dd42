// RMSNorm as HF Llama computes it in f32: out = (x · 1/sqrt(mean(x²) + eps)) · weight.
//
//   x, out: [n, dim] f32 (out may alias x)     weight: [dim] f32
//
// One CTA per row; the sum of squares is a tree reduction in f32 (the CPU sums in another
// order, so results agree to rounding, not bit for bit).
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/device_utils.cuh"

namespace kvwb::kernels::cuda {
namespace {

constexpr int kThreads = 256;

__global__ void __launch_bounds__(kThreads)
    rmsnorm_kernel(const float* x, const float* __restrict__ weight, int64_t dim, float eps, float* out) {
  __shared__ float warp_sums[kThreads / 32];
  __shared__ float inv_rms;
  const float* xr = x + blockIdx.x * dim;
  float* o = out + blockIdx.x * dim;
  float ss = 0.0f;
  for (int64_t i = threadIdx.x; i < dim; i += kThreads) ss = fmaf(xr[i], xr[i], ss);
  ss = warp_sum(ss);
  if ((threadIdx.x & 31) == 0) warp_sums[threadIdx.x >> 5] = ss;
  __syncthreads();
  if (threadIdx.x == 0) {
    float total = 0.0f;
    for (int w = 0; w < kThreads / 32; ++w) total += warp_sums[w];
    inv_rms = 1.0f / sqrtf(total / static_cast<float>(dim) + eps);  // IEEE sqrt and division, like the CPU
  }
  __syncthreads();
  const float inv = inv_rms;
  for (int64_t i = threadIdx.x; i < dim; i += kThreads) o[i] = (xr[i] * inv) * weight[i];
}

}  // namespace

void launch_rmsnorm(const OpContext& ctx, const float* x, const float* weight, int64_t n, int64_t dim, float eps,
                    float* out) {
  if (n <= 0) return;
  rmsnorm_kernel<<<static_cast<unsigned>(n), kThreads, 0, ctx.stream>>>(x, weight, dim, eps, out);
  check_launch("rmsnorm");
}

}  // namespace kvwb::kernels::cuda
