// Planning paged attention on the device (the token -> sequence table lives there): cut the
// batch into items, each up to `tokens_per_item` consecutive tokens of one sequence. Decode
// tokens become one item each; a prefill chunk becomes chunk / tokens_per_item items whose
// CTAs each read the sequence's K/V once for all their tokens.
//
//   token_seq: [num_tokens]  ->  items: [<= num_tokens] first token of each item, num_items: [1]
//
// One CTA of 1024 threads walks the batch 1024 tokens at a time with two block scans: a max
// scan finds each token's run start (where its sequence began), a sum scan numbers the items.
#include <cub/block/block_scan.cuh>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/paged_attention.h"

namespace kvwb::kernels::cuda {
namespace {

constexpr int kPlanThreads = 1024;

struct MaxOp {
  __device__ int operator()(int a, int b) const { return a > b ? a : b; }
};

__global__ void __launch_bounds__(kPlanThreads)
    plan_items_kernel(const int32_t* __restrict__ token_seq, int32_t num_tokens, int32_t tokens_per_item,
                      int32_t* __restrict__ items, int32_t* __restrict__ num_items) {
  using Scan = cub::BlockScan<int, kPlanThreads>;
  __shared__ typename Scan::TempStorage temp;
  __shared__ int carry_run_start;  // run start of the last token of the previous round
  __shared__ int carry_items;      // items found so far
  if (threadIdx.x == 0) {
    carry_run_start = 0;
    carry_items = 0;
  }
  __syncthreads();
  for (int base = 0; base < num_tokens; base += kPlanThreads) {
    const int t = base + static_cast<int>(threadIdx.x);
    const bool in = t < num_tokens;
    const bool boundary = in && (t == 0 || token_seq[t] != token_seq[t - 1]);
    int run_start = 0, run_start_all = 0;
    Scan(temp).InclusiveScan(boundary ? t : -1, run_start, MaxOp{}, run_start_all);
    __syncthreads();  // temp is reused below
    run_start = max(run_start, carry_run_start);
    const int item_start = (in && (boundary || (t - run_start) % tokens_per_item == 0)) ? 1 : 0;
    int index = 0, found = 0;
    Scan(temp).ExclusiveSum(item_start, index, found);
    if (item_start) items[carry_items + index] = t;
    __syncthreads();  // everyone has read the carries
    if (threadIdx.x == 0) {
      carry_run_start = max(carry_run_start, run_start_all);
      carry_items += found;
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) *num_items = carry_items;
}

}  // namespace

void launch_plan_items(const OpContext& ctx, const int32_t* token_seq, int32_t num_tokens, int32_t tokens_per_item,
                       int32_t* items, int32_t* num_items) {
  plan_items_kernel<<<1, kPlanThreads, 0, ctx.stream>>>(token_seq, num_tokens, tokens_per_item, items, num_items);
  check_launch("paged_attention (plan)");
}

}  // namespace kvwb::kernels::cuda
