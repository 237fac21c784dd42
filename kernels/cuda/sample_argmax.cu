// Greedy sampling on the device: the index of the largest logit, lowest index among ties,
// exactly as the CPU's strict-greater scan decides (NaN logits never win; when logits[0] is
// NaN the CPU's scan never moves and returns 0, and so does this).
//
//   logits: [vocab] f32     best: [1] int32
#include <cfloat>
#include <climits>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/device_utils.cuh"

namespace kvwb::kernels::cuda {
namespace {

constexpr int kThreads = 1024;

struct Candidate {
  float value;
  int64_t index;  // INT64_MAX: none yet
};

__device__ inline bool better(const Candidate& a, const Candidate& b) {
  return a.value > b.value || (a.value == b.value && a.index < b.index);
}

__device__ inline Candidate warp_best(Candidate c) {
  for (int off = 16; off > 0; off >>= 1) {
    Candidate o;
    o.value = __shfl_xor_sync(kFullMask, c.value, off);
    o.index = __shfl_xor_sync(kFullMask, c.index, off);
    if (better(o, c)) c = o;
  }
  return c;
}

__global__ void __launch_bounds__(kThreads) argmax_kernel(const float* __restrict__ logits, int64_t vocab,
                                                         int32_t* __restrict__ best) {
  __shared__ Candidate per_warp[kThreads / 32];
  Candidate c{-INFINITY, INT64_MAX};
  for (int64_t i = threadIdx.x; i < vocab; i += kThreads) {
    const Candidate o{logits[i], i};
    if (better(o, c)) c = o;  // a thread's indices ascend, so ties keep the first
  }
  c = warp_best(c);
  if ((threadIdx.x & 31) == 0) per_warp[threadIdx.x >> 5] = c;
  __syncthreads();
  if (threadIdx.x < 32) {
    c = per_warp[threadIdx.x];
    c = warp_best(c);
    if (threadIdx.x == 0) {
      const bool first_is_nan = logits[0] != logits[0];
      *best = (first_is_nan || c.index == INT64_MAX) ? 0 : static_cast<int32_t>(c.index);
    }
  }
}

}  // namespace

void launch_argmax(const OpContext& ctx, const float* logits, int64_t vocab, int32_t* best) {
  argmax_kernel<<<1, kThreads, 0, ctx.stream>>>(logits, vocab, best);
  check_launch("sample (argmax)");
}

}  // namespace kvwb::kernels::cuda
