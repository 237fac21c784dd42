#pragma once
// Small device helpers shared by the kernels: warp reductions and asynchronous copies from
// global to shared memory (cp.async, sm_80+), whose zero-fill form lets a tile's missing rows
// read as zeros without a branch.
#include <cuda_runtime.h>

#include <cstdint>

namespace kvwb::kernels::cuda {

constexpr unsigned kFullMask = 0xffffffffu;

__device__ inline float warp_max(float v) {
  for (int off = 16; off > 0; off >>= 1) v = fmaxf(v, __shfl_xor_sync(kFullMask, v, off));
  return v;
}

__device__ inline float warp_sum(float v) {
  for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(kFullMask, v, off);
  return v;
}

// Copies 16 bytes (both addresses 16-byte aligned), or writes 16 zero bytes when !valid.
__device__ inline void cp_async_16(void* smem_dst, const void* gmem_src, bool valid) {
  const unsigned dst = static_cast<unsigned>(__cvta_generic_to_shared(smem_dst));
  const int src_bytes = valid ? 16 : 0;
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(gmem_src), "r"(src_bytes));
}

// Copies 4 bytes, or writes 4 zero bytes when !valid.
__device__ inline void cp_async_4(void* smem_dst, const void* gmem_src, bool valid) {
  const unsigned dst = static_cast<unsigned>(__cvta_generic_to_shared(smem_dst));
  const int src_bytes = valid ? 4 : 0;
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(dst), "l"(gmem_src), "r"(src_bytes));
}

// Waits for every cp.async this thread issued (a __syncthreads must follow before others read).
__device__ inline void cp_async_wait_all() { asm volatile("cp.async.wait_all;\n" ::); }

}  // namespace kvwb::kernels::cuda
