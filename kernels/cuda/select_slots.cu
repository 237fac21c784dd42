// Eviction selection on the device: per row, which slots stay (ascending indices), the same
// choice as kernels/eviction.h's select_slots_reference, ties included.
//
//   scores:   [total] f32, row r at [offsets[r], offsets[r + 1]); kKeepScore = protected
//   offsets:  [rows + 1] int32 (device; a host copy is passed for the group layout)
//   keep:     [rows] int32 or null (KV-Compress: groups ranked across rows, see below)
//   retained: [total] int32: row r keeps retained[offsets[r] .. offsets[r] + kept[r])
//   kept:     [rows] int32
//
// Scores become order-preserving 32-bit keys (-0 as +0). A row evicts its `want` smallest
// non-protected keys: one CTA per row finds the want-th smallest by radix select (32 counting
// passes, one bit each), evicts every key below it and the first keys equal to it in slot
// order (the CPU's stable sort), and writes the kept indices with a block-wide scan.
//
// Cross-row (keep == null): each row's keys are sorted (CUB segmented radix sort); group g of
// row r costs sorted[(g + 1) * group_size - 1]; the ceil(evict_tokens / group_size) cheapest
// groups are chosen by the same radix select over all groups laid out row by row (ties: lower
// row, then lower group, as the CPU's stable sort); a row evicts group_size slots per chosen
// group, and then the per-row selection runs with those counts.
#include <cub/block/block_reduce.cuh>
#include <cub/block/block_scan.cuh>
#include <cub/device/device_segmented_radix_sort.cuh>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_ops.h"

namespace kvwb::kernels::cuda {
namespace {

constexpr int kThreads = 256;
constexpr uint32_t kKeepKey = 0xff800000u;  // order_key(+inf)

__device__ uint32_t order_key(float x) {
  const uint32_t u = __float_as_uint(x == 0.0f ? 0.0f : x);
  return (u & 0x80000000u) != 0 ? ~u : (u | 0x80000000u);
}

__global__ void to_keys_kernel(const float* __restrict__ scores, int64_t n, uint32_t* __restrict__ keys) {
  for (int64_t i = blockIdx.x * int64_t{kThreads} + threadIdx.x; i < n; i += int64_t{gridDim.x} * kThreads) {
    keys[i] = order_key(scores[i]);
  }
}

// One segment per CTA. How many of its non-protected keys go: n - keep[s], or evict[s], or
// evict_all (clamped to [0, candidates]). Writes the kept indices (if retained) and an evicted
// flag per key (if mask).
struct SelectArgs {
  const uint32_t* keys = nullptr;
  const int32_t* offsets = nullptr;
  const int32_t* keep = nullptr;
  const int32_t* evict = nullptr;
  int64_t evict_all = 0;
  int32_t* retained = nullptr;
  int32_t* kept = nullptr;
  uint8_t* mask = nullptr;
};

__global__ void __launch_bounds__(kThreads) select_lowest_kernel(SelectArgs a) {
  using Reduce = cub::BlockReduce<int, kThreads>;
  using Scan = cub::BlockScan<int, kThreads>;
  __shared__ union {
    typename Reduce::TempStorage reduce;
    typename Scan::TempStorage scan;
  } tmp;
  __shared__ int shared_total;
  const int seg = static_cast<int>(blockIdx.x);
  const int64_t begin = a.offsets[seg];
  const int n = static_cast<int>(a.offsets[seg + 1] - begin);
  const uint32_t* keys = a.keys + begin;

  // Block-wide count of the keys for which pred(key) holds.
  auto count = [&](auto pred) {
    int c = 0;
    for (int i = threadIdx.x; i < n; i += kThreads) c += pred(keys[i]) ? 1 : 0;
    const int total = Reduce(tmp.reduce).Sum(c);
    if (threadIdx.x == 0) shared_total = total;
    __syncthreads();
    const int out = shared_total;
    __syncthreads();
    return out;
  };

  const int candidates = count([](uint32_t k) { return k != kKeepKey; });
  int64_t want = a.keep != nullptr ? n - static_cast<int64_t>(a.keep[seg]) : a.evict != nullptr ? a.evict[seg] : a.evict_all;
  want = want < 0 ? 0 : (want > candidates ? candidates : want);

  // Radix select: the want-th smallest candidate key, and its rank among the keys equal to it.
  uint32_t threshold = 0;
  int ties = 0;
  if (want > 0) {
    int k = static_cast<int>(want);
    for (int bit = 31; bit >= 0; --bit) {
      const uint32_t above = bit == 31 ? 0u : ~((2u << bit) - 1u);  // the bits already decided
      const uint32_t prefix = threshold;
      const int zeros = count([&](uint32_t key) {
        return key != kKeepKey && (key & above) == prefix && ((key >> bit) & 1u) == 0u;
      });
      if (zeros < k) {
        k -= zeros;
        threshold |= 1u << bit;
      }
    }
    ties = k;  // evict the first `ties` keys equal to threshold, in slot order
  }

  int tie_carry = 0, keep_carry = 0;
  for (int base = 0; base < n; base += kThreads) {
    const int i = base + static_cast<int>(threadIdx.x);
    const bool valid = i < n;
    const uint32_t key = valid ? keys[i] : kKeepKey;
    const bool candidate = valid && want > 0 && key != kKeepKey;
    const int is_tie = candidate && key == threshold ? 1 : 0;
    int tie_rank = 0, tie_total = 0;
    Scan(tmp.scan).ExclusiveSum(is_tie, tie_rank, tie_total);
    __syncthreads();
    const bool evicted = candidate && (key < threshold || (is_tie && tie_carry + tie_rank < ties));
    const int stays = valid && !evicted ? 1 : 0;
    int keep_rank = 0, keep_total = 0;
    Scan(tmp.scan).ExclusiveSum(stays, keep_rank, keep_total);
    __syncthreads();
    if (stays && a.retained != nullptr) a.retained[begin + keep_carry + keep_rank] = i;
    if (valid && a.mask != nullptr) a.mask[begin + i] = evicted ? 1 : 0;
    tie_carry += tie_total;
    keep_carry += keep_total;
  }
  if (threadIdx.x == 0 && a.kept != nullptr) a.kept[seg] = keep_carry;
}

// One thread per (row, group): the group's cost is the largest of its sorted keys.
__global__ void group_costs_kernel(const uint32_t* __restrict__ sorted, const int32_t* __restrict__ offsets,
                                   const int32_t* __restrict__ group_offsets, int32_t rows, int32_t group_size,
                                   uint32_t* __restrict__ costs) {
  const int32_t r = static_cast<int32_t>(blockIdx.y);
  if (r >= rows) return;
  const int32_t groups = group_offsets[r + 1] - group_offsets[r];
  for (int32_t g = blockIdx.x * kThreads + threadIdx.x; g < groups; g += gridDim.x * kThreads) {
    costs[group_offsets[r] + g] = sorted[offsets[r] + (static_cast<int64_t>(g) + 1) * group_size - 1];
  }
}

// One thread per row: slots it evicts = group_size per chosen group (a prefix of its groups).
__global__ void group_evictions_kernel(const uint8_t* __restrict__ chosen, const int32_t* __restrict__ group_offsets,
                                       int32_t rows, int32_t group_size, int32_t* __restrict__ evict) {
  const int32_t r = static_cast<int32_t>(blockIdx.x * kThreads + threadIdx.x);
  if (r >= rows) return;
  int32_t c = 0;
  for (int32_t g = group_offsets[r]; g < group_offsets[r + 1]; ++g) c += chosen[g];
  evict[r] = c * group_size;
}

unsigned grid_for(int64_t n) {
  const int64_t blocks = ceil_div(n, kThreads);
  return static_cast<unsigned>(blocks < 1 ? 1 : (blocks > 4096 ? 4096 : blocks));
}

}  // namespace

size_t select_sort_temp_bytes(int64_t total, int32_t rows) {
  size_t bytes = 0;
  check_cuda(cub::DeviceSegmentedRadixSort::SortKeys(nullptr, bytes, static_cast<const uint32_t*>(nullptr),
                                                     static_cast<uint32_t*>(nullptr), total, rows,
                                                     static_cast<const int32_t*>(nullptr),
                                                     static_cast<const int32_t*>(nullptr)),
             "select_slots (sort size)");
  return bytes;
}

void launch_select_slots(const OpContext& ctx, const float* scores, const SlotSelection& sel, int64_t total,
                         int64_t total_groups, const SelectScratch& s, int32_t* retained, int32_t* kept) {
  if (sel.num_rows <= 0) return;
  if (total > 0) {
    to_keys_kernel<<<grid_for(total), kThreads, 0, ctx.stream>>>(scores, total, s.keys);
    check_launch("select_slots (keys)");
  }
  SelectArgs rows;
  rows.keys = s.keys;
  rows.offsets = sel.offsets;
  rows.retained = retained;
  rows.kept = kept;
  if (sel.keep != nullptr) {
    rows.keep = sel.keep;
  } else {
    rows.evict = s.evict;
    check_cuda(cudaMemsetAsync(s.evict, 0, static_cast<size_t>(sel.num_rows) * sizeof(int32_t), ctx.stream),
               "select_slots");
    if (total_groups > 0 && sel.evict_tokens > 0) {
      size_t temp_bytes = s.sort_temp_bytes;
      check_cuda(cub::DeviceSegmentedRadixSort::SortKeys(s.sort_temp, temp_bytes, s.keys, s.sorted, total, sel.num_rows,
                                                         sel.offsets, sel.offsets + 1, 0, 32, ctx.stream),
                 "select_slots (sort)");
      group_costs_kernel<<<dim3(8, static_cast<unsigned>(sel.num_rows)), kThreads, 0, ctx.stream>>>(
          s.sorted, sel.offsets, s.group_offsets, sel.num_rows, sel.group_size, s.group_costs);
      check_launch("select_slots (group costs)");
      SelectArgs groups;
      groups.keys = s.group_costs;
      groups.offsets = s.group_segment;  // {0, total_groups}
      groups.evict_all = ceil_div(sel.evict_tokens, sel.group_size);
      groups.mask = s.chosen;
      select_lowest_kernel<<<1, kThreads, 0, ctx.stream>>>(groups);
      check_launch("select_slots (groups)");
      group_evictions_kernel<<<grid_for(sel.num_rows), kThreads, 0, ctx.stream>>>(s.chosen, s.group_offsets,
                                                                                   sel.num_rows, sel.group_size, s.evict);
      check_launch("select_slots (group evictions)");
    }
  }
  select_lowest_kernel<<<static_cast<unsigned>(sel.num_rows), kThreads, 0, ctx.stream>>>(rows);
  check_launch("select_slots");
}

}  // namespace kvwb::kernels::cuda
