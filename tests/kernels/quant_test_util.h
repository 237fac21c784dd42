#pragma once
// Helpers for the tests of kernels on block-quantized weights: random blocks with ordinary
// scales and their reference dequantization, and the rounding bound of an f32 sum.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/backend.h"
#include "kernels/half.h"
#include "kernels/quant.h"
#include "tests/kernels/kernel_test_util.h"

namespace kvwb::kernels::test {

struct QuantMatrix {
  std::vector<uint8_t> bytes;
  std::vector<float> values;  // the reference dequantization, row-major
  Matrix view(DType dtype, int64_t rows, int64_t cols) const { return {dtype, rows, cols, bytes.data()}; }
};

inline QuantMatrix random_quant_matrix(DType dtype, int64_t rows, int64_t cols, uint32_t seed) {
  const DTypeInfo info = dtype_info(dtype);
  std::mt19937 rng(seed);
  QuantMatrix m;
  m.bytes.resize(dtype_bytes(dtype, rows * cols));
  for (uint8_t& b : m.bytes) b = static_cast<uint8_t>(rng());
  // Ordinary f16 scales where each type keeps them (random bits could be inf or NaN).
  std::uniform_real_distribution<float> scale(-0.05f, 0.05f);
  for (size_t off = 0; off < m.bytes.size(); off += static_cast<size_t>(info.block_bytes)) {
    auto put = [&](size_t at) {
      const uint16_t h = f32_to_f16(scale(rng));
      std::memcpy(m.bytes.data() + off + at, &h, 2);
    };
    if (dtype == DType::Q6_K) {
      put(208);
    } else {
      put(0);
      if (dtype == DType::Q4_1 || dtype == DType::Q4_K) put(2);
    }
  }
  m.values.resize(static_cast<size_t>(rows * cols));
  dequantize_row(dtype, m.bytes.data(), m.values.data(), rows * cols);
  return m;
}

// A weight of any dtype, plain (make_matrix) or block-quantized (random_quant_matrix), with
// the exact values it holds. `view` points into the storage: keep the struct where it is.
struct AnyWeight {
  StoredMatrix plain;
  QuantMatrix quant;
  Matrix view;
  std::vector<float> values;
};

inline AnyWeight random_weight(DType dtype, int64_t rows, int64_t cols, uint32_t seed) {
  AnyWeight w;
  if (is_quantized(dtype)) {
    w.quant = random_quant_matrix(dtype, rows, cols, seed);
    w.view = w.quant.view(dtype, rows, cols);
    w.values = w.quant.values;
  } else {
    w.plain = make_matrix(dtype, rows, cols, seed);
    w.view = w.plain.view();
    w.values = w.plain.values;
  }
  return w;
}

// The largest error of a sum of `terms` f32 products and additions in any order, fused or not,
// against the exact sum: γ_k·Σ|term| with γ_k = k·u / (1 − k·u), u = 2⁻²⁴ (Higham, Accuracy and
// Stability of Numerical Algorithms, §3.1). `abs_sum` is Σ|term| in double.
inline double f32_sum_error_bound(int64_t terms, double abs_sum) {
  const double ku = static_cast<double>(terms) * std::ldexp(1.0, -24);
  return ku / (1.0 - ku) * abs_sum;
}

// y[n, rows] of a matmul against Σ_c w[r, c]·x[i, c] (+ bias[r]) in double, where `w` holds the
// weight's exact values ([rows, cols]), within the f32 bound of cols + 1 terms.
inline void expect_matmul_matches(const std::vector<float>& y, const std::vector<float>& w, const std::vector<float>& x,
                                  const std::vector<float>& bias, int64_t n, int64_t rows, int64_t cols,
                                  const std::string& what) {
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t r = 0; r < rows; ++r) {
      double ref = bias.empty() ? 0.0 : bias[r];
      double magnitude = std::fabs(ref);
      for (int64_t c = 0; c < cols; ++c) {
        const double term = double{w[r * cols + c]} * x[i * cols + c];
        ref += term;
        magnitude += std::fabs(term);
      }
      ASSERT_LE(std::fabs(y[i * rows + r] - ref), f32_sum_error_bound(cols + 1, magnitude))
          << what << ": row " << r << " input " << i << " is " << y[i * rows + r] << ", expected " << ref;
    }
  }
}

}  // namespace kvwb::kernels::test
