// Temperature + nucleus (top-p) sampling on the device, deciding as the CPU sampler does:
//   p_i = exp((logit_i − max) / T) / z          in double
//   order tokens by descending p (lowest id first among equals)
//   nucleus = the shortest prefix whose mass reaches top_p (everything, mass 1, if top_p >= 1)
//   pick the first token of the nucleus whose running sum exceeds uniform · mass.
// Sums run in a different order than the CPU's sequential loop, so the pick can differ only
// when uniform · mass falls within rounding (~1e-16 relative) of a running sum.
//
//   logits: [vocab] f32     result: [1] int32
//   scratch: keys_in/out [vocab] f64, ids_in/out [vocab] int32, z [1] f64, radix-sort temp
#include <cub/block/block_reduce.cuh>
#include <cub/block/block_scan.cuh>
#include <cub/device/device_radix_sort.cuh>

#include <climits>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_ops.h"

namespace kvwb::kernels::cuda {
namespace {

constexpr int kThreads = 1024;
constexpr unsigned long long kNone = ULLONG_MAX;

// z = Σ exp((logit_i − top) · inv_t), top = logits[*best].
__global__ void __launch_bounds__(kThreads) normaliser_kernel(const float* __restrict__ logits, int64_t vocab,
                                                              const int32_t* __restrict__ best, double inv_t,
                                                              double* __restrict__ z) {
  using Reduce = cub::BlockReduce<double, kThreads>;
  __shared__ typename Reduce::TempStorage temp;
  const double top = logits[*best];
  double sum = 0.0;
  for (int64_t i = threadIdx.x; i < vocab; i += kThreads) sum += exp((static_cast<double>(logits[i]) - top) * inv_t);
  sum = Reduce(temp).Sum(sum);
  if (threadIdx.x == 0) *z = sum;
}

__global__ void probabilities_kernel(const float* __restrict__ logits, int64_t vocab, const int32_t* __restrict__ best,
                                     double inv_t, const double* __restrict__ z, double* __restrict__ p,
                                     int32_t* __restrict__ ids) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= vocab) return;
  const double top = logits[*best];
  p[i] = exp((static_cast<double>(logits[i]) - top) * inv_t) / *z;
  ids[i] = static_cast<int32_t>(i);
}

struct ScanShared {
  cub::BlockScan<double, kThreads>::TempStorage scan;
  double carry, next_carry, found_sum;
  unsigned long long found;
};

// The first i < n whose running sum of p (sorted order) reaches `threshold` (>= when
// inclusive, > otherwise), with that sum; kNone when none does. Called by the whole CTA.
__device__ unsigned long long first_reaching(const double* __restrict__ p, int64_t n, double threshold, bool inclusive,
                                             ScanShared& sh, double* sum_at) {
  if (threadIdx.x == 0) {
    sh.carry = 0.0;
    sh.found = kNone;
  }
  __syncthreads();
  for (int64_t base = 0; base < n; base += kThreads) {
    const int64_t i = base + threadIdx.x;
    double running = 0.0;
    cub::BlockScan<double, kThreads>(sh.scan).InclusiveSum(i < n ? p[i] : 0.0, running);
    running += sh.carry;
    const bool hit = i < n && (inclusive ? running >= threshold : running > threshold);
    if (hit) atomicMin(&sh.found, static_cast<unsigned long long>(i));
    __syncthreads();
    if (static_cast<unsigned long long>(i) == sh.found) sh.found_sum = running;
    if (threadIdx.x == kThreads - 1) sh.next_carry = running;
    __syncthreads();
    if (sh.found != kNone) break;  // the same for every thread
    if (threadIdx.x == 0) sh.carry = sh.next_carry;
    __syncthreads();
  }
  *sum_at = sh.found_sum;
  return sh.found;
}

__global__ void __launch_bounds__(kThreads) select_kernel(const double* __restrict__ p, const int32_t* __restrict__ ids,
                                                          int64_t vocab, float top_p, float uniform,
                                                          int32_t* __restrict__ result) {
  __shared__ ScanShared sh;
  int64_t kept = vocab;
  double kept_mass = 1.0;
  if (top_p < 1.0f) {
    double mass = 0.0;
    const unsigned long long k = first_reaching(p, vocab, static_cast<double>(top_p), true, sh, &mass);
    if (k != kNone) {
      kept = static_cast<int64_t>(k) + 1;
      kept_mass = mass;
    }
    __syncthreads();  // sh is reused
  }
  const double u = fmin(fmax(static_cast<double>(uniform), 0.0), 1.0);
  double unused = 0.0;
  const unsigned long long pick = first_reaching(p, kept, u * kept_mass, false, sh, &unused);
  if (threadIdx.x == 0) *result = ids[pick != kNone ? static_cast<int64_t>(pick) : kept - 1];
}

}  // namespace

size_t top_p_sort_temp_bytes(int64_t vocab) {
  size_t bytes = 0;
  check_cuda(cub::DeviceRadixSort::SortPairsDescending(nullptr, bytes, static_cast<const double*>(nullptr),
                                                       static_cast<double*>(nullptr),
                                                       static_cast<const int32_t*>(nullptr),
                                                       static_cast<int32_t*>(nullptr), static_cast<int>(vocab)),
             "sample (sort size)");
  return bytes;
}

void launch_top_p(const OpContext& ctx, const float* logits, int64_t vocab, const SamplingParams& params,
                  float uniform, const TopPScratch& s, int32_t* result) {
  const double inv_t = 1.0 / static_cast<double>(params.temperature);
  launch_argmax(ctx, logits, vocab, result);  // result holds the argmax until select_kernel overwrites it
  normaliser_kernel<<<1, kThreads, 0, ctx.stream>>>(logits, vocab, result, inv_t, s.z);
  check_launch("sample (normaliser)");
  const unsigned blocks = static_cast<unsigned>(ceil_div(vocab, 256));
  probabilities_kernel<<<blocks, 256, 0, ctx.stream>>>(logits, vocab, result, inv_t, s.z, s.keys_in, s.ids_in);
  check_launch("sample (probabilities)");
  size_t temp_bytes = s.sort_temp_bytes;
  check_cuda(cub::DeviceRadixSort::SortPairsDescending(s.sort_temp, temp_bytes, s.keys_in, s.keys_out, s.ids_in,
                                                       s.ids_out, static_cast<int>(vocab), 0,
                                                       static_cast<int>(sizeof(double) * 8), ctx.stream),
             "sample (sort)");
  select_kernel<<<1, kThreads, 0, ctx.stream>>>(s.keys_out, s.ids_out, vocab, params.top_p, uniform, result);
  check_launch("sample (select)");
}

}  // namespace kvwb::kernels::cuda
