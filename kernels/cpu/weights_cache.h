#pragma once
// f32 copies of weight matrices stored as f16, bf16 or GGUF blocks, kept across steps for the
// compute-bound matmuls (prefill, large batches). Dequantizing a matrix costs about as much as
// an sgemm of a hundred input rows on it, so doing it once per model instead of once per call
// lets those matmuls run at sgemm speed. Decode (few rows) keeps reading the packed weights:
// it is bound by memory bandwidth, and f32 is the largest form.
//
// Only the types whose conversion is slow are worth a copy (worth_caching): measured on whole
// SmolLM2-sized models (docs/benchmarks.md), converting Q8_0/Q4_0/Q4_1/F16/BF16 tiles on the fly
// with the AVX passes costs a few per cent of the sgemm and reads 2-8x fewer bytes than the f32
// copy, which is faster while the weights do not fit in the last-level cache (Q4_1: tiles 1.1-1.25x
// faster at n <= 48, even from 64 up); the scalar dequantization of Q4_K and Q6_K (and every type on
// the portable pass) is what the copy saves (Q6_K: 1.3x at n = 128, 2.4x at n = 9).
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

// Whether matmul keeps an f32 copy of weights of this type (on the active instruction set).
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
