#pragma once
// Helpers shared by the CPU kernel tests: seeded random data, 16-bit weight storage, and a
// tolerance check of the form |actual - ref| <= atol + rtol * |ref| that names the first
// failing index.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "kernels/backend.h"
#include "kernels/half.h"

namespace kvwb::kernels::test {

inline std::vector<float> random_floats(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// A weight matrix stored in `dtype` (F32, F16 or BF16) together with the exact f32 values it
// holds, which the references use.
struct StoredMatrix {
  DType dtype = DType::F32;
  int64_t rows = 0, cols = 0;
  std::vector<float> f32;        // storage when dtype == F32
  std::vector<uint16_t> half;    // storage for F16 / BF16
  std::vector<float> values;     // what the stored elements mean, widened exactly

  Matrix view() const {
    return Matrix{dtype, rows, cols, dtype == DType::F32 ? static_cast<const void*>(f32.data())
                                                         : static_cast<const void*>(half.data())};
  }
};

inline StoredMatrix make_matrix(DType dtype, int64_t rows, int64_t cols, uint32_t seed) {
  StoredMatrix m;
  m.dtype = dtype;
  m.rows = rows;
  m.cols = cols;
  const std::vector<float> src = random_floats(static_cast<size_t>(rows * cols), seed);
  if (dtype == DType::F32) {
    m.f32 = src;
    m.values = src;
    return m;
  }
  m.half.resize(src.size());
  m.values.resize(src.size());
  for (size_t i = 0; i < src.size(); ++i) {
    m.half[i] = dtype == DType::F16 ? f32_to_f16(src[i]) : f32_to_bf16(src[i]);
    m.values[i] = dtype == DType::F16 ? f16_to_f32(m.half[i]) : bf16_to_f32(m.half[i]);
  }
  return m;
}

// Checks every element; reports at most a few mismatches so a failure stays readable.
template <typename Actual, typename Ref>
void expect_close(const Actual& actual, const Ref& ref, double atol, double rtol, const std::string& what) {
  ASSERT_EQ(actual.size(), ref.size()) << what;
  int reported = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double a = actual[i], r = ref[i];
    const double tol = atol + rtol * std::fabs(r);
    if (!(std::fabs(a - r) <= tol)) {
      ADD_FAILURE() << what << ": element " << i << " is " << a << ", expected " << r << " (tolerance " << tol << ")";
      if (++reported == 5) return;
    }
  }
}

}  // namespace kvwb::kernels::test
