#pragma once
// CUDA runtime and cuBLASLt status codes turned into exceptions whose message says which op
// failed and why ("matmul: cuBLASLt CUBLAS_STATUS_NOT_SUPPORTED: ..."), the shape kvwb's errors
// take everywhere. Host code only.
#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include <stdexcept>
#include <string>

namespace kvwb::kernels::cuda {

[[noreturn]] inline void throw_cuda_error(const std::string& what, cudaError_t status) {
  throw std::runtime_error(what + ": CUDA error " + cudaGetErrorName(status) + " (" + cudaGetErrorString(status) + ")");
}

inline void check_cuda(cudaError_t status, const std::string& what) {
  if (status != cudaSuccess) throw_cuda_error(what, status);
}

// After a kernel launch: a bad launch configuration shows up here, not at the next sync.
inline void check_launch(const char* op) {
  const cudaError_t status = cudaGetLastError();
  if (status != cudaSuccess) throw_cuda_error(std::string(op) + " (kernel launch)", status);
}

inline void check_cublas(cublasStatus_t status, const std::string& what) {
  if (status != CUBLAS_STATUS_SUCCESS) {
    throw std::runtime_error(what + ": cuBLASLt " + cublasLtGetStatusName(status) + " (" +
                             cublasLtGetStatusString(status) + ")");
  }
}

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace kvwb::kernels::cuda
