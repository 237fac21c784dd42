// Embedding lookup: out[i, :] = table[ids[i], :] widened to f32 (exactly: f16 and bf16 values
// are representable in f32).
//
//   table: [vocab = table.rows, cols] F32 | F16 | BF16     ids: [n] int32     out: [n, cols] f32
//
// An id outside [0, vocab) is reported (DeviceErrorCode::TokenIdOutOfRange) and its row is
// written as zeros.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_ops.h"

namespace kvwb::kernels::cuda {
namespace {

constexpr int kThreads = 256;

template <typename T>
__device__ inline float widen(T v);
template <>
__device__ inline float widen<float>(float v) { return v; }
template <>
__device__ inline float widen<__half>(__half v) { return __half2float(v); }
template <>
__device__ inline float widen<__nv_bfloat16>(__nv_bfloat16 v) { return __bfloat162float(v); }

// One CTA per output row (grid.y chunks of grid-stride columns would only matter for rows far
// wider than 256 x a few thousand).
template <typename T>
__global__ void __launch_bounds__(kThreads)
    embedding_kernel(const T* __restrict__ table, int64_t vocab, int64_t cols, const int32_t* __restrict__ ids,
                     float* __restrict__ out, DeviceErrorRecord* errors) {
  const int64_t i = blockIdx.x;
  const int32_t id = ids[i];
  float* o = out + i * cols;
  if (id < 0 || id >= vocab) {
    if (threadIdx.x == 0) report_device_error(errors, DeviceErrorCode::TokenIdOutOfRange, id, vocab);
    for (int64_t c = threadIdx.x; c < cols; c += kThreads) o[c] = 0.0f;
    return;
  }
  const T* row = table + static_cast<int64_t>(id) * cols;
  for (int64_t c = threadIdx.x; c < cols; c += kThreads) o[c] = widen(row[c]);
}

}  // namespace

void launch_embedding(const OpContext& ctx, const Matrix& table, const int32_t* ids, int64_t n, float* out) {
  if (n <= 0 || table.cols <= 0) return;
  const dim3 grid(static_cast<unsigned>(n));
  switch (table.dtype) {
    case DType::F32:
      embedding_kernel<<<grid, kThreads, 0, ctx.stream>>>(static_cast<const float*>(table.data), table.rows,
                                                           table.cols, ids, out, ctx.errors);
      break;
    case DType::F16:
      embedding_kernel<<<grid, kThreads, 0, ctx.stream>>>(static_cast<const __half*>(table.data), table.rows,
                                                           table.cols, ids, out, ctx.errors);
      break;
    case DType::BF16:
      embedding_kernel<<<grid, kThreads, 0, ctx.stream>>>(static_cast<const __nv_bfloat16*>(table.data), table.rows,
                                                           table.cols, ids, out, ctx.errors);
      break;
    default:
      throw std::runtime_error("embedding: dtype " + std::string(dtype_info(table.dtype).name) +
                               " not supported by the CUDA backend yet");
  }
  check_launch("embedding");
}

}  // namespace kvwb::kernels::cuda
