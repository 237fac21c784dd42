#pragma once
// Helpers shared by the CPU (and CUDA) kernel tests: seeded random data, 16-bit weight storage,
// the rounding-error bounds every tolerance is derived from, and checks that name the first
// failing indices.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "kernels/backend.h"
#include "kernels/half.h"

namespace kvwb::kernels::test {

// Rounding-error bounds that hold on any IEEE-754 machine (Higham, "Accuracy and Stability of
// Numerical Algorithms", 2nd ed., §3.1). With u the unit roundoff of f32 (round to nearest), a
// dot product of length k, or a sum of k terms, computed in f32 in any order (blocked,
// pairwise, split over threads or SIMD lanes, with or without fused multiply-add) is within
// gamma(k)·Σ|terms| of the exact value; each further f32 operation on the result adds one to k.
// The references are computed in double, whose own error (k·2^-53) is negligible beside these.
constexpr double kF32Unit = 0x1p-24;
inline double gamma_f32(double k) { return k * kF32Unit / (1.0 - k * kF32Unit); }

// Relative error of the CPU kernels' exp, on inputs whose result is a normal float: the AVX2
// polynomial exp8 (kernels/cpu/simd.h) and glibc's expf (the portable path; documented within
// 1 ulp) are within 1.33 u and 1.0 u of exp over all 2^32 inputs (docs/reliability.md,
// "Tolerances"): properties of the code, the same on every x86-64 CPU.
constexpr double kExpRelError = 2 * kF32Unit;

// Σ|a_i·b_i|: the magnitude a dot product's rounding error scales with.
template <typename A, typename B>
double abs_dot(const A* a, const B* b, int64_t n) {
  double total = 0;
  for (int64_t i = 0; i < n; ++i) total += std::fabs(static_cast<double>(a[i]) * static_cast<double>(b[i]));
  return total;
}

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

// |actual[i] - ref[i]| <= bound[i] for every element; reports at most a few mismatches.
template <typename Actual, typename Ref>
void expect_within(const Actual& actual, const Ref& ref, const std::vector<double>& bound, const std::string& what) {
  ASSERT_EQ(actual.size(), ref.size()) << what;
  ASSERT_EQ(bound.size(), ref.size()) << what;
  int reported = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double a = actual[i], r = ref[i];
    if (!(std::fabs(a - r) <= bound[i])) {
      ADD_FAILURE() << what << ": element " << i << " is " << a << ", expected " << r << " (|error| " << std::fabs(a - r)
                    << " > bound " << bound[i] << ")";
      if (++reported == 5) return;
    }
  }
}

// Checks every element against atol + rtol·|ref|; reports at most a few mismatches so a failure
// stays readable. For exact results (atol = rtol = 0) and bounds proportional to |ref|.
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
