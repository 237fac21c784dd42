// Copies whole slots (K row, V row, position, three statistics) between two slot arrays:
// dst slot (to ? to[i] : i) = src slot (from ? from[i] : i) for i < count. kv_move uses it
// twice, gathering the sources into a staging area and then scattering them to their
// destinations, which gives the in-order semantics of the contract in two parallel kernels.
//
//   src/dst k, v: [slots] rows of row_bytes (any KV dtype; moved as 16-bit words, row_bytes is
//   even)     pos: [slots] int32     att_sum, att_sq, n_obs: [slots]
//   from, to: [count] int32 or null (identity); indices are checked on the host before launch.
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_ops.h"

namespace kvwb::kernels::cuda {
namespace {

constexpr int kThreads = 128;

// One CTA per moved slot.
__global__ void __launch_bounds__(kThreads)
    copy_slots_kernel(SlotFields src, SlotFields dst, const int32_t* __restrict__ from, const int32_t* __restrict__ to,
                      int64_t row_bytes) {
  const int64_t i = blockIdx.x;
  const int64_t s = from != nullptr ? from[i] : i;
  const int64_t d = to != nullptr ? to[i] : i;
  const int64_t words = row_bytes / 2;
  const auto* sk = reinterpret_cast<const uint16_t*>(src.k + s * row_bytes);
  const auto* sv = reinterpret_cast<const uint16_t*>(src.v + s * row_bytes);
  auto* dk = reinterpret_cast<uint16_t*>(dst.k + d * row_bytes);
  auto* dv = reinterpret_cast<uint16_t*>(dst.v + d * row_bytes);
  for (int64_t c = threadIdx.x; c < words; c += kThreads) {
    dk[c] = sk[c];
    dv[c] = sv[c];
  }
  if (threadIdx.x == 0) {
    dst.pos[d] = src.pos[s];
    dst.att_sum[d] = src.att_sum[s];
    dst.att_sq[d] = src.att_sq[s];
    dst.n_obs[d] = src.n_obs[s];
  }
}

}  // namespace

void launch_copy_slots(const OpContext& ctx, const SlotFields& src, const SlotFields& dst, const int32_t* from,
                       const int32_t* to, int64_t count, int64_t row_bytes) {
  if (count <= 0) return;
  copy_slots_kernel<<<static_cast<unsigned>(count), kThreads, 0, ctx.stream>>>(src, dst, from, to, row_bytes);
  check_launch("kv_move");
}

}  // namespace kvwb::kernels::cuda
