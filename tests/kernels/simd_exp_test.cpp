// The AVX2 exp of the CPU kernels (kernels/cpu/simd.h exp8) against exp in double: within
// kExpRelError on a dense grid of its range, and the edges: the top of the range, where 2^n
// needs n = 128 (these lanes were +inf before, though exp is finite there), overflow,
// underflow and infinities.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "kernels/cpu/simd.h"
#include "tests/kernels/kernel_test_util.h"

namespace kvwb::kernels::cpu {
namespace {

#if KVWB_CPU_AVX2
std::vector<float> exp8_of(std::vector<float> x) {
  x.resize((x.size() + 7) / 8 * 8, 0.0f);
  std::vector<float> out(x.size());
  for (size_t i = 0; i < x.size(); i += 8) _mm256_storeu_ps(&out[i], exp8(_mm256_loadu_ps(&x[i])));
  return out;
}
#endif

TEST(SimdExp, WithinTheStatedRelativeErrorAndFiniteUpToTheLargestFiniteResult) {
#if KVWB_CPU_AVX2
  std::vector<float> x;
  for (int i = 0; i <= 200000; ++i) x.push_back(-87.3f + static_cast<float>(i) * (88.72f + 87.3f) / 200000.0f);
  for (float v : {88.3762665f, 88.5f, 88.7f, 88.7228317f, -87.29f, -1e-30f, 0.0f, 1e-30f}) x.push_back(v);
  const std::vector<float> got = exp8_of(x);
  int reported = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double ref = std::exp(static_cast<double>(x[i]));
    if (!(std::fabs(got[i] - ref) <= test::kExpRelError * ref) && ++reported <= 5) {
      ADD_FAILURE() << "exp8(" << x[i] << ") = " << got[i] << ", exp = " << ref;
    }
  }
#else
  GTEST_SKIP() << "built without AVX2 (KVWB_NATIVE=OFF): the kernels use std::exp";
#endif
}

TEST(SimdExp, OverflowUnderflowAndInfinities) {
#if KVWB_CPU_AVX2
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> got = exp8_of({88.7228394f, 100.0f, inf, -87.4f, -1000.0f, -inf});
  EXPECT_EQ(got[0], inf) << "exp(88.7228394) > FLT_MAX";
  EXPECT_EQ(got[1], inf);
  EXPECT_EQ(got[2], inf);
  EXPECT_EQ(got[3], 0.0f) << "below -87.3 the result would be denormal: flushed to 0";
  EXPECT_EQ(got[4], 0.0f);
  EXPECT_EQ(got[5], 0.0f);
#else
  GTEST_SKIP() << "built without AVX2 (KVWB_NATIVE=OFF): the kernels use std::exp";
#endif
}

}  // namespace
}  // namespace kvwb::kernels::cpu
