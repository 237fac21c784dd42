// The GEMM behind matmul (see gemm.h): cuBLASLt with cached plans, bias fused as the epilogue.
//
//   x: [n, cols] (f32, or bf16/f16 after convert.cu)   w: [rows, cols] F32|F16|BF16   y: [n, rows] f32
#include <string>
#include <utility>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/gemm.h"

namespace kvwb::kernels::cuda {
namespace {

uint32_t alignment_of(const void* p) {
  const auto addr = reinterpret_cast<uintptr_t>(p);
  uint32_t a = 256;
  while (a > 1 && addr % a != 0) a /= 2;
  return a;
}

cudaDataType_t cuda_type(DType t) {
  switch (t) {
    case DType::F32: return CUDA_R_32F;
    case DType::F16: return CUDA_R_16F;
    case DType::BF16: return CUDA_R_16BF;
    default: break;
  }
  throw std::runtime_error("matmul: dtype " + std::string(dtype_info(t).name) + " not supported by the CUDA backend yet");
}

std::string shape_text(int64_t n, int64_t rows, int64_t cols, DType t) {
  return std::to_string(n) + " x " + std::to_string(cols) + " · (" + std::to_string(rows) + " x " +
         std::to_string(cols) + " " + std::string(dtype_info(t).name) + ")ᵀ";
}

}  // namespace

GemmRunner::GemmRunner(cudaStream_t stream, size_t workspace_bytes) : stream_(stream), workspace_bytes_(workspace_bytes) {
  check_cublas(cublasLtCreate(&handle_), "matmul (cuBLASLt init)");
  if (workspace_bytes_ > 0) {
    const cudaError_t e = cudaMalloc(&workspace_, workspace_bytes_);
    if (e != cudaSuccess) {
      cublasLtDestroy(handle_);
      throw_cuda_error("matmul (workspace)", e);
    }
  }
}

GemmRunner::~GemmRunner() {
  for (auto& [key, plan] : plans_) {
    cublasLtMatrixLayoutDestroy(plan.a);
    cublasLtMatrixLayoutDestroy(plan.b);
    cublasLtMatrixLayoutDestroy(plan.d);
    cublasLtMatmulDescDestroy(plan.desc);
  }
  if (workspace_ != nullptr) cudaFree(workspace_);
  if (handle_ != nullptr) cublasLtDestroy(handle_);
}

const GemmRunner::Plan& GemmRunner::plan_for(const Key& key, const float* bias) {
  if (auto it = plans_.find(key); it != plans_.end()) return it->second;
  const DType dtype = static_cast<DType>(key.dtype);
  const cudaDataType_t in_type = cuda_type(dtype);
  const std::string what = "matmul " + shape_text(key.n, key.rows, key.cols, dtype);
  Plan plan;
  // Descriptors are released by ~GemmRunner once stored; until then, by this guard.
  struct Guard {
    Plan* p;
    ~Guard() {
      if (p == nullptr) return;
      if (p->a) cublasLtMatrixLayoutDestroy(p->a);
      if (p->b) cublasLtMatrixLayoutDestroy(p->b);
      if (p->d) cublasLtMatrixLayoutDestroy(p->d);
      if (p->desc) cublasLtMatmulDescDestroy(p->desc);
    }
  } guard{&plan};

  check_cublas(cublasLtMatmulDescCreate(&plan.desc, CUBLAS_COMPUTE_32F, CUDA_R_32F), what);
  const cublasOperation_t trans_a = CUBLAS_OP_T, trans_b = CUBLAS_OP_N;
  check_cublas(cublasLtMatmulDescSetAttribute(plan.desc, CUBLASLT_MATMUL_DESC_TRANSA, &trans_a, sizeof(trans_a)), what);
  check_cublas(cublasLtMatmulDescSetAttribute(plan.desc, CUBLASLT_MATMUL_DESC_TRANSB, &trans_b, sizeof(trans_b)), what);
  if (key.bias) {
    // The bias has D's type (f32) by default, which is what it is.
    const cublasLtEpilogue_t epilogue = CUBLASLT_EPILOGUE_BIAS;
    check_cublas(cublasLtMatmulDescSetAttribute(plan.desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue, sizeof(epilogue)),
                 what);
    // The heuristic looks at the bias pointer's alignment.
    check_cublas(cublasLtMatmulDescSetAttribute(plan.desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)),
                 what);
  }
  const auto m = static_cast<uint64_t>(key.rows), k = static_cast<uint64_t>(key.cols), n = static_cast<uint64_t>(key.n);
  check_cublas(cublasLtMatrixLayoutCreate(&plan.a, in_type, k, m, static_cast<int64_t>(k)), what);
  check_cublas(cublasLtMatrixLayoutCreate(&plan.b, in_type, k, n, static_cast<int64_t>(k)), what);
  check_cublas(cublasLtMatrixLayoutCreate(&plan.d, CUDA_R_32F, m, n, static_cast<int64_t>(m)), what);

  cublasLtMatmulPreference_t pref = nullptr;
  check_cublas(cublasLtMatmulPreferenceCreate(&pref), what);
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  const cublasStatus_t status = [&] {
    const uint64_t ws = workspace_bytes_;
    cublasStatus_t s = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws));
    const std::pair<cublasLtMatmulPreferenceAttributes_t, uint32_t> aligns[] = {
        {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, key.align_w},
        {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, key.align_x},
        {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, key.align_y},
        {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, key.align_y}};
    for (const auto& [attr, value] : aligns) {
      if (s == CUBLAS_STATUS_SUCCESS) s = cublasLtMatmulPreferenceSetAttribute(pref, attr, &value, sizeof(value));
    }
    if (s == CUBLAS_STATUS_SUCCESS) {
      s = cublasLtMatmulAlgoGetHeuristic(handle_, plan.desc, plan.a, plan.b, plan.d, plan.d, pref, 1, &result, &found);
    }
    return s;
  }();
  cublasLtMatmulPreferenceDestroy(pref);
  check_cublas(status, what + " (heuristic)");
  if (found == 0) throw std::runtime_error(what + ": cuBLASLt has no algorithm for this shape and alignment");
  plan.algo = result.algo;
  guard.p = nullptr;
  return plans_.emplace(key, plan).first->second;
}

void GemmRunner::run(const void* x, int64_t n, const Matrix& w, const float* bias, float* y) {
  Key key{n, w.rows, w.cols, static_cast<int>(w.dtype), bias != nullptr, alignment_of(x), alignment_of(w.data),
          alignment_of(y), bias != nullptr ? alignment_of(bias) : 256u};
  const Plan& plan = plan_for(key, bias);
  if (bias != nullptr) {
    check_cublas(cublasLtMatmulDescSetAttribute(plan.desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)),
                 "matmul (bias)");
  }
  const float alpha = 1.0f, beta = 0.0f;
  const cublasStatus_t status = cublasLtMatmul(handle_, plan.desc, &alpha, w.data, plan.a, x, plan.b, &beta, y, plan.d,
                                               y, plan.d, &plan.algo, workspace_, workspace_bytes_, stream_);
  if (status != CUBLAS_STATUS_SUCCESS) check_cublas(status, "matmul " + shape_text(n, w.rows, w.cols, w.dtype));
}

}  // namespace kvwb::kernels::cuda
