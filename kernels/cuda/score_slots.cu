// Eviction scoring on the device: the numbers kernels/eviction.h's score_row gives, bit for bit
// (the same float operations in the same order; no fast-math, no contraction to worry about:
// a division, or a sum in slot order, per slot).
//
//   pool (kv):   slot_pos [pool_slots] int32; att_sum, att_sq, n_obs [pool_slots] f32
//   CSR (kv):    indptr [rows + 1], indices [indptr[rows]] block ids, lengths [rows]
//   offsets:     [rows + 1] int32, prefix sums of lengths (checked on the host)
//   raw, scores: [offsets[rows]] f32     pos: [offsets[rows]] int32 (scratch: raw and pos)
//
// Two kernels: raw statistic per slot (gathered through the block table), then pooling over
// neighbours and protection, which need the whole row's raw scores first.
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_ops.h"

namespace kvwb::kernels::cuda {
namespace {

constexpr int kThreads = 256;
constexpr unsigned kChunks = 8;  // CTAs per row; each strides over the row

__device__ float raw_score(ScoreKind kind, int32_t pos, float sum, float sq, float obs) {
  switch (kind) {
    case ScoreKind::Recency: return static_cast<float>(pos);
    case ScoreKind::Average:
    case ScoreKind::L1Avg: return obs > 0 ? sum / obs : kKeepScore;
    case ScoreKind::L2Avg: return obs > 0 ? sq / obs : kKeepScore;
    case ScoreKind::Sum:
    case ScoreKind::L1Sum: return sum;
    case ScoreKind::L2Sum: return sq;
  }
  return kKeepScore;
}

// grid (kChunks, rows)
__global__ void __launch_bounds__(kThreads)
    raw_scores_kernel(PagedKv kv, const int32_t* __restrict__ offsets, int64_t pool_blocks, ScoreKind kind,
                      float* __restrict__ raw, int32_t* __restrict__ pos, DeviceErrorRecord* errors) {
  const int32_t r = static_cast<int32_t>(blockIdx.y);
  const int64_t n = kv.lengths[r], begin = offsets[r], bs = kv.block_size;
  for (int64_t i = blockIdx.x * kThreads + threadIdx.x; i < n; i += static_cast<int64_t>(gridDim.x) * kThreads) {
    const int64_t block = kv.indices[kv.indptr[r] + i / bs];
    if (block < 0 || block >= pool_blocks) {
      report_device_error(errors, DeviceErrorCode::BlockOutOfPool, block, r, pool_blocks);
      raw[begin + i] = kKeepScore;
      pos[begin + i] = 0;
      continue;
    }
    const int64_t slot = block * bs + i % bs;
    const int32_t p = kv.slot_pos[slot];
    raw[begin + i] = raw_score(kind, p, kv.att_sum[slot], kv.att_sq[slot], kv.n_obs[slot]);
    pos[begin + i] = p;
  }
}

// grid (kChunks, rows)
__global__ void __launch_bounds__(kThreads)
    pool_protect_kernel(const int32_t* __restrict__ offsets, const float* __restrict__ raw,
                        const int32_t* __restrict__ pos, SlotScoring s, float* __restrict__ scores) {
  const int32_t r = static_cast<int32_t>(blockIdx.y);
  const int64_t begin = offsets[r], n = offsets[r + 1] - begin;
  const bool pooled = s.pool != PoolKind::None && s.pool_kernel > 1;
  const int64_t half = s.pool_kernel / 2;
  for (int64_t i = blockIdx.x * kThreads + threadIdx.x; i < n; i += static_cast<int64_t>(gridDim.x) * kThreads) {
    float v = raw[begin + i];
    if (pooled && v != kKeepScore) {
      float acc = s.pool == PoolKind::Max ? -kKeepScore : 0.0f;
      int64_t count = 0;
      const int64_t last = i + half < n - 1 ? i + half : n - 1;
      for (int64_t j = i - half > 0 ? i - half : 0; j <= last; ++j) {
        const float u = raw[begin + j];
        if (u == kKeepScore) continue;
        acc = s.pool == PoolKind::Max ? (acc < u ? u : acc) : acc + u;  // std::max's and +'s order
        ++count;
      }
      v = s.pool == PoolKind::Max ? acc : acc / static_cast<float>(count);
    }
    const int64_t p = pos[begin + i];
    if (p < s.sinks || p >= s.context_length - s.recent) v = kKeepScore;
    scores[begin + i] = v;
  }
}

}  // namespace

void launch_score_slots(const OpContext& ctx, const PagedKv& kv, int32_t num_rows, const int32_t* offsets,
                        int64_t pool_blocks, const SlotScoring& s, float* raw, int32_t* pos, float* scores) {
  if (num_rows <= 0) return;
  const dim3 grid(kChunks, static_cast<unsigned>(num_rows));
  raw_scores_kernel<<<grid, kThreads, 0, ctx.stream>>>(kv, offsets, pool_blocks, s.kind, raw, pos, ctx.errors);
  check_launch("score_slots (raw)");
  pool_protect_kernel<<<grid, kThreads, 0, ctx.stream>>>(offsets, raw, pos, s, scores);
  check_launch("score_slots (pool)");
}

}  // namespace kvwb::kernels::cuda
