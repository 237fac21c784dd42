// Merges the splits of split-KV attention: each split s of query (t, h) left its softmax max
// m_s, its sum l_s (relative to m_s) and its unnormalised output o_s. With M = max m_s:
//   L = Σ l_s·exp(m_s − M),   out = Σ o_s·exp(m_s − M) / L.
// Splits that saw nothing have l_s = 0 and are skipped (their m_s is -inf).
//
//   part_o: [tokens, heads, splits, head_dim]   part_m, part_l: [tokens, heads, splits]
//   out:    [tokens, heads, head_dim]           lse_m, lse_l: [tokens, heads] (optional: M and L,
//                                               which the statistics pass needs)
#include <cmath>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/paged_attention.h"

namespace kvwb::kernels::cuda {
namespace {

constexpr int kThreads = 128;
constexpr int kMaxSplitsInShared = 64;

__global__ void __launch_bounds__(kThreads)
    combine_kernel(int32_t head_dim, int32_t num_splits, const float* __restrict__ part_o,
                   const float* __restrict__ part_m, const float* __restrict__ part_l, float* __restrict__ out,
                   float* __restrict__ lse_m, float* __restrict__ lse_l) {
  __shared__ float weight[kMaxSplitsInShared];  // exp(m_s − M) / L, 0 for empty splits
  __shared__ float total_m, total_l;
  const int64_t qh = blockIdx.x;  // token * heads + head
  const float* m = part_m + qh * num_splits;
  const float* l = part_l + qh * num_splits;
  if (threadIdx.x == 0) {
    float M = -INFINITY;
    for (int s = 0; s < num_splits; ++s) {
      if (l[s] > 0.0f) M = fmaxf(M, m[s]);
    }
    float L = 0.0f;
    for (int s = 0; s < num_splits; ++s) {
      if (l[s] > 0.0f) L += l[s] * expf(m[s] - M);
    }
    for (int s = 0; s < num_splits; ++s) weight[s] = (l[s] > 0.0f && L > 0.0f) ? expf(m[s] - M) / L : 0.0f;
    total_m = M;
    total_l = L;
  }
  __syncthreads();
  for (int d = threadIdx.x; d < head_dim; d += kThreads) {
    float acc = 0.0f;
    for (int s = 0; s < num_splits; ++s) {
      if (weight[s] != 0.0f) acc = fmaf(part_o[(qh * num_splits + s) * head_dim + d], weight[s], acc);
    }
    out[qh * head_dim + d] = acc;
  }
  if (threadIdx.x == 0 && lse_m != nullptr) {
    lse_m[qh] = total_m;
    lse_l[qh] = total_l;
  }
}

}  // namespace

void launch_combine_splits(const OpContext& ctx, int32_t num_tokens, int32_t num_heads, int32_t head_dim,
                           int32_t num_splits, const float* part_o, const float* part_m, const float* part_l,
                           float* out, float* lse_m, float* lse_l) {
  if (num_splits > kMaxSplitsInShared) {
    throw std::runtime_error("paged_attention: " + std::to_string(num_splits) + " splits exceed the merge kernel's " +
                             std::to_string(kMaxSplitsInShared));
  }
  const int64_t queries = static_cast<int64_t>(num_tokens) * num_heads;
  if (queries <= 0) return;
  combine_kernel<<<static_cast<unsigned>(queries), kThreads, 0, ctx.stream>>>(head_dim, num_splits, part_o, part_m,
                                                                               part_l, out, lse_m, lse_l);
  check_launch("paged_attention (merge splits)");
}

}  // namespace kvwb::kernels::cuda
