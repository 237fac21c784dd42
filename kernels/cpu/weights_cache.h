#pragma once
// f32 copies of weight matrices stored as f16, bf16 or GGUF blocks, kept across steps so that
// matmul converts them once per model instead of once per call (matmul.cpp).
//
// A copy pays only where converting is slow: on the portable pass, whose conversions are the
// scalar reference (bench/prefill_gemm_probe, 2 threads, per CPU-second: Q4_1 1.15x at n = 64
// and 128 on 30 SmolLM2 layers, Q6_K 1.3-2.2x). The AVX passes convert every type with vector
// code for a few per cent of the sgemm, and reading the packed bytes (2-8x fewer than f32) then
// matches or beats the copy (Q4_1 tiles 1.0-1.25x at n <= 48 on the same layers; Q4_K and Q6_K
// within 5 %), so there worth_caching is false and the budget stays unused.
//
// Only matrices registered through Backend::upload are cached (the model's weights, which live
// as long as the model); a registration at an address seen before drops the old copy, so a new
// model loaded where an old one was never sees stale values. First come, first served until
// the budget is spent; matrices past it keep the uncached path.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "kernels/backend.h"

namespace kvwb::kernels::cpu {

// Whether matmul keeps an f32 copy of weights of this type: on the portable pass, any but f32.
bool worth_caching(DType dtype);

class WeightsCache {
 public:
  explicit WeightsCache(size_t budget_bytes) : budget_(budget_bytes) {}

  // Marks w as a long-lived weight that may be cached (when worth_caching its type).
  void add(const Matrix& w);
  // The f32 values of w, [rows, cols] row-major, made on first use with `threads` threads;
  // null when w was not added, is not worth caching, or does not fit in what is left of the budget.
  const float* f32(const Matrix& w, int threads);

  size_t budget_bytes() const { return budget_; }
  size_t used_bytes() const;

 private:
  struct Entry {
    Matrix w;
    std::unique_ptr<float[]> values;
    bool refused = false;  // did not fit: not retried on every call
  };
  size_t budget_;
  size_t used_ = 0;
  mutable std::mutex mutex_;
  std::unordered_map<const void*, Entry> entries_;
};

}  // namespace kvwb::kernels::cpu
