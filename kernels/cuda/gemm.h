#pragma once
// y[n, rows] = x[n, cols] · wᵀ (+ bias[rows]) through cuBLASLt, f32 accumulation:
//   w F32  : x f32,                     compute CUBLAS_COMPUTE_32F (no TF32)
//   w BF16 : x narrowed to bf16 first,  compute 32F, output f32
//   w F16  : x narrowed to f16 first,   compute 32F, output f32
// Row-major y = x·wᵀ is column-major yᵀ = w·xᵀ, i.e. "TN": A = w (k x m buffer, transposed),
// B = x (k x n), D = y (m x n), m = rows, k = cols.
//
// Plans (descriptors + the heuristic's algorithm) are cached per shape, dtype, bias and pointer
// alignment: the heuristic assumes 256-byte aligned pointers unless told otherwise, and
// activations at an offset into a buffer are not.
#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include <cstdint>
#include <map>
#include <tuple>

#include "kernels/backend.h"

namespace kvwb::kernels::cuda {

class GemmRunner {
 public:
  GemmRunner(cudaStream_t stream, size_t workspace_bytes);
  ~GemmRunner();
  GemmRunner(const GemmRunner&) = delete;
  GemmRunner& operator=(const GemmRunner&) = delete;

  // x: [n, w.cols] in w's dtype (f32, or bf16/f16 bits); y: [n, w.rows] f32; bias: [w.rows] or null.
  void run(const void* x, int64_t n, const Matrix& w, const float* bias, float* y);

 private:
  struct Key {
    int64_t n, rows, cols;
    int dtype;
    bool bias;
    uint32_t align_x, align_w, align_y, align_bias;
    auto tie() const { return std::tie(n, rows, cols, dtype, bias, align_x, align_w, align_y, align_bias); }
    bool operator<(const Key& o) const { return tie() < o.tie(); }
  };
  struct Plan {
    cublasLtMatmulDesc_t desc = nullptr;
    cublasLtMatrixLayout_t a = nullptr, b = nullptr, d = nullptr;
    cublasLtMatmulAlgo_t algo{};
  };
  const Plan& plan_for(const Key& key, const float* bias);

  cublasLtHandle_t handle_ = nullptr;
  cudaStream_t stream_ = nullptr;
  void* workspace_ = nullptr;
  size_t workspace_bytes_ = 0;
  std::map<Key, Plan> plans_;
};

}  // namespace kvwb::kernels::cuda
